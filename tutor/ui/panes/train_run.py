"""A training run's life in the Train part: its data prepared off the UI thread, then a session
started, played, paused, stepped, reset and kept for comparison. The loop runs in a thread worker
and never waits for the screen: it drops its latest snapshot in a slot (`latest`), which the pane's
timer draws. Workers end by posting a message (tutor/ui/messages.py), handled here with `@on`.
TrainPane (train.py) adds what the learner sees and touches.
"""

from __future__ import annotations

import importlib
import threading

from textual import on, work
from textual.reactive import var
from textual.widget import Widget
from textual.worker import get_current_worker

from tutor.errors import LessonError
from tutor.fmt import plural
from tutor.log import logged
from tutor.present.run import Kept, agreement, baseline_text
from tutor.ui.messages import DataReady, Failed, RunEnded
from tutor.ui.panes.train_controls import TrainControls
from tutor.ui.panes.train_view import RunView

REFRESH = 0.1  # seconds between screen updates while training


class RunPane(Widget):
    """The run's state and actions; the subclass lays out `controls` and `view` and draws the
    newest snapshot in `refresh_view`."""

    running = var(False)  # a worker is training the session now
    preparing = var(False)  # the data (and torch) are loading
    paused = var(False)  # the status line says so until the next run
    message = var("")  # the status line's text
    variant = var(None)  # the Variant chosen, or None for the lesson's own settings

    def __init__(self, lesson, **kwargs):
        super().__init__(**kwargs)
        self.lesson = lesson
        self.train = lesson.train
        self.data = None
        self.loaded_dataset = None  # the dataset spec that self.data was loaded from
        self.baseline = None
        self.session = None
        self.settings: dict = {}
        self.overlays: list[Kept] = []  # runs kept on the plot (o)
        self.kept_records: list[dict] = []  # the same, as the progress record keeps them
        self.latest = None  # the slot the training thread writes
        # held by the thread in session.run: a run started while a cancelled one finishes its step
        # waits for it, and the UI thread reads the weights only while it can take it
        self.session_lock = threading.Lock()
        self.shown = None  # the snapshot on screen
        self.play_when_ready = False  # space pressed while the data was loading

    @property
    def controls(self) -> TrainControls:
        return self.query_one(TrainControls)

    @property
    def view(self) -> RunView:
        return self.query_one(RunView)

    def backends(self) -> list[str]:
        from tutor.train.spec import backends_for

        return list(backends_for(self.lesson, self.variant)) + (
            ["sklearn"] if self.train.baseline else []
        )

    def dataset(self):
        from tutor.train.spec import dataset_for

        return dataset_for(self.lesson, self.variant)

    def backend(self) -> str:
        return self.controls.backend

    def read_settings(self) -> dict | None:
        """The fields as checked values; a typo is reported in the status line, never raised."""
        try:
            return self.controls.read()
        except LessonError as exc:
            self.set_status(exc.message, error=True)
            return None

    def watch_running(self, running: bool) -> None:
        for controls in self.query(TrainControls).results(TrainControls):  # none while unmounting
            controls.show_playing(running)

    def watch_preparing(self, preparing: bool) -> None:
        for indicator in self.query("#train-loading"):
            indicator.display = preparing

    def set_status(self, text: str, error: bool = False) -> None:
        self.message = text
        self.view.say(text, error)

    def start(self) -> None:
        if self.train is not None and self.data is None and not self.preparing:
            self.preparing = True
            self.prepare()

    @work(thread=True, exclusive=True, group="prepare", exit_on_error=False)
    def prepare(self) -> None:
        """Data (scikit-learn) and the first session (torch) load here, off the UI thread."""
        from tutor.heavy import load as load_heavy
        from tutor.train.data import DataError
        from tutor.train.datasets import load

        load_heavy("torch", "sklearn.model_selection")  # one thread at a time (see tutor.heavy)
        dataset = self.dataset()
        try:
            data = load(dataset)
            baseline = None
            if self.train.baseline:
                from tutor.train.baseline import fit_baseline

                baseline = fit_baseline(
                    self.train.baseline, data, self.train
                )  # the lesson's settings
            importlib.import_module("tutor.train.backends")  # warm the import (torch) here
        except DataError as exc:
            self.post_message(Failed("data", str(exc)))
            return
        except Exception as exc:  # noqa: BLE001 - said in the status line, kept in the log
            self.post_message(Failed("data", logged(exc, f"loading the data of {self.lesson.id}")))
            return
        self.post_message(DataReady(data, baseline, dataset))

    @on(Failed)
    def failed(self, event: Failed) -> None:
        event.stop()
        self.preparing = False
        self.set_status(f"Cannot train: {event.message}", error=True)
        self.view.baseline(None)

    @on(DataReady)
    def ready(self, event: DataReady) -> None:
        event.stop()
        self.preparing = False
        if event.dataset != self.dataset():  # the variant changed while this data was loading
            self.start()
            return
        self.data, self.baseline, self.loaded_dataset = event.data, event.baseline, event.dataset
        if self.baseline is not None:
            self.view.baseline(self.baseline)
        if self.new_session() and self.play_when_ready:
            self.action_play()
        self.play_when_ready = False

    def new_session(self) -> bool:
        """A fresh run from the same initial weights (same seed → same start)."""
        from tutor.train.backends import DeviceError
        from tutor.train.session import Session
        from tutor.train.snapshot import History
        from tutor.train.spec import resolve

        if self.data is None:
            return False
        self.cancel_run()
        settings = self.read_settings()
        if settings is None:
            return False
        backend = self.backend()
        self.session = None
        if backend == "sklearn":
            self.show_baseline()
            return False
        try:
            spec = resolve(self.lesson, backend, self.variant, **settings)
            self.session = Session(spec, self.data, History())
        except DeviceError as exc:
            self.set_status(str(exc), error=True)
            return False
        except LessonError as exc:  # a setting beyond the bounds (hidden too large here)
            self.set_status(f"{exc.key}: {exc.message}. Fix the field and press enter.", error=True)
            return False
        except Exception as exc:  # noqa: BLE001 - a bad combination of settings must not crash the app
            self.set_status(
                f"Cannot start {backend}: {logged(exc, f'starting {backend}')}", error=True
            )
            return False
        self.settings = settings
        self.query_one("#run-code").show_for(self)  # the code view follows the run
        self.latest = self.shown = None
        self.paused = False
        variant = f" (variant {self.variant.name})" if self.variant else ""
        self.set_status(
            f"{backend}{variant} ready: {plural(self.session.total, 'step')} on {self.session.device}. "
            "Press space."
        )
        self.refresh_view(force=True)
        return True

    def show_baseline(self) -> None:
        if self.baseline is None:
            self.set_status("This lesson has no library baseline.")
            return
        self.set_status(baseline_text(self.baseline, one_line=True))

    @work(thread=True, exclusive=True, group="train", exit_on_error=False)
    def train_worker(self, session, until: int | None) -> None:
        from tutor.train.session import LogPolicy

        worker = get_current_worker()
        policy = LogPolicy(every=max(1, session.total // 500), interval=REFRESH)

        def emit(snapshot) -> None:
            self.latest = snapshot  # a slot, not a queue: the loop never waits

        try:
            with self.session_lock:
                if worker.is_cancelled:
                    return
                session.run(
                    emit=emit, cancelled=lambda: worker.is_cancelled, policy=policy, until=until
                )
        except Exception as exc:  # noqa: BLE001 - the run fails, the app and its other runs go on
            if not worker.is_cancelled:
                logged(exc, f"training {session.spec.backend}")
                self.post_message(RunEnded(session, exc))
            return
        if not worker.is_cancelled:
            self.post_message(RunEnded(session))

    @on(RunEnded)
    def run_ended(self, event: RunEnded) -> None:
        event.stop()
        session = event.session
        if session is not self.session:
            return
        self.running = False
        if event.error is not None:  # whatever escaped the loop: one line, every control still live
            from tutor.train.session import explain_failure

            session.finished = True
            self.paused = False
            self.shown = self.latest
            self.set_status(
                explain_failure(session.spec, session.step + 1, event.error, session.device),
                error=True,
            )
            return
        self.refresh_view(force=True)
        if session.finished and self.overlays:
            self.set_status(
                self.message + " · " + agreement(session, self.overlays[-1], self.run_label())
            )

    def cancel_run(self) -> None:
        for worker in self.workers:
            if worker.group == "train":
                worker.cancel()
        self.running = False

    def action_play(self) -> None:
        if self.running:
            self.cancel_run()
            self.paused = True
            self.set_status(self.pause_message())
            return
        if self.preparing:
            self.play_when_ready = True
            self.set_status("Loading the data; the run starts as soon as it is ready.")
            return
        if self.session is None and not self.new_session():
            return
        if self.session.finished:
            self.set_status(
                "This run has finished: press r to reset, or o to overlay another backend."
            )
            return
        self.running, self.paused = True, False
        self.train_worker(self.session, None)

    def pause(self) -> None:
        """The lesson was left: stop the loop where it is; space resumes it."""
        if self.running:
            self.action_play()

    def action_step(self) -> None:
        if self.session is None and not self.new_session():
            return
        if self.running:
            self.cancel_run()
        if not self.session.finished:
            self.paused = False
            self.train_worker(self.session, self.session.step + 1)

    def action_reset(self) -> None:
        """r: a fresh run. Kept runs go too, but only once the learner says so."""
        if not self.overlays:
            self.new_session()
            return
        from tutor.ui.screens.confirm import Confirm

        n = len(self.overlays)
        question = (
            f"Reset throws away the {plural(n, 'run')} kept on the plot "
            f"({', '.join(k.label for k in self.overlays)})."
        )
        self.app.push_screen(
            Confirm(question, "y: throw them away and reset · n or escape: keep them"),
            self._reset_answered,
        )

    def _reset_answered(self, sure: bool | None) -> None:
        if sure:
            self.overlays.clear()
            self.kept_records.clear()
            self.remember_run()
            self.new_session()
        else:
            self.set_status("Kept runs stay on the plot; nothing was reset.")

    def remember_run(self) -> None:
        """The backend, the variant and the kept runs, in the progress record: a restart resumes them."""
        self.app.progress.remember(
            self.lesson.id,
            backend=self.backend(),
            variant=self.variant.name if self.variant else "",
            kept=list(self.kept_records),
        )

    def restore_run(self, place: dict) -> None:
        """The backend, variant and kept runs as the progress record has them (see remember_run)."""
        from tutor.train.spec import setting_for
        from tutor.ui.panes.kept import from_kept_record

        name = place.get("variant") or ""
        if name and name in {v.name for v in self.lesson.variants}:
            self.variant = self.lesson.variant(name)
            self.controls.select_variant(name)
            self.controls.set_backends(
                self.backends(), setting_for(self.lesson, self.variant, "optimizer")
            )
        if place.get("backend") in self.backends():
            self.controls.select_backend(place["backend"])
        for record in place.get("kept", []):
            kept = from_kept_record(self.lesson, record)
            if kept is not None:
                self.overlays.append(kept)
                self.kept_records.append(record)

    def action_overlay(self) -> None:
        """Keep this run on the plot and get the next backend ready, from the same weights."""
        if self.session is None or self.session.step == 0:
            self.set_status("Run a backend first; o keeps its curve and readies the next one.")
            return
        if self.running:
            self.cancel_run()
        s = self.session
        kept = Kept(self.run_label(), s.history, s.spec, s.step, s.total)
        self.overlays.append(kept)
        from tutor.ui.panes.kept import kept_record

        self.kept_records.append(kept_record(kept, self.variant.name if self.variant else ""))
        options = [b for b in self.backends() if b != "sklearn"]
        nxt = options[(options.index(s.spec.backend) + 1) % len(options)]
        self.controls.select_backend(nxt)
        self.remember_run()
        self.new_session()
        where = "" if kept.step == kept.total else f" (stopped at step {kept.step} of {kept.total})"
        self.set_status(f"Kept {kept.label}{where} on the plot; {nxt} is ready. Press space.")

    def restart(self) -> None:
        was_running = self.running
        if self.new_session() and was_running:
            self.action_play()

    def run_label(self) -> str:
        """The current run on the plot: its backend, and its variant where one is chosen."""
        backend = self.session.spec.backend
        return f"{backend} ({self.variant.name})" if self.variant else backend

    def pause_message(self) -> str:
        return f"Paused at step {self.session.step}. Space resumes, s takes one step."
