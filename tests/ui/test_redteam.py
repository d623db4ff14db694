"""The red team's findings (issue 21), each as a class: small lesson files within the documented
limits that used to give tracebacks, hangs or runaway memory, files that are not files, and
lesson strings that carried terminal escapes. Every case asserts the exact `FILE:LINE: KEY:
message` that `--check` prints, or that what `--check` accepts runs."""

from __future__ import annotations

from tests.unit.test_redteam import ONE_LAYER, POINTS, line_of, write


async def test_a_huge_integer_opens_an_error_screen_in_the_tui(tmp_path):
    from tutor.progress import Progress
    from tutor.ui.app import TutorApp
    from tutor.ui.screens.lesson import ErrorScreen

    path = write(tmp_path, POINTS.replace("x = [1.0", "x = [1" + "0" * 400) + ONE_LAYER)
    app = TutorApp(start=tmp_path / "red.toml", progress=Progress(tmp_path / "progress.json"))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ErrorScreen)
        shown = str(app.screen.query_one("#error-text").render())
        assert (
            f"{path}:{line_of(path, 'x =')}: train.dataset.x[0]: an integer of 401 digits; "
            in shown
        ), shown
    assert app.return_code in (None, 0)
