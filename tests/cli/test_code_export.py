"""Issue 16, part 1: the exported script of every backend of every lesson, run with `python`,
prints the headless run's losses, step for step, to 1e-6 relative."""

from __future__ import annotations
import io
import json
import subprocess
import sys
import pytest
from tutor import headless
from tutor.cli import main
from tutor.code.export import export
from tutor.lesson import catalogue, load
from tutor.train.spec import backends_for


SHORT = 2            # epochs: enough for the update to matter, short enough for every backend


def _cases():
    for item in catalogue():
        lesson = load(item.path)
        if lesson.train is None:
            continue
        for backend in backends_for(lesson):
            yield pytest.param(item.path, backend, id=f"{lesson.id}-{backend}")


def _variant_cases():
    """Every variant that changes the run (zero_grad off, momentum, other data), but not MNIST's
    (it needs a network)."""
    for item in catalogue():
        lesson = load(item.path)
        for variant in lesson.variants:
            if lesson.train is None or getattr(variant.changes.get("dataset"), "kind", "") == "mnist":
                continue
            for backend in backends_for(lesson, variant):
                yield pytest.param(item.path, variant.name, backend, id=f"{lesson.id}-{variant.name}-{backend}")


def headless_losses(lesson, backend: str, epochs: int, variant: str | None = None) -> list[float]:
    out = io.StringIO()
    opts = headless.Options(backends=[backend], epochs=epochs, log_every=1, json=True, derive=False,
                            variant=variant)
    assert headless.run(lesson, opts, out=out, err=io.StringIO()) == 0
    return [e["loss"] for e in map(json.loads, out.getvalue().splitlines()) if e["event"] == "train"]


def script_losses(text: str, tmp_path) -> list[float]:
    path = tmp_path / "run.py"
    path.write_text(text)
    # -I: the script's own directory and PYTHONPATH are not on sys.path, so it cannot import the tutor
    done = subprocess.run([sys.executable, "-I", str(path)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return [float(line.rsplit("loss", 1)[1]) for line in done.stdout.splitlines()]


@pytest.mark.parametrize("path,backend", list(_cases()))
def test_exported_script_reproduces_the_headless_losses(path, backend, tmp_path):
    lesson = load(path)
    epochs = min(SHORT, lesson.train.epochs)
    script = export(lesson, backend, epochs=epochs)
    assert "import tutor" not in script.text and "from tutor" not in script.text
    expected = headless_losses(lesson, backend, epochs)
    got = script_losses(script.text, tmp_path)
    assert len(got) == len(expected) and expected
    for step, (a, b) in enumerate(zip(got, expected), 1):
        assert a == pytest.approx(b, rel=1e-6), f"step {step}: script {a}, headless {b}"


@pytest.mark.parametrize("path,variant,backend", list(_variant_cases()))
def test_a_variants_script_reproduces_its_losses(path, variant, backend, tmp_path):
    lesson = load(path)
    v = lesson.variant(variant)
    epochs = min(SHORT + 1, v.changes.get("epochs", lesson.train.epochs))
    expected = headless_losses(lesson, backend, epochs, variant)
    got = script_losses(export(lesson, backend, v, epochs=epochs).text, tmp_path)
    assert len(got) == len(expected) and expected
    for step, (a, b) in enumerate(zip(got, expected), 1):
        assert a == pytest.approx(b, rel=1e-6), f"step {step}: script {a}, headless {b}"


def test_export_code_command_prints_the_script_with_the_settings(capsys):
    assert main(["two-layer-relu", "--export-code", "autograd", "--epochs", "3", "--lr", "0.001"]) == 0
    text = capsys.readouterr().out
    assert "lr = 0.001\nepochs = 3\n" in text and "loss.backward()" in text


def test_export_code_refuses_a_backend_the_lesson_does_not_run(capsys):
    assert main(["linear-regression", "--export-code", "nn"]) == 2
    assert capsys.readouterr().err == ("backprop-tutor: lesson linear-regression runs numpy, autograd, optim, "
                                       "not nn\n")
    assert main(["linear-regression", "--export-code", "numpy", "--log-every", "5"]) == 2
    assert capsys.readouterr().err == "backprop-tutor: --log-every does not apply to --export-code\n"
    assert main(["vector-derivatives", "--export-code", "numpy"]) == 2
    assert capsys.readouterr().err == "backprop-tutor: lesson vector-derivatives has no training run to export\n"
