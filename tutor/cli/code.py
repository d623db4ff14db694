"""`--export-code BACKEND` and `--code ID=FILE.py` / `--code ID --template` on the command line.

Exit status: 0 (a script printed, a file that passes), 1 (a file that does not pass), 2 (bad
arguments: the lesson, backend, exercise or file)."""

from __future__ import annotations

import sys

from tutor.errors import LessonError
from tutor.signals import exit_on_signals

EXIT_OK, EXIT_WRONG, EXIT_USAGE = 0, 1, 2

# The run options (tutor.cli's parser), and those an exported script takes.
RUN_OPTIONS = (
    "headless",
    "json",
    "backend",
    "epochs",
    "lr",
    "momentum",
    "seed",
    "hidden",
    "log_every",
    "variant",
    "no_derive",
    "no_train",
    "answer",
)
EXPORT_TAKES = ("epochs", "lr", "momentum", "seed", "hidden", "variant")


def run(args, ap) -> int:
    from tutor.headless import Printer, usage_error

    p = Printer(sys.stdout, as_json=args.json, ascii=args.ascii)

    def fail(message: str) -> int:
        return usage_error(p, sys.stderr, message)

    if not args.lesson:
        return fail("--export-code and --code need a LESSON (see --list)")
    if args.template and not args.code:
        return fail("--template goes with --code ID: it prints that exercise's starting file")
    takes = EXPORT_TAKES if args.export_code else ("json",)
    given = [
        f"--{name.replace('_', '-')}"
        for name in RUN_OPTIONS
        if name not in takes and getattr(args, name) != ap.get_default(name)
    ]
    if given:
        what = "--export-code" if args.export_code else "--code"
        return fail(f"{', '.join(given)} {'does' if len(given) == 1 else 'do'} not apply to {what}")
    if args.export_code and args.code:
        return fail("--export-code and --code are separate commands: give one")
    from tutor.lesson import load, resolve

    try:
        lesson = load(resolve(args.lesson))
    except LessonError as exc:
        return fail(str(exc) if exc.file else exc.message)
    if args.export_code:
        return _export(args, lesson, fail)
    return _check(args, lesson, p, fail)


def _export(args, lesson, fail) -> int:
    from tutor.code.export import export
    from tutor.lesson import BACKENDS
    from tutor.train.spec import backends_for

    if lesson.train is None:
        return fail(f"lesson {lesson.id} has no training run to export")
    try:
        variant = lesson.variant(args.variant) if args.variant else None
    except LessonError as exc:
        return fail(exc.message)
    if args.export_code not in BACKENDS:
        return fail(f"unknown backend '{args.export_code}' (known: {', '.join(BACKENDS)})")
    if args.export_code not in backends_for(lesson, variant):
        return fail(
            f"lesson {lesson.id} runs {', '.join(backends_for(lesson, variant))}, not {args.export_code}"
        )
    for name in ("epochs", "hidden"):
        value = getattr(args, name)
        if value is not None and value < 1:
            return fail(f"--{name} must be at least 1")
    if args.lr is not None and not args.lr > 0:
        return fail("--lr must be a positive number")
    if args.momentum is not None and not 0 <= args.momentum <= 0.999:
        return fail("--momentum must be within 0..0.999")
    from tutor.train.registry import BACKEND_KINDS

    if not BACKEND_KINDS[args.export_code].torch and args.device in ("cuda", "mps"):
        return fail(f"--device {args.device} applies to the torch backends: numpy runs on the CPU")
    script = export(
        lesson,
        args.export_code,
        variant,
        lr=args.lr,
        momentum=args.momentum,
        epochs=args.epochs,
        seed=args.seed,
        hidden=args.hidden,
        device=args.device,
    )
    sys.stdout.write(script.text)
    return EXIT_OK


def code_exercise(lesson, ex_id: str):
    """The lesson's code exercise `ex_id`, or LessonError naming the ones there are."""
    codes = [e for e in lesson.exercises if e.kind == "code"]
    for e in codes:
        if e.id == ex_id:
            return e
    known = ", ".join(e.id for e in codes) or "none"
    raise LessonError(
        f"lesson {lesson.id} has no code exercise '{ex_id}' (its code exercises: {known})"
    )


def _check(args, lesson, p, fail) -> int:
    from tutor.code.check import check_source, table
    from tutor.code.template import template

    ex_id, sep, path = args.code.partition("=")
    try:
        exercise = code_exercise(lesson, ex_id.strip())
    except LessonError as exc:
        return fail(exc.message)
    if args.template:
        if sep:
            return fail("--template prints the starting file: give --code ID without =FILE")
        sys.stdout.write(template(lesson, exercise))
        return EXIT_OK
    if not sep or not path:
        return fail("--code takes ID=FILE.py (or --code ID --template for the starting file)")
    from tutor.code.check import MAX_SOURCE
    from tutor.lesson.files import Unreadable, read_regular

    try:  # 4 bytes a character at most in UTF-8: check_source then counts the characters
        source = read_regular(path, 4 * MAX_SOURCE, hint=" (a .py file)").decode("utf-8")
    except Unreadable as exc:
        return fail(f"{path}: {exc}")
    except UnicodeDecodeError:
        return fail(f"{path}: not a UTF-8 text file")
    with exit_on_signals():
        result = check_source(lesson, exercise, source, path)
    p.event(
        "codecheck",
        table(result),
        id=exercise.id,
        ok=result.ok,
        outputs=[o.as_json() for o in result.outputs],
        error=result.error,
        stdout=result.stdout,
        sandbox=result.sandbox,
    )
    return EXIT_OK if result.ok else EXIT_WRONG
