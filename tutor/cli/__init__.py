"""`backprop-tutor`: arguments → the TUI, a headless run, --list or --check.

Imports stay light here: Textual loads only for the TUI, sympy and torch only for what needs them.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from tutor import __version__
from tutor.cli.common import Parser, guarded, run_app
from tutor.errors import LessonError
from tutor.fmt import printable
from tutor.lesson import DEVICES

EPILOG = """\
examples:
  backprop-tutor                         open the lesson list
  backprop-tutor two-layer-relu          open a lesson (an id, or a path to a .toml file)
  backprop-tutor --list                  list the lessons
  backprop-tutor --check my-lesson.toml  validate lesson files
  backprop-tutor linear-1d --headless --json --backend numpy
  backprop-tutor mlp-digits --headless --device cuda
  backprop-tutor data-parallel --headless --workers 4     backprop on 4 worker processes
  backprop-tutor derive "c = a + b; L = (c*w - y)**2" --at "a=1, b=2, w=0.5, y=3" --wrt w,a
  backprop-tutor sandbox                 type a graph, see it derived as you type
  backprop-tutor two-layer-relu --export-code numpy > run.py     the numpy run as a script
  backprop-tutor two-layer-relu --code backward --template > bw.py
  backprop-tutor two-layer-relu --code backward=bw.py            check your backward pass
  backprop-tutor playground              train a small network on 2-D data and watch its boundary

exit status: 0 ok; 1 a wrong --answer or --code file; 2 bad arguments, lesson file or unwritable output;
3 a run diverged or failed
"""


# The options of the "headless runs" group that mean nothing to the TUI, --list or --check, in the
# parser's order (--device applies to the TUI too; --headless and --answer start a headless run).
HEADLESS_ONLY = (
    "json",
    "backend",
    "epochs",
    "lr",
    "momentum",
    "seed",
    "hidden",
    "log_every",
    "variant",
    "workers",
    "no_derive",
    "no_train",
)


def _fail(args, message: str) -> int:
    """A failure before the run starts: as the headless runner reports bad arguments."""
    from tutor.headless import Printer, usage_error

    return usage_error(
        Printer(sys.stdout, as_json=args.json, ascii=args.ascii), sys.stderr, message
    )


def parser() -> Parser:
    ap = Parser(
        prog="backprop-tutor",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Learn backpropagation in the terminal: derive every gradient node by node with sympy, "
        "check it against torch autograd, then train the model live with numpy and torch.",
    )
    ap.add_argument(
        "lesson", nargs="?", help="a lesson id (see --list) or a path to a lesson .toml file"
    )
    ap.add_argument("--version", action="version", version=f"backprop-tutor {__version__}")
    ap.add_argument("--list", action="store_true", help="print one line per lesson: id, then title")
    ap.add_argument(
        "--check", nargs="+", metavar="PATH", help="validate lesson files (FILE:LINE: KEY: message)"
    )
    ap.add_argument("--ascii", action="store_true", help="ASCII only, for terminals without UTF-8")
    ap.add_argument(
        "--debug",
        action="store_true",
        help="print the path of the error log (the traceback of every error the tutor showed in one line)",
    )
    run = ap.add_argument_group("headless runs")
    run.add_argument(
        "--headless", action="store_true", help="run the lesson without the TUI and print it"
    )
    run.add_argument(
        "--json", action="store_true", help="with --headless: JSON lines, one event each"
    )
    run.add_argument(
        "--backend",
        action="append",
        metavar="B",
        help="numpy, torch-manual, autograd, nn or optim (repeatable; default: the lesson's list)",
    )
    run.add_argument(
        "--device",
        default="cpu",
        choices=DEVICES,
        metavar="D",
        help="cpu (default), cuda, mps or auto (numpy always runs on the CPU)",
    )
    run.add_argument(
        "--epochs", type=int, metavar="N", help="epochs (iterations for full-batch lessons)"
    )
    run.add_argument("--lr", type=float, metavar="X", help="learning rate")
    run.add_argument(
        "--momentum",
        type=float,
        metavar="M",
        help="momentum of the sgd optimizer, 0 to 0.999 (the effective step is lr/(1-momentum))",
    )
    run.add_argument("--seed", type=int, metavar="S", help="seed of the initial weights")
    run.add_argument(
        "--hidden", type=int, metavar="H", help="hidden layer size, where the model has one"
    )
    run.add_argument("--log-every", type=int, metavar="N", help="log a training line every N steps")
    run.add_argument(
        "--variant", metavar="NAME", help="one of the lesson's variants (e.g. seed004, mnist)"
    )
    run.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="run the data-parallel run alone on N worker processes, 1 to 8, with the --backend runs asked for "
        "(lessons with [train] workers, which runs it after every backend by default)",
    )
    run.add_argument("--no-derive", action="store_true", help="skip the derivation")
    run.add_argument("--no-train", action="store_true", help="skip the training")
    run.add_argument(
        "--answer", action="append", metavar="ID=EXPR", help="check an answer to an exercise"
    )
    code = ap.add_argument_group("code")
    code.add_argument(
        "--export-code",
        metavar="BACKEND",
        help="print the run of BACKEND as a standalone script (takes --variant, --epochs, --lr, ...)",
    )
    code.add_argument(
        "--code",
        metavar="ID=FILE.py",
        help="check FILE.py against the code exercise ID (with --template: print its starting file)",
    )
    code.add_argument(
        "--template", action="store_true", help="with --code ID: print the exercise's starting file"
    )
    return ap


def main(argv: list[str] | None = None) -> int:
    """Every command, with its output errors handled here once (tutor/cli/common.py: `guarded`)."""
    return guarded(lambda: _main(argv))


def _main(argv: list[str] | None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] in (["derive"], ["sandbox"]):  # subcommands: the sandbox (tutor/cli/sandbox.py)
        from tutor.cli.sandbox import main as sandbox_main

        return sandbox_main(argv, tui=lambda args: _tui(args))  # _tui as it is at the time
    if argv[:1] == ["playground"]:  # the playground (tutor/cli/playground.py)
        from tutor.cli.playground import main as playground_main

        return playground_main(argv[1:])
    if argv[:1] == ["serve"]:  # the tutor for a class, in browsers (tutor/cli/serve.py)
        from tutor.cli.serve import main as serve_main

        return serve_main(argv[1:])
    if argv[:1] == ["class"]:  # the teacher's view (tutor/cli/classroom.py)
        from tutor.cli.classroom import main as class_main

        return class_main(argv[1:], tui=lambda directory: run_app(_app(teacher=directory)))
    ap = parser()
    # a --json run whose arguments do not parse still ends with the error event
    ap.json_errors = "--json" in argv and any(
        a == "--headless" or a.startswith(("--answer", "--code")) for a in argv
    )
    args = ap.parse_args(argv)
    if args.export_code or args.code or args.template:
        return _code(args, ap)
    if not (args.headless or args.answer):
        given = [
            f"--{name.replace('_', '-')}"
            for name in HEADLESS_ONLY
            if getattr(args, name) != ap.get_default(name)
        ]
        if given:
            verb = "applies" if len(given) == 1 else "apply"
            sys.stderr.write(f"backprop-tutor: {', '.join(given)} only {verb} with --headless\n")
            return 2
    try:
        if args.debug:
            from tutor.log import log_path

            path = log_path()
            print(f"{path}{'' if path.exists() else '  (no error logged yet)'}")
            return 0
        if args.list:
            return _list()
        if args.check:
            return _check(args.check)
        if args.headless or args.answer:
            if not args.lesson:
                return _fail(args, "--headless needs a LESSON (see --list)")
            return _headless(args)
    except KeyboardInterrupt:
        return 130
    return _tui(args)


def _list() -> int:
    from tutor.fmt import printable
    from tutor.lesson import catalogue

    items = catalogue()
    width = max((len(i.id) for i in items), default=0) + 2
    for item in items:
        print(
            printable(
                f"{item.id:<{width}}{item.title}"
                + (f"   (broken: {item.error})" if item.error else "")
            )
        )
    return 0


def _check(paths: list[str]) -> int:
    status = 0
    for path in paths:
        notes: list[str] = []
        problems = check_file(path, notes=notes)
        for problem in problems:
            print(str(problem))  # LessonError keeps its text free of terminal escapes
        if problems:
            status = 2
        else:
            print(printable(f"{path}: ok" + "".join(f" ({n})" for n in notes)))
    return status


def check_file(
    path: str, derivation: bool = True, notes: list[str] | None = None
) -> tuple[LessonError, ...]:
    """What `--check` says of one file: nothing when it is sound, else its problems in line order.
    With `derivation`, the gradients must check out too; what failed as the lesson expects is
    added to `notes`."""
    from tutor.lesson import load

    try:
        lesson = load(path)
        if derivation and (lesson.graph is not None or lesson.jacobian is not None):
            found = _check_derivation(lesson, path)
            if notes is not None:
                notes.extend(found)
    except LessonError as exc:
        if exc.line is None and exc.key:  # a derivation's problem: the line of the key it names
            from tutor.lesson.tomlpos import key_lines, line_of

            with contextlib.suppress(OSError, UnicodeDecodeError):  # gone: the key alone says where
                exc = exc.located(
                    line=line_of(key_lines(Path(path).read_text(encoding="utf-8")), exc.key)
                )
        return exc.located(file=path).problems
    return ()


def _check_derivation(lesson, path) -> list[str]:
    """A lesson passes --check only if its gradients check out. A check whose finite differences
    straddle a kink passes only where the lesson declares it (`[graph] expect_kink`); the notes
    say which failed as expected."""
    from tutor.derive import derive
    from tutor.derive.check import FD_STEP

    deriv = derive(lesson)
    if deriv.problem:
        raise LessonError(
            deriv.problem, key="graph.point" if lesson.graph else "jacobian.point", file=path
        )
    for chk in deriv.checks + deriv.matrix_checks:
        if not chk.ok:
            raise LessonError(
                f"gradient check failed for {chk.param}: {chk.blame}", key="graph", file=path
            )
    for chk in deriv.values_checks:
        if not chk.ok:
            raise LessonError(
                f"gradient check at the lesson's arrays failed for {chk.param}: {chk.blame}",
                key="graph.values",
                file=path,
            )
    expected = lesson.graph.expect_kink if lesson.graph is not None else ()
    notes = []
    for chk in deriv.checks:
        if chk.kink and chk.param not in expected:
            raise LessonError(
                f"the point lies within the finite-difference step (h = {FD_STEP:g}) of a kink for "
                f"{chk.param}, so finite differences cannot check its gradient: move the point, or "
                f"list {chk.param} in expect_kink if the lesson shows this on purpose",
                key="graph.point",
                file=path,
            )
        if chk.param in expected and not chk.kink:
            raise LessonError(
                f"{chk.param} is listed in expect_kink, but no kink lies within the finite-difference "
                f"step (h = {FD_STEP:g}) at the point",
                key="graph.expect_kink",
                file=path,
            )
        if chk.kink:
            notes.append(
                f"the finite-difference check of {chk.param} fails near a kink, as the lesson expects: "
                f"relative error {chk.rel_error:.1e} ({chk.grade}); autograd agrees with the derivation"
            )
    return notes


def _load(name: str):
    from tutor.lesson import load, resolve

    return load(resolve(name))


def _headless(args) -> int:
    from tutor import headless

    try:
        lesson = _load(args.lesson)
    except LessonError as exc:
        return _fail(args, str(exc) if exc.file else exc.message)
    for name in ("epochs", "hidden", "log_every"):
        value = getattr(args, name)
        if value is not None and value < 1:
            return _fail(args, f"--{name.replace('_', '-')} must be at least 1")
    if args.lr is not None and not args.lr > 0:
        return _fail(args, "--lr must be a positive number")
    if args.momentum is not None and not 0 <= args.momentum <= 0.999:
        return _fail(args, "--momentum must be within 0..0.999")
    if args.workers is not None:
        from tutor.train.parallel import check_workers

        problem = check_workers(args.workers)
        if problem:
            return _fail(args, problem)
        if lesson.train is None or lesson.train.workers is None:
            return _fail(
                args, f"--workers: lesson '{lesson.id}' has no data-parallel run ([train] workers)"
            )
    opts = headless.Options(
        backends=args.backend or [],
        device=args.device,
        epochs=args.epochs,
        lr=args.lr,
        momentum=args.momentum,
        seed=args.seed,
        hidden=args.hidden,
        log_every=args.log_every,
        json=args.json,
        ascii=args.ascii,
        variant=args.variant,
        derive=not args.no_derive,
        train=not args.no_train,
        answers=args.answer or [],
        workers=args.workers,
    )
    return headless.run(lesson, opts)


def _code(args, ap) -> int:
    """--export-code and --code: see tutor/cli/code.py."""
    from tutor.cli.code import run

    return run(args, ap)


def _tui(args) -> int:
    start = None
    if args.lesson:
        from tutor.lesson import resolve

        try:
            start = resolve(args.lesson)
        except LessonError as exc:
            sys.stderr.write(f"backprop-tutor: {exc.message}\n")
            return 2
    return run_app(
        _app(
            start=start,
            ascii=args.ascii,
            device=args.device,
            sandbox=getattr(args, "sandbox", None),
        )
    )


def _app(**kw):
    """The TUI; a tutor started by `serve` (CLASS_ENV set) asks the learner's name first."""
    import os

    from tutor.progress import CLASS_ENV
    from tutor.ui.app import TutorApp

    served = os.environ.get(CLASS_ENV)
    return TutorApp(class_dir=Path(served) if served else None, **kw)


if __name__ == "__main__":
    raise SystemExit(main())
