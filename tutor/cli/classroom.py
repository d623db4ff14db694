"""`backprop-tutor class DIR`: the teacher's view of a class directory (tutor/serve/table.py), as
text, CSV or JSON, or on a screen of the TUI when run in a terminal without one of those."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tutor.cli.common import Parser


def parser() -> argparse.ArgumentParser:
    ap = Parser(
        prog="backprop-tutor class",
        description="Learners × lessons (parts seen, exercises solved, attempts) and, per exercise, how many "
        "solved it and the slips named most often.",
    )
    ap.add_argument(
        "dir",
        nargs="?",
        type=Path,
        metavar="DIR",
        help="the class directory (default: class/ in the user data directory, as `serve` uses)",
    )
    out = ap.add_mutually_exclusive_group()
    out.add_argument(
        "--text", action="store_true", help="print the tables (the default when not in a terminal)"
    )
    out.add_argument("--csv", action="store_true", help="print CSV, for a spreadsheet")
    out.add_argument("--json", action="store_true", help="print JSON, for scripts")
    return ap


def main(argv: list[str], tui) -> int:
    args = parser().parse_args(argv)
    from tutor.progress import default_class_dir

    directory = args.dir or default_class_dir()
    if not directory.is_dir():
        sys.stderr.write(
            f"backprop-tutor class: {directory} is not a class directory (no such folder)\n"
        )
        return 2
    if not (args.text or args.csv or args.json) and sys.stdout.isatty() and sys.stdin.isatty():
        return tui(directory)
    from tutor.serve import table

    try:
        view = table.read_class(directory)
    except OSError as exc:
        sys.stderr.write(f"backprop-tutor class: {directory}: {exc.strerror}\n")
        return 2
    sys.stdout.write(
        table.to_csv(view) if args.csv else table.to_json(view) if args.json else table.text(view)
    )
    return 0
