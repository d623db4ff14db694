"""The keys that run training, the same wherever something trains (Train, the playground)."""

from textual.binding import Binding

RUN_KEYS = [
    Binding("space", "play", "Play/pause"),
    Binding("s", "step", "Step"),
    Binding("r", "reset", "Reset"),
]
