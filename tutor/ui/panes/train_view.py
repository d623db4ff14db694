"""What the Train part shows of a run: the status line, the baseline and the lesson's note, the
loss plot with the fit beside it, and the gradient table under them. It draws what the TrainPane
hands it; it runs nothing.

The view scrolls (page keys, arrows, Home/End: the TrainPane's bindings) rather than squeezing:
on a small terminal the status line keeps its whole sentence, the plots keep PLOT_MIN rows
(room for their axis labels) and the gradient table all its rows; on a large one the plots take
the room the table leaves."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Static

from tutor.present.run import baseline_text, status_line
from tutor.ui.widgets.grad_table import GradTable
from tutor.ui.widgets.plots import FitView, LossPlot

PLOT_MIN = 12  # rows the plots keep however small the terminal: a title, axes and labels


class RunView(VerticalScroll, can_focus=False):
    DEFAULT_CSS = "RunView { height: 1fr; }"

    def __init__(
        self, baseline: bool, note: bool, depth: bool = False, boundary: bool = False, **kwargs
    ):
        super().__init__(**kwargs)
        self.has_baseline, self.has_note, self.has_depth = baseline, note, depth
        self.has_boundary = boundary and not depth

    def compose(self) -> ComposeResult:
        yield Static(id="status", markup=False)
        if self.has_baseline:
            yield Static(self.app.plain("Fitting the baseline…"), id="baseline", markup=False)
        if self.has_note:
            yield Static(id="train-note", markup=False)
        with Vertical(id="train-body"):
            with Horizontal(id="plot-box"):
                plot, fit = LossPlot(id="plot"), FitView(id="fit")
                plot.ascii = fit.ascii = self.app.ascii
                yield plot
                yield fit
                if self.has_boundary:
                    from tutor.ui.widgets.boundary import DecisionBoundary

                    yield DecisionBoundary(id="boundary")
                if self.has_depth:
                    from tutor.ui.widgets.activation_plot import ActivationPlot
                    from tutor.ui.widgets.depth_plot import DepthPlot

                    yield DepthPlot(id="depth")
                    activations = ActivationPlot(
                        id="activations"
                    )  # in the depth view's place after `a`
                    activations.display = False
                    yield activations
            yield GradTable(id="grads")

    def say(self, text: str, error: bool = False) -> None:
        status = self.query_one("#status", Static)
        status.update(self.app.plain(text.replace(" · ", " | ") if self.app.ascii else text))
        status.set_class(error, "error")
        self.query_one("#plot").say("" if error else "Press space to train.")  # not under an error

    def note(self, note: str | None) -> None:
        for widget in self.query("#train-note").results(Static):
            widget.update(self.app.plain(f"Note: {note}") if note else "")
            widget.set_class(not note, "-none")  # a class, so that -short still hides it

    def baseline(self, base: dict | None) -> None:
        """The library baseline's line, and its final loss as a reference line on the plot."""
        for widget in self.query("#baseline").results(Static):
            widget.update(self.app.plain(baseline_text(base, one_line=True)) if base else "")
        if base is not None:
            self.query_one("#plot").reference = (base["name"], base["loss"])

    def line(self, snap, session, predictions, samples=()) -> tuple[str, bool]:
        """The status line for a snapshot, the divergence doctor's verdict under a stopped run."""
        text = status_line(snap, predictions, samples)
        if (snap.done or snap.diverged) and session is not None and session.diagnosis:
            from tutor.train.doctor import one_line

            text += "\n" + one_line(session.diagnosis)
        return text, bool(snap.diverged or snap.error)

    def table(self, snap) -> None:
        table = self.query_one("#grads", GradTable)
        table.show(snap)
        # the plots fill what the table leaves, but never below PLOT_MIN: past that the view scrolls
        self.query_one("#train-body").styles.min_height = PLOT_MIN + table.row_count + 1

    def plot(self, series: list, log_scale: bool | None = None) -> None:
        plot = self.query_one("#plot")
        if log_scale is not None:
            plot.log_scale = log_scale
        plot.plot(series)

    def fit(self, snap, data, cut: float | None = None) -> None:
        """Beside the loss: the latest snapshot's predictions on the validation set, where there is
        one: a confusion matrix for a classifier (`cut`: a two-class one's threshold), else a scatter."""
        fit = self.query_one("#fit")
        fit.display = (
            data is not None and data.y_val is not None and not self.has_depth
        )  # depth takes its place
        if fit.display:
            fit.show(None if snap is None else snap.val_pred, data.y_val, data.classes, cut)

    def boundary(self, session, data, draw: bool) -> None:
        """Beside the confusion matrix where there is room: a two-class model of two inputs drawn
        over its plane, from the weights as they are (`draw`: only when no thread is changing them)."""
        from tutor.ui.widgets.boundary import ROOM
        from tutor.ui.widgets.heatmap import look_for

        for widget in self.query("#boundary"):
            widget.display = (
                self.size.width >= ROOM
                and session is not None
                and session.binary
                and data is not None
                and data.inputs == 2
            )
            if widget.display and draw:
                widget.draw_model(
                    session.predict, data, session.spec.loss == "bce", look_for(self.app)
                )

    def activations(self, start: list, now: list | None, index: int, label: str) -> None:
        """The histogram of activation layer `index` (from 1) in the depth view's place, or the
        depth view back (0). `start`, `now`: every layer's histograms (now None: not drawn)."""
        for plot in self.query("#activations"):
            plot.ascii = self.app.ascii
            plot.display = index > 0
            self.query_one("#depth").display = index == 0
            if index == 0:
                continue
            if not start:
                plot.say("This model has no hidden activation layer to draw.")
                continue
            i = min(index, len(start)) - 1
            plot.show(start[i], now[i] if now else None, label, f"layer {i + 1} of {len(start)}")

    def depth(self, snap, first) -> None:
        """The by-depth view: this snapshot's ‖∂W‖ per layer against the run's first logged step."""
        for depth in self.query("#depth"):
            depth.ascii = self.app.ascii
            depth.show(
                snap.layers if snap is not None else (),
                first.layers if first is not None else None,
                first.step if first is not None else 1,
            )
