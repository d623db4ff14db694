"""A lesson without a screen: plain text for a log, or JSON lines for a script (see README.md,
"Headless runs", for the contract). It reads the same derivation steps and training snapshots
as the TUI; nothing here imports Textual.

Exit status: 0, 3 when a run diverged (or failed), 2 for bad arguments.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass, field, replace
from typing import Any, TextIO

from tutor.errors import LessonError
from tutor.fmt import asciify, number, printable
from tutor.fmt import plural as _plural
from tutor.lesson import BACKENDS, Lesson
from tutor.present.run import (
    accuracy_text,
    baseline_text,
    diverged_text,
    optimizer_text,
    params_text,
    prediction_text,
    samples_text,
    step_line,
)

EXIT_OK, EXIT_USAGE, EXIT_DIVERGED = 0, 2, 3


@dataclass
class Options:
    backends: list[str] = field(default_factory=list)
    device: str = "cpu"
    epochs: int | None = None
    lr: float | None = None
    momentum: float | None = None
    seed: int | None = None
    hidden: int | None = None
    log_every: int | None = None
    json: bool = False
    ascii: bool = False
    variant: str | None = None
    width: int = 100
    derive: bool = True
    train: bool = True
    answers: list[str] = field(default_factory=list)
    workers: int | None = None  # data-parallel workers (None: the lesson's [train] workers)


def _clean(value):
    """JSON has no NaN or infinity: write null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


class Printer:
    def __init__(self, out: TextIO, as_json: bool, ascii: bool):
        self.out, self.as_json, self.ascii = out, as_json, ascii

    def event(self, kind: str, line: str | None = None, **fields) -> None:
        """One JSON object with --json; otherwise the human line (if any)."""
        if self.as_json:
            self.out.write(json.dumps(_clean({"event": kind, **fields}), allow_nan=False) + "\n")
        elif line is not None:
            self.text(line)
        self.out.flush()

    def text(self, text: str) -> None:
        if not self.as_json:
            text = printable(text)  # a lesson's strings never reach the terminal as escapes
            self.out.write((asciify(text) if self.ascii else text) + "\n")


def speaks_unicode(out: TextIO) -> bool:
    """Whether `out` can take the tutor's symbols (∂, ⎧, ─); a latin-1 or ASCII terminal cannot."""
    try:
        "∂⎧─…".encode(getattr(out, "encoding", None) or "utf-8")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def run(lesson: Lesson, opts: Options, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr  # read at call time: tests capture them
    if not opts.ascii and not opts.json and not speaks_unicode(out):
        opts = replace(opts, ascii=True)  # as --ascii: text the terminal can show
    p = Printer(out, opts.json, opts.ascii)
    try:
        variant = lesson.variant(opts.variant) if opts.variant else None
    except LessonError as exc:
        return usage_error(p, err, exc.message)
    for b in opts.backends:  # bad arguments are refused before any output
        if b not in BACKENDS:
            return usage_error(p, err, f"unknown backend '{b}' (known: {', '.join(BACKENDS)})")
    note = (run_note(lesson, variant) or None) if lesson.train is not None else None
    head = f"{lesson.title}  [{lesson.id}{', variant ' + opts.variant if opts.variant else ''}]"
    p.event(
        "lesson",
        f"{head}\n{'=' * min(80, len(head))}",
        id=lesson.id,
        title=lesson.title,
        variant=opts.variant,
        note=note,
    )
    if opts.answers:
        return _answers(lesson, opts, p, err)
    if opts.derive and "derive" in lesson.parts:
        _derive(lesson, opts, p)
    status = EXIT_OK
    if opts.train and lesson.train is not None:
        status = _train(lesson, variant, opts, p, err)
    return status


def run_note(lesson: Lesson, variant) -> str:
    """The note about the runs: the variant's own where it has one, else the lesson's."""
    from tutor.train.spec import setting_for

    return setting_for(lesson, variant, "note")


def usage_error(p: Printer, err: TextIO, message: str) -> int:
    """Bad arguments: the human line on stderr and, with --json, the error event on stdout. The
    message may quote what was typed (a backend, a file name, an expression): without escapes."""
    message = printable(message)
    err.write(f"backprop-tutor: {message}\n")
    p.event("error", None, message=message)
    return EXIT_USAGE


def _derive(lesson: Lesson, opts: Options, p: Printer) -> None:
    from tutor.derive import derive, jacobian_values
    from tutor.present.derivation import render_step

    p.text("\nDerivation\n----------")

    def arrived(step, deriv) -> None:  # printed as soon as it is derived
        text = render_step(step, opts.width, opts.ascii)
        # a values step's whole array
        table = {} if step.table is None else {"table": step.table.tolist()}
        p.event(
            "derive",
            f"\n[{step.index + 1}] {step.title}\n{text}",
            step=step.index + 1,
            phase=step.phase,
            node=step.node,
            title=step.title,
            text=text,
            **table,
        )

    deriv = derive(lesson, on_step=arrived)
    if deriv.problem:
        p.text(f"\n{deriv.problem}")
    p.text("\nGradient check (derived vs torch autograd vs finite differences)")
    out = (
        lesson.graph.loss if lesson.graph is not None else "L"
    )  # the graph's own output name (fan-out's f)
    for chk in deriv.checks:
        mark = "ok" if chk.ok else f"MISMATCH: {chk.blame}"
        p.event(
            "gradcheck",
            f"  ∂{out}/∂{chk.param}: {number(chk.symbolic)} | {number(chk.autograd)} | "
            f"{number(chk.numeric)}   rel. error {chk.rel_error:.1e} ({chk.grade})  {mark}",
            form="scalar",
            **chk.as_json(),
        )
    if lesson.graph is not None and lesson.graph.sweep and not deriv.problem:
        from tutor.derive.sweep import sweeps

        for sw in sweeps(lesson.graph, deriv.grads):  # the table is in its derive step's text
            p.event("sweep", None, **sw.as_json())
    for chk in deriv.matrix_checks:
        mark = "ok" if chk.ok else f"MISMATCH: {chk.blame}"
        p.event(
            "gradcheck",
            f"  ∂{out}/∂{chk.param} (matrix form, random data): rel. error {chk.rel_error:.1e} "
            f"({chk.grade})  {mark}",
            form="matrix",
            **chk.as_json(),
        )
    if deriv.values_checks and lesson.graph is not None:
        from tutor.derive.values import fd_entries

        for chk in deriv.values_checks:
            mark = "ok" if chk.ok else f"MISMATCH: {chk.blame}"
            picked = fd_entries(lesson.graph, chk.param, chk.symbolic)
            line = (
                f"  ∂{out}/∂{chk.param} (the lesson's arrays, finite differences at "
                f"{len(picked)} of {chk.symbolic.size} entries): "
                f"rel. error {chk.rel_error:.1e} ({chk.grade})  {mark}"
            )
            p.event(
                "gradcheck", line, form="values", entries=[list(i) for i in picked], **chk.as_json()
            )
    if lesson.jacobian is not None:
        J, vjp = jacobian_values(lesson.jacobian)
        p.event(
            "jacobian",
            None,
            shape=list(J.shape),
            jacobian=J.tolist(),
            upstream=list(lesson.jacobian.upstream),
            vjp=vjp.tolist(),
        )


def _train(lesson: Lesson, variant, opts: Options, p: Printer, err: TextIO) -> int:
    from tutor.train.backends import DeviceError
    from tutor.train.data import DataError
    from tutor.train.datasets import load
    from tutor.train.registry import BACKEND_KINDS
    from tutor.train.session import LogPolicy, Session
    from tutor.train.spec import backends_for, dataset_for, resolve

    train = lesson.train
    assert train is not None  # run() trains only a lesson with a [train] table
    backends = opts.backends or list(backends_for(lesson, variant))
    if any(BACKEND_KINDS[b].torch for b in backends) and opts.device != "cpu":
        from tutor.train.backends import resolve_device

        try:  # say so before any backend has run
            resolve_device(opts.device)
        except DeviceError as exc:
            return usage_error(p, err, str(exc))
    try:
        data = load(dataset_for(lesson, variant))
    except DataError as exc:
        return usage_error(p, err, str(exc))
    status = EXIT_OK
    every = opts.log_every or train.log_every
    p.text(
        f"\nTraining on {data.name}: {_plural(data.x_train.shape[0], 'training sample')}"
        + (f", {data.x_val.shape[0]} validation" if data.x_val is not None else "")
    )
    note = run_note(lesson, variant)
    if note:
        p.text(f"Note: {note}")
    if opts.workers is not None and not opts.backends:
        backends = []  # --workers alone: the data-parallel run only
    for backend in backends:
        try:
            spec = resolve(
                lesson,
                backend,
                variant,
                lr=opts.lr,
                momentum=opts.momentum,
                epochs=opts.epochs,
                seed=opts.seed,
                hidden=opts.hidden,
                device=opts.device,
            )
        except LessonError as exc:  # --hidden beyond the size bounds
            return usage_error(p, err, f"--{exc.key}: {exc.message}")
        try:
            session = Session(spec, data)
            session.keep_predictions = (
                False  # no fit view here: the validation outputs stay on the device
            )
        except DeviceError as exc:
            err.write(f"backprop-tutor: {exc}\n")
            p.event("error", None, backend=backend, message=str(exc))
            return EXIT_USAGE
        p.text(
            f"\n{backend} on {session.device}: {optimizer_text(spec)}, {_plural(session.total, 'step')}"
        )

        def emit(s, backend=backend):
            if s.done or s.diverged or s.error:
                return
            fields = dict(
                backend=backend,
                device=s.device,
                step=s.step,
                epoch=s.epoch,
                loss=s.loss,
                val_loss=s.val_loss,
                eval_step=s.eval_step,
                grad_norm={k: g.norm for k, g in s.grads.items()},
            )
            if any(g.rows is not None for g in s.grads.values()):  # an embedding's rows picked
                fields["grad_rows"] = {k: g.rows for k, g in s.grads.items() if g.rows is not None}
            if s.params is not None:
                fields["params"] = s.params
                fields["grads"] = s.grad_values
            if s.accuracy is not None:
                fields["accuracy"] = s.accuracy
                fields["val_accuracy"] = s.val_accuracy
            if s.layers:  # the by-depth view: every layer's ‖∂W‖, dead or saturated fraction
                fields["layers"] = [stat.as_json() for stat in s.layers]
            p.event("train", None if p.as_json else step_line(s), **fields)

        final = session.run(emit=emit, policy=LogPolicy(every=every))
        assert final is not None  # a fresh session's run ends on a snapshot
        done: dict[str, Any] = dict(
            backend=backend,
            device=session.device,
            steps=session.step,
            final_loss=final.loss,
            final_val_loss=final.val_loss,
            seconds=session.active,
            steps_per_second=final.steps_per_second,
            diverged=final.diverged,
            error=final.error or None,
            diagnosis=session.diagnosis,
        )
        if final.accuracy is not None:
            done["accuracy"], done["val_accuracy"] = final.accuracy, final.val_accuracy
        if final.params is not None:
            done["params"] = final.params
        if final.layers:
            done["layers"] = [stat.as_json() for stat in final.layers]
        if train.probe and not (final.diverged or final.error):
            done["predictions"] = session.predictions(train.probe)
        if not (final.diverged or final.error) and session.samples():
            done["samples"] = session.samples()
        if final.diverged:
            line = "  " + diverged_text(final, "(--lr)")
            status = EXIT_DIVERGED
        elif final.error:
            line = f"  stopped: {final.error}"
            status = EXIT_DIVERGED
        else:
            line = (
                f"  done: {_plural(session.step, 'step')} in {session.active:.2f} s "
                f"({final.steps_per_second:,.0f} steps/s); final loss {number(final.loss)}"
                + (f", validation {number(final.val_loss)}" if final.val_loss is not None else "")
                + (
                    f", accuracy {accuracy_text(final.accuracy, final.val_accuracy, ' / ')}"
                    if final.accuracy is not None
                    else ""
                )
            )
            if final.params is not None:
                line += "\n  parameters: " + params_text(final.params)
            for pr in done.get("predictions", []):
                line += f"\n  prediction: {prediction_text(pr)}"
            if done.get("samples"):
                line += f"\n  {samples_text(done['samples'])}"
            line += depth_text(session, final)
        if session.diagnosis:  # the divergence doctor's verdict (tutor/train/doctor.py)
            from tutor.train.doctor import text as diagnosis_text

            line += "\n  " + diagnosis_text(session.diagnosis).replace("\n", "\n  ")
        p.event("done", line, **done)
    if train.workers is not None:
        status = max(status, _parallel(lesson, opts, p, err))
    if train.baseline:
        from tutor.train.baseline import fit_baseline

        base = fit_baseline(train.baseline, data, train)
        p.event(
            "baseline",
            baseline_text(base, one_line=False),
            **{k: v for k, v in base.items() if k != "loss_curve"},
        )
    return status


def _parallel(lesson: Lesson, opts: Options, p: Printer, err: TextIO) -> int:
    """The data-parallel run (tutor/train/parallel.py): its workers' reports as `parallel` events."""
    from tutor.signals import exit_on_signals
    from tutor.train.parallel import ParallelError
    from tutor.train.parallel import run as run_workers
    from tutor.train.parallel_worker import text_line

    assert lesson.train is not None and lesson.train.workers is not None  # the caller's test
    workers: int = opts.workers or lesson.train.workers
    p.text(
        f"\nData-parallel: {_plural(workers, 'worker')} (torch.distributed, gloo on 127.0.0.1); "
        "‖g‖ per worker, ‖g‖ of their averaged gradient (not the mean of their norms), one process "
        "on the whole batch, and max |Δ|"
    )
    try:
        with exit_on_signals():
            for event in run_workers(
                str(lesson.path),
                workers,
                variant=opts.variant,
                epochs=opts.epochs,
                log_every=opts.log_every,
            ):
                fields = dict(event)
                fields["phase"] = fields.pop("event")
                p.event("parallel", text_line(event), **fields)
    except ParallelError as exc:
        err.write(f"backprop-tutor: {exc}\n")
        p.event("error", None, message=str(exc))
        return EXIT_DIVERGED
    return EXIT_OK


def depth_text(session, final) -> str:
    """After a deep model's run (tutor/present/depth.py): its gradient norms by depth, first and last step."""
    from tutor.present.depth import depth_table, shows_depth

    first, last = session.first_row, session.last_row
    if first is None or last is None or not shows_depth(final.layers):
        return ""
    return "\n  " + "\n  ".join(
        depth_table(first.layers, final.layers, first.step, last.step) + activation_lines(session)
    )


def activation_lines(session) -> list[str]:
    """Each hidden activation's histogram from the start's weights and from the final ones."""
    from tutor.train.activations import histogram_lines, histograms

    x = session.data.x_train
    start = histograms(session.plan, session.initial, x)
    if not start:
        return []
    end = histograms(session.plan, session.backend.params(), x)
    return histogram_lines(start, end, "start", f"step {session.step}")


def _answers(lesson: Lesson, opts: Options, p: Printer, err: TextIO) -> int:
    from tutor.exercises import check_answer

    status = EXIT_OK
    for item in opts.answers:
        ex_id, sep, answer = item.partition("=")
        if not sep:
            return usage_error(p, err, f"--answer takes ID=ANSWER, found {item!r}")
        try:
            verdict = check_answer(lesson, ex_id.strip(), answer)
        except LessonError as exc:
            return usage_error(p, err, exc.message)
        p.event(
            "answer",
            f"{ex_id}: {_verdict_line(verdict)}",
            id=ex_id.strip(),
            answer=answer,
            correct=verdict.correct,
            message=verdict.message,
            feedback=verdict.feedback,
        )
        if not verdict.correct:
            status = 1
    return status


def _verdict_line(verdict) -> str:
    """The text after "ID: ": the verdict, then the checker's message unless it only repeats the verdict."""
    message = verdict.message.strip()
    if not verdict.correct:
        return f"not yet. {message}"
    if message.lower() in ("correct", "correct."):
        return "correct."
    if message.lower().startswith("correct"):  # "Correct: that is the chain rule multiplied out."
        return "c" + message[1:]
    return f"correct. {message}"
