"""The Playground: a small network learning a 2-D dataset, drawn as TF Playground draws it.

The training loop (tutor/playground/runner.py, shared with the headless CLI) runs in a thread
worker and never waits for the screen: every few hundred milliseconds (FRAMES_PER_SECOND) it
evaluates the boundary grid and the figures into a `Frame`, and the screen's own timer draws the
newest frame at its pace. Knobs apply on Enter (fields) or
at once (drop-downs): the learning rate, batch size and regularisation keep the weights; anything
that changes the data or the network starts again from the seed's initial weights.
"""

from __future__ import annotations

import os
import threading
from dataclasses import replace

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import Button, Header, Input, Label, Select, Static
from textual.worker import get_current_worker

from tutor.fmt import printable
from tutor.playground import heatmap
from tutor.playground.model import (
    ACTIVATIONS,
    FEATURES,
    LOSSES,
    REGULARISATIONS,
    Config,
    Playground,
)
from tutor.playground.runner import CANCELLED, FRAMES_PER_SECOND, Frame, Runner, frame_of
from tutor.present.playground import legend_text, status_text
from tutor.train.data import DataError
from tutor.train.doctor import text as diagnosis_text
from tutor.train.plane import DATASETS
from tutor.ui.keys import RUN_KEYS
from tutor.ui.messages import RunEnded
from tutor.ui.widgets.footer import TutorFooter
from tutor.ui.widgets.heatmap import Heatmap, NeuronView, look_for
from tutor.ui.widgets.neurons import NeuronPanel

REDRAW = 0.1  # seconds between the screen's looks at the newest frame
# field id → (label, Config attribute, keeps the weights)
FIELDS = {
    "noise": ("noise%", "noise", False),
    "ratio": ("train%", "train_ratio", False),
    "hidden": ("hidden", "hidden", False),
    "features": ("features", "features", False),
    "lr": ("lr", "lr", True),
    "batch": ("batch", "batch_size", True),
    "rate": ("rate", "reg_rate", True),
    "seed": ("seed", "seed", False),
}
SELECTS = {
    "dataset": ("dataset", False),
    "activation": ("activation", False),
    "regularisation": ("regularisation", True),
    "loss": ("loss", False),
}


class PlaygroundScreen(Screen):
    AUTO_FOCUS = ""  # nothing: space plays; tab reaches the knobs
    BINDINGS = [
        *RUN_KEYS,
        Binding("n", "next_neuron", "Next neuron"),
        Binding("escape", "leave", "Lessons"),
    ]

    playing = var(False)  # the trainer thread runs; it reads this to stop

    def __init__(self, config: Config | None = None):
        super().__init__()
        self.config = config or Config()
        self.pg: Playground | None = None
        self.lock = threading.Lock()  # the trainer thread and the screen share `pg`
        self.frame: Frame | None = None  # the newest, written by whoever trained last
        self.shown: Frame | None = None  # the one on screen
        self.selected: tuple[int, int] | None = None
        self.grid_shape = (32, 32)  # rows, cols of the boundary grid the plane needs

    # -- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        c = self.config
        yield Header(icon="*" if self.app.ascii else None)
        with Horizontal(classes="pg-row"):
            if c.csv:  # the learner's own file: no other dataset to pick
                yield Select(
                    [(printable(os.path.basename(c.csv)), "csv")],
                    value="csv",
                    allow_blank=False,
                    id="select-dataset",
                    compact=True,
                    disabled=True,
                )
            else:
                yield Select(
                    [(d, d) for d in DATASETS],
                    value=c.dataset,
                    allow_blank=False,
                    id="select-dataset",
                    compact=True,
                )
            yield from self._field("noise", f"{c.noise * 100:g}")
            yield from self._field("ratio", f"{c.train_ratio * 100:g}")
            yield Button(self.app.plain("▶ Play"), id="play", variant="success", compact=True)
            yield Button("Step", id="step", compact=True)
            yield Button("Reset", id="reset", compact=True)
        with Horizontal(classes="pg-row"):
            yield from self._field("hidden", ",".join(map(str, c.hidden)) or "0")
            yield Select(
                [(a, a) for a in ACTIVATIONS],
                value=c.activation,
                allow_blank=False,
                id="select-activation",
                compact=True,
            )
            yield from self._field("features", ",".join(c.features))
        with Horizontal(classes="pg-row"):
            yield from self._field("lr", f"{c.lr:g}")
            yield from self._field("batch", str(c.batch_size))
            yield Select(
                [(r, r) for r in REGULARISATIONS],
                value=c.regularisation,
                allow_blank=False,
                id="select-regularisation",
                compact=True,
            )
            yield from self._field("rate", f"{c.reg_rate:g}")
            yield Select(
                [(lo, lo) for lo in LOSSES],
                value=c.loss,
                allow_blank=False,
                id="select-loss",
                compact=True,
            )
            yield from self._field("seed", str(c.seed))
        yield Static(id="pg-status", markup=False)
        yield Static(id="pg-message", markup=False)
        yield Static(id="pg-doctor", markup=False, classes="-none")
        with Horizontal(id="pg-body"):
            with Vertical(id="pg-plane"):
                yield Heatmap(id="pg-heatmap")
                yield Static(id="pg-legend", markup=False)
            yield NeuronPanel(id="pg-neurons")
        yield Static(id="pg-equation", markup=False)
        yield TutorFooter()

    def _field(self, name: str, value: str):
        label = FIELDS[name][0]
        field = Input(value, id=f"field-{name}", compact=True)
        field.tooltip = f"{label}: Enter applies it"
        if name == "features":
            field.tooltip = f"inputs, comma-separated: {', '.join(FEATURES)}; Enter applies them"
        return iter((Label(label), field))

    def on_mount(self) -> None:
        self.build()
        self.set_interval(REDRAW, self.redraw)

    def on_resize(self) -> None:
        self.app.check_size()

    @on(Heatmap.Resized)
    def heatmap_resized(self) -> None:
        self.plane_resized()

    @on(NeuronView.Selected)
    def neuron_selected(self, event: NeuronView.Selected) -> None:
        self.select(event.layer, event.unit)

    def plane_resized(self) -> None:
        """The plane has another size: a grid to match, and the frame drawn again to fit."""
        plane = self.query_one("#pg-heatmap", Heatmap)
        look = look_for(self.app)
        rows, cols = heatmap.grid_rows(max(plane.size.height, 2), look), max(plane.size.width, 2)
        self.grid_shape = (min(rows, 64), min(cols, 64))
        self.shown = None
        if self.pg is not None and not self.playing:
            self.capture()

    # -- the run ------------------------------------------------------------------------------

    def build(self, config: Config | None = None) -> None:
        """A new run from `config`: data, network, initial weights."""
        config = config or self.config
        try:
            pg = Playground(config)
        except (ValueError, DataError) as exc:
            self.say(f"{exc}. The run on screen is unchanged.", error=True)
            return
        was_playing = self.playing
        self.stop()
        with self.lock:
            self.pg, self.config = pg, pg.config
        self.selected = None
        self.query_one(NeuronPanel).fill(self.config.hidden)
        self.capture()
        self.say(self.ready_text())
        if was_playing:
            self.action_play()

    def ready_text(self) -> str:
        pts = self.pg.points
        kind = "classification" if pts.classify else "regression"
        return (
            f"{pts.name}: {len(pts.y_train)} training and {len(pts.y_test)} test points ({kind}). "
            "Space trains; select a neuron to see its equation."
        )

    def capture(self, sps: float = 0.0) -> None:
        """The run's state now, as the next frame (any thread; the caller holds no lock)."""
        with self.lock:
            rows, cols = self.grid_shape
            self.frame = frame_of(self.pg, cols, rows, sps)

    def stop(self) -> None:
        # Cancel first: a loop that sees `playing` fall must also see itself cancelled, or it posts
        # RunEnded, which would stop the next run started right after this (a knob changed mid-run).
        self.workers.cancel_group(self, "playground")
        self.playing = False

    def action_play(self) -> None:
        if self.pg is None:
            return
        if self.playing:
            self.stop()
            self.capture()  # after the chunk in flight (the lock): one state for both lines
            self.redraw()
            self.say(f"Paused at step {self.frame.stats.step:,}. Space goes on.")
            return
        if self.pg.diverged:
            self.say(
                "This run diverged: change a knob (a lower lr) or press r to reset.", error=True
            )
            return
        self.playing = True
        self.run_worker(
            self.train_loop, thread=True, group="playground", exclusive=True, exit_on_error=False
        )

    def train_loop(self) -> None:
        worker = get_current_worker()
        runner = Runner(self.pg, self.lock, fps=FRAMES_PER_SECOND)
        ended = runner.run(self.capture, lambda: worker.is_cancelled or not self.playing)
        if not worker.is_cancelled:
            if ended == CANCELLED:  # `playing` fell without a cancel: the state it stopped in
                self.capture()
            self.post_message(RunEnded(None))

    @on(RunEnded)
    def _stopped(self) -> None:
        self.playing = False

    def watch_playing(self, playing: bool) -> None:
        for button in self.query("#play").results(Button):
            button.label = self.app.plain("⏸ Pause" if playing else "▶ Play")

    def action_step(self) -> None:
        if self.pg is None:
            return
        if self.playing:
            self.action_play()
        with self.lock:
            self.pg.run(1)
        self.capture()
        self.redraw()

    def action_reset(self) -> None:
        if self.pg is None:
            return
        self.stop()
        with self.lock:
            self.pg.reset()
        self.capture()
        self.say("Reset: step 0, the same initial weights. Space trains.")
        self.redraw()

    def action_leave(self) -> None:
        self.stop()
        self.app.pop_screen()

    # -- knobs --------------------------------------------------------------------------------

    @on(Input.Submitted)
    def field_submitted(self, event: Input.Submitted) -> None:
        name = (event.input.id or "").removeprefix("field-")
        if name not in FIELDS or self.pg is None:
            return
        label, attr, keeps = FIELDS[name]
        try:
            value = self._parse(name, event.value)
        except ValueError as exc:
            self.say(f"{label}: {exc}. Fix the field and press Enter.", error=True)
            return
        self.apply(attr, value, keeps, label)
        self.set_focus(None)

    @on(Select.Changed)
    def select_changed(self, event: Select.Changed) -> None:
        name = (event.select.id or "").removeprefix("select-")
        if (
            name not in SELECTS
            or self.pg is None
            or event.value == getattr(self.config, SELECTS[name][0])
        ):
            return
        if name == "dataset" and self.config.csv:  # the file's entry, not a dataset to make
            return
        attr, keeps = SELECTS[name]
        self.apply(attr, event.value, keeps, name)
        self.set_focus(None)  # space, s and r act on the run again

    def _parse(self, name: str, text: str):
        from tutor.playground.model import hidden_sizes

        text = text.strip()
        try:
            if name == "hidden":
                return hidden_sizes(text)
            if name == "features":
                return tuple(f.strip() for f in text.split(",") if f.strip())
            if name in ("batch", "seed"):
                return int(text)
            value = float(text)
        except ValueError as exc:
            if "hidden" in str(exc):
                raise ValueError(str(exc).removeprefix("hidden: ")) from None
            raise ValueError(f"expected a number, found {text!r}") from None
        if name in ("noise", "ratio"):
            return value / 100
        return value

    def apply(self, attr: str, value, keeps: bool, label: str) -> None:
        try:
            config = replace(self.config, **{attr: value}).check()
        except ValueError as exc:
            self.say(f"{exc}. The run on screen is unchanged.", error=True)
            return
        if keeps and not self.pg.diverged:
            with self.lock:
                self.pg.retune(**{attr: value})
                self.config = self.pg.config
            self.say(
                f"{label} is now {value:g}; training goes on from these weights."
                if isinstance(value, float)
                else f"{label} is now {value}; the weights are kept."
            )
            return
        self.build(config)
        if self.pg.config == config:
            self.say(f"{label} changed: {self.ready_text()}")

    # -- drawing ------------------------------------------------------------------------------

    def redraw(self) -> None:
        frame = self.frame
        if frame is None or frame is self.shown or self.pg is None:
            return
        self.shown = frame
        look = look_for(self.app)
        plane = self.query_one("#pg-heatmap", Heatmap)
        pg = self.pg
        pts = pg.points
        rows, cols = max(plane.size.height, 2), max(plane.size.width, 2)
        grid = heatmap.resample(frame.boundary.grid, heatmap.grid_rows(rows, look), cols)
        points = [
            (x, y, label, False) for (x, y), label in zip(pts.x_train, pts.y_train, strict=False)
        ]
        points += [
            (x, y, label, True) for (x, y), label in zip(pts.x_test, pts.y_test, strict=False)
        ]
        plane.show(heatmap.draw(grid, look, pts.classify, points, pts.x_range, pts.y_range))
        self._legend(look, pts)
        self.query_one(NeuronPanel).draw(pg, frame, look, self.selected)
        self._status(frame)
        if self.selected:
            self.query_one("#pg-equation", Static).update(self.app.plain(self._equation()))

    def _legend(self, look: str, pts) -> None:
        self.query_one("#pg-legend", Static).update(
            self.app.plain(legend_text(look, pts, heatmap.POINT))
        )

    def _status(self, frame: Frame) -> None:
        self.set_status(*status_text(frame.stats, frame.steps_per_second if self.playing else 0.0))
        doctor = self.query_one("#pg-doctor", Static)
        doctor.set_class(not frame.diagnosis, "-none")
        if frame.diagnosis:
            doctor.update(
                self.app.plain("Doctor: " + diagnosis_text(frame.diagnosis).replace("\n  ", "\n"))
            )

    def say(self, text: str, error: bool = False) -> None:
        """A message about the last thing the learner did: it stays until the next one."""
        line = self.query_one("#pg-message", Static)
        line.update(self.app.plain(text))
        line.set_class(error, "error")

    def set_status(self, text: str, error: bool = False) -> None:
        status = self.query_one("#pg-status", Static)
        status.update(self.app.plain(text))
        status.set_class(error, "error")

    # -- neurons ------------------------------------------------------------------------------

    def select(self, layer: int, unit: int) -> None:
        self.selected = (layer, unit)
        self.shown = None  # its mark is drawn with the next frame
        for view in self.query(NeuronView):
            view.set_class(view.neuron == self.selected, "-selected")
        self.query_one("#pg-equation", Static).update(self.app.plain(self._equation()))

    def _equation(self) -> str:
        layer, unit = self.selected
        with self.lock:
            text = self.pg.equation(layer, unit)
        return text + "   (the last term is the bias)"

    def action_next_neuron(self) -> None:
        if self.pg is None:
            return
        order = [v.neuron for v in self.query(NeuronView)]
        if not order:
            return
        i = order.index(self.selected) + 1 if self.selected in order else 0
        self.select(*order[i % len(order)])
