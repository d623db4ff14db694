"""Issue 32 through the CLI: a run whose loss leaves the numbers is diverged whatever the log pace
(issue 25, item 8: lr = 1e6), and `--export-code BACKEND --device cuda` writes a script that keeps
its data and weights on the device and reads the loss only where it prints it."""

from __future__ import annotations

import ast
import tempfile
from pathlib import Path

import pytest

from tests.cli.test_code_export import agrees, headless_losses, run_scripts
from tests.support import LESSONS_DIR, events_of, headless_json, parse_json_lines, run_cli
from tutor.cli import main
from tutor.lesson import load


def huge_lr_lesson(tmp_path: Path, log_every: int) -> Path:
    """two-layer-relu with lr = 1e6 (within the limit) and rows every `log_every` steps."""
    text = (LESSONS_DIR / "two-layer-relu.toml").read_text()
    assert "\nlr = 1e-4\n" in text and "\nlog_every = 1\n" in text
    path = tmp_path / "two-layer-relu.toml"
    path.write_text(
        text.replace("\nlr = 1e-4\n", "\nlr = 1e6\n").replace(
            "\nlog_every = 1\n", f"\nlog_every = {log_every}\n"
        )
    )
    return path


@pytest.mark.parametrize(
    "log_every,epochs", [(1000, "50"), (1, "1")], ids=["rows-far-apart", "one-step"]
)
def test_a_loss_that_leaves_the_numbers_is_a_diverged_run(tmp_path, log_every, epochs):
    """Rows 1000 steps apart: the loss is inf from step 2, between rows; one step: the step's loss
    is finite and the final weights' loss is inf. Either way every plain-gd backend reports a
    diverged run with the doctor's diagnosis, and the exit status is 3 (README)."""
    path = huge_lr_lesson(tmp_path, log_every)
    assert run_cli("--check", str(path)) == (0, f"{path}: ok\n", "")
    rc, out, err = run_cli(str(path), "--headless", "--json", "--no-derive", "--epochs", epochs)
    assert rc == 3, err
    assert "Traceback" not in err
    done = {e["backend"]: e for e in parse_json_lines(out) if e["event"] == "done"}
    assert list(done) == ["numpy", "torch-manual", "autograd", "nn", "optim"]
    for backend in ("numpy", "torch-manual", "autograd", "nn"):
        d = done[backend]
        assert d["diverged"] is True and d["error"] is None, backend
        assert d["final_loss"] is None and d["steps"] == (2 if epochs == "50" else 1), (
            backend,
            d["steps"],
        )
        assert d["diagnosis"]["kind"] == "exploding-gradients", backend
    assert done["optim"]["diverged"] is False  # its override keeps its own lr
    text_rc, text, _ = run_cli(
        str(path), "--headless", "--no-derive", "--backend", "autograd", "--epochs", epochs
    )
    assert text_rc == 3
    assert f"  diverged at step {done['autograd']['steps']}: the loss became " in text


def device_script(lesson_id: str, backend: str, capsys) -> str:
    assert main([lesson_id, "--export-code", backend, "--device", "cuda"]) == 0
    return capsys.readouterr().out


def calls(tree, name: str) -> list[ast.Call]:
    """Every call of `torch.NAME(...)` or `....NAME(...)`."""
    return [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == name
    ]


def on_device(call: ast.Call) -> bool:
    return any(
        k.arg == "device" and isinstance(k.value, ast.Name) and k.value.id == "device"
        for k in call.keywords
    )


CASES = [
    ("mlp-digits", "optim"),
    ("softmax-cross-entropy", "autograd"),
    ("batchnorm-backward", "torch-manual"),
    ("two-layer-relu", "nn"),
]


@pytest.mark.parametrize("lesson_id,backend", CASES, ids=[f"{a}-{b}" for a, b in CASES])
def test_export_code_device_cuda_keeps_everything_on_the_device(lesson_id, backend, capsys):
    text = device_script(lesson_id, backend, capsys)
    tree = ast.parse(text)
    settings = [
        n for n in tree.body if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name)
    ]
    assert {
        n.targets[0].id: ast.literal_eval(n.value)
        for n in settings
        if n.targets[0].id in ("device", "print_every")
    } == {"device": "cuda", "print_every": 1}
    made = calls(tree, "as_tensor") + calls(tree, "arange")
    assert made and all(on_device(c) for c in made), [
        ast.unparse(c) for c in made if not on_device(c)
    ]
    for to in calls(tree, "to"):  # the model moves to the device once, before the loop
        assert on_device(to), ast.unparse(to)
    assert not calls(tree, "from_numpy") and not calls(tree, "cpu") and not calls(tree, "numpy")
    # the loss is read (.item()) only under `if step % print_every == 0`, apart from the evaluation
    # after the loop (batchnorm's running statistics: once per set, `for part, xb, yb in evaluations`)
    after = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.For) and ast.unparse(n.target) == "(part, xb, yb)"
    ]
    evaluation = {id(c) for loop in after for c in ast.walk(loop)}
    reads = [c for c in calls(tree, "item") if id(c) not in evaluation]
    assert len(reads) == 1
    guards = [n for n in ast.walk(tree) if isinstance(n, ast.If) and reads[0] in ast.walk(n)]
    assert [ast.unparse(g.test) for g in guards] == ["step % print_every == 0"]
    # each epoch's permutation goes up once; a batch is a slice of it on the device
    assert (
        "order = torch.as_tensor(order_rng.permutation(len(X)), device=device)" in text
        or "batch_size" not in text
    )


@pytest.mark.parametrize("lesson_id,backend", CASES[:2], ids=[f"{a}-{b}" for a, b in CASES[:2]])
def test_a_device_script_pointed_at_the_cpu_prints_the_headless_losses(lesson_id, backend, capsys):
    """The same script with `device = 'cpu'` (no GPU here) runs and prints the tutor's losses."""
    text = device_script(lesson_id, backend, capsys).replace(
        "device = 'cuda'\n", "device = 'cpu'\n"
    )
    text = text.replace("epochs = ", "epochs = 2  # ", 1)
    with tempfile.TemporaryDirectory() as directory:
        got = run_scripts({"run": text}, Path(directory))["run"]
    agrees(got, headless_losses(load(LESSONS_DIR / f"{lesson_id}.toml"), backend, 2))


def test_export_code_numpy_on_a_device_is_refused(capsys):
    assert main(["mlp-digits", "--export-code", "numpy", "--device", "cuda"]) == 2
    assert capsys.readouterr().err == (
        "backprop-tutor: --device cuda applies to the torch backends: numpy runs on the CPU\n"
    )


def test_a_json_row_per_step_measures_the_full_set_figures_on_a_fixed_cadence():
    """mlp-digits --backend optim --log-every 1: every row has its own step's batch loss and
    gradient norms; the full-set figures (validation loss, both accuracies, the layers' health:
    540 validation and 1,257 training digits forward) are measured every 94 steps (1,797 samples
    over 3 × 64 × 10%, cadence.py) and at the last step, and each row says where they are from.
    Two runs measure at the same steps."""
    runs = [
        events_of(
            headless_json("mlp-digits", "--no-derive", "--backend", "optim", "--log-every", "1"),
            "train",
        )
        for _ in range(2)
    ]
    rows = runs[0]
    assert [r["step"] for r in rows] == list(range(1, 201))
    measured = [r["step"] for r in rows if r["eval_step"] == r["step"]]
    assert measured == [1, 95, 189, 200]
    assert [r["eval_step"] for r in runs[1]] == [r["eval_step"] for r in rows]
    for r in rows:
        assert r["eval_step"] == max(m for m in measured if m <= r["step"])
        at = rows[r["eval_step"] - 1]
        assert (r["val_loss"], r["accuracy"], r["val_accuracy"], r["layers"][1]) == (
            at["val_loss"],
            at["accuracy"],
            at["val_accuracy"],
            at["layers"][1],
        )
    assert (
        len({r["loss"] for r in rows}) == len({r["grad_norm"]["w1"] for r in rows}) == 200
    )  # each its own step's
    assert [rows[m - 1]["val_loss"] for m in measured] == sorted(
        {r["val_loss"] for r in rows}, reverse=True
    )
