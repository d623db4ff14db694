"""`backprop-tutor derive GRAPH --at POINT --wrt NAMES [--json]` and `backprop-tutor sandbox`.

`derive` prints what a lesson's headless run prints for its derivation (tutor.headless: the
lesson event, every step, the three-way check), for a graph typed on the command line. A bad
expression, a missing point value or an unknown --wrt name exits 2 with one line saying where.
"""

from __future__ import annotations

import sys

from tutor.sandbox import SandboxError

USAGE_FIELDS = {"graph": "the graph", "point": "--at", "wrt": "--wrt"}


def parser(command: str):
    from tutor.cli.common import Parser

    what = (
        "derive a graph and check its gradients, as a lesson's headless run does"
        if command == "derive"
        else "open the sandbox: type a graph and see it derived as you type"
    )
    ap = Parser(prog=f"backprop-tutor {command}", description=what)
    ap.add_argument(
        "graph",
        nargs="?" if command == "sandbox" else None,
        help="node lines separated by ';' or newlines, the last one the loss: \"c = a + b; L = (c*w - y)**2\"",
    )
    ap.add_argument(
        "--at", default="", metavar="POINT", help='a number for every leaf: "a=1, b=2, w=0.5, y=3"'
    )
    ap.add_argument(
        "--wrt",
        default="",
        metavar="NAMES",
        help="the parameters, comma-separated (default: every leaf); the other leaves are inputs",
    )
    ap.add_argument("--ascii", action="store_true", help="ASCII only, for terminals without UTF-8")
    if command == "derive":
        ap.add_argument(
            "--json", action="store_true", help="JSON lines, one event each (as --headless --json)"
        )
    return ap


def describe(exc: SandboxError, text: str) -> str:
    """'the graph, column 14: …' for one line typed, 'the graph, line 2, column 5: …' for several."""
    where = exc.where(multiline="\n" in text)
    return f"{USAGE_FIELDS[exc.field]}, {where}: {exc.message}"


def main(argv: list[str], tui) -> int:
    """`derive ...` prints; `sandbox ...` opens the TUI through `tui` (the main command's)."""
    command, rest = argv[0], argv[1:]
    ap = parser(command)
    ap.json_errors = command == "derive" and "--json" in rest
    args = ap.parse_args(rest)
    if command == "sandbox":
        args.lesson, args.device = None, "cpu"
        args.sandbox = (args.graph, args.at, args.wrt) if args.graph else None
        if args.sandbox is None and (args.at or args.wrt):
            ap.error("--at and --wrt need a GRAPH")
        args.sandbox = args.sandbox or ()
        return tui(args)
    return derive(args)


def derive(args) -> int:
    from tutor import headless
    from tutor.sandbox import sketch

    printer = headless.Printer(sys.stdout, as_json=args.json, ascii=args.ascii)
    texts = {"graph": args.graph, "point": args.at, "wrt": args.wrt}
    try:
        lesson = sketch(args.graph, args.at, args.wrt).lesson()
    except SandboxError as exc:
        return headless.usage_error(printer, sys.stderr, describe(exc, texts[exc.field]))
    try:
        status = headless.run(
            lesson, headless.Options(json=args.json, ascii=args.ascii, train=False)
        )
        problem = _problem(lesson) if status == headless.EXIT_OK else ""
        if problem:  # undefined at the point (a division by zero): exit 3, as README says
            sys.stdout.flush()
            sys.stderr.write(f"backprop-tutor: {problem}\n")
            printer.event("error", None, message=problem)
            return headless.EXIT_DIVERGED
        return status
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - the core failed at this point (e.g. 0 in a division): say so
        from tutor.log import logged

        message = f"the derivation failed at this point: {logged(exc, 'derive')}"
        sys.stderr.write(f"backprop-tutor: {message}\n")
        printer.event("error", None, message=message)
        return headless.EXIT_DIVERGED


def _problem(lesson) -> str:
    """Why the derivation just printed took no gradient at the point ("" when it did): the
    derivation comes back from the memory cache that the run filled."""
    from tutor.derive import derive

    return derive(lesson).problem
