"""`ptnas-draw` / `python -m ptnas.cli.draw`: a picture of a genotype, in the format of --out's suffix.

    python -m ptnas.cli.draw runs/x --out cell.png                      # a search run dir (its genotype.json)
    python -m ptnas.cli.draw "|nor_conv_3x3~0|+|...|" --out cell.svg     # the text; the space is inferred
    python -m ptnas.cli.draw genotype.txt --space darts --out cells.pdf
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from ptnas import drawing, spaces
from ptnas.runtime.config import OneLineParser, UsageError
from ptnas.cli.processes import fail
from ptnas.registry import UnknownNameError
from ptnas.train_final import genotype_source

PROG = "ptnas-draw"


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog=PROG, description="Draw a genotype: cell DAG (nb201, darts) or chain of blocks "
                                             "(mobilenet, macro).")
    p.add_argument("genotype", metavar="GENOTYPE",
                   help="genotype text, a genotype.json / genotype.txt file, or a search run dir")
    p.add_argument("--out", required=True,
                   help=f"picture file; its suffix picks the format: {', '.join('.' + f for f in drawing.FORMATS)}")
    p.add_argument("--space", default=None,
                   help=f"{', '.join(spaces.names())} (default: from the run dir / JSON, else the space whose "
                        "genotype text it is)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if not args.genotype.strip():
            raise UsageError("GENOTYPE is empty; give a genotype text, a genotype.json / genotype.txt file or a run dir")
        out = Path(args.out)
        if out.suffix.lstrip(".").lower() not in drawing.FORMATS:
            raise UsageError(f"--out {out}: unsupported suffix {out.suffix or '(none)'!r}; use "
                             f"{', '.join('.' + f for f in drawing.FORMATS)}")
        if args.space is not None:
            spaces.get(args.space)
        space, genotype = genotype_source.load(args.genotype, args.space)
        figure = spaces.get(space).draw(genotype)
    except (UsageError, UnknownNameError, genotype_source.GenotypeError, NotImplementedError) as e:
        fail(PROG, str(e))
    try:
        if out.parent.exists() and not out.parent.is_dir():
            raise UsageError(f"--out {out}: {out.parent} is not a directory")
        out.parent.mkdir(parents=True, exist_ok=True)
        drawing.write_figure(figure, out)
    except UsageError as e:
        fail(PROG, str(e))
    except OSError as e:
        fail(PROG, f"--out {out}: cannot write ({e.strerror or e})")
    print(f"{space} genotype drawn to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
