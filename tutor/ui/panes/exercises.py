"""The exercises of the current derivation step: the learner types an answer, the tutor checks it
(in a worker, which posts the verdict back), responds specifically, offers hints, then the solution."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.reactive import var
from textual.widgets import Button, Input, Static

from tutor.lesson import LETTERS, Exercise
from tutor.log import logged
from tutor.ui.messages import Checked, Failed


def exercises_for(lesson, step, last_step: bool) -> list[Exercise]:
    """The exercises that belong to the step's node, once the backward pass has reached it (they
    ask for its gradient, which a forward step has not got yet); those that name no step sit on
    the last step."""
    here = step.phase != "forward"
    return [
        e
        for e in lesson.exercises
        if (e.step == step.node and here) or (e.step is None and last_step)
    ]


def next_lesson(app, lesson_id: str):
    """The listing's lesson after `lesson_id`, or None after the last one."""
    ids = [item.id for item in app.listing]
    i = ids.index(lesson_id) + 1 if lesson_id in ids else len(ids)
    return app.listing[i] if i < len(ids) else None


def next_lesson_line(app, lesson_id: str) -> str:
    following = next_lesson(app, lesson_id)
    if following is None:
        return "Lesson done: that was the last lesson."
    return f"Lesson done: next lesson → {following.title} (escape, escape, enter)."


# What the answer box asks for, by exercise kind (enter checks it); never an example that could
# be an answer.
PLACEHOLDERS = {
    "derivative": "expression: * times, ** power, step(u) = 1[u > 0]",
    "value": "a number, or arithmetic such as 2*(1.2 - 0.5)",
    "choice": "one letter",
    "shape": "rows x columns, by dimension names",
    "code": "a code exercise: a opens the editor",
}


class ExercisePanel(Vertical):
    folded = var(False)  # f: the panel shrinks to one line, the step gets the room

    def __init__(self, lesson, **kwargs):
        super().__init__(**kwargs)
        self.lesson = lesson
        self.exercises: list[Exercise] = []
        self.current: Exercise | None = None
        self.hints_shown = 0

    def compose(self) -> ComposeResult:
        yield Static(id="exercise-folded", markup=False)
        yield Static(id="exercise-prompt", markup=False)
        with Horizontal(id="exercise-row"):
            yield Input(id="answer", compact=True)
            yield Button("Hint", id="hint", compact=True)
            yield Button("Solution", id="solution", compact=True)
            yield Button("Next (x)", id="next-exercise", compact=True)
        yield Static(id="exercise-feedback", markup=False)

    def show_for(self, exercises: list[Exercise]) -> None:
        """Called by the Derive pane at each step."""
        self.display = bool(exercises)
        self.query_one("#exercise-folded", Static).update(
            self.app.plain(
                f"{len(exercises)} exercise{'s' * (len(exercises) != 1)} here, folded: f shows "
                f"{'them' if len(exercises) != 1 else 'it'}."
            )
        )
        if [e.id for e in exercises] == [e.id for e in self.exercises]:
            return
        self.exercises = exercises
        solved = set(self.app.progress.solved(self.lesson.id))
        first = next(
            (e for e in exercises if e.id not in solved), exercises[0] if exercises else None
        )
        self.select(first)

    def select(self, exercise: Exercise | None) -> None:
        self.current = exercise
        self.hints_shown = 0
        self.query_one("#exercise-feedback", Static).update("")
        self.query_one("#answer", Input).value = ""
        if exercise is None:
            return
        self.query_one("#answer", Input).placeholder = PLACEHOLDERS.get(exercise.kind, "")
        solved = exercise.id in self.app.progress.solved(self.lesson.id)
        lines = [f"Exercise {exercise.id}{' (solved ✓)' if solved else ''}: {exercise.prompt}"]
        for letter, choice in zip(LETTERS, exercise.choices, strict=False):
            lines.append(f"  {letter}) {choice}")
        if exercise.kind == "code":
            lines.append("  a opens the editor (ctrl+r there checks your file)")
        if len(self.exercises) > 1:
            i = self.exercises.index(exercise) + 1
            after = "x for the next" if i < len(self.exercises) else "x goes back to the first"
            lines.append(f"  ({i} of {len(self.exercises)} here; {after})")
        self.query_one("#exercise-prompt", Static).update(self.app.plain("\n".join(lines)))

    def toggle_fold(self) -> None:
        self.folded = not self.folded

    def watch_folded(self, folded: bool) -> None:
        self.set_class(folded, "-folded")
        if folded and self.query_one("#answer", Input).has_focus:
            self.screen.focus_part("derive")

    def focus_answer(self) -> None:
        if self.folded:
            self.toggle_fold()
        if self.display and self.current is not None and self.current.kind == "code":
            self.open_code()
        elif self.display and self.current is not None:
            self.query_one("#answer", Input).focus()

    def open_code(self) -> None:
        """The editor is a screen: the screen above this pane opens it (a message up)."""
        from tutor.ui.messages import OpenCode

        self.post_message(OpenCode(self, self.current))

    def code_closed(self, exercise: Exercise) -> None:
        """Back from the editor on `exercise`: it stays selected, its feedback kept."""
        self.select_keep_feedback(exercise)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.current is not None and self.current.kind == "code":
            self.open_code()
        elif self.current is not None and event.value.strip():
            self.feedback("Checking…", "dim")
            self.check(self.current, event.value)

    @work(thread=True, exclusive=True, group="answer", exit_on_error=False)
    def check(self, exercise: Exercise, answer: str) -> None:
        from tutor.exercises import check_answer

        try:
            verdict = check_answer(self.lesson, exercise.id, answer)
        except Exception as exc:  # noqa: BLE001 - a learner's input never crashes the app
            self.post_message(
                Failed("answer", logged(exc, f"checking {self.lesson.id}/{exercise.id}"))
            )
            return
        self.post_message(Checked(exercise, verdict))

    @on(Failed)
    def check_failed(self, event: Failed) -> None:
        event.stop()
        self.feedback(f"That answer could not be checked: {event.message}", "red")

    @on(Checked)
    def answered(self, event: Checked) -> None:
        event.stop()
        exercise, verdict = event.exercise, event.verdict
        self.app.progress.record(
            self.lesson.id, exercise.id, verdict.kind
        )  # for the teacher's view
        if verdict.correct:
            total = len(self.lesson.exercises)
            self.app.progress.solve(self.lesson.id, exercise.id, total)
            self.app.show_progress_notice()
            count = len(self.app.progress.solved(self.lesson.id))
            extra = f" {exercise.explain}" if exercise.explain else ""
            done = f" {next_lesson_line(self.app, self.lesson.id)}" if count >= total else ""
            self.feedback(
                f"✓ {verdict.message}{extra}  ({count}/{total} exercises solved){done}", "green"
            )
            self.select_keep_feedback(exercise)
        else:
            message = (
                verdict.message
                if verdict.message.endswith((".", "?", "!"))
                else verdict.message + "."
            )
            # the answer box keeps the focus (to try again), so h and v would type: name escape first
            hint = (
                " For a hint: escape, then h (or the Hint button)."
                if self.hints_shown < len(exercise.hints)
                else " For the solution: escape, then v (or the Solution button)."
            )
            self.feedback(f"✗ {message}{hint}", "red")

    def select_keep_feedback(self, exercise: Exercise) -> None:
        text = self.query_one("#exercise-feedback", Static).render()
        self.select(exercise)
        self.query_one("#exercise-feedback", Static).update(text)

    def feedback(self, text: str, style: str = "") -> None:
        self.query_one("#exercise-feedback", Static).update(Text(self.app.plain(text), style=style))

    def hint(self) -> None:
        ex = self.current
        if ex is None:
            return
        more = self.hints_shown < len(ex.hints)
        self.hints_shown += more
        shown = [f"Hint {i + 1}: {h}" for i, h in enumerate(ex.hints[: self.hints_shown])]
        if not more:  # the hints stay on screen: the last one is often the one to re-read
            shown.append("No more hints: v (or the Solution button) shows the solution.")
        self.feedback("\n".join(shown), "yellow")

    def solution(self) -> None:
        ex = self.current
        if ex is None:
            return
        answer = ex.answer
        if ex.kind == "code":
            answer = "open the editor (a), then f3 shows the tutor's own code"
        if ex.kind == "choice":
            answer = f"{ex.answer}) {ex.choices[LETTERS.index(ex.answer)]}"
        self.feedback(f"Solution: {answer}" + (f"\n{ex.explain}" if ex.explain else ""), "cyan")

    def next_exercise(self) -> None:
        if self.current is not None and len(self.exercises) > 1:
            i = self.exercises.index(self.current)
            self.select(self.exercises[(i + 1) % len(self.exercises)])

    @on(Button.Pressed, "#hint")
    def hint_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.hint()

    @on(Button.Pressed, "#solution")
    def solution_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.solution()

    @on(Button.Pressed, "#next-exercise")
    def next_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.next_exercise()
