#!/usr/bin/env python
"""Thin shim: `python search.py ...` is `ptnas-search ...` (see `python search.py --help`)."""
import sys

from ptnas.cli.search import main

if __name__ == "__main__":
    sys.exit(main())
