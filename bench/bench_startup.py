"""Time from process start to the lesson list on screen (issue 5), against a bare Textual app
(a Header, an OptionList of 8 items and a Footer) started the same way.

Each run is a fresh Python process running a small driver (written to a temporary file) that
takes `time.perf_counter()` on its first line, starts the app with `run(headless=True)`, and,
once the OptionList has its options and a refresh has been drawn after that, prints the time
since its first line and leaves with os._exit (as `backprop-tutor` does after the app ends). The
parent also times each process from spawn to exit (interpreter start included). The two apps
alternate; each one's best of 5 is kept. BACKPROP_TUTOR_HOME points at a temporary directory, so
no real progress is read or written.

    .venv/bin/python bench/bench_startup.py     # both times and the ratio tutor/bare (target ≤ 1.3)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = 5
TARGET = 1.3

# The hook both drivers share: poll after each refresh until the list is filled, then wait for
# one more refresh (the filled list drawn), print the time, and leave.
HOOK = """
def _watch(app, list_screen_type):
    from textual.widgets import OptionList

    def check():
        screen = app.screen
        if list_screen_type is None or isinstance(screen, list_screen_type):
            found = list(screen.query(OptionList))
            if found and found[0].option_count > 0:
                app.call_after_refresh(done)
                return
        app.call_after_refresh(check)

    def done():
        print(f"READY {time.perf_counter() - T0:.6f} {IMPORTED:.6f} {MOUNTED:.6f}", flush=True)
        os._exit(0)

    global MOUNTED
    MOUNTED = time.perf_counter() - T0
    app.call_after_refresh(check)
"""

TUTOR = (
    """
import time
T0 = time.perf_counter()
import os
from tutor import cli  # noqa: F401 - the entry point's own imports, as `backprop-tutor` loads them
from tutor.ui.app import TutorApp
from tutor.ui.screens.lesson_list import LessonListScreen
IMPORTED = time.perf_counter() - T0
"""
    + HOOK
    + """

class Timed(TutorApp):
    # Textual reads CSS_PATH relative to the class's own file: point at the tutor's stylesheet.
    CSS_PATH = os.path.join(os.path.dirname(__import__("tutor.ui.app").ui.app.__file__), TutorApp.CSS_PATH)

    def on_mount(self):
        # no super().on_mount(): Textual calls TutorApp's own handler too (it walks the MRO)
        _watch(self, LessonListScreen)


Timed().run(headless=True, size=(120, 40))
print("EXITED without the list", flush=True)
"""
)

BARE = (
    """
import time
T0 = time.perf_counter()
import os
from textual.app import App
from textual.widgets import Footer, Header, OptionList
IMPORTED = time.perf_counter() - T0
"""
    + HOOK
    + """

class Bare(App):
    def compose(self):
        yield Header()
        yield OptionList(*[f"{i + 1}. lesson number {i + 1}" for i in range(8)])
        yield Footer()

    def on_mount(self):
        _watch(self, None)


Bare().run(headless=True, size=(120, 40))
print("EXITED without the list", flush=True)
"""
)


def run_once(script: Path, env: dict) -> tuple[float, float, float, float]:
    """Seconds from the driver's first line to the list on screen, process wall seconds, and from
    the first line to the end of the imports and to on_mount."""
    t = time.perf_counter()
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60
    )
    wall = time.perf_counter() - t
    for line in out.stdout.splitlines():
        if line.startswith("READY "):
            ready, imported, mounted = map(float, line.split()[1:])
            return ready, wall, imported, mounted
    raise RuntimeError(
        f"{script.name} never showed its list (exit {out.returncode}):\n{out.stdout}\n{out.stderr}"
    )


def main() -> None:
    global RUNS
    if len(sys.argv) > 1:
        RUNS = int(sys.argv[1])
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        tmpdir = Path(tmp)
        home = tmpdir / "home"
        home.mkdir()
        env = dict(
            os.environ,
            BACKPROP_TUTOR_HOME=str(home),
            TERM="xterm-256color",
            PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        )
        scripts = {"tutor": tmpdir / "tutor_driver.py", "bare": tmpdir / "bare_driver.py"}
        scripts["tutor"].write_text(TUTOR)
        scripts["bare"].write_text(BARE)
        for script in scripts.values():  # one untimed run each: .pyc files written, disk cache warm
            run_once(script, env)
        inner = {k: [] for k in scripts}
        wall = {k: [] for k in scripts}
        parts = {k: [] for k in scripts}
        for _ in range(RUNS):
            for name, script in scripts.items():
                a, b, imported, mounted = run_once(script, env)
                inner[name].append(a)
                wall[name].append(b)
                parts[name].append((a, imported, mounted))
        wrote = sorted(p.name for p in home.iterdir())
    for name in scripts:
        runs = ", ".join(f"{w:.3f}" for w in wall[name])
        print(
            f"{name:5s}  to the list on screen {min(inner[name]):6.3f} s (best of {RUNS}, from the first line)   "
            f"process wall {min(wall[name]):6.3f} s (runs: {runs})"
        )
    for name in scripts:
        ready, imported, mounted = min(parts[name])
        print(
            f"{name:5s}  best run: imports {imported:.3f} s, app start to on_mount {mounted - imported:.3f} s, "
            f"on_mount to the list drawn {ready - mounted:.3f} s"
        )
    print(
        f"ratio tutor/bare (to the list)  {min(inner['tutor']) / min(inner['bare']):5.2f}  (target ≤ {TARGET})"
    )
    print(f"ratio tutor/bare (process wall) {min(wall['tutor']) / min(wall['bare']):5.2f}")
    if wrote:
        print(f"(the tutor wrote {', '.join(wrote)} in the temporary BACKPROP_TUTOR_HOME)")


if __name__ == "__main__":
    main()
