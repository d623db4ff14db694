"""`backprop-tutor playground`: the TUI, or with --headless a run printed as text or JSON lines.

Exit status as the lessons': 0 ok, 2 bad arguments or data, 3 the run diverged.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import TextIO

from tutor.lesson import PLAYGROUND as DATASETS

EXIT_OK, EXIT_USAGE, EXIT_DIVERGED = 0, 2, 3


def parser() -> argparse.ArgumentParser:
    from tutor.cli.common import Parser
    from tutor.playground.model import ACTIVATIONS, FEATURES, LOSSES, REGULARISATIONS

    ap = Parser(
        prog="backprop-tutor playground",
        description="See what a small network learns on a 2-D dataset.",
    )
    ap.add_argument(
        "--data",
        metavar="FILE.csv",
        help="your own data: x1, x2, label (or target); a header optional",
    )
    ap.add_argument("--ascii", action="store_true", help="ASCII only")
    ap.add_argument(
        "--headless", action="store_true", help="train without the TUI and print the run"
    )
    ap.add_argument("--json", action="store_true", help="with --headless: JSON lines")
    ap.add_argument(
        "--variant",
        "--dataset",
        dest="dataset",
        default="circle",
        choices=DATASETS,
        metavar="DATASET",
        help=f"one of {', '.join(DATASETS)} (default circle)",
    )
    ap.add_argument("--noise", type=float, default=0.0, metavar="PCT", help="noise, 0 to 50 (%%)")
    ap.add_argument(
        "--ratio",
        type=float,
        default=50.0,
        metavar="PCT",
        help="training share of the points, 10 to 90 (%%)",
    )
    ap.add_argument("--data-seed", type=int, default=0, metavar="S", help="seed of the points")
    ap.add_argument(
        "--hidden",
        default="4,2",
        metavar="N,N",
        help="neurons per hidden layer, comma-separated (0 or '' for none; default 4,2)",
    )
    ap.add_argument("--activation", default="tanh", choices=ACTIVATIONS)
    ap.add_argument(
        "--features", default="x1,x2", metavar="F,F", help=f"inputs: {', '.join(FEATURES)}"
    )
    ap.add_argument("--lr", type=float, default=0.03, metavar="X")
    ap.add_argument("--batch-size", type=int, default=10, metavar="N")
    ap.add_argument("--regularisation", "--regularization", default="none", choices=REGULARISATIONS)
    ap.add_argument("--reg-rate", type=float, default=0.0, metavar="X")
    ap.add_argument("--loss", default="cross-entropy", choices=LOSSES)
    ap.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the initial weights")
    ap.add_argument("--epochs", type=int, default=100, metavar="N")
    ap.add_argument(
        "--log-every",
        type=int,
        default=0,
        metavar="N",
        help="steps between log lines (default: every epoch)",
    )
    ap.add_argument(
        "--grid", type=int, default=24, metavar="N", help="boundary grid size in --json, 2 to 64"
    )
    return ap


def config_from(args):
    from tutor.lesson.limits import MAX_NOISE
    from tutor.playground.model import Config, hidden_sizes

    if (
        not 0 <= args.noise <= MAX_NOISE
    ):  # the option is in percent; the data set's own check is a fraction
        raise ValueError(f"--noise is a percentage within 0..{MAX_NOISE} (got {args.noise:g})")
    return Config(
        dataset=args.dataset,
        noise=args.noise / 100,
        train_ratio=args.ratio / 100,
        data_seed=args.data_seed,
        hidden=hidden_sizes(args.hidden),
        activation=args.activation,
        features=tuple(f.strip() for f in args.features.split(",") if f.strip()),
        lr=args.lr,
        batch_size=args.batch_size,
        regularisation=args.regularisation,
        reg_rate=args.reg_rate,
        loss=args.loss,
        seed=args.seed,
        csv=args.data,
    ).check()


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    if not args.headless:
        if args.json:
            sys.stderr.write("backprop-tutor: --json only applies with --headless\n")
            return EXIT_USAGE
        return _tui(args)
    return headless(args, sys.stdout, sys.stderr)


def _tui(args) -> int:
    from tutor.cli.common import run_app
    from tutor.playground.model import load_points
    from tutor.train.data import DataError
    from tutor.ui.app import TutorApp

    try:
        config = config_from(args)
        if config.csv:
            load_points(config)  # a broken file is one line here, before the screen
    except (ValueError, DataError) as exc:
        sys.stderr.write(f"backprop-tutor: {exc}\n")
        return EXIT_USAGE
    return run_app(TutorApp(ascii=args.ascii, playground=config))


def headless(args, out: TextIO, err: TextIO) -> int:
    from tutor.fmt import number, plural
    from tutor.headless import Printer
    from tutor.playground.model import FEATURES, Playground
    from tutor.present.playground import done_text
    from tutor.train.data import DataError
    from tutor.train.doctor import text as diagnosis_text

    p = Printer(out, args.json, args.ascii)

    def usage(message: str) -> int:
        err.write(f"backprop-tutor: {message}\n")
        p.event("error", None, message=message)
        return EXIT_USAGE

    if args.epochs < 1 or args.log_every < 0 or not 2 <= args.grid <= 64:
        return usage("--epochs must be at least 1, --log-every at least 0, --grid within 2..64")
    try:
        config = config_from(args)
        pg = Playground(config)
    except (ValueError, DataError) as exc:
        return usage(str(exc))
    pts = pg.points
    steps_per_epoch = math.ceil(len(pts.y_train) / config.batch_size)
    total = args.epochs * steps_per_epoch
    every = args.log_every or steps_per_epoch
    net = " → ".join(
        [", ".join(FEATURES[f][0] for f in pg.config.features)]
        + [str(n) for n in config.hidden]
        + ["1"]
    )
    p.event(
        "playground",
        f"Playground: {pts.name}, {len(pts.y_train)} training and {len(pts.y_test)} test points "
        f"({'classification' if pts.classify else 'regression'})\n"
        f"network {net}, {config.activation}, loss {pg.config.loss}, lr {config.lr:g}, "
        f"batch {config.batch_size}, {plural(total, 'step')}",
        dataset=pts.name,
        classify=pts.classify,
        train=len(pts.y_train),
        test=len(pts.y_test),
        hidden=list(config.hidden),
        activation=config.activation,
        features=list(pg.config.features),
        loss=pg.config.loss,
        lr=config.lr,
        batch_size=config.batch_size,
        regularisation=config.regularisation,
        reg_rate=config.reg_rate,
        seed=config.seed,
        steps=total,
    )
    import time

    from tutor.playground.runner import Runner

    def logged(_sps: float) -> None:
        s = pg.stats()
        acc = f"  acc {s.accuracy:.3f}/{s.val_accuracy:.3f}" if s.accuracy is not None else ""
        fields = dict(
            step=s.step, epoch=s.epoch, loss=s.loss, test_loss=s.test_loss, grad_norm=s.grads
        )
        if s.accuracy is not None:
            fields.update(accuracy=s.accuracy, val_accuracy=s.val_accuracy)
        p.event(
            "train",
            f"  step {s.step:>6}  epoch {s.epoch:>4}  loss {number(s.loss)}  test {number(s.test_loss)}{acc}",
            **fields,
        )
        if args.json and not pg.diverged:
            p.event(
                "boundary",
                None,
                **{k: v for k, v in pg.boundary(args.grid).as_json().items() if k != "event"},
            )

    started = time.perf_counter()
    Runner(pg, every=every).run(logged, until=total)  # a line every `every` steps, and at the end
    seconds = time.perf_counter() - started
    s = pg.stats()
    diagnosis = pg.diagnosis()
    done = dict(
        steps=pg.step,
        final_loss=s.loss,
        test_loss=s.test_loss,
        accuracy=s.accuracy,
        val_accuracy=s.val_accuracy,
        confusion=s.confusion,
        diverged=s.diverged,
        diagnosis=diagnosis,
        seconds=seconds,
    )
    line = done_text(s, pg.step, seconds)
    if diagnosis:
        line += "\n  " + diagnosis_text(diagnosis).replace("\n", "\n  ")
    p.event("done", line, **done)
    return EXIT_DIVERGED if s.diverged else EXIT_OK
