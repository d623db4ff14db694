"""The served tutor in a real browser: headless Chromium (Debian's `chromium` package, driven by
Playwright for Python, no browser download) enters the class code and a name, opens a lesson,
steps the derivation, answers an exercise right, closes the tab, reopens the page and finds the
place and the solved exercise; `class DIR` then shows that learner with the exercise solved.

What the browser shows is read from the frames its websocket receives (xterm.js draws on a
canvas, so the page holds no text); the keys are the browser's own, typed into xterm.js."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.support import HANG_BOUND, run_cli, wait_for
from tests.system.test_classroom_serve import Served
from tutor.serve.probe import screen_text

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NAME = "Ana Browser"

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Debian's chromium is not installed here "
    "(.ci/run installs it: apt-get install -y chromium)",
)


class Tab:
    """A page of the served tutor and the text its websocket has received."""

    def __init__(self, context, base: str):
        self.text = ""
        self.page = context.new_page()
        self.page.on("websocket", lambda ws: ws.on("framereceived", self._frame))
        self.page.goto(f"{base}/")

    def _frame(self, payload) -> None:
        data = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
        self.text += screen_text(data)

    def wait(self, words: str, after: int = 0, seconds: float = HANG_BOUND * 2) -> int:
        """Until `words` is drawn after `after` → where it ends. Playwright delivers the frames
        while it waits, so its own wait is the poll."""
        shown = wait_for(
            lambda: self.text.find(words, after) >= 0,
            seconds,
            poll=lambda every: self.page.wait_for_timeout(every * 1000),
        )
        assert shown, f"{words!r} was not shown; the last text: {self.text[-400:]!r}"
        return self.text.find(words, after) + len(words)

    def keys(self, *keys: str) -> None:
        for key in keys:
            if key in ("Enter", "Escape"):  # a key's name; anything else is typed
                self.page.keyboard.press(key)
            else:
                self.page.keyboard.type(key)


def test_a_learner_in_chromium_solves_an_exercise_and_finds_it_after_reopening(tmp_path):
    from playwright.sync_api import sync_playwright

    served = Served(tmp_path, "--code", "owl42", "--max-learners", "2")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox"], headless=True
            )
            context = browser.new_context(viewport={"width": 1200, "height": 800})
            page = context.new_page()
            page.goto(f"{served.base}/")
            assert "Type the class code your teacher gave you." in page.inner_text("body")
            page.fill("input[name=code]", "owl42")
            page.click("button[type=submit]")
            page.wait_for_selector("#terminal")
            page.close()  # the cookie stays with the context

            tab = Tab(context, served.base)
            at = tab.wait("Type your name")
            tab.page.click("#terminal")
            tab.keys(NAME, "Enter")
            at = tab.wait("[single-neuron]", at)
            tab.keys("Enter")
            at = tab.wait("Explain", at)
            tab.keys("d")
            at = tab.wait("Step 1/", at)
            step = 1
            while (
                "Exercise grad-w:" not in tab.text[at:] and step < 10
            ):  # to w's step, where grad-w is asked
                step += 1
                tab.keys("n")
                at = tab.wait(f"Step {step}/", at)
            at = tab.wait("Exercise grad-w:", at)
            drawn = len(tab.text)
            tab.keys("a")  # the answer field takes the focus, and is redrawn
            assert wait_for(
                lambda: len(tab.text) > drawn,
                HANG_BOUND,
                poll=lambda every: tab.page.wait_for_timeout(every * 1000),
            )
            tab.keys("2*(y_pred - y)*x", "Enter")
            tab.wait("Correct", at)
            tab.wait("(1/3 exercises solved)", at)
            tab.page.close()
            assert wait_for(lambda: served.tutors() == [], HANG_BOUND), (
                "the closed tab's tutor is still running"
            )

            again = Tab(context, served.base)
            at = again.wait("Type your name")
            again.page.click("#terminal")
            again.keys(NAME.upper(), "Enter")  # the same learner, however it is typed
            at = again.wait(f"Step {step}/", at)  # back in Derive, on the same step
            at = again.wait(" of 3 here", at)  # the step's exercises: x to the first, grad-w
            shown = int(again.text[again.text.rfind("(", 0, at) + 1 : at - len(" of 3 here")])
            while shown != 1:
                shown = shown % 3 + 1
                again.keys("x")
                at = again.wait(f"({shown} of 3 here", at)
            assert again.text[again.text.rfind("Exercise", 0, at) : at].startswith(
                "Exercise grad-w (solved ✓): Write"
            )
            again.page.close()
            browser.close()
    finally:
        rc, _ = served.stop()
    assert rc == 0
    rc, out, err = run_cli("class", served.class_dir, "--json")
    assert rc == 0, err
    view = json.loads(out)
    assert [learner["name"] for learner in view["learners"]] == [NAME]
    [lesson] = view["learners"][0]["lessons"]
    assert (lesson["lesson"], lesson["solved"], lesson["total"]) == ("single-neuron", 1, 3)
    assert "derive" in lesson["parts_seen"]
    grad_w = next(e for e in view["exercises"] if e["exercise"] == "grad-w")
    assert (grad_w["solved"], grad_w["attempts"]) == (1, 1)
