"""Derive: the graph with the current node highlighted, and the current step beside it."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.reactive import var
from textual.widget import Widget
from textual.widgets import LoadingIndicator, Static

from tutor.fmt import asciify
from tutor.log import logged
from tutor.present.derivation import render
from tutor.ui.messages import DerivationArrived, Failed, PaneMounted, StepArrived
from tutor.ui.panes.exercises import ExercisePanel, exercises_for
from tutor.ui.screens.node_picker import NodePicker
from tutor.ui.widgets.plots import GraphView
from tutor.ui.widgets.sweep_plot import SweepPlot
from tutor.ui.widgets.values_table import ValuesTable


class StepScroll(VerticalScroll, inherit_bindings=False):
    """The step's text. Up/Down, PageUp/PageDown and ctrl+Home/ctrl+End scroll it; Home and End
    stay the screen's (first and last step), as left and right are."""

    HELP_TITLE = "Derive, the step's text"

    BINDINGS = [
        Binding("up", "scroll_up", "Scroll up", show=False),
        Binding("down", "scroll_down", "Scroll down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("ctrl+home", "scroll_home", "Top of the step", show=False),
        Binding("ctrl+end", "scroll_end", "End of the step", show=False),
    ]


class DerivePane(Widget):
    """The Derive part: its keys move through the steps and act on the step's exercise."""

    HELP_TITLE = "Derive"

    BINDINGS = [
        Binding("n,right", "move(1)", "Next"),
        Binding("p,left", "move(-1)", "Back"),
        Binding("home", "first", "First step", show=False),
        Binding("end", "last", "Last step", show=False),
        Binding("j", "jump", "Jump"),
        Binding("a", "answer", "Answer"),
        Binding("h", "hint", "Hint"),
        Binding("v", "solution", "Solution", show=False),
        Binding("x", "next_exercise", "Next exercise", show=False),
        Binding("f", "fold", "Fold exercise", show=False),
    ]
    EXERCISE_ACTIONS = ("answer", "hint", "solution", "next_exercise", "fold")

    building = var(False)  # the derivation is being built (steps may still be arriving)

    def __init__(self, lesson, **kwargs):
        super().__init__(**kwargs)
        self.lesson = lesson
        self.derivation = None
        self.complete = False  # every step derived (until then steps stream in)
        self.index = 0

    def compose(self) -> ComposeResult:
        # Set up here, not in on_mount: a pane mounted late may be unmounted (the app closing)
        # before its Mount event runs, and then its children are gone.
        graph, sweep = GraphView(id="graph"), SweepPlot(id="sweep-plot")
        graph.ascii = sweep.ascii = self.app.ascii
        sweep.display = False
        values = ValuesTable(id="values-table")
        values.ascii, values.display = self.app.ascii, False
        exercise = ExercisePanel(self.lesson, id="exercise")
        exercise.display = False
        title, loading = Static(id="step-title"), LoadingIndicator(id="derive-loading")
        if "derive" not in self.lesson.parts:
            loading.display = False
            title.update("This lesson has no graph to derive.")
        with Vertical():
            yield graph
            yield sweep
            yield title
            yield values
            with StepScroll(id="step-scroll"):
                yield Static(id="step-text", markup=False)
            yield exercise
            yield loading

    def on_mount(self) -> None:
        self.post_message(
            PaneMounted("derive")
        )  # mounted late (lazy): the screen starts it if in view
        if (
            "derive" in self.lesson.parts and self.is_attached and self.children
        ):  # no children: removed before it mounted
            self.prefetch()

    @work(thread=True, group="derive-cache", exit_on_error=False)
    def prefetch(self) -> None:
        """The derivation from the disk cache, if it is there, before Derive is opened: then `d`
        shows step 1 at once. Only the cache (JSON and numpy): nothing is derived until asked."""
        from tutor.derive import cache

        found = cache.load(self.lesson)
        if found is not None:
            self.post_message(DerivationArrived(found, True))

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        """The exercise keys are live (and shown) only where the step has an open exercise."""
        if action in self.EXERCISE_ACTIONS:
            panel = self.query_one("#exercise", ExercisePanel)
            return panel.display and (action == "fold" or not panel.folded)
        return True

    def start(self) -> None:
        if self.derivation is None and not self.building and "derive" in self.lesson.parts:
            self.building = True
            self.build()

    def watch_building(self, building: bool) -> None:
        if not building:
            # a query, not query_one: the watcher also runs at mount, when a pane removed before
            # its Mount event (the app closing) has no children
            for indicator in self.query("#derive-loading"):
                indicator.display = False

    def text_width(self) -> int:
        # before its first layout the pane has no size: take the screen's less the tab's padding,
        # so the first view is rendered at its final width and does not reflow a moment later
        width = self.size.width or self.app.size.width - 2
        return max(30, width - 4)

    @work(thread=True, exclusive=True, group="derive", exit_on_error=False)
    def build(self) -> None:
        """Derived off the UI thread, and streamed: the first step shows as soon as it exists,
        while later ones (and torch, for the check) are still coming."""
        from tutor.derive import cache, derive
        from tutor.heavy import load

        found = cache.load(self.lesson)  # derived before: no sympy or torch to show it
        if found is not None:
            self.post_message(DerivationArrived(found, True))
            return
        load("sympy", "torch")  # one thread at a time (see tutor.heavy)

        def arrived(step, deriv) -> None:
            if step.index == 0:
                self.post_message(DerivationArrived(deriv, False))
            else:
                self.post_message(StepArrived(step.index))

        try:
            deriv = derive(self.lesson, on_step=arrived)
        except Exception as exc:  # noqa: BLE001 - shown in one line, kept in the log, never a crash
            self.post_message(Failed("derivation", logged(exc, f"deriving {self.lesson.id}")))
            return
        self.post_message(DerivationArrived(deriv, True))

    @on(Failed)
    def failed(self, event: Failed) -> None:
        event.stop()
        self.building = False
        self.query_one("#step-title", Static).update(
            Text(f"The derivation could not be built: {event.message}", style="red")
        )

    @on(DerivationArrived)
    def loaded(self, event: DerivationArrived) -> None:
        event.stop()
        if (
            self.complete or not self.is_attached or not self.children
        ):  # both arrived; or the pane is going
            return
        first = self.derivation is None
        self.derivation = event.derivation
        self.complete = event.complete
        self.building = not event.complete
        self.query_one("#derive-loading").display = False
        if first:
            self.show(self.app.progress.place(self.lesson.id).get("step", 0))
        else:
            self.refresh_title()

    @on(StepArrived)
    def step_arrived(self, event: StepArrived) -> None:
        event.stop()
        if not self.is_attached or not self.children:  # the pane is going (the app closing)
            return
        if event.index == self.index + 1:  # the learner is at the newest step: update its count
            self.refresh_title()

    def refresh_title(self) -> None:
        if self.derivation is not None:
            self.show(self.index)

    def show(self, index: int) -> None:
        d = self.derivation
        if d is None or not d.steps:
            return
        moved = index != self.index
        self.index = max(0, min(index, len(d.steps) - 1))
        self.app.progress.remember(self.lesson.id, step=self.index)
        step = d.steps[self.index]
        if d.graph is not None and step.phase in ("forward", "backward", "chain", "check"):
            self.query_one("#graph", GraphView).display = True
            self.query_one("#graph", GraphView).draw(
                d.graph,
                d.values,
                d.grads,
                step.values,
                step.grads,
                step.node,
                step.phase != "forward",
                self.size.width or 80,
                compact=self.app.size.height < 32,
            )
        else:
            self.query_one("#graph", GraphView).display = False
        self.query_one(SweepPlot).show_step(d, step)  # the gradient check's sweep, on its steps
        count = f"{len(d.steps)}" if self.complete else f"{len(d.steps)}+"
        title = Text(
            f"Step {self.index + 1}/{count}{' -' if self.app.ascii else ' ·'} {step.title}",
            style="bold",
        )
        if step.check is not None and not step.check.ok:
            title.append(f"  ✗ {step.check.blame}", style="bold red")
        elif step.check is not None:
            title.append("  ✓", style="bold green")
        if self.app.ascii:
            title = Text(asciify(title.plain), style="bold")
        self.query_one("#step-title", Static).update(title)
        values = self.query_one(ValuesTable)
        values.show_step(step)  # a values step's array, as a table
        if values.has_focus and not values.display:  # hidden while focused: the text takes it
            self.query_one("#step-scroll").focus()
        if values.display:
            from dataclasses import replace

            from tutor.derive.values import GRID
            from tutor.present.derivation import render_step

            # the table shows the array: the text keeps its shape and named entries
            lines = tuple(line for line in step.lines if line[0] != GRID)
            body = render_step(replace(step, lines=lines), self.text_width(), self.app.ascii)
        else:
            body = render(d, self.index, self.text_width(), self.app.ascii)
        self.query_one("#step-text", Static).update(
            Text(body, style="red" if step.check and not step.check.ok else "")
        )
        if moved:
            self.query_one("#step-scroll").scroll_home(animate=False)
        last = self.complete and self.index == len(d.steps) - 1
        self.query_one("#exercise", ExercisePanel).show_for(exercises_for(self.lesson, step, last))
        self.refresh_bindings()  # the footer offers a, h only where there is an exercise

    def action_answer(self) -> None:
        self.query_one("#exercise", ExercisePanel).focus_answer()

    def action_hint(self) -> None:
        self.query_one("#exercise", ExercisePanel).hint()

    def action_solution(self) -> None:
        self.query_one("#exercise", ExercisePanel).solution()

    def action_next_exercise(self) -> None:
        self.query_one("#exercise", ExercisePanel).next_exercise()

    def action_fold(self) -> None:
        self.query_one("#exercise", ExercisePanel).toggle_fold()

    def action_move(self, delta: int) -> None:
        self.show(self.index + delta)

    def action_first(self) -> None:
        self.show(0)

    def action_last(self) -> None:
        if self.derivation:
            self.show(len(self.derivation.steps) - 1)

    def action_jump(self) -> None:
        d = self.derivation
        if d is None:
            return
        names = list(dict.fromkeys(s.node for s in d.steps))

        def go(name: str | None) -> None:
            if name:
                # a node's backward step (a parameter's chain rule), not its forward or check step
                target = next(
                    (
                        i
                        for i, s in enumerate(d.steps)
                        if s.node == name and s.phase in ("backward", "chain")
                    ),
                    d.step_index(name, self.index),
                )
                if target is not None:
                    self.show(target)

        self.app.push_screen(NodePicker(names), go)

    def on_resize(self) -> None:
        if self.derivation is not None:
            self.show(self.index)
