"""Issue 16, part 1: the exported script of every backend of every lesson, run with `python`,
prints the headless run's losses, step for step, to 1e-6 relative."""

from __future__ import annotations

import functools
import io
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.support import LESSONS_DIR
from tutor import headless
from tutor.cli import main
from tutor.code.export import export
from tutor.lesson import catalogue, load
from tutor.train.spec import backends_for

SHORT = 2  # epochs: enough for the update to matter, short enough for every backend


def _cases():
    for item in catalogue():
        lesson = load(item.path)
        if lesson.train is None:
            continue
        for backend in backends_for(lesson):
            yield pytest.param(item.path, backend, id=f"{lesson.id}-{backend}")


def _variant_cases():
    for item in catalogue():
        lesson = load(item.path)
        for variant in lesson.variants:
            if runs_the_variant(lesson, variant):
                for backend in backends_for(lesson, variant):
                    yield pytest.param(
                        item.path, variant.name, backend, id=f"{lesson.id}-{variant.name}-{backend}"
                    )


def headless_losses(lesson, backend: str, epochs: int, variant: str | None = None) -> list[float]:
    out = io.StringIO()
    opts = headless.Options(
        backends=[backend], epochs=epochs, log_every=1, json=True, derive=False, variant=variant
    )
    assert headless.run(lesson, opts, out=out, err=io.StringIO()) == 0
    return [
        e["loss"] for e in map(json.loads, out.getvalue().splitlines()) if e["event"] == "train"
    ]


# One child process runs a lesson's exported scripts one after another, each as `python -I
# run.py` would (runpy, `__main__`, -I: neither the tutor nor the scripts' folder importable),
# so the lesson pays one Python start and one torch import, not one per backend.
RUNNER = """
import contextlib, io, json, runpy, sys, traceback
results = {}
for path in sys.argv[1:]:
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            runpy.run_path(path, run_name="__main__")
        results[path] = [0, out.getvalue(), ""]
    except BaseException:
        results[path] = [1, out.getvalue(), traceback.format_exc()]
sys.stdout.write(json.dumps(results))
"""


def script_losses(text: str, tmp_path) -> list[float]:
    return run_scripts({"run": text}, tmp_path)["run"]


def run_scripts(
    texts: dict[str, str], directory, evaluations: dict | None = None
) -> dict[str, list[float]]:
    """Each script of `texts` (name → text), run in one child process → name → printed losses (of
    its steps). `evaluations` gets name → {part: loss} from the lines a model with running
    statistics prints after its loop ("evaluation mode (running statistics): training loss …")."""
    paths = {}
    for name, text in texts.items():
        paths[name] = directory / f"{name}.py"
        paths[name].write_text(text)
    runner = directory / "runner.py"
    runner.write_text(RUNNER)
    done = subprocess.run(
        [sys.executable, "-I", str(runner), *map(str, paths.values())],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout)
    losses = {}
    for name, path in paths.items():
        rc, out, err = results[str(path)]
        assert rc == 0, f"{name}: {err[-3000:]}"
        lines = out.splitlines()
        losses[name] = [
            float(line.rsplit("loss", 1)[1]) for line in lines if line.startswith("step")
        ]
        evaluated = {
            line.split(": ")[1].split()[0]: float(line.rsplit("loss", 1)[1])
            for line in lines
            if line.startswith("evaluation mode")
        }
        assert len(losses[name]) + len(evaluated) == len(lines), out[-3000:]
        if evaluations is not None:
            evaluations[name] = evaluated
    return losses


def epochs_of(lesson, variant=None) -> int:
    """Short runs: enough steps for the update to matter, few enough for every backend."""
    if variant is None:
        return min(SHORT, lesson.train.epochs)
    return min(SHORT + 1, variant.changes.get("epochs", lesson.train.epochs))


def runs_the_variant(lesson, variant) -> bool:
    """A variant that changes the run (zero_grad off, momentum, other data), but not MNIST's (it
    needs a network)."""
    return (
        lesson.train is not None and getattr(variant.changes.get("dataset"), "kind", "") != "mnist"
    )


@functools.cache
def lesson_scripts(path) -> dict[tuple[str | None, str], list[float]]:
    """The exported script of every backend of one lesson and of each of its variants, run in one
    child process → (variant name or None, backend) → the losses it printed. The tests of that
    lesson share it."""
    lesson = load(path)
    texts, keys = {}, {}
    for variant in (None, *(v for v in lesson.variants if runs_the_variant(lesson, v))):
        for backend in backends_for(lesson, variant):
            name = f"{variant.name if variant else 'lesson'}-{backend}".replace("-", "_")
            texts[name] = export(lesson, backend, variant, epochs=epochs_of(lesson, variant)).text
            keys[name] = (variant.name if variant else None, backend)
    with tempfile.TemporaryDirectory() as directory:
        losses = run_scripts(texts, Path(directory))
    return {keys[name]: got for name, got in losses.items()}


def agrees(got: list[float], expected: list[float]) -> None:
    assert len(got) == len(expected) and expected
    for step, (a, b) in enumerate(zip(got, expected, strict=False), 1):
        assert a == pytest.approx(b, rel=1e-6), f"step {step}: script {a}, headless {b}"


@pytest.mark.parametrize("path,backend", list(_cases()))
def test_exported_script_reproduces_the_headless_losses(path, backend):
    lesson = load(path)
    epochs = epochs_of(lesson)
    script = export(lesson, backend, epochs=epochs)
    assert "import tutor" not in script.text and "from tutor" not in script.text
    agrees(lesson_scripts(path)[None, backend], headless_losses(lesson, backend, epochs))


@pytest.mark.parametrize("path,variant,backend", list(_variant_cases()))
def test_a_variants_script_reproduces_its_losses(path, variant, backend):
    lesson = load(path)
    epochs = epochs_of(lesson, lesson.variant(variant))
    agrees(
        lesson_scripts(path)[variant, backend], headless_losses(lesson, backend, epochs, variant)
    )


def test_a_script_runs_alone_in_a_fresh_python(tmp_path):
    """The batch above runs a lesson's scripts in one interpreter; one script, alone in a fresh
    `python -I`, prints the same losses (nothing it needs is left behind by another)."""
    path = LESSONS_DIR / "two-layer-relu.toml"
    lesson = load(path)
    script = export(lesson, "autograd", epochs=epochs_of(lesson)).text
    file = tmp_path / "run.py"
    file.write_text(script)
    done = subprocess.run(
        [sys.executable, "-I", str(file)], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    alone = [float(line.rsplit("loss", 1)[1]) for line in done.stdout.splitlines()]
    assert alone == lesson_scripts(path)[None, "autograd"]


def test_export_code_command_prints_the_script_with_the_settings(capsys):
    assert (
        main(["two-layer-relu", "--export-code", "autograd", "--epochs", "3", "--lr", "0.001"]) == 0
    )
    text = capsys.readouterr().out
    assert "lr = 0.001\nepochs = 3\n" in text and "loss.backward()" in text


def test_export_code_refuses_a_backend_the_lesson_does_not_run(capsys):
    assert main(["linear-regression", "--export-code", "nn"]) == 2
    assert capsys.readouterr().err == (
        "backprop-tutor: lesson linear-regression runs numpy, autograd, optim, not nn\n"
    )
    assert main(["linear-regression", "--export-code", "numpy", "--log-every", "5"]) == 2
    assert (
        capsys.readouterr().err == "backprop-tutor: --log-every does not apply to --export-code\n"
    )
    assert main(["vector-derivatives", "--export-code", "numpy"]) == 2
    assert (
        capsys.readouterr().err
        == "backprop-tutor: lesson vector-derivatives has no training run to export\n"
    )
