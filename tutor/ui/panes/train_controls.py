"""The Train part's controls: backend, optimizer and device drop-downs, play/step/reset/overlay
buttons, the setting fields and the variant drop-down. Their events bubble to the TrainPane,
which handles them with `@on`; this widget fills the fields and reads them back, checked."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Select, Static

from tutor.lesson import DEVICES, OPTIMIZERS

FIELDS = ("lr", "momentum", "epochs", "hidden", "seed")
PLAY, PAUSE = "▶ Play", "❚❚ Pause"


class TrainControls(Vertical):
    DEFAULT_CSS = "TrainControls { height: auto; }"

    def __init__(self, lesson, backends: list[str], **kwargs):
        super().__init__(**kwargs)
        self.lesson = lesson
        self.backends = backends

    def compose(self) -> ComposeResult:
        train, plain = self.lesson.train, self.app.plain
        with Horizontal(id="controls"):
            yield Select(
                [(b, b) for b in self.backends],
                value=self.backends[0],
                allow_blank=False,
                id="backend",
                compact=True,
            )
            yield Select(
                [(o, o) for o in OPTIMIZERS],
                value=train.optimizer,
                allow_blank=False,
                id="optimizer",
                compact=True,
            )
            yield Select(
                [(d, d) for d in DEVICES],
                value=self.app.device if self.app.device in DEVICES else "cpu",
                allow_blank=False,
                id="device",
                compact=True,
            )
            yield Button(plain(PLAY), id="play", variant="success", compact=True)
            yield Button("Step", id="step", compact=True)
            yield Button("Reset", id="reset", compact=True)
            yield Button("Overlay", id="overlay", compact=True)
        with Horizontal(id="fields"):
            for name in FIELDS:
                yield Label(name)
                yield Input(id=f"field-{name}", compact=True)
        if self.lesson.variants:  # a row of its own: drawn, with its value, at 80 columns
            with Horizontal(id="variant-row"):
                yield Label("variant")
                names = ["standard"] + [v.name for v in self.lesson.variants]
                variants = Select(
                    [(n, "" if n == "standard" else n) for n in names],
                    value="",
                    allow_blank=False,
                    id="variant",
                    compact=True,
                )
                variants.styles.width = max(map(len, names)) + 4  # the longest name and its ▼
                variants.tooltip = (
                    "The lesson's variants: other settings or data for the same model"
                )
                yield variants
                yield Static(plain("the lesson's own settings"), id="variant-title", markup=False)

    def on_mount(self) -> None:
        # a query: the app may close before a late-mounted pane's Mount event, its children gone
        for field in self.query("#field-momentum").results(Input):
            field.tooltip = (
                "sgd's momentum: each update adds this fraction of the previous one, so a steady gradient "
                "moves the weights lr/(1 − momentum) per step"
            )

    def show_playing(self, playing: bool) -> None:
        for button in self.query("#play").results(Button):  # gone already while unmounting
            button.label = self.app.plain(PAUSE if playing else PLAY)

    def fill(self, variant) -> None:
        """The fields show the lesson's settings, or the chosen variant's where it changes them."""
        from tutor.train.spec import setting_for

        for title in self.query("#variant-title").results(Static):
            title.update(
                self.app.plain(
                    variant.title if variant is not None else "the lesson's own settings"
                )
            )

        for name in FIELDS:
            value = setting_for(self.lesson, variant, name)
            widget = self.query_one(f"#field-{name}", Input)
            widget.value = (
                "" if value is None else f"{value:g}" if name in ("lr", "momentum") else str(value)
            )
            widget.disabled = name == "hidden" and value is None
        self.sync_momentum()

    def restore(self, fields: dict) -> None:
        """The fields as the learner left them (the lesson's own settings only)."""
        for name, value in fields.items():
            if name in FIELDS:
                self.query_one(f"#field-{name}", Input).value = value

    def sync_momentum(self) -> None:
        """Momentum means something to sgd only: its field is open while sgd is chosen."""
        self.query_one("#field-momentum", Input).disabled = (
            self.query_one("#optimizer", Select).value != "sgd"
        )

    def set_backends(self, backends: list[str], optimizer: str) -> None:
        """A variant's backends and optimizer, set without a Changed event of their own."""
        self.backends = backends
        select = self.query_one("#backend", Select)
        with self.prevent(Select.Changed):
            select.set_options([(b, b) for b in backends])
            select.value = backends[0]
            self.query_one("#optimizer", Select).value = optimizer

    def select_variant(self, name: str) -> None:
        with self.prevent(Select.Changed):
            self.query_one("#variant", Select).value = name

    def select_backend(self, backend: str) -> None:
        with self.prevent(Select.Changed):
            self.query_one("#backend", Select).value = backend

    @property
    def backend(self) -> str:
        return str(self.query_one("#backend", Select).value)

    def read(self) -> dict:
        """The fields as checked values; a typo raises LessonError naming the field."""
        from tutor.errors import LessonError
        from tutor.train.spec import parse_setting

        out = {}
        for name in FIELDS:
            widget = self.query_one(f"#field-{name}", Input)
            if widget.disabled:
                continue
            try:
                out[name] = parse_setting(name, widget.value.strip())
            except LessonError as exc:
                raise LessonError(
                    f"{name}: {exc.message}. Fix the field and press enter."
                ) from None
        out["optimizer"] = str(self.query_one("#optimizer", Select).value)
        out["device"] = str(self.query_one("#device", Select).value)
        return out
