"""The messages workers post to the UI: each worker thread ends by posting one of these (posting is
thread-safe), and the widget that started it handles it with `@on`. Nothing calls into the UI
from a thread."""

from __future__ import annotations

from textual.message import Message


class DerivationArrived(Message):
    """A derivation's first step exists (`complete` False), or its last one (`complete` True)."""

    def __init__(self, derivation, complete: bool) -> None:
        super().__init__()
        self.derivation = derivation
        self.complete = complete


class StepArrived(Message):
    """Step `index` of the derivation being built has been derived."""

    def __init__(self, index: int) -> None:
        super().__init__()
        self.index = index


class DataReady(Message):
    """The training data (and the library baseline, where the lesson has one) are loaded."""

    def __init__(self, data, baseline, dataset) -> None:
        super().__init__()
        self.data = data
        self.baseline = baseline
        self.dataset = dataset


class RunEnded(Message):
    """A training run's worker returned: it finished, reached its step, or `error` escaped it."""

    def __init__(self, session, error: BaseException | None = None) -> None:
        super().__init__()
        self.session = session
        self.error = error


class Failed(Message):
    """Work done off the UI thread could not be done; `what` says which (derivation, data, ...),
    `about` what it was working on (the sandbox's texts, say)."""

    def __init__(self, what: str, message: str, about=None) -> None:
        super().__init__()
        self.what = what
        self.message = message
        self.about = about


class Typeset(Message):
    """The Explain part's equations, typeset: the page's Markdown with them in place."""

    def __init__(self, markdown: str) -> None:
        super().__init__()
        self.markdown = markdown


class Checked(Message):
    """A learner's answer to `exercise` was checked: `verdict` says how it went."""

    def __init__(self, exercise, verdict) -> None:
        super().__init__()
        self.exercise = exercise
        self.verdict = verdict


class SketchStep(Message):
    """The sandbox's derivation of `texts`: step `index` is ready, rendered as `text`."""

    def __init__(self, texts, derivation, index: int, text: str) -> None:
        super().__init__()
        self.texts = texts
        self.derivation = derivation
        self.index = index
        self.text = text


class SketchDerived(Message):
    """The sandbox's derivation of `texts` is complete; `rendered` holds every step's text."""

    def __init__(self, texts, derivation, rendered: list[str]) -> None:
        super().__init__()
        self.texts = texts
        self.derivation = derivation
        self.rendered = rendered


class CodeChecked(Message):
    """A learner's code file was checked in its child process: `result` says how it went."""

    def __init__(self, result) -> None:
        super().__init__()
        self.result = result


class PaneMounted(Message):
    """A lesson part's pane has mounted (late, when lazy: see LessonScreen.lazy)."""

    def __init__(self, part: str) -> None:
        super().__init__()
        self.part = part


class OpenCode(Message):
    """The exercises pane asks for the code editor on `exercise` (a `code` one); its screen pushes
    it and, when the editor closes, hands the exercise back to the pane (`pane.code_closed`)."""

    def __init__(self, pane, exercise) -> None:
        super().__init__()
        self.pane = pane
        self.exercise = exercise

    @property
    def control(self):
        return self.pane


class ProgressWritten(Message):
    """The progress file has been written (off the UI thread): any notice about it can be shown."""
