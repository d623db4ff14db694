"""The rebuilt derivation core (issue 13): any graph a teacher writes derives within a bound,
agrees with torch autograd, shows fan-out and chain numbers, and each operation of the one
table is proved against sympy and torch."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support import ROOT
from tests.unit.test_derive_core import _graph_lesson, random_lesson

BOUND = 120  # seconds: a hang bound for one --check on a loaded 2-core machine (it takes ~2 s)


@pytest.mark.parametrize("seed", range(4))
def test_no_generated_lesson_keeps_check_or_headless_past_the_bound(tmp_path, seed):
    path = tmp_path / "nasty.toml"
    path.write_text(random_lesson(64, 100 + seed))
    for args in (["--check", str(path)], [str(path), "--headless", "--json"]):
        proc = subprocess.run(
            [sys.executable, "-m", "tutor", *args],
            capture_output=True,
            text=True,
            timeout=BOUND,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
        )
        assert proc.returncode in (0, 2), proc.stderr
        assert "Traceback" not in proc.stderr


def test_the_disk_cache_is_used_and_a_corrupt_entry_ignored(tmp_path):
    env = {"BACKPROP_TUTOR_CACHE": str(tmp_path)}
    code = (
        "import json, sys; from tutor.lesson import load; from tutor.derive import derive; "
        "d = derive(load('lessons/two-layer-relu.toml')); "
        "print(json.dumps([len(d.steps), 'torch' in sys.modules, 'sympy' in sys.modules]))"
    )
    import os

    def run():
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, **env},
            timeout=BOUND,
        )
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    first = run()
    assert first[1] is True  # derived: the check imported torch
    second = run()
    assert second == [first[0], False, False]  # from disk: neither torch nor sympy loaded
    [entry] = list(tmp_path.glob("*.json"))
    entry.write_text("{not json")
    third = run()
    assert third[0] == first[0] and third[1] is True  # ignored, derived again
    assert json.loads(entry.read_text())["steps"]  # and rewritten


def test_checking_an_answer_imports_neither_torch_nor_sympy():
    code = (
        "import sys; from tutor.lesson import load; from tutor.exercises import check_answer; "
        "l = load('lessons/two-layer-relu.toml'); ex = [e for e in l.exercises if e.kind == 'derivative'][0]; "
        "v = check_answer(l, ex.id, 'w1*x'); "
        "print('torch' in sys.modules, 'sympy' in sys.modules, v.correct)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=BOUND
    )
    assert out.stdout.split() == ["False", "False", "False"], out.stderr


def test_a_node_undefined_at_the_point_is_a_clean_check_error(tmp_path):
    path = tmp_path / "undefined.toml"
    path.write_text(
        'id = "undefined"\ntitle = "u"\n[[explain]]\ntitle = "x"\ntext = "x"\n[graph]\n'
        'inputs = ["x"]\nparams = ["w"]\n[[graph.nodes]]\nname = "L"\nexpr = "w/x"\n'
        "[graph.point]\nx = 0.0\nw = 1.0\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "tutor", "--check", str(path)],
        capture_output=True,
        text=True,
        timeout=BOUND,
        cwd=ROOT,
    )
    assert proc.returncode == 2
    line = path.read_text().splitlines().index("[graph.point]") + 1  # 12: where the key is
    assert proc.stdout.strip() == (
        f"{path}:{line}: graph.point: node 'L' is undefined at the point (inf): choose a point "
        "where every node has a finite value"
    )


@pytest.mark.parametrize(
    "nodes, extra, message",
    [
        # the loss must be a scalar in the matrix form
        (
            '[[graph.nodes]]\nname = "L"\nexpr = "x @ w"',
            '[graph.shapes]\nx = ["N", "D"]\nw = ["D"]\n[graph.dims]\nN = 3\nD = 2',
            "g.toml:11: graph.nodes[0].expr: the loss 'L' must be a scalar, but it is N: reduce it with sum(...) or mean(...)",
        ),
        # a matrix product needs two arrays
        (
            '[[graph.nodes]]\nname = "L"\nexpr = "sum(x @ w)"',
            '[graph.shapes]\nx = ["N", "D"]\n[graph.dims]\nN = 3\nD = 2',
            "g.toml:11: graph.nodes[0].expr: @ needs two arrays, found a scalar (N×D @ scalar): use * to multiply by a "
            "scalar in (x @ w)",
        ),
    ],
)
def test_matrix_form_mistakes_are_clean_check_errors(tmp_path, nodes, extra, message):
    path = tmp_path / "g.toml"
    path.write_text(_graph_lesson(nodes, "x = 1.0\nw = 2.0", extra))
    proc = subprocess.run(
        [sys.executable, "-m", "tutor", "--check", str(path)],
        capture_output=True,
        text=True,
        timeout=BOUND,
        cwd=ROOT,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stdout.strip() == str(tmp_path / message)


def test_a_jacobian_undefined_at_its_point_is_said_not_raised(tmp_path):
    path = tmp_path / "g.toml"
    path.write_text(
        'id = "g"\ntitle = "g"\n[[explain]]\ntitle = "x"\ntext = "x"\n[jacobian]\ninputs = ["a"]\n'
        'outputs = ["f = 1/a"]\nupstream = [1.0]\n[jacobian.point]\na = 0.0\n'
    )
    run = subprocess.run(
        [sys.executable, "-m", "tutor", str(path), "--headless", "--json"],
        capture_output=True,
        text=True,
        timeout=BOUND,
        cwd=ROOT,
    )
    assert run.returncode == 0 and "Traceback" not in run.stderr
    [jac] = [
        json.loads(line)
        for line in run.stdout.splitlines()
        if '"jacobian"' in line and '"event"' in line and json.loads(line)["event"] == "jacobian"
    ]
    assert jac["jacobian"] == [[None]]  # -1/a² at 0: not finite, written as null
    check = subprocess.run(
        [sys.executable, "-m", "tutor", "--check", str(path)],
        capture_output=True,
        text=True,
        timeout=BOUND,
        cwd=ROOT,
    )
    assert check.returncode == 2
    line = path.read_text().splitlines().index("[jacobian.point]") + 1
    assert check.stdout.strip() == (
        f"{path}:{line}: jacobian.point: the Jacobian is undefined at the point (a division "
        "by zero or a log of a negative)"
    )
