"""Train: play, pause, step and reset a run; change its settings live; watch the loss curves
and the per-layer gradient table. The loop runs in a thread worker and never waits for the
screen: it drops its latest snapshot in a slot, which a 10 Hz timer reads inside one
`batch_update()`.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Button, DataTable, Input, Label, LoadingIndicator, Select, Static
from textual.worker import get_current_worker

from tutor.errors import LessonError
from tutor.fmt import number, number_within, numbers_within, plural
from tutor.lesson import DEVICES, OPTIMIZERS

REFRESH = 0.1          # seconds between screen updates while training
FIELDS = ("lr", "momentum", "epochs", "hidden", "seed")
NARROW = 120           # columns
CELL = 8               # characters of a number column in the gradient table
VALUE = 20             # characters of its value column: the parameters' values, "…" where cut
SHORT = 30             # rows of the pane below which the lesson's note is hidden
PLAY, PAUSE = "▶ Play", "❚❚ Pause"


class TrainPane(Widget):
    def __init__(self, lesson, **kwargs):
        super().__init__(**kwargs)
        self.lesson = lesson
        self.train = lesson.train
        self.data = None
        self.baseline = None
        self.session = None
        self.overlays: list[Kept] = []                    # runs kept on the plot (o)
        self.latest = None                               # the slot the training thread writes
        self.shown = None
        self.running = False
        self.loading = False
        self.settings: dict = {}
        self.message = ""
        self.plot_dirty = True
        self.play_when_ready = False                     # space pressed while the data was loading
        self.paused = False                              # the status line says so until the next run
        self.variant = None                              # the Variant chosen, or the lesson's own settings
        self.loaded_dataset = None                       # the dataset spec that self.data was loaded from

    # -- layout ---------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        if self.train is None:
            yield Static("This lesson has nothing to train: its point is the derivation.", id="no-train")
            return
        backends = self.backends()
        with Horizontal(id="controls"):
            yield Select([(b, b) for b in backends], value=backends[0], allow_blank=False, id="backend", compact=True)
            yield Select([(o, o) for o in OPTIMIZERS], value=self.train.optimizer, allow_blank=False, id="optimizer",
                         compact=True)
            yield Select([(d, d) for d in DEVICES], value=self.app.device if self.app.device in DEVICES else "cpu",
                         allow_blank=False, id="device", compact=True)
            yield Button(self.app.plain(PLAY), id="play", variant="success", compact=True)
            yield Button("Step", id="step", compact=True)
            yield Button("Reset", id="reset", compact=True)
            yield Button("Overlay", id="overlay", compact=True)
        with Horizontal(id="fields"):
            for name in FIELDS:
                yield Label(name)
                yield Input(id=f"field-{name}", compact=True)
            if self.lesson.variants:
                variants = Select([("standard", "")] + [(f"variant {v.name}", v.name) for v in self.lesson.variants],
                                  value="", allow_blank=False, id="variant", compact=True)
                variants.tooltip = "The lesson's variants: other settings or data for the same model"
                yield variants
        yield Static(id="status", markup=False)
        if self.train.baseline:
            yield Static(self.app.plain("Fitting the baseline…"), id="baseline", markup=False)
        if self.train.note or any(v.changes.get("note") for v in self.lesson.variants):
            yield Static(id="train-note", markup=False)
        with Horizontal(id="train-body"):
            with Horizontal(id="plot-box"):
                from tutor.ui.widgets.plots import FitView, LossPlot

                yield LossPlot(id="plot")
                yield FitView(id="fit")
                if self.shows_depth():
                    from tutor.ui.widgets.depth_plot import DepthPlot

                    yield DepthPlot(id="depth")
            yield DataTable(id="grads", zebra_stripes=True, cursor_type="none")
        from tutor.ui.panes.run_code import RunCode

        yield RunCode(id="run-code")
        yield LoadingIndicator(id="train-loading")

    def on_mount(self) -> None:
        if self.train is None:
            return
        self.query_one("#train-loading").display = False
        self.query_one("#plot").ascii = self.query_one("#fit").ascii = self.app.ascii
        table = self.query_one("#grads", DataTable)
        # fixed widths: the table must not jump about as numbers change length mid-run
        # "‖g‖, g": the gradient's norm, or the signed gradient itself for a one-number parameter
        for label, width in (("param", 6), ("shape", 7), ("‖g‖, g", CELL), ("mean|g|", CELL), ("max|g|", CELL),
                             ("Δw/w", CELL), ("value", VALUE)):
            table.add_column(self.app.plain(label), width=width)
        self.fill_fields()
        self.show_note()
        for name, value in self.app.progress.place(self.lesson.id).get("train", {}).items():
            if name in FIELDS:
                self.query_one(f"#field-{name}", Input).value = value   # as the learner left them
        self.set_interval(REFRESH, self.refresh_view)
        self.set_status("Press space to train, s to take one step.")

    def fill_fields(self) -> None:
        """The fields show the lesson's settings, or the chosen variant's where it changes them."""
        from tutor.train.spec import setting_for

        for name in FIELDS:
            value = setting_for(self.lesson, self.variant, name)
            widget = self.query_one(f"#field-{name}", Input)
            widget.value = "" if value is None else f"{value:g}" if name in ("lr", "momentum") else str(value)
            widget.disabled = name == "hidden" and value is None
        self.sync_momentum()

    def sync_momentum(self) -> None:
        """Momentum means something to sgd only: its field is open while sgd is chosen."""
        field = self.query_one("#field-momentum", Input)
        field.disabled = self.query_one("#optimizer", Select).value != "sgd"
        field.tooltip = "sgd's momentum: each update adds this fraction of the previous one, so a steady " \
                        "gradient moves the weights lr/(1 − momentum) per step"

    def show_note(self) -> None:
        """The note about the runs: the variant's own where it has one, else the lesson's."""
        from tutor.train.spec import setting_for

        for widget in self.query("#train-note").results(Static):
            note = setting_for(self.lesson, self.variant, "note")
            widget.update(self.app.plain(f"Note: {note}") if note else "")
            widget.set_class(not note, "-none")        # a class, so that -short still hides it

    def backends(self) -> list[str]:
        from tutor.train.spec import backends_for

        return list(backends_for(self.lesson, self.variant)) + (["sklearn"] if self.train.baseline else [])

    def dataset(self):
        from tutor.train.spec import dataset_for

        return dataset_for(self.lesson, self.variant)

    # -- preparing data and a run ---------------------------------------------------------------

    def start(self) -> None:
        if self.train is not None and self.data is None and not self.loading:
            self.loading = True
            self.query_one("#train-loading").display = True
            self.prepare()

    @work(thread=True, exclusive=True, group="prepare", exit_on_error=False)
    def prepare(self) -> None:
        """Data (scikit-learn) and the first session (torch) load here, off the UI thread."""
        from tutor.train.data import DataError, load
        from tutor.heavy import load as load_heavy

        load_heavy("torch", "sklearn.model_selection")       # one thread at a time (see tutor.heavy)
        dataset = self.dataset()
        try:
            data = load(dataset)
            baseline = None
            if self.train.baseline:
                from tutor.train.baseline import fit_baseline

                baseline = fit_baseline(self.train.baseline, data, self.train)     # the lesson's settings
            import tutor.train.backends  # noqa: F401 - warm the import (torch) here
        except DataError as exc:
            self.app.call_from_thread(self.failed, str(exc))
            return
        except Exception as exc:  # noqa: BLE001
            self.app.call_from_thread(self.failed, f"{type(exc).__name__}: {exc}")
            return
        self.app.call_from_thread(self.ready, data, baseline, dataset)

    def failed(self, message: str) -> None:
        self.loading = False
        self.query_one("#train-loading").display = False
        self.set_status(f"Cannot train: {message}", error=True)
        for widget in self.query("#baseline").results(Static):
            widget.update("")

    def ready(self, data, baseline, dataset) -> None:
        if dataset != self.dataset():        # the variant changed while this data was loading
            self.loading = False
            self.start()
            return
        self.data, self.baseline, self.loading, self.loaded_dataset = data, baseline, False, dataset
        self.query_one("#train-loading").display = False
        if baseline is not None:
            from tutor.train.baseline import summary

            self.query_one("#plot").reference = (baseline["name"], baseline["loss"])
            self.query_one("#baseline", Static).update(self.app.plain(summary(baseline)))
        if self.new_session() and self.play_when_ready:
            self.action_play()
        self.play_when_ready = False

    def backend(self) -> str:
        return str(self.query_one("#backend", Select).value)

    def read_settings(self) -> dict | None:
        """The fields as checked values; a typo is reported in the status line, never raised."""
        from tutor.train.spec import parse_setting

        out = {}
        for name in FIELDS:
            widget = self.query_one(f"#field-{name}", Input)
            if widget.disabled:
                continue
            try:
                out[name] = parse_setting(name, widget.value.strip())
            except LessonError as exc:
                self.set_status(f"{name}: {exc.message}. Fix the field and press enter.", error=True)
                return None
        out["optimizer"] = str(self.query_one("#optimizer", Select).value)
        out["device"] = str(self.query_one("#device", Select).value)
        return out

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
        if backend == "sklearn":
            self.session = None
            self.show_baseline()
            return False
        try:
            spec = resolve(self.lesson, backend, self.variant, **settings)
            self.session = Session(spec, self.data, History())
        except DeviceError as exc:
            self.session = None
            self.set_status(str(exc), error=True)
            return False
        except LessonError as exc:                 # a setting beyond the bounds (hidden too large here)
            self.session = None
            self.set_status(f"{exc.key}: {exc.message}. Fix the field and press enter.", error=True)
            return False
        except Exception as exc:  # noqa: BLE001 - a bad combination of settings must not crash the app
            self.session = None
            self.set_status(f"Cannot start {backend}: {type(exc).__name__}: {exc}", error=True)
            return False
        self.settings = settings
        self.query_one("#run-code").show_for(self)          # the code view follows the run
        self.latest = self.shown = None
        self.paused = False
        self.plot_dirty = True
        variant = f" (variant {self.variant.name})" if self.variant else ""
        self.set_status(f"{backend}{variant} ready: {plural(self.session.total, 'step')} on {self.session.device}. Press space.")
        self.refresh_view(force=True)
        return True

    def show_baseline(self) -> None:
        from tutor.train.baseline import summary

        if self.baseline is None:
            self.set_status("This lesson has no library baseline.")
            return
        self.set_status(summary(self.baseline))

    # -- the run --------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="train", exit_on_error=False)
    def train_worker(self, session, until: int | None) -> None:
        from tutor.train.session import LogPolicy

        worker = get_current_worker()
        policy = LogPolicy(every=max(1, session.total // 500), interval=REFRESH)

        def emit(snapshot) -> None:
            self.latest = snapshot              # a slot, not a queue: the loop never waits

        try:
            session.run(emit=emit, cancelled=lambda: worker.is_cancelled, policy=policy, until=until)
        except Exception as exc:  # noqa: BLE001 - the run fails, the app and its other runs go on
            if not worker.is_cancelled:
                self.app.call_from_thread(self.run_failed, session, exc)
            return
        if not worker.is_cancelled:
            self.app.call_from_thread(self.run_ended, session)

    def run_failed(self, session, exc: BaseException) -> None:
        """Whatever escaped the loop: said in one line, the run closed, every control still live."""
        if session is not self.session:
            return
        from tutor.train.session import explain_failure

        session.finished = True
        self.running = self.paused = False
        self.shown = self.latest
        self.query_one("#play", Button).label = self.app.plain(PLAY)
        self.set_status(explain_failure(session.spec, session.step + 1, exc), error=True)

    def run_ended(self, session) -> None:
        if session is self.session:
            self.running = False
            self.query_one("#play", Button).label = self.app.plain(PLAY)
            self.refresh_view(force=True)
            if session.finished and self.overlays:
                self.set_status(self.message + " · " + agreement(session, self.overlays[-1], self.run_label()))

    def cancel_run(self) -> None:
        for worker in self.workers:
            if worker.group == "train":
                worker.cancel()
        self.running = False
        for button in self.query("#play").results(Button):     # gone already while unmounting
            button.label = self.app.plain(PLAY)

    def action_play(self) -> None:
        if self.running:
            self.cancel_run()
            self.paused = True
            self.set_status(self.pause_message())
            return
        if self.loading:
            self.play_when_ready = True
            self.set_status("Loading the data; the run starts as soon as it is ready.")
            return
        if self.session is None and not self.new_session():
            return
        if self.session.finished:
            self.set_status("This run has finished: press r to reset, or o to overlay another backend.")
            return
        self.running, self.paused = True, False
        self.query_one("#play", Button).label = self.app.plain(PAUSE)
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
        self.overlays.clear()
        self.new_session()

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
        select = self.query_one("#backend", Select)
        options = [b for b in self.backends() if b != "sklearn"]
        nxt = options[(options.index(self.session.spec.backend) + 1) % len(options)]
        with self.prevent(Select.Changed):
            select.value = nxt
        self.new_session()
        where = "" if kept.step == kept.total else f" (stopped at step {kept.step} of {kept.total})"
        self.set_status(f"Kept {kept.label}{where} on the plot; {nxt} is ready. Press space.")

    def action_code(self) -> None:
        """c: the run as code (what --export-code prints), in place of the plot and the table."""
        self.query_one("#run-code").toggle(self)

    def action_log(self) -> None:
        plot = self.query_one("#plot")
        plot.log_scale = not plot.log_scale
        self.plot_dirty = True
        self.refresh_view(force=True)

    # -- settings changed: restart from the same weights, asking nothing ------------------------

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.has_focus:          # hand space back to play/pause once a choice is made
            self.screen.set_focus(None)
        if event.select.id == "optimizer":
            self.sync_momentum()
        if event.select.id == "variant":
            self.choose_variant(str(event.value))
        elif self.data is not None and event.select.id in ("backend", "optimizer", "device"):
            self.restart()

    def choose_variant(self, name: str) -> None:
        """A variant changes settings, maybe the backends or the dataset: fields, drop-downs and
        data follow it, and the plot starts afresh."""
        from tutor.train.spec import setting_for

        self.cancel_run()
        self.variant = self.lesson.variant(name) if name else None    # kept runs stay: compare across variants
        backends = self.backends()
        select = self.query_one("#backend", Select)
        with self.prevent(Select.Changed):
            select.set_options([(b, b) for b in backends])
            select.value = backends[0]
            self.query_one("#optimizer", Select).value = setting_for(self.lesson, self.variant, "optimizer")
        self.fill_fields()
        self.show_note()
        if self.data is not None and self.dataset() != self.loaded_dataset:
            self.data = self.session = self.latest = None
            self.set_status(f"Loading the data of {'variant ' + name if name else 'the lesson'}…")
            self.start()
        elif self.data is not None:
            self.new_session()
            if self.variant:
                self.set_status(f"Variant {name}: {self.variant.title}. {self.message}")

    def on_input_changed(self, event: Input.Changed) -> None:
        """Kept for this session: leaving the lesson and coming back finds the fields as left
        (those of the lesson's own settings; a variant's belong to the variant)."""
        progress, lesson = self.app.progress, self.lesson.id
        if self.variant is None and event.input.id and event.input.id.startswith("field-"):
            fields = progress.place(lesson).get("train", {})
            progress.remember(lesson, train={**fields, event.input.id.removeprefix("field-"): event.value})

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if self.data is not None:
            self.restart()
        self.screen.set_focus(None)          # space plays again, s steps

    def restart(self) -> None:
        was_running = self.running
        if self.new_session() and was_running:
            self.action_play()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        {"play": self.action_play, "step": self.action_step, "reset": self.action_reset,
         "overlay": self.action_overlay}[event.button.id]()

    # -- drawing ---------------------------------------------------------------------------------

    def set_status(self, text: str, error: bool = False) -> None:
        self.message = text
        status = self.query_one("#status", Static)
        status.update(self.app.plain(text.replace(" · ", " | ") if self.app.ascii else text))
        status.set_class(error, "error")
        self.query_one("#plot").say("" if error else "Press space to train.")   # not under an error

    def run_label(self) -> str:
        """The current run on the plot: its backend, and its variant where one is chosen."""
        backend = self.session.spec.backend
        return f"{backend} ({self.variant.name})" if self.variant else backend

    def pause_message(self) -> str:
        return f"Paused at step {self.session.step}. Space resumes, s takes one step."

    def refresh_view(self, force: bool = False) -> None:
        snap = self.latest
        if self.paused and self.session is not None and self.message != self.pause_message():
            self.set_status(self.pause_message())       # the step in flight when space came has landed
        if not force and snap is self.shown:
            return
        self.shown = snap
        with self.app.batch_update():
            if snap is not None and not self.paused:
                line = status_line(snap, self.predictions(snap))
                if (snap.done or snap.diverged) and self.session is not None and self.session.diagnosis:   # the doctor
                    from tutor.train.doctor import one_line

                    line += "\n" + one_line(self.session.diagnosis)
                self.set_status(line, error=bool(snap.diverged or snap.error))
                # one state per table: a finished run keeps its last logged step's (the status
                # line holds the final weights' figures)
                row = self.session.last_row if snap.done and self.session is not None else None
                self.fill_table(row or snap)
            self.draw_plot()
            self.draw_fit(snap)
            self.draw_depth(snap)

    def predictions(self, snap) -> list[dict]:
        """The lesson's probe (e.g. f(5)) once a run has finished, as the headless `done` event."""
        if not (snap.done and self.train.probe and not snap.error and not snap.diverged) or self.session is None:
            return []
        return self.session.predictions(self.train.probe)

    def draw_plot(self) -> None:
        plot = self.query_one("#plot")
        series = [(kept.label, *kept.history.series()[:3]) for kept in self.overlays]
        if self.session is not None:
            series.append((self.run_label(), *self.session.history.series()[:3]))
        plot.plot(series)

    def draw_fit(self, snap) -> None:
        """Beside the loss: the latest snapshot's predictions on the validation set, where there is one."""
        fit = self.query_one("#fit")
        fit.display = self.data is not None and self.data.y_val is not None
        if fit.display:
            fit.show(None if snap is None else snap.val_pred, self.data.y_val, self.data.classes)

    def shows_depth(self) -> bool:
        """A deep model (tutor/present/depth.py DEPTH_MIN linear layers, in the lesson or a variant)
        gets the by-depth view of its gradients beside the loss."""
        from tutor.present.depth import shows_depth

        return any(shows_depth(layers) for layers in
                   [self.train.layers] + [v.changes["layers"] for v in self.lesson.variants if "layers" in v.changes])

    def draw_depth(self, snap) -> None:
        """The by-depth view: this snapshot's ‖∂W‖ per layer against the run's first step."""
        for depth in self.query("#depth"):
            self.query_one("#fit").display = False         # the depth view takes the fit's place beside the loss
            first = self.session.first_row if self.session is not None else None
            depth.ascii = self.app.ascii
            depth.show(snap.layers if snap is not None else (), first.layers if first is not None else None,
                       first.step if first is not None else 1)

    def fill_table(self, snap) -> None:
        table = self.query_one("#grads", DataTable)
        table.clear()
        for name, g in snap.grads.items():
            value = ""
            if snap.params is not None and name in snap.params:
                flat = _flatten(snap.params[name])
                value = numbers_within(flat, VALUE)
            ratio = "—" if g.update_ratio != g.update_ratio else f"{g.update_ratio:.2e}"
            table.add_row(name, self.app.plain("×".join(map(str, g.shape))), *(number_within(v, CELL) for v in
                          (g.signed(), g.mean_abs, g.max_abs)), self.app.plain(ratio), self.app.plain(value), key=name)
        for layer, frac in snap.dead_relu.items():
            table.add_row(layer, "", "", "", "", "", f"dead {frac:.0%}", key=f"dead-{layer}")

    def on_resize(self) -> None:
        # below this width the plot and the table stack instead of sitting side by side
        self.set_class(self.size.width < NARROW, "-narrow")
        # the lesson's note gives way to the plot on a short terminal
        self.set_class(self.size.height < SHORT, "-short")

    def on_unmount(self) -> None:
        self.cancel_run()


@dataclass(frozen=True)
class Kept:
    """A run kept on the plot by o, with what is needed to compare the next run with it."""

    label: str
    history: object
    spec: object
    step: int
    total: int


COMPARED = ("lr", "optimizer", "momentum", "epochs", "batch_size", "seed", "hidden", "zero_grad", "loss", "dtype")
AGREE = 1e-3           # relative difference below which two runs' losses are said to agree


def agreement(session, kept: Kept, label: str = "") -> str:
    """How the finished run compares with the kept one. The same start and settings give the same
    path whatever the backend; with other settings the losses are not expected to match."""
    name = f"{label or session.spec.backend} vs {kept.label}"
    changed = [f"{k} {getattr(kept.spec, k)}" for k in COMPARED if getattr(kept.spec, k) != getattr(session.spec, k)]
    theirs, ours = _model(kept.spec), _model(session.spec)
    if theirs != ours:               # another model, e.g. nn's layers with biases and numpy's without
        same_layers = [t for t, _ in theirs] == [t for t, _ in ours]
        changed.append(("biases" if any(b for _, b in theirs) else "no biases") if same_layers else "other layers")
    if changed:
        return f"{name}: not comparable, {kept.label} ran with {', '.join(changed)}"
    steps, loss, _, _ = session.history.series()
    o_steps, o_loss, _, _ = kept.history.series()
    theirs = dict(zip(o_steps, o_loss))
    diffs = [abs(a - theirs[s]) / max(abs(a), abs(theirs[s]), 1e-12) for s, a in zip(steps, loss) if s in theirs]
    if not diffs:
        return f"{name}: no logged steps in common"
    worst = max(diffs)
    over = f"over {len(diffs)} logged points" + ("" if kept.step == kept.total else
                                                 f", {kept.label} stopped at step {kept.step}")
    if worst < AGREE:
        return f"{name}: losses agree to {worst:.1e} (max relative difference {over})"
    return f"{name}: losses differ by up to {worst:.0%} ({over})"


def _model(spec) -> tuple:
    """The layers as built: each one's type and whether a linear layer has a bias."""
    return tuple((l.type, (l.bias if spec.bias is None else spec.bias) and l.type == "linear") for l in spec.layers)


def _flatten(v):
    if isinstance(v, list):
        return [x for item in v for x in _flatten(item)]
    return [v]


def status_line(snap, predictions=()) -> str:
    """The one-line summary of a run: the numbers of the headless log. A running one shows its
    last logged row (the state a step starts from: its loss, and the signed gradient of each
    one-number parameter); a finished one its final weights' figures, as the `done` event."""
    from tutor.headless import grad_text, params_text, prediction_text

    head = f"{snap.backend} on {snap.device} · step {snap.step}/{snap.total_steps} · epoch {snap.epoch}"
    if snap.error:
        return f"{head} · stopped: {snap.error}"
    if snap.diverged:
        return f"{head} · diverged at step {snap.step}: the loss became {number(snap.loss)}. Lower the learning rate and press enter."
    text = f"{head} · {'final loss' if snap.done else 'loss'} {number(snap.loss)}"
    if snap.val_loss is not None:
        text += f" · val {number(snap.val_loss)}"
    if snap.accuracy is not None:
        text += f" · acc {snap.accuracy:.3f}/{snap.val_accuracy:.3f}"
    if snap.done:                   # a finished run shows its figures; the speed belongs to a live one
        if snap.params is not None:
            text += f" · {params_text(snap.params)}"
        text += "".join(f" · {prediction_text(pr)}" for pr in predictions)
        return text + " · done"
    text += "".join(f" · {grad_text(k, g)}" for k, g in snap.grads.items() if g.value is not None)
    return text + f" · {snap.steps_per_second:,.0f} steps/s"
