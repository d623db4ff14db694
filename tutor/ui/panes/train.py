"""Train: play, pause, step and reset a run; change its settings live; watch the loss curves
and the per-layer gradient table. The run itself is RunPane's (train_run.py); this pane lays out
the controls and the view, handles their events, and draws the newest snapshot from a 10 Hz timer
inside one `batch_update()`.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.reactive import var
from textual.widgets import Button, ContentSwitcher, Input, LoadingIndicator, Select, Static
from textual.worker import Worker

from tutor.ui.keys import RUN_KEYS
from tutor.ui.messages import PaneMounted
from tutor.ui.panes.train_controls import FIELDS, TrainControls
from tutor.ui.panes.train_run import REFRESH, RunPane
from tutor.ui.panes.train_view import RunView
from tutor.ui.widgets.heatmap import Heatmap


class TrainPane(RunPane, can_focus=True):
    """The Train part. It holds the focus while no field or button does, so its keys are live."""

    HELP_TITLE = "Train"

    BINDINGS = [
        *RUN_KEYS,
        Binding("o", "overlay", "Overlay"),
        Binding("l", "log", "Log scale"),
        Binding("c", "code", "Code"),
        Binding(
            "a", "activations", "Activation histograms (deep models)", show=False
        ),  # listed by ?
        Binding(
            "w", "workers", "Workers: each one's gradient (data-parallel)", show=False
        ),  # listed by ?
        Binding("v", "variant", "Variant: open the drop-down (enter chooses)", show=False),
        # the view under the controls scrolls: the whole doctor's sentence, every table row
        Binding("down", "scroll_view('down')", "Scroll down", show=False),
        Binding("up", "scroll_view('up')", "Scroll up", show=False),
        Binding("pagedown", "scroll_view('page_down')", "Page down", show=False),
        Binding("pageup", "scroll_view('page_up')", "Page up", show=False),
        Binding(
            "end", "scroll_view('end')", "Scroll to the end (the table's last row)", show=False
        ),
        Binding("home", "scroll_view('home')", "Scroll to the top", show=False),
    ]

    log_scale = var(True)  # l: the loss axis on a log scale, or linear
    layer_shown = var(0)  # a: 0 the depth view, i ≥ 1 activation layer i's histogram

    def compose(self) -> ComposeResult:
        if self.train is None:
            yield Static(
                "This lesson has nothing to train: its point is the derivation.", id="no-train"
            )
            return
        from tutor.ui.panes.run_code import RunCode

        yield TrainControls(self.lesson, self.backends())
        with ContentSwitcher(initial="run-view", id="train-switch"):  # c: the plot or the code
            yield RunView(
                bool(self.train.baseline),
                bool(self.train.note or any(v.changes.get("note") for v in self.lesson.variants)),
                depth=self.shows_depth(),
                boundary=self.shows_boundary(),
                id="run-view",
            )
            yield RunCode(id="run-code")
            if self.train.workers is not None:
                from tutor.ui.panes.train_workers import WorkersView

                yield WorkersView(self.lesson, id="run-workers")
        yield LoadingIndicator(id="train-loading")

    def on_mount(self) -> None:
        self.post_message(
            PaneMounted("train")
        )  # mounted late (lazy): the screen starts it if in view
        # not attached (the app closing) or no children: removed before its Mount event ran
        if self.train is None or not self.is_attached or not self.children:
            return
        self.query_one("#train-loading").display = False
        place = self.app.progress.place(self.lesson.id)
        self.restore_run(place)
        self.controls.fill(self.variant)
        if self.variant is None:
            self.controls.restore(place.get("train", {}))
        self.show_note()
        # draws the newest snapshot 10 times a second while a training thread runs; paused at rest
        self.ticker = self.set_interval(REFRESH, self.refresh_view, pause=True)
        self.set_status("Press space to train, s to take one step.")

    def show_note(self) -> None:
        """The note about the runs: the variant's own where it has one, else the lesson's."""
        from tutor.train.spec import setting_for

        self.view.note(setting_for(self.lesson, self.variant, "note"))

    def action_code(self) -> None:
        """c: the run as code (what --export-code prints), in place of the plot and the table."""
        from tutor.ui.panes.run_code import RunCode

        switch = self.query_one("#train-switch", ContentSwitcher)
        code = self.query_one(RunCode)
        code.shown = switch.current != "run-code"
        switch.current = "run-code" if code.shown else "run-view"
        code.show_for(self)
        (
            code if code.shown else self
        ).focus()  # arrows and page keys scroll the script, or the Train keys

    def action_workers(self) -> None:
        """w: the data-parallel run on the lesson's workers, in place of the plot (w again: back)."""
        from tutor.ui.panes.train_workers import WorkersView

        switch = self.query_one("#train-switch", ContentSwitcher)
        view = self.query_one(WorkersView)
        if switch.current == "run-workers":
            switch.current = "run-view"
            return
        switch.current = "run-workers"
        if not view.running:
            view.start(self.variant.name if self.variant else None)

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "variant":
            return bool(self.lesson.variants)
        if action == "activations":  # the histograms take the depth view's place
            return self.train is not None and self.shows_depth()
        if action == "workers":
            return self.train is not None and self.train.workers is not None
        return True

    def action_activations(self) -> None:
        """a: the next hidden layer's activation histogram in the depth view's place, then back."""
        layers = len(self.histograms()[0]) if self.session is not None else 0
        self.layer_shown = (self.layer_shown + 1) % (max(layers, 1) + 1)

    def watch_layer_shown(self) -> None:
        if self.is_mounted and self.train is not None:
            self.draw_activations()

    def histograms(self) -> tuple[list, list | None, str]:
        """The session's activation histograms at the start and now (None while a thread trains:
        the weights are changing), each computed once per session and step."""
        from tutor.train.activations import histograms

        session = self.session
        x = session.data.x_train
        if getattr(self, "_start_for", None) is not session:
            self._start_for, self._start = session, histograms(session.plan, session.initial, x)
            self._now_at = None
        if session.step == 0:
            return self._start, self._start, "start"
        if self._now_at != session.step:
            if not self.session_lock.acquire(blocking=False):
                return self._start, None, "now"
            try:
                self._now = histograms(session.plan, session.backend.params(), x)
                self._now_at = session.step
            finally:
                self.session_lock.release()
        return self._start, self._now, f"step {session.step}"

    def draw_activations(self) -> None:
        if self.session is None:
            self.view.activations([], None, 0, "")
            return
        start, now, label = self.histograms() if self.layer_shown else ([], None, "")
        self.view.activations(start, now, self.layer_shown, label)

    def action_variant(self) -> None:
        """v: the variant drop-down, opened (arrows and enter choose; the pane's keys come back after)."""
        select = self.query_one("#variant", Select)
        select.focus()
        select.action_show_overlay()

    def action_scroll_view(self, how: str) -> None:
        switch = self.query_one("#train-switch", ContentSwitcher)
        target = self.query_one(f"#{switch.current}")
        getattr(target, f"scroll_{how}")(animate=False)

    def action_log(self) -> None:
        self.log_scale = not self.log_scale
        self.refresh_view(force=True)

    @on(Button.Pressed, "#play")
    def play_pressed(self) -> None:
        self.action_play()

    @on(Button.Pressed, "#step")
    def step_pressed(self) -> None:
        self.action_step()

    @on(Button.Pressed, "#reset")
    def reset_pressed(self) -> None:
        self.action_reset()

    @on(Button.Pressed, "#overlay")
    def overlay_pressed(self) -> None:
        self.action_overlay()

    @on(Select.Changed)
    def select_changed(self, event: Select.Changed) -> None:
        if event.select.has_focus:  # hand space back to play/pause once a choice is made
            self.focus()
        if event.select.id == "optimizer":
            self.controls.sync_momentum()
        if event.select.id == "variant":
            # the drop-down's value now, not the event's: one posted as it mounted may be stale
            name = str(event.select.value)
            if name != (self.variant.name if self.variant else ""):
                self.choose_variant(name)
        elif self.data is not None and event.select.id in ("backend", "optimizer", "device"):
            self.restart()
        self.remember_run()

    def choose_variant(self, name: str) -> None:
        """A variant changes settings, maybe the backends or the dataset: fields, drop-downs and
        data follow it, and the plot starts afresh."""
        from tutor.train.spec import setting_for

        self.cancel_run()
        self.variant = (
            self.lesson.variant(name) if name else None
        )  # kept runs stay: compare across variants
        self.controls.set_backends(
            self.backends(), setting_for(self.lesson, self.variant, "optimizer")
        )
        self.controls.fill(self.variant)
        self.show_note()
        if self.data is not None and self.dataset() != self.loaded_dataset:
            self.data = self.session = self.latest = None
            self.set_status(f"Loading the data of {'variant ' + name if name else 'the lesson'}…")
            self.start()
        elif self.data is not None:
            self.new_session()
            if self.variant:
                self.set_status(f"Variant {name}: {self.variant.title}. {self.message}")

    @on(Input.Changed)
    def field_changed(self, event: Input.Changed) -> None:
        """Kept for this session: leaving the lesson and coming back finds the fields as left
        (those of the lesson's own settings; a variant's belong to the variant)."""
        progress, lesson = self.app.progress, self.lesson.id
        name = (event.input.id or "").removeprefix("field-")
        if self.variant is None and name in FIELDS:
            fields = progress.place(lesson).get("train", {})
            progress.remember(lesson, train={**fields, name: event.value})

    @on(Input.Submitted)
    def field_submitted(self) -> None:
        if self.data is not None:
            self.restart()
        self.focus()  # space plays again, s steps

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "train":
            self.ticker.resume()  # a run (or one step) is under way, or has just ended

    def at_rest(self) -> bool:
        """No training thread, and its last snapshot drawn: nothing for the ticker to draw."""
        return (
            not self.running
            and self.shown is self.latest
            and not any(w.group == "train" and not w.is_finished for w in self.workers)
        )

    def refresh_view(self, force: bool = False) -> None:
        snap = self.latest
        if self.paused and self.session is not None and self.message != self.pause_message():
            self.set_status(self.pause_message())  # the step in flight when space came has landed
        if not force and snap is self.shown:
            if self.at_rest():
                self.ticker.pause()
            return
        self.shown = snap
        with self.app.batch_update():
            if snap is not None and not self.paused:
                self.set_status(
                    *self.view.line(snap, self.session, self.predictions(snap), self.samples(snap))
                )
                # the status line's state: a finished run's final weights in the value column,
                # beside the gradient and Δw/w of the last logged update, the one that led to them
                self.view.table(snap)
            self.draw_plot()
            self.view.fit(snap, self.data, self.binary_cut())
            self.view.depth(snap, self.session.first_row if self.session is not None else None)
            if self.layer_shown:
                self.draw_activations()
            self.draw_boundary()

    def binary_cut(self) -> float | None:
        """A two-class classifier's threshold on its one output (decided by the loss and the
        labels, as the session's accuracy is), or None."""
        session = self.session
        if session is None or not session.binary:
            return None
        return 0.0 if session.spec.loss == "bce" else 0.5

    def predictions(self, snap) -> list[dict]:
        """The lesson's probe (e.g. f(5)) once a run has finished, as the headless `done` event."""
        if (
            not (snap.done and self.train.probe and not snap.error and not snap.diverged)
            or self.session is None
        ):
            return []
        return self.session.predictions(self.train.probe)

    def samples(self, snap) -> list[dict]:
        """A character model's sampled names once its run has finished, as in the `done` event."""
        if not (snap.done and not snap.error and not snap.diverged) or self.session is None:
            return []
        return self.session.samples()

    def draw_plot(self) -> None:
        series = [(kept.label, *kept.history.series()[:3]) for kept in self.overlays]
        if self.session is not None:
            series.append((self.run_label(), *self.session.history.series()[:3]))
        self.view.plot(series, self.log_scale)

    def shows_boundary(self) -> bool:
        """A lesson on points in a plane (xor) may draw its model's decision boundary."""
        from tutor.train.datasets import DATASET_KINDS

        spec = self.train.dataset
        kind = DATASET_KINDS.get(getattr(spec, "kind", ""))
        try:
            return kind is not None and kind.shape(spec)[0] == 2
        except Exception:  # noqa: BLE001 - a shape that cannot be read without loading: no boundary
            return False

    def draw_boundary(self) -> None:
        """The decision boundary of the weights as they are, when no thread is training them
        (the session's lock is free: a run's end draws it, a run under way keeps the last)."""
        if self.session is None or not self.session_lock.acquire(blocking=False):
            self.view.boundary(self.session, self.data, False)
            return
        try:
            self.view.boundary(self.session, self.data, True)
        finally:
            self.session_lock.release()

    @on(Heatmap.Resized, "#boundary")
    def boundary_resized(self, event: Heatmap.Resized) -> None:
        event.stop()
        self.draw_boundary()

    def shows_depth(self) -> bool:
        """A deep model (tutor/present/depth.py DEPTH_MIN linear layers, in the lesson or a variant)
        gets the by-depth view of its gradients beside the loss."""
        from tutor.present.depth import shows_depth

        return any(
            shows_depth(layers)
            for layers in [self.train.layers]
            + [v.changes["layers"] for v in self.lesson.variants if "layers" in v.changes]
        )

    def on_unmount(self) -> None:
        self.cancel_run()
