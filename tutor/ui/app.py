"""The Textual application: a lesson list, a screen per lesson, help, and a command palette."""

from __future__ import annotations

import contextlib
import threading
from functools import partial
from pathlib import Path

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from tutor.fmt import asciify
from tutor.lesson import catalogue
from tutor.progress import Progress
from tutor.ui.messages import ProgressWritten

MIN_WIDTH, MIN_HEIGHT = 70, 22
WARM_UP_AFTER = 1.0  # seconds after the first screen before the heavy imports start


class LessonCommands(Provider):
    """Jump to any lesson, or any part of one, from the command palette."""

    def _items(self):
        # the id too (what the command line and the README name lessons by): `two` finds two-layer-relu
        for item in self.app.listing:
            for part in item.parts:
                yield (
                    f"{item.title} ({item.id}) › {part.capitalize()}",
                    partial(self.app.open_lesson, item.path, part),
                    item.summary,
                )

    async def discover(self) -> Hits:
        for text, callback, help_text in self._items():
            if text.endswith("Explain"):
                yield DiscoveryHit(text, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, callback, help_text in self._items():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), callback, help=help_text)


class TooSmall(ModalScreen):
    """Shown instead of a broken layout when the window is too small."""

    def compose(self) -> ComposeResult:
        yield Static(id="too-small")

    def on_mount(self) -> None:
        self.refresh_text()

    def on_resize(self) -> None:
        self.app.check_size()

    def refresh_text(self) -> None:
        w, h = self.app.size
        for static in self.query("#too-small").results(Static):  # absent until composed
            static.update(
                f"The window is {w}×{h}.\nbackprop-tutor needs at least {MIN_WIDTH}×{MIN_HEIGHT}.\n"
                "Make it larger, or press ctrl+q to quit."
            )


class TutorApp(App):
    CSS_PATH = "tutor.tcss"
    TITLE = "backprop-tutor"
    COMMANDS = App.COMMANDS | {LessonCommands}
    BINDINGS = [
        Binding(
            "ctrl+q", "quit", "Quit", priority=True, show=False
        ),  # in `?`; the footer keeps room
        Binding("question_mark", "help", "Help"),
    ]

    def __init__(
        self,
        start: Path | None = None,
        ascii: bool = False,
        device: str = "cpu",
        progress: Progress | None = None,
        sandbox: tuple[str, ...] | None = None,
        playground=None,
        class_dir: Path | None = None,
        teacher: Path | None = None,
    ):
        super().__init__()
        self.class_dir = (
            class_dir  # served to a class: the learner's name first, progress in this folder
        )
        self.teacher = teacher  # open the teacher's view of this class directory first
        self.start = start
        self.sandbox = sandbox  # open the sandbox first: () for its example, or (graph, point, wrt)
        self.sandbox_texts: tuple[str, str, str] | None = (
            None  # the sandbox as it was left this session
        )
        self.playground = playground  # open the playground first, with this Config
        self.ascii = ascii
        self.device = device
        # served: nothing is read or saved until the learner says who they are (sign_in)
        self.progress = progress or (Progress(saved=False) if class_dir is not None else Progress())
        self.listing = catalogue()
        # Set when the app starts to stop (a signal, ctrl+q): the command line's exit watchdog then
        # ends the process if a clean exit has not within a moment (see tutor.cli).
        self.stopping = threading.Event()
        self.progress_saved = False
        self._previous_handlers: dict = {}
        self.typed: dict[Path, str] = {}  # code typed and not yet written (tutor/ui/typed.py)

    def plain(self, text: str) -> str:
        """The tutor's own text as shown: ASCII only under --ascii."""
        return asciify(text) if self.ascii else text

    def get_default_screen(self) -> Screen:
        """The lesson list is the bottom screen itself: no blank default screen drawn before it."""
        from tutor.ui.screens.lesson_list import LessonListScreen

        return LessonListScreen()

    def on_mount(self) -> None:
        self.install_signal_handlers()
        if self.class_dir is not None:
            from tutor.ui.screens.learner import LearnerScreen

            self.push_screen(LearnerScreen())
            self.check_size()
            return
        self.begin()

    def sign_in(self, name: str) -> None:
        """A served tutor's learner said their name: their progress, then the tutor as usual."""
        from tutor.progress import learner_progress

        self.progress = learner_progress(self.class_dir, name)
        self.pop_screen()
        self.begin()

    def begin(self) -> None:
        """The first screen after the lesson list: the one asked for, else where the learner was."""
        self.show_progress_notice()
        if self.start is not None:
            self.open_lesson(self.start)
        elif self.sandbox is not None:
            self.open_sandbox(*self.sandbox)
        elif self.playground is not None:
            self.open_playground(self.playground)
        elif self.teacher is not None:
            self.open_class(self.teacher)
        else:  # resume where the learner was: the lesson, its part and step
            last = next(
                (i for i in self.listing if i.id == self.progress.last_lesson and not i.error), None
            )
            if last is not None:
                self.open_lesson(last.path)
        self.check_size()
        # The list is on screen without torch, scikit-learn or sympy; load them in the background
        # a moment later, so Derive and Train are ready by the time a learner opens them. Not when
        # served: there each learner's process loads them only when a part needs them.
        if self.class_dir is None:
            self.set_timer(WARM_UP_AFTER, self.warm_up)

    @work(thread=True, exclusive=True, group="warm-up", exit_on_error=False)
    def warm_up(self) -> None:
        from tutor.heavy import load

        load()
        # what opening a lesson imports (the lesson format, the lesson screen and its parts), so
        # that the first lesson opened does not wait for it
        load("tutor.lesson.loading", "tutor.derive", "tutor.ui.screens.lesson")

    @work(thread=True, group="progress", exit_on_error=False)
    def visit(self, lesson_id: str, part: str | None = None) -> None:
        """Note a visit to a lesson (or one of its parts) and write the progress file off the UI
        thread: its fsync can take a while on a loaded disk, and the key that opened the lesson
        should not wait for it."""
        self.progress.visit(lesson_id, part)
        self.post_message(ProgressWritten())

    @on(ProgressWritten)
    def progress_written(self, event: ProgressWritten) -> None:
        self.show_progress_notice()

    def show_progress_notice(self) -> None:
        """Tell the learner once about a progress file that could not be read or written."""
        if self.progress.notice:
            self.notify(self.progress.notice, severity="warning", timeout=10, markup=False)
            self.progress.notice = ""

    def install_signal_handlers(self) -> None:
        """SIGTERM (kill) and SIGHUP (an SSH session dropped) end the app the normal way: workers
        are cancelled, progress is saved and the terminal is restored. The handler is a plain
        signal handler, not the event loop's: it runs even when the loop is stuck (Textual's output
        thread blocked on a terminal that is gone), and it sets `stopping` first."""
        import asyncio
        import signal

        loop = asyncio.get_running_loop()

        def on_signal(signum, _frame) -> None:
            self.stopping.set()
            self.save_typed()  # first: the loop may never get to shutdown on a closed terminal
            with contextlib.suppress(
                RuntimeError
            ):  # the loop has closed: the exit watchdog ends the process
                loop.call_soon_threadsafe(self.shutdown, signal.Signals(signum).name)

        for name in ("SIGTERM", "SIGHUP"):
            sig = getattr(signal, name, None)
            if sig is not None:
                with contextlib.suppress(
                    ValueError, OSError
                ):  # not the main thread, or a platform without it
                    self._previous_handlers[sig] = signal.signal(sig, on_signal)

    def on_unmount(self) -> None:
        """The app is gone: signals get their previous handling back (a second signal now ends the
        process at once; under a test, the test runner's own handling)."""
        import signal

        for sig, handler in self._previous_handlers.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        self._previous_handlers.clear()

    def save_typed(self) -> None:
        """Write the code the learner typed and the editor has not written yet (any way out)."""
        from tutor.ui.typed import write_all

        write_all(self.typed)

    def shutdown(self, why: str = "") -> None:
        self.stopping.set()
        self.save_typed()
        self.progress.save()
        self.progress_saved = True
        self.workers.cancel_all()
        self.exit(return_code=0, message=f"backprop-tutor: stopped by {why}" if why else None)

    def action_quit(self) -> None:
        self.shutdown()

    def open_lesson(self, path: Path, part: str | None = None) -> None:
        """Open a lesson at `part`, or where the learner left it. Each lesson's screen is kept
        (installed) for the session, so leaving a lesson never throws away its run or overlays;
        a lesson file changed since is opened afresh."""
        from tutor.errors import LessonError
        from tutor.lesson import load
        from tutor.ui.screens.lesson import ErrorScreen, LessonScreen

        name = f"lesson {Path(path).resolve()}"
        try:
            stamp = Path(path).stat().st_mtime_ns
            kept = self.get_screen(name) if self.is_screen_installed(name) else None
            if kept is not None and kept.stamp != stamp:
                self.uninstall_screen(name)
                kept.remove()
                kept = None
            lesson = kept.lesson if kept is not None else load(path)
        except LessonError as exc:
            self.push_screen(ErrorScreen("\n".join(map(str, exc.problems))))
            return
        except OSError as exc:
            self.push_screen(ErrorScreen(f"{path}: {exc.strerror}"))
            return
        while isinstance(self.screen, LessonScreen):
            self.pop_screen()
        if kept is None:
            self.install_screen(
                LessonScreen(
                    lesson,
                    part or self.progress.place(lesson.id).get("part", "explain"),
                    stamp=stamp,
                ),
                name,
            )
        elif part:
            kept.action_part(part)
        self.push_screen(name)
        self.visit(lesson.id)

    def open_sandbox(self, graph: str | None = None, point: str = "", wrt: str = "") -> None:
        from tutor.ui.screens.sandbox import SandboxScreen

        if graph is None and self.sandbox_texts is not None:  # as it was left this session
            graph, point, wrt = self.sandbox_texts
        self.push_screen(SandboxScreen(graph, point, wrt))

    def open_playground(self, config=None) -> None:
        from tutor.ui.screens.playground import PlaygroundScreen

        self.push_screen(PlaygroundScreen(config))

    def open_class(self, directory: Path) -> None:
        from tutor.ui.screens.classroom import ClassScreen

        self.push_screen(ClassScreen(directory))

    def action_help(self) -> None:
        from tutor.ui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def check_size(self) -> None:
        """Called by every screen when it is resized (the App's own Resize is consumed by Textual)."""
        w, h = self.size
        small = w < MIN_WIDTH or h < MIN_HEIGHT
        if small and not isinstance(self.screen, TooSmall):
            self.push_screen(TooSmall())
        elif small:
            self.screen.refresh_text()
        elif not small and isinstance(self.screen, TooSmall):
            self.pop_screen()
