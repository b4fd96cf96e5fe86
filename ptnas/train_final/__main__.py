"""`python -m ptnas.train_final ...` (also the console script `ptnas-train`)."""
import sys

from ptnas.cli.train import main

sys.exit(main())
