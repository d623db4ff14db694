"""Pilot tests: the real app, driven by keys, asserting what the screen shows."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import textwrap

import pytest

from tests.support import LISTED_IDS, ROOT
from tests.ui.conftest import make_app, open_lesson, open_train, run_drawn, settle, text_of, until
from tutor.lesson import catalogue
from tutor.progress import Progress
from tutor.ui.panes.derive import DerivePane
from tutor.ui.panes.train import TrainPane
from tutor.ui.screens.lesson import LessonScreen
from tutor.ui.screens.lesson_list import LessonListScreen


def plain(renderable, width: int = 100) -> str:
    """What a Rich renderable (an option's prompt) shows, as text."""
    from rich.console import Console

    with open(os.devnull, "w") as devnull:
        console = Console(width=width, record=True, file=devnull)
        console.print(renderable)
    return console.export_text()


async def train_to_end(app, pilot, pane: TrainPane, **fields: str) -> str:
    """Type values into the training fields, run to the end, and return the status line."""
    for name, value in fields.items():
        pane.query_one(f"#field-{name}").value = value
    pane.restart()
    await pilot.press("space")
    await run_drawn(pilot, pane)
    return text_of(app, "#status")


async def test_single_neuron_end_to_end(tmp_path):
    """Select the lesson with the keyboard, see loss 1.0 and dL/dw = -2.0, train one step: 0.64."""
    app = make_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, LessonListScreen)
        await open_lesson(pilot, "single-neuron")
        assert "One weight, one step" in app.screen.query_one("#explain-text").source
        await pilot.press("d")
        await settle(pilot)
        pane = app.screen.query_one(DerivePane)
        await pilot.press("n")
        assert "L at the point = 1.0" in text_of(app, "#step-text")
        await pilot.press("end")
        assert "Check ∂L/∂w: all three agree" in text_of(app, "#step-title")
        body = text_of(app, "#step-text")
        for line in ("derived = -2.0", "torch autograd = -2.0", "finite differences = -2.0"):
            assert line in body
        await pilot.press("p")
        assert "∂L/∂w at the point = -2.0" in text_of(app, "#step-text")
        assert pane.query_one("#graph").current == "w"
        await pilot.press("t")
        await settle(pilot)
        await pilot.press("space")
        await settle(pilot)
        status = text_of(app, "#status")
        assert status == "numpy on cpu · step 1/1 · epoch 1 · final loss 0.64 · w = 1.20000 · done"
        table = app.screen.query_one("#grads")
        assert table.get_row("w")[2] == "-2.0"  # the step's gradient, signed (w is one number)
        assert table.get_row("w")[6] == "1.2"  # the w the status line shows: after that step
        plot = app.screen.query_one("#plot")
        assert plot.series_count == 1
        [(label, steps, losses, _)] = plot._series
        assert (
            steps == [0, 1] and losses[0] == 1.0 and losses[1] == pytest.approx(0.64, rel=1e-6)
        )  # the 1.0 → 0.64 drop


async def test_two_layer_relu_derivation_keys(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await open_lesson(pilot, "two-layer-relu")
        await pilot.press("d")
        await settle(pilot)
        pane = app.screen.query_one(DerivePane)
        graph = pane.query_one("#graph")
        seen = []
        for _ in range(4):  # the forward pass: z1, h1, z2, L
            seen.append(graph.current)
            await pilot.press("n")
        assert seen == ["z1", "h1", "z2", "L"]
        assert pane.derivation.steps[pane.index].phase == "backward"
        await pilot.press("p")
        assert graph.current == "L" and "L =" in text_of(app, "#step-text")
        await pilot.press("home")
        assert pane.index == 0 and "z1" in text_of(app, "#step-title")
        # jump to the chain rule of w1
        await pilot.press("j")
        await pilot.pause()
        picker = app.screen.query_one("#node-picker")
        names = [picker.get_option_at_index(i).id for i in range(picker.option_count)]
        for _ in range(names.index("w1")):
            await pilot.press("down")
        await pilot.press("enter")
        await pilot.pause()
        assert graph.current == "w1"
        while pane.derivation.steps[pane.index].phase != "chain":
            await pilot.press("n")
        assert graph.current == "w1"
        body = text_of(app, "#step-text")
        assert "∂L/∂w1 = ∂L/∂z2 · ∂z2/∂h1 · ∂h1/∂z1 · ∂z1/∂w1" in body


async def test_train_controls(tmp_path):
    """numpy: play, pause, step one, change lr (restarts from the same weights), overlay autograd, reset."""
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await open_lesson(pilot, "two-layer-relu")
        await pilot.press("t")
        await settle(pilot)
        pane = app.screen.query_one(TrainPane)
        assert str(app.screen.query_one("#backend").value) == "numpy"
        pane.query_one("#field-epochs").value = "100000"
        pane.restart()
        await pilot.press("space")
        await until(pilot, lambda: pane.session.step > 0, "the run under way")
        assert pane.running
        await pilot.press("space")  # pause
        await run_drawn(pilot, pane)
        assert not pane.running
        paused_at = pane.session.step
        assert 0 < paused_at < 100000
        assert text_of(app, "#status").startswith(f"Paused at step {paused_at}.")
        # a snapshot of the step that was in flight when space came may still land: the message stays
        pane.latest = dataclasses.replace(pane.session.last, step=paused_at)
        pane.refresh_view()
        assert text_of(app, "#status").startswith(f"Paused at step {paused_at}.")
        await pilot.press("s")  # one step
        await settle(pilot)
        assert pane.session.step == paused_at + 1
        await run_drawn(pilot, pane)
        assert f"step {paused_at + 1}/100000" in text_of(app, "#status")
        first_w = pane.session.initial["w1"].copy()
        pane.query_one("#field-epochs").value = "50"
        pane.query_one("#field-lr").value = "5e-5"
        pane.restart()
        assert pane.session.step == 0 and pane.session.spec.lr == 5e-5
        assert (pane.session.initial["w1"] == first_w).all()
        await pilot.press("space")
        await settle(pilot)
        assert "step 50/50" in text_of(app, "#status")
        await pilot.press("o")  # keep numpy, ready autograd
        await pilot.pause()
        assert str(app.screen.query_one("#backend").value) == "torch-manual"
        await pilot.press("space")
        await run_drawn(pilot, pane)
        assert app.screen.query_one("#plot").series_count == 4  # two runs × (train, validation)
        status = text_of(app, "#status")
        assert "torch-manual vs numpy: losses agree to" in status
        assert float(status.split("agree to ")[1].split()[0]) < 1e-5
        rows = app.screen.query_one("#grads")
        assert rows.get_row("w1")[1] == "2×100" and rows.get_row("w2")[1] == "100×2"
        assert rows.get_row("dead-relu1")[6].startswith("dead ")
        await pilot.press("o")  # keep torch-manual; autograd at another lr
        await pilot.pause()
        status = await train_to_end(app, pilot, pane, lr="1e-4")
        assert status.endswith(
            " · done · autograd vs torch-manual: not comparable, torch-manual ran with lr 5e-05"
        )
        assert app.screen.query_one("#plot").series_count == 6
        await pilot.press("r")  # kept runs: it asks first (issue 27, item 5)
        await until(pilot, lambda: app.screen.__class__.__name__ == "Confirm", "the question")
        await pilot.press("y")
        await settle(pilot)
        assert pane.overlays == [] and pane.session.step == 0
        # a typo in a field is reported, never raised
        pane.query_one("#field-lr").value = "fast"
        pane.restart()
        assert "lr: expected a number, found 'fast'" in text_of(app, "#status")
        pane.query_one("#field-lr").value = "0"
        pane.restart()
        assert text_of(app, "#status") == (
            "lr: must be above 0: it scales every step, and 0 would not move the "
            "weights. Fix the field and press enter."
        )
        pane.query_one("#field-lr").value = "1e-4"
        pane.query_one("#field-seed").value = "1000000000000"
        pane.restart()
        assert (
            text_of(app, "#status")
            == "seed: 1000000000000 is outside 0..4294967295. Fix the field and press enter."
        )


async def test_variant_drop_down_changes_backends_fields_and_the_run(tmp_path):
    """single-neuron's Explain page sends the learner to the variant forget-zero-grad: the Train
    part offers it, and its second gradient is the accumulated −3.6 (−1.6 when zeroed)."""
    app = make_app(tmp_path, lesson="single-neuron")
    async with app.run_test(size=(120, 40)) as pilot:
        pane = await open_train(pilot)
        variant = app.screen.query_one("#variant")
        variant.value = "forget-zero-grad"
        await settle(pilot)
        backend = app.screen.query_one("#backend")
        assert [str(value) for _, value in backend._options] == [
            "autograd"
        ] and backend.value == "autograd"
        assert pane.query_one("#field-epochs").value == "30"
        assert text_of(app, "#status") == (
            "Variant forget-zero-grad: 30 steps with autograd, never zeroing "
            "w.grad. autograd (variant forget-zero-grad) ready: 30 steps on cpu. "
            "Press space."
        )
        note = pane.lesson.variant("forget-zero-grad").changes["note"]
        assert text_of(app, "#train-note") == f"Note: {note}"  # the variant's own note
        status = await train_to_end(app, pilot, pane)
        assert "final loss 0.14544 · w = 1.61863 · done" in status
        table = app.screen.query_one("#grads")
        assert table.get_row("w")[2].startswith("-3.77")  # step 30's accumulated gradient
        variant.value = "two-steps"
        await settle(pilot)
        await train_to_end(app, pilot, pane)
        assert table.get_row("w")[2] == "-1.6"  # zeroed: step 2's own gradient
        variant.value = ""  # back to the lesson's own settings
        await settle(pilot)
        assert [str(value) for _, value in backend._options] == [
            "numpy",
            "torch-manual",
            "autograd",
            "nn",
            "optim",
        ]
        assert pane.query_one("#field-epochs").value == "1"
        backend.focus()  # choose with the keyboard, then play
        await pilot.press("enter", "down", "enter")
        await settle(pilot)
        assert backend.value == "torch-manual" and app.screen.focused is pane
        await pilot.press("space")
        await run_drawn(pilot, pane)
        assert text_of(app, "#status").startswith(
            "torch-manual on cpu · step 1/1 · epoch 1 · final loss 0.64"
        )
        assert text_of(app, "#train-note") == f"Note: {pane.train.note}"


async def test_baseline_in_the_legend_and_table_numbers_whole(tmp_path):
    """The library baseline is a labelled curve inside the plot's range; every number in the
    gradient table fits its column (fewer digits, never a cut-off exponent)."""
    app = make_app(tmp_path, lesson="logistic-regression")
    async with app.run_test(size=(160, 40)) as pilot:
        pane = await open_train(pilot)
        assert (await train_to_end(app, pilot, pane, epochs="5")).endswith(" · done")
        plot = app.screen.query_one("#plot")
        assert plot.series_count == 2 and plot.reference[0] == "sklearn-logistic"
        legend = [line for line in str(plot.render()).splitlines() if "sklearn-logistic" in line]
        assert len(legend) == 1 and "•• sklearn-logistic" in legend[0]
        table = app.screen.query_one("#grads")
        grads = pane.session.last.grads
        for name, g in grads.items():
            cells = table.get_row(name)[2:5]
            assert all(len(c) <= 8 for c in cells), cells
            for cell, exact in zip(cells, (g.norm, g.mean_abs, g.max_abs), strict=False):
                assert float(cell) == pytest.approx(exact, rel=5e-3), (name, cell, exact)


async def test_explanation_scrolls_with_the_keyboard_at_once(tmp_path):
    app = make_app(tmp_path, lesson="two-layer-relu")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        scroll = app.screen.query_one("#explain-scroll")
        assert scroll.max_scroll_y > 0 and scroll.scroll_y == 0
        await pilot.press("pagedown")
        await until(pilot, lambda: scroll.scroll_y > 0, "the page scrolled down")
        await pilot.press("end")
        await until(
            pilot, lambda: scroll.scroll_y == scroll.max_scroll_y, "the page scrolled to its end"
        )
        await pilot.press("d", "n")  # Derive's keys still reach Derive
        await settle(pilot)
        assert app.screen.query_one(DerivePane).index == 1
        await pilot.press("e", "home")
        await until(pilot, lambda: scroll.scroll_y == 0, "the page scrolled back to its top")


async def test_leaving_a_lesson_and_coming_back_finds_it_as_left(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await open_lesson(pilot, "two-layer-relu")
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("n", "n", "n")
        await pilot.press("t")
        await settle(pilot)
        app.screen.query_one("#field-lr").value = "5e-5"
        app.screen.query_one("#field-epochs").value = "7"
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("enter")  # the list keeps it highlighted
        await settle(pilot)
        assert app.screen.lesson.id == "two-layer-relu"
        assert app.screen.query_one("#field-lr").value == "5e-5"
        assert app.screen.query_one("#field-epochs").value == "7"
        await pilot.press("d")
        await settle(pilot)
        assert app.screen.query_one(DerivePane).index == 3
        assert text_of(app, "#step-title").startswith("Step 4/")


async def test_divergence_keeps_controls(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await open_lesson(pilot, "two-layer-relu")
        await pilot.press("t")
        await settle(pilot)
        pane = app.screen.query_one(TrainPane)
        assert "diverged at step" in await train_to_end(app, pilot, pane, lr="10")
        assert "done" in await train_to_end(app, pilot, pane, lr="1e-4")


async def test_leaving_mid_run_cancels_the_worker(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await open_lesson(pilot, "two-layer-relu")
        await pilot.press("t")
        await settle(pilot)
        pane = app.screen.query_one(TrainPane)
        pane.query_one("#field-epochs").value = "100000"
        pane.restart()
        await pilot.press("space")
        await until(pilot, lambda: pane.session.step > 0, "the run under way")
        workers = [w for w in pane.workers if w.group == "train"]
        assert workers and pane.session.step < 100000
        await pilot.press("escape")
        await pilot.pause()
        await app.workers.wait_for_complete()
        assert isinstance(app.screen, LessonListScreen)
        assert all(w.is_cancelled and w.is_finished for w in workers)
        assert pane.session.step < 100000


async def test_help_and_quit(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        help_text = text_of(app, "#help-text")
        assert "\n  ^q             Quit\n  ?              Help\n" in help_text
        assert "question_mark" not in help_text
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, LessonListScreen)
        await pilot.press("slash")  # the footer's "/ Jump to…"
        await pilot.pause()
        from textual.command import CommandPalette

        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"Jacobians")  # a lesson with nothing to train offers no Train
        expected = [
            "Gradients and Jacobians (vector-derivatives) › Derive",
            "Gradients and Jacobians (vector-derivatives) › Explain",
        ]

        def offered() -> list[str]:
            return sorted(
                str(hit.prompt).split("\n")[0]
                for hit in app.screen.query("CommandList").first()._options
            )

        await until(pilot, lambda: offered() == expected, f"the palette to offer {expected}")
        assert offered() == expected
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, LessonListScreen)
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert app.return_code == 0


@pytest.mark.parametrize("lesson_id", LISTED_IDS)
async def test_every_lesson_walks_its_three_parts(tmp_path, lesson_id):
    """Each lesson opens, shows Explain, derives (when it has a graph) and runs its first trainer
    for one epoch (the code path of every epoch; each lesson's own pilot test runs its figures)."""
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        item = next(item for item in catalogue() if item.id == lesson_id)
        app.open_lesson(item.path)
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, LessonScreen), item.id
        await pilot.press("d")
        await settle(pilot)
        if screen.lesson.graph is not None:
            pane = screen.query_one(DerivePane)
            assert pane.derivation is not None and pane.derivation.steps, item.id
            assert all(c.ok for c in pane.derivation.checks), item.id
        await pilot.press("t")
        await settle(pilot)
        if screen.lesson.train is None:
            return
        train = screen.query_one(TrainPane)
        train.query_one("#field-epochs").value = "1"
        train.restart()
        await pilot.press("space")
        await run_drawn(pilot, train)
        assert "done" in text_of(app, "#status"), (item.id, text_of(app, "#status"))


async def test_80x24_is_usable_and_60x20_says_too_small(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await open_lesson(pilot, "single-neuron")
        await pilot.press("t")
        await settle(pilot)
        for selector in ("#backend", "#play", "#step", "#reset", "#field-lr", "#status", "#plot"):
            widget = app.screen.query_one(selector)
            region = widget.region
            assert region.width > 0 and region.height > 0, selector
            assert region.right <= 80 and region.bottom <= 24, selector
        await pilot.click("#play")
        await run_drawn(pilot, app.screen.query_one(TrainPane))
        assert "done" in text_of(app, "#status")
        await pilot.resize_terminal(60, 20)
        await until(pilot, lambda: app.screen.query("#too-small"), "the too-small notice")
        assert "needs at least 70×22" in text_of(app, "#too-small")
        await pilot.resize_terminal(40, 10)  # smaller still, then back: nothing breaks
        await until(
            pilot,
            lambda: "The window is 40×10" in text_of(app, "#too-small"),
            "the notice at 40×10",
        )
        await pilot.resize_terminal(80, 24)
        await until(pilot, lambda: isinstance(app.screen, LessonScreen), "the lesson back at 80×24")
        assert "done" in text_of(app, "#status")


async def test_opens_on_last_lesson_and_marks_progress(tmp_path):
    progress = Progress(tmp_path / "progress.json")
    progress.visit("two-layer-relu", "derive")
    app = make_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert (
            isinstance(app.screen, LessonScreen) and app.screen.lesson.id == "two-layer-relu"
        )  # resumed
        await pilot.press("escape")
        await pilot.pause()
        options = app.screen.query_one("#lessons")
        assert (
            options.get_option_at_index(options.highlighted).id == "two-layer-relu"
        )  # after the sandbox
        assert "in progress" in plain(options.get_option_at_index(options.highlighted).prompt)


async def test_broken_lesson_file_shows_an_error_screen(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('schema = 1\nid = "Bad"\ntitle = "x"\n[[explain]]\ntitle = "p"\ntext = 3\n')
    app = make_app(tmp_path, start=bad)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        text = text_of(app, "#error-text")
        assert (
            f"{bad}:2: id: 'Bad' is not a lesson id (lowercase letters, digits and '-')\n"
            f"{bad}:6: explain[0].text: expected a string, found an integer\n"
        ) in text
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen.query("#lessons"), "escape goes back to the lesson list"


async def test_broken_file_among_the_lessons_is_listed_with_its_first_problem(
    tmp_path, monkeypatch
):
    import tutor.lesson

    shipped = tutor.lesson.lesson_paths()
    bad = tmp_path / "zz-broken.toml"
    bad.write_text('schema = 1\nid = "Bad"\ntitle = "x"\n[[explain]]\ntitle = "p"\ntext = 3\n')
    monkeypatch.setattr(tutor.lesson.listing, "lesson_paths", lambda: [*shipped, bad])
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        options = app.screen.query_one("#lessons")
        assert [item.id for item in app.listing][-1] == "zz-broken"
        last = " ".join(plain(options.get_option(app.listing[-1].id).prompt, width=160).split())
        assert (
            f"{bad}:2: id: 'Bad' is not a lesson id (lowercase letters, digits and '-') (and 1 more)"
            in last
        )
        assert len(app.listing) == len(shipped) + 1


async def test_ascii_mode_draws_lesson_text_plot_and_table_in_ascii(tmp_path):
    """--ascii: the tutor's own text (explanation, status, gradient table, loss plot) is ASCII."""
    app = make_app(tmp_path, lesson="two-layer-relu", ascii=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.screen.title == "backprop-tutor - The chain rule through a hidden layer"
        explained = app.screen.query_one("#explain-text").source
        assert explained.isascii() and "dL/dw1" in explained, explained[:300]
        await pilot.press("t")
        await settle(pilot)
        pane = app.screen.query_one(TrainPane)
        status = await train_to_end(app, pilot, pane, epochs="30")
        assert status.startswith(
            "numpy on cpu | step 30/30 | epoch 30 | final loss "
        ) and status.endswith(" | done")
        plot = app.screen.query_one("#plot")
        drawn = str(plot.render())
        assert plot.series_count == 2 and drawn.isascii(), sorted(
            {c for c in drawn if not c.isascii()}
        )
        assert drawn.startswith("train/val  */. numpy\n") and "+----" in drawn
        table = app.screen.query_one("#grads")
        assert [str(c.label) for c in table.columns.values()] == [
            "param",
            "shape",
            "||g||, g",
            "mean|g|",
            "max|g|",
            "dw/w",
            "value",
        ]
        assert table.get_row("w1")[1] == "2x100"
        assert str(app.screen.query_one("#play").label) == "> Play"


def test_first_screen_without_heavy_imports(tmp_path):
    """torch, scikit-learn and sympy are not imported when the lesson list is first shown."""
    code = textwrap.dedent(f"""
        import asyncio, sys
        from pathlib import Path
        from tutor.progress import Progress
        import tutor.ui.app
        from tutor.ui.app import TutorApp
        from tutor.ui.screens.lesson_list import LessonListScreen

        # the warm-up (torch and sympy loaded in the background) is meant to come after the first
        # screen: held back here so that a loaded machine's slow first frame cannot meet it
        tutor.ui.app.WARM_UP_AFTER = 3600

        async def main():
            app = TutorApp(progress=Progress(Path({str(tmp_path)!r}) / "p.json"))
            async with app.run_test(size=(100, 30)) as pilot:
                await pilot.pause()
                assert isinstance(app.screen, LessonListScreen)
                from tutor.lesson import GROUPS, catalogue
                # the sandbox, the playground, a heading per group and every lesson
                assert app.screen.query_one("#lessons").option_count == 2 + len(GROUPS) + len(catalogue())
                heavy = sorted(m for m in ("torch", "sklearn", "sympy") if m in sys.modules)
                print("HEAVY", heavy)
        asyncio.run(main())
    """)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert "HEAVY []" in out.stdout, out.stdout + out.stderr


async def test_exercise_wrong_hint_right_and_progress_mark(tmp_path):
    """Type a wrong answer, read the specific response, ask for a hint, type the right answer,
    and see the exercise marked solved, in the panel and on the lesson list."""
    app = make_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await open_lesson(pilot, "single-neuron")
        await pilot.press("d")
        await settle(pilot)
        while (
            app.screen.query_one(DerivePane)
            .derivation.steps[app.screen.query_one(DerivePane).index]
            .node
            != "w"
        ):
            await pilot.press("n")
        assert "Exercise grad-w: Write ∂L/∂w" in text_of(app, "#exercise-prompt")
        assert (
            app.screen.query_one("#answer").placeholder
            == "expression: * times, ** power, step(u) = 1[u > 0]"
        )
        await pilot.press("a", *"2*(y_pred - y)", "enter")
        await settle(pilot)
        assert text_of(app, "#exercise-feedback") == (
            "✗ Your answer is missing ∂y_pred/∂w = x. For a hint: escape, then h (or the Hint button)."
        )
        await pilot.press("escape", "h")
        assert (
            text_of(app, "#exercise-feedback")
            == "Hint 1: Chain two factors: ∂L/∂y_pred, then ∂y_pred/∂w."
        )
        assert isinstance(app.screen, LessonScreen)  # escape left the field, not the lesson
        hints = app.screen.query_one("#exercise").current.hints
        for _ in hints:  # past the last hint, all of them stay
            await pilot.press("h")
        shown = text_of(app, "#exercise-feedback").splitlines()
        assert shown == [
            *(f"Hint {i + 1}: {h}" for i, h in enumerate(hints)),
            "No more hints: v (or the Solution button) shows the solution.",
        ]
        answer = app.screen.query_one("#answer")
        answer.value = ""
        await pilot.press(
            "a", *"x*2*(w*x - y)", "enter"
        )  # the same gradient, written in the leaves
        await settle(pilot)
        assert text_of(app, "#exercise-feedback").startswith("✓ Correct")
        assert "(1/3 exercises solved)" in text_of(app, "#exercise-feedback")
        assert "(solved ✓)" in text_of(app, "#exercise-prompt")
        assert app.progress.solved("single-neuron") == ["grad-w"]
        await pilot.press("escape", "escape")  # leave the field, then the lesson
        await pilot.pause()
        options = app.screen.query_one("#lessons")
        first = plain(options.get_option("single-neuron").prompt)
        assert "in progress, 1/3 exercises" in first
