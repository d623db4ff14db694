"""Issue 28, item 10: the code checker names the slip. Each test hands `--code backward=FILE`
a backward pass with one mistake a learner makes, and asserts the exact message it gets."""

from __future__ import annotations

import json

import pytest

from tests.cli.test_code_exercise import CORRECT
from tutor.cli import main
from tutor.code.template import reference
from tutor.lesson import catalogue, load

SOFTMAX = """import numpy as np


def backward(x, y, W, b):
    N = x.shape[0]
    z = x @ W + b
    e = np.exp(z - z.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    onehot = np.eye(z.shape[1])[y.astype(int)]
    dz = (p - onehot) / N
    dW = x.T @ dz
    db = dz.sum(0)
    return dW, db
"""

SQUARE = b"""schema = 1
id = "square"
title = "Two square layers"
[[explain]]
title = "p"
text = "p"
[graph]
inputs = ["x"]
params = ["w", "v"]
[[graph.nodes]]
name = "h"
expr = "x @ w"
[[graph.nodes]]
name = "z"
expr = "h @ v"
[[graph.nodes]]
name = "L"
expr = "sum(z * z)"
[graph.point]
x = 0.5
w = 1.5
v = -0.5
[graph.shapes]
x = ["N", "D"]
w = ["D", "D"]
v = ["D", "D"]
[graph.dims]
N = 32
D = 16
[[exercises]]
id = "backward"
kind = "code"
prompt = "Write dw and dv."
wrt = ["w", "v"]
"""


def lesson_of(lesson_id: str):
    return load(next(i.path for i in catalogue() if i.id == lesson_id))


def check(tmp_path, capsys, lesson: str, source: str) -> tuple[list[str], list[str]]:
    """(each gradient's verdict, the messages) from `--code backward=FILE --json` and its text."""
    path = tmp_path / "backward.py"
    path.write_text(source)
    assert main([lesson, "--code", f"backward={path}", "--json"]) == 1
    event = json.loads(capsys.readouterr().out)
    assert main([lesson, "--code", f"backward={path}"]) == 1
    text = capsys.readouterr().out
    return [o["verdict"] for o in event["outputs"]], text.splitlines()


def batchnorm(old: str, new: str) -> str:
    lesson = lesson_of("batchnorm-backward")
    text = reference(lesson, next(e for e in lesson.exercises if e.kind == "code"))
    assert old in text
    return text.replace(old, new)


def test_a_correct_answer_is_exact_and_approx(tmp_path, capsys):
    path = tmp_path / "backward.py"
    path.write_text(CORRECT)
    assert main(["two-layer-relu", "--code", f"backward={path}"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["name", "exact", "approx", "rel", "error", "max", "diff", "where"]
    assert [line.split()[:3] for line in lines[1:3]] == [
        ["dw1", "True", "True"],
        ["dw2", "True", "True"],
    ]


def test_a_factor_of_n_too_many(tmp_path, capsys):
    verdicts, lines = check(
        tmp_path,
        capsys,
        "two-layer-relu",
        CORRECT.replace("dz2 = 2 * (z2 - y)", "dz2 = 2 * (z2 - y) / x.shape[0]"),
    )
    assert verdicts == ["factor-N", "factor-N"]
    assert (
        "dw1 is 1/N of the right value (N = 6 here): a division by N too many, or a mean where the sum is needed"
        in lines
    )


def test_a_factor_of_n_missing(tmp_path, capsys):
    verdicts, lines = check(
        tmp_path,
        capsys,
        "softmax-cross-entropy",
        SOFTMAX.replace("dz = (p - onehot) / N", "dz = p - onehot"),
    )
    assert verdicts == ["factor-N", "factor-N"]
    assert (
        "dW is N times the right value (N = 6 here): a division by N is missing, or a sum where the mean is needed"
        in lines
    )


def test_a_mean_for_the_bias_where_the_sum_is_needed(tmp_path, capsys):
    verdicts, lines = check(
        tmp_path,
        capsys,
        "softmax-cross-entropy",
        SOFTMAX.replace("db = dz.sum(0)", "db = dz.mean(0)"),
    )
    assert verdicts == ["ok", "factor-N"]
    assert (
        "db is 1/N of the right value (N = 6 here): a division by N too many, or a mean where the sum is needed"
        in lines
    )


def test_a_missing_transpose_where_shapes_differ_is_a_shape_error(tmp_path, capsys):
    """softmax-cross-entropy's lesson has N = D = 64; the check's sizes differ (N = 6, D = 4), so
    `x @ dz` does not pass for `x.T @ dz`."""
    path = tmp_path / "backward.py"
    path.write_text(SOFTMAX.replace("dW = x.T @ dz", "dW = x @ dz"))
    assert main(["softmax-cross-entropy", "--code", f"backward={path}"]) == 1
    out = capsys.readouterr().out
    assert (
        out.startswith("backward: line 11: ValueError: matmul: ")
        and "(size 6 is different from 4)" in out
    )
    assert out.endswith(
        " (the shapes of a product do not fit: is a .T missing, or one too many?)\n"
    )


def test_a_missing_transpose_where_the_shapes_fit(tmp_path, capsys):
    (tmp_path / "square.toml").write_bytes(SQUARE)
    source = (
        "import numpy as np\n\n\ndef backward(x, w, v):\n    h = x @ w\n    z = h @ v\n    dz = 2 * z\n"
        "    dv = h.T @ dz\n    dh = dz @ v\n    dw = x.T @ dh\n    return dw, dv\n"
    )
    verdicts, lines = check(tmp_path, capsys, str(tmp_path / "square.toml"), source)
    assert verdicts == ["missing-transpose", "ok"]
    assert (
        "dw: a transpose is missing: the shapes fit only because they are equal here; check each .T"
        in lines
    )


def test_the_relu_mask_from_the_gradient(tmp_path, capsys):
    verdicts, lines = check(
        tmp_path,
        capsys,
        "two-layer-relu",
        CORRECT.replace("dz1 = dh1 * (z1 > 0)", "dz1 = dh1 * (dh1 > 0)"),
    )
    assert verdicts == ["relu-mask-from-gradient", "ok"]
    assert (
        "dw1: the ReLU mask is taken from the gradient: the slope of relu is (z1 > 0), the sign of its input, "
        "not of the gradient arriving at it"
    ) in lines


def test_relus_output_in_place_of_its_mask(tmp_path, capsys):
    verdicts, lines = check(
        tmp_path,
        capsys,
        "two-layer-relu",
        CORRECT.replace("dz1 = dh1 * (z1 > 0)", "dz1 = dh1 * h1"),
    )
    assert verdicts == ["relu-output-not-mask", "ok"]
    assert (
        "dw1: the gradient is multiplied by relu's output h1: multiply by its slope (z1 > 0) instead"
        in lines
    )


def test_batchnorms_missing_mean_path(tmp_path, capsys):
    verdicts, lines = check(
        tmp_path,
        capsys,
        "batchnorm-backward",
        batchnorm("dx = dxc + dmu / N * np.ones_like(x)", "dx = dxc"),
    )
    assert verdicts == ["missing-path", "ok", "ok"]
    assert (
        "dx: the path through mu is missing: mu = np.mean(x, axis=0) depends on x, so the gradient flows back "
        "through it too"
    ) in lines


def test_batchnorms_missing_variance_path(tmp_path, capsys):
    verdicts, lines = check(
        tmp_path,
        capsys,
        "batchnorm-backward",
        batchnorm("dxc = dxhat * inv + dvar / N * 2 * xc", "dxc = dxhat * inv"),
    )
    assert verdicts == ["missing-path", "ok", "ok"]
    assert (
        "dx: the path through var is missing: var = np.mean(xc ** 2, axis=0) depends on xc, so the gradient "
        "flows back through it too"
    ) in lines


def test_batchnorms_gamma_missing(tmp_path, capsys):
    verdicts, lines = check(
        tmp_path, capsys, "batchnorm-backward", batchnorm("dxhat = dout * gamma", "dxhat = dout")
    )
    assert verdicts == ["missing-factor", "ok", "ok"]
    assert (
        "dx: gamma is missing: the forward pass multiplies by gamma, so the gradient must too"
        in lines
    )


@pytest.mark.parametrize(
    "old, new, term",
    [
        (
            "dx = dxc + dmu / N * np.ones_like(x)",
            "dx = dxc - dmu / N * np.ones_like(x)",
            "term 2 of the sum over the paths from x",
        ),
        (
            "dxc = dxhat * inv + dvar / N * 2 * xc",
            "dxc = dxhat * inv - dvar / N * 2 * xc",
            "term 2 of the sum over the paths from xc",
        ),
    ],
)
def test_a_wrong_sign_in_one_term(old, new, term, tmp_path, capsys):
    verdicts, lines = check(tmp_path, capsys, "batchnorm-backward", batchnorm(old, new))
    var = term.rsplit(" ", 1)[1]
    assert verdicts == ["term-sign", "ok", "ok"]
    assert f"dx: one term of d{var} has the wrong sign ({term} to the loss)" in lines
