"""`python -m ptnas.train_final ...` (also the console script `ptnas-train`)."""
import sys

from ptnas.train_final.cli import main

sys.exit(main())
