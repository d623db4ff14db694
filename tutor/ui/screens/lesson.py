"""A lesson: Explain, Derive and Train, as tabs switched by keys or the mouse."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import Header, LoadingIndicator, Markdown, Static, TabbedContent, TabPane
from textual.widgets._markdown import MarkdownFence

from tutor.lesson import Lesson
from tutor.ui.messages import OpenCode, PaneMounted, Typeset
from tutor.ui.panes.derive import DerivePane
from tutor.ui.panes.train import TrainPane
from tutor.ui.widgets.footer import TutorFooter

PARTS = ("explain", "derive", "train")


def explain_markdown(lesson: Lesson, equations: dict[str, str] | None = None) -> str:
    """The lesson's pages as Markdown; equations as code blocks (sympy's rendering once loaded)."""
    return "".join(explain_pages(lesson, equations))


def explain_pages(lesson: Lesson, equations: dict[str, str] | None = None) -> list[str]:
    """The Markdown of the title and first page, then of each further page (and the note)."""
    chunks: list[str] = []
    out = [f"# {lesson.title}", ""]
    for page in lesson.explain:
        out += [f"## {page.title}", "", page.text.strip(), ""]
        if page.equations:
            out.append("```")
            for eq in page.equations:
                out.append(
                    (equations or {}).get(f"{page.title}/{eq.name}", f"{eq.name} = {eq.text}")
                )
            out += ["```", ""]
        chunks.append("\n".join(out) + "\n")
        out = []
    if lesson.train is not None and lesson.train.note:  # also on the Train tab, where there is room
        out += ["## About the training runs", "", lesson.train.note, ""]
    if out:
        chunks.append("\n".join(out) + "\n")
    return chunks


class PlainFence(MarkdownFence):
    """A code block shown as plain text: a lesson's equations and indented formulas are no
    programming language, and Textual would guess one by trying every pygments lexer (about a
    second per lesson on a slow machine, before the Explain page appears)."""

    def __init__(self, markdown, token, code: str) -> None:
        token.info = token.info or "text"
        super().__init__(markdown, token, code)


class LessonMarkdown(Markdown):
    """The Explain part. Its first page is mounted first and the rest after that page is drawn (a
    long lesson's hundred blocks were most of the time to open it); `source` is the whole text
    throughout, and `Shown` says when all of it is mounted."""

    BLOCKS = {**Markdown.BLOCKS, "fence": PlainFence, "code_block": PlainFence}

    class Shown(Message):
        """Every page is mounted."""

    def __init__(self, pages: list[str], **kwargs: Any) -> None:
        super().__init__(pages[0] if pages else "", **kwargs)
        self._rest: str | None = "".join(pages[1:])
        self._document = "".join(pages)

    @property
    def source(self) -> str:
        return self._document if self._rest is not None else super().source

    def on_markdown_table_of_contents_updated(self, event: Markdown.TableOfContentsUpdated) -> None:
        if self._rest is not None:  # the first page is mounted: the rest after it is drawn
            self.call_after_refresh(self._show_rest)

    async def _show_rest(self) -> None:
        rest, self._rest = self._rest, None
        if rest:
            await self.append(rest)
        self.post_message(self.Shown())

    def replace(self, markdown: str) -> None:
        """The whole text anew (the equations typeset)."""
        self._rest = None
        self._document = markdown
        self.update(markdown)


class ErrorScreen(ModalScreen):
    """A lesson that cannot be opened: the message, never a traceback."""

    BINDINGS = [Binding("escape,enter,q", "dismiss", "Back")]

    def __init__(self, message: str):
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="error-box"):
            yield Static(
                "This lesson cannot be opened:\n\n" + self.message + "\n\nPress escape to go back.",
                id="error-text",
                markup=False,
            )


class LessonScreen(Screen):
    # The part keys; each part's own keys are its pane's bindings (the footer shows those of the
    # part in view, as the pane or a widget in it has the focus).
    BINDINGS = [
        Binding("e", "part('explain')", "Explain"),
        Binding("d", "part('derive')", "Derive"),
        Binding("t", "part('train')", "Train"),
        Binding("escape", "back", "Lessons"),
    ]

    def __init__(self, lesson: Lesson, part: str = "explain", stamp: int | None = None):
        super().__init__()
        self.lesson = lesson
        self.stamp = stamp  # the lesson file's mtime: a changed file opens afresh
        self.initial = part if part in lesson.parts else "explain"

    def compose(self) -> ComposeResult:
        yield Header(icon="*" if self.app.ascii else None)  # Textual draws the rest of its chrome
        with TabbedContent(initial=self.initial, id="parts"):
            with TabPane("Explain", id="explain"), VerticalScroll(id="explain-scroll"):
                yield LessonMarkdown(
                    [self.app.plain(page) for page in explain_pages(self.lesson)],
                    id="explain-text",
                )
            for part in ("derive", "train"):  # a lesson with nothing to train has no Train tab
                if part in self.lesson.parts:
                    with TabPane(part.capitalize(), id=part):
                        yield self.pane(part) if part == self.initial else self.mounting(part)
        yield TutorFooter()

    def pane(self, part: str) -> Widget:
        return (
            DerivePane(self.lesson, id="derive-pane")
            if part == "derive"
            else TrainPane(self.lesson, id="train-pane")
        )

    def mounting(self, part: str) -> Widget:
        """What a part shows until its pane is mounted: it is being set up."""
        return Vertical(
            Static(f"Setting up {part.capitalize()}…", classes="mounting-text"),
            LoadingIndicator(),
            id=f"{part}-mounting",
            classes="mounting",
        )

    def mount_parts(self) -> None:
        """The parts not shown first, mounted once the first one is on screen (the part in view
        appears at once; the others' many widgets follow, see pane_ready)."""
        if not self.is_attached:  # the app is closing
            return
        for part in ("derive", "train"):
            if (
                part != self.initial
                and part in self.lesson.parts
                and not self.query(f"#{part}-pane")
            ):
                # a query, not query_one: the app may be closing and the tabs already gone
                for tab in self.query(f"#{part}").results(TabPane):
                    if tab.is_mounted and not self.app.stopping.is_set():
                        tab.mount(self.pane(part))

    @on(PaneMounted)
    def pane_ready(self, event: PaneMounted) -> None:
        """A part's pane has mounted (late, when lazy): if it is in view by now, start it."""
        event.stop()
        for placeholder in self.query(f"#{event.part}-mounting"):
            placeholder.remove()
        if any(tabs.active == event.part for tabs in self.query("#parts").results(TabbedContent)):
            self.start_part(event.part)

    @on(OpenCode)
    def open_code(self, event: OpenCode) -> None:
        """A code exercise's editor, over this screen; the exercises pane gets the exercise back."""
        from tutor.ui.screens.code import CodeScreen

        event.stop()
        pane, exercise = event.pane, event.exercise
        self.app.push_screen(
            CodeScreen(self.lesson, exercise), lambda _: pane.code_closed(exercise)
        )

    def on_resize(self) -> None:
        self.app.check_size()

    def on_mount(self) -> None:
        title = f"backprop-tutor · {self.lesson.title}"
        self.title = self.app.plain(title.replace(" · ", " - ") if self.app.ascii else title)
        self.focus_part(self.initial)
        if self.initial != "explain":
            self.call_after_refresh(self.mount_parts)

    @on(LessonMarkdown.Shown)
    def explained(self, event: LessonMarkdown.Shown) -> None:
        """The text is all there: mount the other parts, then typeset the equations (sympy in a
        thread would have slowed the first frame)."""
        self.mount_parts()
        if any(p.equations for p in self.lesson.explain):
            self.render_equations()

    @work(thread=True, exclusive=True, group="equations", exit_on_error=False)
    def render_equations(self) -> None:
        from tutor.present.explain import typeset_equations

        text = self.app.plain(
            explain_markdown(self.lesson, typeset_equations(self.lesson, self.app.ascii))
        )
        self.post_message(Typeset(text))

    @on(Typeset)
    def show_equations(self, event: Typeset) -> None:
        self.query_one("#explain-text", LessonMarkdown).replace(event.markdown)

    @property
    def part(self) -> str:
        return self.query_one("#parts", TabbedContent).active

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "part":
            return parameters[0] in self.lesson.parts
        return True

    def action_part(self, part: str) -> None:
        if part in self.lesson.parts:
            self.query_one("#parts", TabbedContent).active = part

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        part = event.pane.id or "explain"
        self.app.progress.remember(self.lesson.id, part=part)
        self.app.visit(self.lesson.id, part)
        if part != "explain" and not self.query(f"#{part}-pane"):
            self.mount_parts()  # asked for before Explain was all there: now
        self.refresh_bindings()
        self.start_part(part)

    def start_part(self, part: str) -> None:
        """Focus the part and start its pane (a lazy one not mounted yet starts as it mounts)."""
        self.focus_part(part)
        for pane in self.query(
            DerivePane if part == "derive" else TrainPane if part == "train" else "#none"
        ):
            pane.start()

    def home_widget(self, part: str):
        """What has the focus in a part when the learner is not in a field or on a button: the
        explanation and the derivation step take it, so arrows and page keys scroll them at once;
        in Train the pane itself, whose keys play, step and reset."""
        return {"explain": "#explain-scroll", "derive": "#step-scroll", "train": "#train-pane"}.get(
            part
        )

    def focus_part(self, part: str) -> None:
        home = self.home_widget(part)
        found = list(self.query(home)) if home is not None else []
        if found:
            found[0].focus()
        else:
            self.set_focus(None)

    def action_back(self) -> None:
        """Escape leaves a field, button or drop-down first (back to the part's own keys); from
        there it goes to the lesson list. The lesson's screen is kept (see TutorApp.open_lesson),
        so its run, overlays and choices are there when the learner comes back."""
        home = self.home_widget(self.part)
        if self.focused is not None and (home is None or self.focused not in self.query(home)):
            self.focus_part(self.part)
            return
        self.app.pop_screen()

    def on_screen_suspend(self) -> None:
        # Left for the list (not merely covered by help or the too-small notice): a run pauses,
        # so the learner finds it where it stopped, and where the learner was is written down.
        if self in self.app.screen_stack:
            return
        for pane in self.query(TrainPane):
            pane.pause()
        self.app.progress.save()

    def on_unmount(self) -> None:
        # Leaving mid-run: the training loop checks this flag every step.
        self.workers.cancel_all()
