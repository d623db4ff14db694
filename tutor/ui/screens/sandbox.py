"""The sandbox: type a graph, a point and the parameters; see it derived and checked as you type.

Each edit restarts a short timer (debounce); when it fires the three fields are parsed on the UI
thread (cheap: the safe parser, no sympy) and, if they parse, derived in a thread worker. The
workers form one exclusive group: a new text cancels the derivation of the old one, which stops
at its next step (the core asks the worker between steps and nodes), so typing never queues
stale work nor leaves a core busy. A parse error is shown under the fields with its line and
column, and the last good derivation stays on screen, also after leaving the sandbox and coming
back in the same session.
"""

from __future__ import annotations

import threading
import weakref
from pathlib import Path

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Header, Input, Static, TextArea
from textual.worker import get_current_worker

from tutor.errors import LessonError
from tutor.fmt import asciify, number
from tutor.log import logged
from tutor.present.derivation import render
from tutor.sandbox import (
    EXAMPLE,
    SMALL_GRAPH,
    SandboxError,
    Sketch,
    derivation,
    save,
    save_path,
    sketch,
)
from tutor.ui.messages import Failed, SketchDerived, SketchStep
from tutor.ui.widgets.plots import GraphView

# Seconds from the last key to the derivation. Small graphs derive at once (the issue asks for an
# update within 100 ms of the last key); larger ones wait for a pause in typing, since each
# derivation of theirs is costly and is thrown away when the text changes again.
DEBOUNCE_SMALL = 0.03
DEBOUNCE_LARGE = 0.15
STREAM_EVERY = 0.1  # seconds between redraws of a larger graph's steps as they stream in

# The last good derivation of each app's sandbox (texts, derivation, rendered steps): a new
# SandboxScreen opens on it, so Escape and back keeps the right side as it was.
_KEPT: weakref.WeakKeyDictionary[App, tuple] = weakref.WeakKeyDictionary()


class GraphEditor(TextArea):
    """The graph's text: TextArea with the keys an editor has elsewhere (ctrl+a selects all,
    ctrl+home / ctrl+end go to the start / end of the text; shift with them selects)."""

    BINDINGS = [
        Binding("ctrl+a", "select_all", "Select all", show=False),
        Binding("ctrl+home", "text_start", "Start of the text", show=False),
        Binding("ctrl+end", "text_end", "End of the text", show=False),
        Binding("ctrl+shift+home", "text_start(True)", "Select to the start", show=False),
        Binding("ctrl+shift+end", "text_end(True)", "Select to the end", show=False),
    ]

    def action_text_start(self, select: bool = False) -> None:
        self.move_cursor((0, 0), select=select)

    def action_text_end(self, select: bool = False) -> None:
        self.move_cursor(self.document.end, select=select)


class SaveAs(ModalScreen[Path | None]):
    """ctrl+s: the file name to save the sandbox under, as a lesson. A problem keeps it open."""

    BINDINGS = [Binding("escape", "dismiss", "Cancel")]
    DEFAULT_CSS = """
    SaveAs { align: center middle; }
    #save-box { width: 70; height: auto; border: round $accent; padding: 0 1; background: $surface; }
    #save-problem { color: $error; height: auto; }
    """

    def __init__(self, sk: Sketch, suggested: str, overwrite: Path | None):
        super().__init__()
        self.sk, self.suggested, self.overwrite = sk, suggested, overwrite

    def compose(self) -> ComposeResult:
        with Vertical(id="save-box"):
            where = (
                "in your own folder"
                if self.app.class_dir is not None
                else f"relative to {Path.cwd()}"
            )
            yield Static(
                f"Save as a lesson file ({where}); the id is the file name. "
                "Enter saves, escape cancels.",
                markup=False,
            )
            yield Input(self.suggested, id="save-name", placeholder="my-graph.toml")
            yield Static("", id="save-problem", markup=False)

    def where(self, typed: str) -> Path:
        """The file to write. A served tutor's learner (a stranger to the server) saves only into
        their own folder of the class, by a file name alone."""
        if self.app.class_dir is None:
            return save_path(typed)
        own = self.app.progress.path.parent / "lessons"
        path = save_path(typed, cwd=own)
        if path.parent != own:
            raise LessonError(
                "in a class, a lesson is saved in your own folder: type a file name only"
            )
        try:
            own.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LessonError(f"your folder cannot be written ({exc.strerror})") from None
        return path

    @on(Input.Submitted, "#save-name")
    def submitted(self, event: Input.Submitted) -> None:
        try:
            path = self.where(event.value)
            save(self.sk, path, overwrite=path == self.overwrite)
        except LessonError as exc:
            self.query_one("#save-problem", Static).update(exc.message)
            return
        self.dismiss(path)


class SandboxScreen(Screen):
    BINDINGS = [
        Binding("ctrl+s", "save", "Save as lesson"),
        Binding("escape", "leave", "Lessons"),
    ]
    DEFAULT_CSS = """
    #sandbox-body { height: 1fr; }
    #sandbox-fields { width: 40%; min-width: 34; max-width: 60; }
    #sandbox-graph { height: 1fr; min-height: 4; }
    #sandbox-point, #sandbox-wrt { height: 3; }
    #sandbox-error { height: auto; max-height: 6; color: $error; padding: 0 1; }
    #sandbox-output { width: 1fr; padding: 0 1; }
    #sandbox-status { height: auto; text-style: bold; }
    #sandbox-check { height: auto; }
    #sandbox-drawing { height: auto; max-height: 14; }
    #sandbox-steps { height: 1fr; }
    """

    def __init__(self, graph: str | None = None, point: str = "", wrt: str = ""):
        super().__init__()
        self.texts = (graph, point, wrt) if graph is not None else EXAMPLE
        self.sketch: Sketch | None = None  # the latest text that parsed (what ctrl+s saves)
        self.error: SandboxError | None = None  # the latest text's problem, shown inline
        self.failure: str | None = None  # why the derivation of self.wanted failed
        self.wanted: tuple[str, str, str] | None = None  # the texts of self.sketch
        self.shown: tuple[str, str, str] | None = None  # the texts whose derivation is on screen
        self.derivation = None
        self.running = False  # a derivation of self.wanted is under way
        self.in_flight = 0  # derivation threads alive (cancelled ones until they stop)
        self._flight = threading.Lock()
        self.saved: Path | None = None
        self.streamed = 0  # steps of a larger graph streamed in so far
        self._streamed: list[str] = []
        self._streaming: tuple[str, str, str] | None = (
            None  # the texts whose steps are streaming in
        )
        self._flush_queued = False
        self._timer = None

    def compose(self) -> ComposeResult:
        graph, point, wrt = self.texts
        yield Header(icon="*" if self.app.ascii else None)
        with Horizontal(id="sandbox-body"):
            with Vertical(id="sandbox-fields"):
                yield GraphEditor(graph, id="sandbox-graph", soft_wrap=False, tab_behavior="focus")
                yield Input(point, id="sandbox-point", placeholder="a = 1, b = 2")
                yield Input(wrt, id="sandbox-wrt", placeholder="blank: every leaf")
                yield Static("", id="sandbox-error", markup=False)
            with Vertical(id="sandbox-output"):
                yield Static("", id="sandbox-status", markup=False)
                yield Static("", id="sandbox-check", markup=False)
                yield GraphView(id="sandbox-drawing")
                with VerticalScroll(id="sandbox-steps"):
                    yield Static("", id="sandbox-steps-text", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#sandbox-graph").border_title = "Graph (last line: the loss)"
        self.query_one("#sandbox-point").border_title = "Point"
        self.query_one("#sandbox-wrt").border_title = "Parameters (others: inputs)"
        self.query_one("#sandbox-drawing", GraphView).ascii = self.app.ascii
        self.query_one("#sandbox-graph", TextArea).focus()
        kept = _KEPT.get(self.app)
        if kept is not None:  # the last good derivation, as it was left
            texts, deriv, rendered = kept
            self.derivation, self.shown, self.wanted = deriv, texts, texts
            self._show(deriv, rendered)
        self.update_now()

    def on_resize(self) -> None:
        self.app.check_size()

    def _plain(self, text: str) -> str:
        return asciify(text) if self.app.ascii else text

    def current_texts(self) -> tuple[str, str, str]:
        return (
            self.query_one("#sandbox-graph", TextArea).text,
            self.query_one("#sandbox-point", Input).value,
            self.query_one("#sandbox-wrt", Input).value,
        )

    # -- typing --------------------------------------------------------------------------------

    @on(TextArea.Changed)
    @on(Input.Changed, "#sandbox-point, #sandbox-wrt")
    def edited(self) -> None:
        graph = self.query_one("#sandbox-graph", TextArea).text
        small = graph.count("\n") + graph.count(";") < SMALL_GRAPH
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(DEBOUNCE_SMALL if small else DEBOUNCE_LARGE, self.update_now)

    def update_now(self) -> None:
        """Parse the fields; show a problem inline, or derive what parsed."""
        texts = self.current_texts()
        self.app.sandbox_texts = texts
        try:
            sk = sketch(*texts)
            lesson = sk.lesson()
        except SandboxError as exc:
            self.error = exc
            where = exc.where(multiline=exc.field == "graph")
            label = {"graph": "Graph", "point": "Point", "wrt": "Parameters"}[exc.field]
            self.query_one("#sandbox-error", Static).update(
                self._plain(f"{label}, {where}: {exc.message}")
            )
            self._status()
            return
        self.error, self.sketch = None, sk
        if texts == self.wanted:  # back to the text being (or last) derived
            self.query_one("#sandbox-error", Static).update(self.failure or "")
            self._status()
            return
        self.wanted, self.failure = texts, None
        self.query_one("#sandbox-error", Static).update("")
        self.running = True  # the new worker cancels the old one's derivation
        self.derive(
            texts, lesson, len(lesson.graph.nodes) > SMALL_GRAPH, self._width(), self.app.ascii
        )
        self._status()

    def _width(self) -> int:
        width = self.query_one("#sandbox-output").size.width
        return max(30, width - 4) if width else 60

    @work(thread=True, exclusive=True, group="sandbox-derive", exit_on_error=False)
    def derive(self, texts, lesson, stream: bool, width: int, ascii: bool) -> None:
        """sympy and torch run here, never on the UI thread."""
        with self._flight:
            self.in_flight += 1
        try:
            self._derive(texts, lesson, stream, width, ascii)
        finally:
            with self._flight:
                self.in_flight -= 1

    def _derive(self, texts, lesson, stream: bool, width: int, ascii: bool) -> None:
        from tutor.derive import Cancelled  # numpy and the core load here, off the UI thread
        from tutor.heavy import load

        load("sympy", "torch")  # one thread at a time (see tutor.heavy)
        worker = get_current_worker()
        rendered: list[str] = []

        def on_step(deriv, i: int) -> None:
            rendered.append(render(deriv, i, width, ascii))
            if stream and not worker.is_cancelled:  # larger graphs: each step as it is ready
                self.post_message(SketchStep(texts, deriv, i, rendered[-1]))

        try:
            deriv = derivation(lesson, on_step, cancelled=lambda: worker.is_cancelled)
        except Cancelled:  # the text changed: its derivation is already under way
            return
        except Exception as exc:  # noqa: BLE001 - whatever the core raises is shown, never a crash
            if not worker.is_cancelled:
                self.post_message(Failed("sandbox", logged(exc, "deriving a sandbox graph"), texts))
            return
        if not worker.is_cancelled:
            self.post_message(SketchDerived(texts, deriv, rendered))

    @on(SketchStep)
    def step_ready(self, event: SketchStep) -> None:
        texts, deriv, i, text = event.texts, event.derivation, event.index, event.text
        if not self.is_attached or texts != self.wanted:
            return
        if i == 0:
            self._streamed = []
        self._streamed.append(self._step_text(deriv, i, text))
        self.streamed = len(self._streamed)
        self._streaming = texts
        if not self._flush_queued:  # drawn at most every STREAM_EVERY: re-laying out
            self._flush_queued = True  # the whole text per step made a long graph slow
            self.set_timer(STREAM_EVERY, self._flush_stream)

    def _flush_stream(self) -> None:
        self._flush_queued = False
        if not self.is_attached or self._streaming != self.wanted or self.shown == self.wanted:
            return  # a newer text, or the whole derivation is on screen
        self.query_one("#sandbox-steps-text", Static).update("\n\n".join(self._streamed))
        self.query_one("#sandbox-status", Static).update(
            self._plain(f"Deriving… {len(self._streamed)} steps")
        )

    @on(SketchDerived)
    def derived(self, event: SketchDerived) -> None:
        texts, deriv, rendered = event.texts, event.derivation, event.rendered
        if not self.is_attached:
            return
        if texts == self.wanted:
            self.derivation, self.shown, self.running = deriv, texts, False
            _KEPT[self.app] = (texts, deriv, rendered)
            self._show(deriv, rendered)
            self._status()

    @on(Failed)
    def derive_failed(self, event: Failed) -> None:
        texts, message = event.about, event.message
        if not self.is_attached:
            return
        if texts == self.wanted:
            self.failure, self.running = f"The derivation failed: {message}", False
            if self.error is None:
                self.query_one("#sandbox-error", Static).update(self.failure)
            self._status()

    # -- what is on screen ---------------------------------------------------------------------

    def _status(self) -> None:
        if self.shown is None:
            text = (
                "Deriving…" if self.running else "Nothing derived yet: fix the problem on the left."
            )
        else:
            d = self.derivation
            ok = all(c.ok for c in d.checks)
            text = f"{len(d.graph.nodes)} nodes, {len(d.steps)} steps; " + (
                "the three gradients agree" if ok else "a gradient check FAILS"
            )
            if self.running:
                text += " · deriving the new text…"
            elif self.error is not None or self.shown != self.wanted:
                text += " · the last graph that derived (the text now has a problem)"
        self.query_one("#sandbox-status", Static).update(self._plain(text))

    def _step_text(self, deriv, i: int, text: str) -> str:
        step = deriv.steps[i]
        return self._plain(f"[{i + 1}/{len(deriv.steps)}] {step.title}") + "\n" + text

    def _show(self, deriv, rendered: list[str]) -> None:
        lines = []
        for chk in deriv.checks:
            mark = "✓" if chk.ok else f"✗ {chk.blame}"
            lines.append(
                f"∂{deriv.graph.loss}/∂{chk.param}: sympy {number(chk.symbolic)} | autograd "
                f"{number(chk.autograd)} | finite diff. {number(chk.numeric)}  "
                f"(rel. error {chk.rel_error:.1e}) {mark}"
            )
        self.query_one("#sandbox-check", Static).update(self._plain("\n".join(lines)))
        g = deriv.graph
        names = frozenset(g.leaves + tuple(n.name for n in g.nodes))
        self.query_one("#sandbox-drawing", GraphView).draw(
            g,
            deriv.values,
            deriv.grads,
            names,
            names,
            "",
            True,
            self._width(),
            compact=self.app.size.height < 40,
        )
        self.query_one("#sandbox-steps-text", Static).update(
            "\n\n".join(self._step_text(deriv, i, t) for i, t in enumerate(rendered))
        )

    # -- keys ----------------------------------------------------------------------------------

    def action_save(self) -> None:
        self.update_now()  # what is typed now, not what the timer last saw
        if self.error is not None:
            self.notify(
                f"Fix the problem first ({self.error.field}, {self.error.where()}).",
                severity="error",
            )
            return
        suggested = str(self.saved) if self.saved else "my-graph.toml"

        def saved(path: Path | None) -> None:
            if path is not None:
                self.saved = path
                self.notify(
                    f"Saved {path}. Open it with: backprop-tutor {path}", timeout=8, markup=False
                )

        self.app.push_screen(SaveAs(self.sketch, suggested, self.saved), saved)

    def action_leave(self) -> None:
        self.app.pop_screen()
