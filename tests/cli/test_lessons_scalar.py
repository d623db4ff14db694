"""The further topics fan-out, backprop-through-time and gradient-checking, headless: their figures
(computed beforehand with sympy in float64), the steps that show each path and time step and
their sum, the sweep of the step h (text and JSON), and `--check` on a lesson whose check fails
on purpose ([graph] expect_kink) and on one that does so without saying."""

from __future__ import annotations

import math

import pytest

from tests.support import CHECK_NOTES, MODERN_IDS, events_of, headless_json, lesson_path, run_cli
from tutor.derive import derive
from tutor.lesson import load

# figures computed with sympy in float64
FAN_OUT = {"f": 1.545644884, "x": 2.059569796, "y": 1.592232751}
BPTT = {"L": 0.3799452796, "w": 0.05186945576, "u": 0.3733550434}


def close(a: float, b: float, rel: float = 1e-9) -> bool:
    return math.isclose(a, b, rel_tol=rel)


def steps_by(events, phase: str) -> dict[str, dict]:
    return {e["node"]: e for e in events_of(events, "derive", phase=phase)}


@pytest.fixture(scope="module")
def fan_out():
    return headless_json("fan-out")


@pytest.fixture(scope="module")
def bptt():
    return headless_json("backprop-through-time")


@pytest.fixture(scope="module")
def checking():
    return headless_json("gradient-checking")


def test_fan_out_figures(fan_out):
    deriv = derive(load(lesson_path("fan-out")), use_cache=False)
    assert close(deriv.values["f"], FAN_OUT["f"])
    assert close(deriv.grads["x"], FAN_OUT["x"]) and close(deriv.grads["y"], FAN_OUT["y"])
    checks = {e["param"]: e for e in events_of(fan_out, "gradcheck")}
    for p in ("x", "y"):
        assert checks[p]["ok"] and checks[p]["grade"] == "good"
        for how in ("symbolic", "autograd", "numeric"):
            assert close(checks[p][how], FAN_OUT[p], 1e-8), (p, how, checks[p])
    forward = steps_by(fan_out, "forward")
    assert [n for n in forward] == ["sigy", "num", "sigx", "xpy", "xpysqr", "den", "invden", "f"]
    assert forward["f"]["text"].endswith("f at the point = 1.54564")


def test_fan_out_shows_each_use_and_their_sum(fan_out):
    back = steps_by(fan_out, "backward")
    x = back["x"]["text"]
    assert "∂f/∂x = ∂f/∂num · ∂num/∂x  +  ∂f/∂sigx · ∂sigx/∂x  +  ∂f/∂xpy · ∂xpy/∂x" in x
    for line in (
        "upstream × local = 0.512144 × 1.0 = 0.512144",
        "upstream × local = -0.791593 × 0.0451767 = -0.0357615",
        "upstream × local = 1.58319 × 1.0 = 1.58319",
        "∂f/∂x = 0.512144 − 0.0357615 + 1.58319 = 2.05957",
    ):
        assert line in x, line
    assert "x reaches the loss through 3 uses (num, sigx, xpy): their gradients add up" in " ".join(
        x.split()
    )
    assert "∂f/∂y = 0.00904586 + 1.58319 = 1.59223" in back["y"]["text"]
    # the gate patterns the Explain page names: add distributes (den), multiply swaps (f)
    assert "add distributes" in back["sigx"]["text"] and "multiply swaps" in back["num"]["text"]
    assert "∂f/∂invden at the point = 3.01799" in back["invden"]["text"]
    assert "∂f/∂den at the point = -0.791593" in back["den"]["text"]


def test_bptt_figures_and_one_term_per_time_step(bptt):
    deriv = derive(load(lesson_path("backprop-through-time")), use_cache=False)
    assert close(deriv.values["L"], BPTT["L"])
    assert close(deriv.grads["w"], BPTT["w"]) and close(deriv.grads["u"], BPTT["u"])
    checks = {e["param"]: e for e in events_of(bptt, "gradcheck")}
    assert all(checks[p]["ok"] and close(checks[p]["numeric"], BPTT[p], 1e-7) for p in ("w", "u"))
    back = steps_by(bptt, "backward")
    w = back["w"]["text"]
    assert "∂L/∂w = ∂L/∂h1 · ∂h1/∂w  +  ∂L/∂h2 · ∂h2/∂w  +  ∂L/∂h3 · ∂h3/∂w" in w
    for line in (
        "upstream × local = 0.049151 × 0.0 = 0.0",
        "upstream × local = 0.098757 × 0.660977 = 0.0652761",
        "upstream × local = 1.23279 × -0.010875 = -0.0134067",
        "∂L/∂w = 0.0 + 0.0652761 − 0.0134067 = 0.0518695",
    ):
        assert line in w, line
    assert "∂L/∂u = 0.0274781 − 0.049151 + 0.395028 = 0.373355" in back["u"]["text"]
    # going back in time multiplies: the factors the Explain page quotes
    assert "upstream × local = 1.23279 × 0.0801083 = 0.098757" in back["h2"]["text"]
    assert "upstream × local = 0.098757 × 0.497696 = 0.049151" in back["h1"]["text"]
    assert "0.664037" in steps_by(bptt, "forward")["h1"]["text"]
    assert "L at the point = 0.379945" in steps_by(bptt, "forward")["L"]["text"]


def test_the_sweep_draws_the_v(checking):
    sweeps = {e["param"]: e for e in events_of(checking, "sweep")}
    assert list(sweeps) == ["w", "v"]
    w = sweeps["w"]
    assert w["h"] == [10.0**-k for k in range(1, 13)]
    central, forward, f32 = (
        w["rel_error"][k] for k in ("central f64", "forward f64", "central f32")
    )
    # truncation: a hundredfold per tenfold h for central differences, tenfold for forward ones
    for i, want in enumerate((1.1e-2, 1.1e-4, 1.1e-6, 1.1e-8)):
        assert central[i] == pytest.approx(want, rel=0.05)  # round-off adds ~1e-16/h² of it
    assert forward[2] == pytest.approx(3.7e-04, rel=0.02)
    # round-off: the bottom near 1e-5 to 1e-6, then back up (above 1e-5 at h = 1e-12)
    bottom = min(range(12), key=central.__getitem__)
    assert w["h"][bottom] in (1e-5, 1e-6) and central[bottom] < 1e-9
    assert central[-1] > 1e-5 and central[-1] > 100 * central[bottom]
    # float32: its best is near h = 1e-3 and above 1e-6; about 1e-2 at h = 1e-6; from 1e-8 on exactly 1
    assert min(range(12), key=f32.__getitem__) == 2 and f32[2] > 1e-6
    assert 3e-3 < f32[5] < 5e-2
    assert f32[7:] == [1.0] * 5
    assert w["kink"] == [False] * 12
    v = sweeps["v"]
    assert v["kink"] == [True] * 6 + [False] * 6
    assert all(e > 0.3 for e in v["rel_error"]["central f64"][:6])
    assert v["rel_error"]["central f64"][6] < 1e-7


def test_the_sweep_steps_show_the_table_and_the_kink(checking):
    sweep = steps_by(checking, "sweep")
    assert [e["step"] for e in sweep.values()] == [15, 16] and len(
        events_of(checking, "derive")
    ) == 16
    w = sweep["w"]["text"].splitlines()
    assert w[1].split() == ["h", "central", "f64", "forward", "f64", "central", "f32"]
    assert w[2].split() == ["1e-01", "1.1e-02", "4.6e-02", "1.1e-02"]
    assert w[4].split()[:3] == ["1e-03", "1.1e-06", "3.7e-04"]
    assert [row.split()[-1] for row in w[9:14]] == ["1.0e+00"] * 5  # float32 from h = 1e-8 on
    v = sweep["v"]["text"].splitlines()
    assert (
        v[7].endswith("kink within ±h")
        and v[7].startswith("1e-06")
        and not v[8].endswith("kink within ±h")
    )
    text = sweep["v"]["text"]
    assert (
        "CS231n's bands: ≤ 1e-7 good; ≤ 1e-4 acceptable only near a kink; > 1e-2 wrong."
        in " ".join(text.split())
    )
    check_v = next(e for e in events_of(checking, "derive", phase="check") if e["node"] == "v")
    assert (
        "finite differences = 0.929338" in check_v["text"]
        and "derived = 1.54889" in check_v["text"]
    )
    assert "relative error = 4.00e-01" in check_v["text"]
    assert "Expected: the lesson puts v within the finite-difference step" in check_v["text"]
    [gc_v] = events_of(checking, "gradcheck", param="v")
    assert gc_v["ok"] and gc_v["kink"] and gc_v["grade"] == "wrong"


def test_check_says_the_failure_was_expected():
    path = lesson_path("gradient-checking")
    rc, out, err = run_cli("--check", path)
    assert (rc, out.splitlines()) == (0, [f"{path}: ok{CHECK_NOTES['gradient-checking']}"]), err


def _copy(tmp_path, name: str, old: str, new: str):
    text = lesson_path("gradient-checking").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / f"{name}.toml"
    path.write_text(
        text.replace('id = "gradient-checking"', f'id = "{name}"').replace(old, new),
        encoding="utf-8",
    )
    return path


def test_check_refuses_an_undeclared_kink(tmp_path):
    path = _copy(tmp_path, "no-declaration", 'expect_kink = ["v"]\n', "")
    rc, out, err = run_cli("--check", path)
    assert rc == 2
    line = path.read_text().splitlines().index("[graph.point]") + 1
    assert out.splitlines() == [
        f"{path}:{line}: graph.point: the point lies within the finite-difference step (h = 1e-06) of a kink for v, so "
        "finite differences cannot check its gradient: move the point, or list v in expect_kink if the lesson "
        "shows this on purpose"
    ]


def test_check_refuses_a_declared_kink_that_is_not_there(tmp_path):
    path = _copy(tmp_path, "no-kink", "v = 2e-7", "v = 0.5")
    rc, out, err = run_cli("--check", path)
    assert rc == 2
    line = next(
        i
        for i, text in enumerate(path.read_text().splitlines(), 1)
        if text.startswith("expect_kink")
    )
    assert out.splitlines() == [
        f"{path}:{line}: graph.expect_kink: v is listed in expect_kink, but no kink lies within the "
        "finite-difference step (h = 1e-06) at the point"
    ]


def test_expect_kink_and_sweep_name_parameters(tmp_path):
    path = _copy(tmp_path, "bad-name", 'sweep = ["w", "v"]', 'sweep = ["w", "q"]')
    rc, out, err = run_cli("--check", path)
    assert rc == 2
    [line] = out.splitlines()
    assert line.startswith(f"{path}:") and line.endswith(
        "graph.sweep[1]: 'q' is not a parameter of the graph (or is listed twice)"
    )


def test_missing_branch_answer_through_the_cli():
    rc, out, err = run_cli("fan-out", "--answer", "grad-x=invden - 2*num*xpy/den**2", timeout=120)
    assert rc == 1
    assert out.strip().endswith(
        "You have the paths through num and xpy; the path through sigx is missing: x is "
        "used by num, sigx and xpy, and its gradient is the sum over all three."
    )


def test_list_puts_the_further_topics_after_the_course():
    rc, out, err = run_cli("--list", timeout=60)
    ids = [line.split()[0] for line in out.splitlines()]
    assert ids.index("mlp-digits") + 1 == ids.index("fan-out")
    assert ids[ids.index("fan-out") : ids.index("xor-needs-a-hidden-layer") + 1] == [
        "fan-out",
        "backprop-through-time",
        "gradient-checking",
        "initialisation",
        "vanishing-gradients",
        "softmax-cross-entropy",
        "batchnorm-backward",
        "xor-needs-a-hidden-layer",
    ]
    assert ids[ids.index("xor-needs-a-hidden-layer") + 1 :] == list(
        MODERN_IDS
    )  # then the modern networks


def test_the_missing_branch_diagnosis_imports_neither_torch_nor_sympy():
    import subprocess
    import sys

    from tests.support import ROOT

    code = (
        "import sys; from tutor.lesson import load; from tutor.exercises import check_answer; "
        "v = check_answer(load('lessons/backprop-through-time.toml'), 'grad-w', '2*(h3 - y)*(1 - h3**2)*h2'); "
        "print('torch' in sys.modules, 'sympy' in sys.modules, v.feedback)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert out.stdout.split() == [
        "False",
        "False",
        "missing",
        "paths",
        "through",
        "h1",
        "and",
        "h2",
    ], out.stderr
