"""attention-backward (issue 29, item 4) headless: one causal attention head's backward through the
two products, the row softmax (its Jacobian, then the fused form), the scale 1/√D and the mask.
Every figure the lesson's text quotes is computed here independently (torch autograd, or a closed
form written here), never read back from the tutor's own output."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.support import events_of, headless_json, lesson_path, run_cli
from tutor.lesson import load

ATTN = "attention-backward"
SCALE = 8.0  # √D at the lesson's D = 64
SIX = 5e-6  # a figure printed to 6 significant digits is within this, relatively


def lesson():
    return load(lesson_path(ATTN))


def text() -> str:
    """The Explain pages, lines joined (a figure may wrap)."""
    return " ".join(" ".join(p.text for p in lesson().explain).split())


def quoted(*figures: str) -> list[float]:
    """Each figure must appear in the Explain text as written; → its value."""
    t = text()
    for f in figures:
        assert f in t, f"{f!r} is not in the lesson's text"
    return [float(f.replace("−", "-")) for f in figures]


def agrees(figures: list[str], values, rel: float = SIX) -> None:
    got = quoted(*figures)
    flat = values.detach().reshape(-1) if isinstance(values, torch.Tensor) else np.ravel(values)
    want = [float(v) for v in flat]
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert math.isclose(g, w, rel_tol=rel, abs_tol=1e-12), (figures, want)


def head(Q, K, V, causal: bool = True, mask_first: bool = False):
    """One head as the first page writes it; `mask_first`: the mask as −∞ on the scores before the
    softmax, as real code writes it."""
    T = Q.shape[0]
    S = Q @ K.T / SCALE
    keep = (
        torch.ones(T, T, dtype=torch.bool).tril() if causal else torch.ones(T, T, dtype=torch.bool)
    )
    if mask_first:
        P = torch.softmax(S.masked_fill(~keep, float("-inf")), dim=-1)
    else:
        e = torch.exp(S - S.amax(-1, keepdim=True)) * keep
        P = e / e.sum(-1, keepdim=True)
    return S, P, P @ V


def leaves(T: int = 10, D: int = 64, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(T, D, generator=gen, dtype=torch.float64) for _ in range(4)]


# --- the Derive part, headless ------------------------------------------------------------------


def test_the_matrix_form_goes_back_through_every_node_and_the_fused_forms_agree():
    events = headless_json(ATTN, "--no-train")
    matrix = {e["node"]: e["text"] for e in events_of(events, "derive", phase="matrix")}
    assert list(matrix) == ["O", "P", "s", "e", "m", "S", "Q", "K", "V"]
    assert "∂L/∂V = Pᵀ·∂L/∂O" in matrix["V"] and "∂L/∂P = ∂L/∂O·Vᵀ" in matrix["P"]
    assert "∂L/∂e = ∂L/∂P ⊙ 1/s  +  ∂L/∂s·1ᵀ" in matrix["e"]
    assert "tril(∂L/∂e)" in matrix["S"] and "1[S = rowmax(S)]" in matrix["S"]
    assert "∂L/∂Q = ∂L/∂S·1/8·K\n" in matrix["Q"]  # K.T's transpose is K, not Kᵀᵀ
    assert "∂L/∂S, fused = P ⊙ (G·Vᵀ − rowsum(G·Vᵀ ⊙ P))" in matrix["S"]
    assert "∂L/∂Q, fused = (P ⊙ (G·Vᵀ − rowsum(G·Vᵀ ⊙ P)))·K ⊘ 8" in matrix["Q"]
    for name in ("S", "Q", "K", "V"):
        errors = dict(
            re.findall(
                r"fused vs (the rules above|torch autograd) = relative error (\S+)", matrix[name]
            )
        )
        # the text's "within 1e-14" of the rule-by-rule result and "within 1e-11" of autograd
        assert (
            float(errors["the rules above"]) < 1e-14 and float(errors["torch autograd"]) < 1e-11
        ), (name, errors)
        assert "MISMATCH" not in matrix[name]
    t = text()
    assert "the rule-by-rule result (within 1e-14) and against torch autograd (within 1e-11)" in t
    checks = events_of(events, "gradcheck", form="matrix")
    assert {c["param"] for c in checks} == {"Q", "K", "V"} and all(
        c["ok"] and c["grade"] == "good" for c in checks
    )
    # the scalar view: a row of one score has softmax 1, so O = V, L = V·G and ∂L/∂Q = ∂L/∂K = 0
    scalar = {c["param"]: c["symbolic"] for c in events_of(events, "gradcheck", form="scalar")}
    point = lesson().graph.point
    assert scalar == {"Q": 0.0, "K": 0.0, "V": point["G"]}
    assert "P = 1, O = V, L = V·G, and ∂L/∂Q = ∂L/∂K = 0 exactly" in t
    assert lesson().graph.dims == {"T": 10, "D": 64} and math.sqrt(64) == SCALE
    assert "The Derive part takes T = 10 positions and D = 64, so √D = 8." in t


def test_the_fused_zeros_and_autograds_rounding_through_the_row_max():
    """Why autograd and the fused form differ by more than the rules do (the text says why): the
    graph's own form, the row max over every score and the mask after exp, on the check's size."""
    gen = torch.Generator().manual_seed(3)
    G, Q, K, V = (torch.rand(4, 4, generator=gen, dtype=torch.float64) * 2 - 1 for _ in range(4))
    Q.requires_grad_(True)
    S = Q @ K.T / SCALE
    S.retain_grad()
    m = S.amax(-1, keepdim=True)
    m.retain_grad()
    e = torch.exp(S - m).tril()
    P = e / e.sum(-1, keepdim=True)
    ((P @ V) * G).sum().backward()
    Pd = P.detach()
    dP = G @ V.T
    fused = Pd * (dP - (dP * Pd).sum(-1, keepdim=True))
    assert float(Pd[0, 0]) == 1.0  # the first position sees only itself
    zero = fused == 0
    assert torch.all(zero[0]) and torch.all(zero[~torch.ones(4, 4, dtype=torch.bool).tril()])
    assert float(m.grad.abs().max()) < 1e-15  # 0 only up to rounding
    assert float(S.grad[zero].abs().max()) < 1e-15  # "of the order of 1e-16"
    assert torch.allclose(S.grad[~zero], fused[~zero], rtol=1e-12, atol=0)
    assert float(Q.grad[0].abs().max()) < 1e-15 and float(Q.grad[1:].abs().min()) > 1e-6
    assert (
        "The fused form gives exactly 0 for every masked score and for the first position's row "
        "(it sees only itself, so its weight is exactly 1)" in text()
    )
    assert "leaves rounding of the order of 1e-16 in some of those entries" in text()


def test_the_backward_rules_and_the_fused_form_match_autograd_in_float64():
    G, Q, K, V = leaves(seed=1)
    for t in (Q, K, V):
        t.requires_grad_(True)
    S, P, out = head(Q, K, V)
    S.retain_grad()
    P.retain_grad()
    (out * G).sum().backward()
    Pd, Qd, Kd, Vd = P.detach(), Q.detach(), K.detach(), V.detach()
    dP = G @ Vd.T
    dS = Pd * (dP - (dP * Pd).sum(-1, keepdim=True))
    close = dict(rtol=1e-10, atol=1e-13)
    assert torch.allclose(dP, P.grad, **close)
    assert torch.allclose(Pd.T @ G, V.grad, **close)
    assert torch.allclose(dS, S.grad, **close)
    assert torch.allclose(dS @ Kd / SCALE, Q.grad, **close)
    assert torch.allclose(dS.T @ Qd / SCALE, K.grad, **close)
    # K enters transposed: the rule for A·B gives ∂L/∂(Kᵀ) = Qᵀ·dS/√D, D × T,
    # whose transpose is ∂L/∂K
    assert torch.allclose((Qd.T @ dS / SCALE).T, K.grad, **close)
    # each row of dS sums to 0; a masked score (P = 0) gets exactly 0
    assert float(dS.sum(-1).abs().max()) < 1e-14
    upper = ~torch.ones(10, 10, dtype=torch.bool).tril()
    assert torch.all(Pd[upper] == 0) and torch.all(dS[upper] == 0)
    # rule by rule the row max (taken over masked scores too) sends its gradient, 0 in exact
    # arithmetic, to the row's largest score, which may be masked: there only rounding is left
    assert float(S.grad[upper].abs().max()) <= 1e-14 * float(S.grad.abs().max())
    # the mask as −∞ on the scores before the softmax: the same P and the same gradients
    Q2, K2 = Qd.clone().requires_grad_(True), Kd.clone().requires_grad_(True)
    _, P2, out2 = head(Q2, K2, Vd, mask_first=True)
    (out2 * G).sum().backward()
    assert torch.allclose(P2, Pd, rtol=1e-13, atol=1e-15)
    assert torch.allclose(Q2.grad, Q.grad, **close) and torch.allclose(K2.grad, K.grad, **close)
    # any number per row subtracted before exp cancels between e and s
    # (the row max over masked scores too)
    Sd = S.detach()
    e = torch.exp(Sd - 3.7 * torch.arange(10.0, dtype=torch.float64)[:, None]).tril()
    assert torch.allclose(e / e.sum(-1, keepdim=True), Pd, rtol=1e-13, atol=1e-15)


def test_the_jacobian_page_and_the_fused_row():
    s = torch.tensor([1.2, 0.4, -0.3], dtype=torch.float64)
    dP = torch.tensor([0.6, -0.2, 0.5], dtype=torch.float64)
    J = torch.autograd.functional.jacobian(lambda x: torch.softmax(x, 0), s)
    p = torch.softmax(s, 0)
    assert torch.allclose(J, torch.diag(p) - torch.outer(p, p), rtol=1e-14, atol=1e-16)
    assert torch.allclose(J, J.T, rtol=0, atol=1e-16)  # "J is symmetric"
    agrees(["0.597922", "0.268664", "0.133414"], p)
    agrees(
        ["0.240411", "−0.16064", "−0.0797714", "0.196483", "−0.0358436", "0.115615"],
        [J[0, 0], J[0, 1], J[0, 2], J[1, 1], J[1, 2], J[2, 2]],
    )
    s_ = s.clone().requires_grad_(True)
    (torch.softmax(s_, 0) * dP).sum().backward()
    vjp = s_.grad
    agrees(["0.136489", "−0.153602", "0.0171134"], vjp)
    agrees(["0.371728"], (dP * p).sum())
    assert torch.allclose(p * (dP - (dP * p).sum()), vjp, rtol=1e-14, atol=1e-16)
    t = text()
    assert "dS = dPᵀ·J = (0.136489, −0.153602, 0.0171134)" in t
    assert "p ⊙ (dP − 0.371728) = (0.136489, −0.153602, 0.0171134)" in t
    # the Derive part's own Jacobian steps, at the same point
    [jac] = events_of(headless_json(ATTN, "--no-train"), "jacobian")
    assert np.allclose(jac["jacobian"], J.numpy(), rtol=1e-12, atol=1e-15)
    assert np.allclose(jac["vjp"], vjp.numpy(), rtol=1e-12, atol=1e-15)


def test_the_masked_row_of_position_one():
    """Position 1 sees positions 0 and 1: the same scores and dP, the third masked."""
    s = torch.tensor([1.2, 0.4, -0.3], dtype=torch.float64, requires_grad=True)
    dP = torch.tensor([0.6, -0.2, 0.5], dtype=torch.float64)
    p = torch.softmax(s.masked_fill(torch.tensor([False, False, True]), float("-inf")), 0)
    (p * dP).sum().backward()
    agrees(["0.689974", "0.310026"], p[:2])
    agrees(["0.171128", "−0.171128"], s.grad[:2])
    assert float(p.detach()[2]) == 0.0 and float(s.grad[2]) == 0.0
    assert abs(float(s.grad.sum())) < 1e-15
    assert "p = (0.689974, 0.310026, 0) and dS = (0.171128, −0.171128, 0)" in text()


# --- why 1/√D -------------------------------------------------------------------------------------


def saturation(
    rows: int = 20_000, T: int = 10, D: int = 64, seed: int = 1
) -> dict[str, dict[str, float]]:
    """The page's experiment redone with torch's generator (the lesson measured it with numpy's):
    one query against T keys, entries standard normal, with and without the scale."""
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(rows, 1, D, generator=gen, dtype=torch.float64)
    k = torch.randn(rows, T, D, generator=gen, dtype=torch.float64)
    raw = (q @ k.transpose(1, 2))[:, 0, :]
    out = {}
    for name, s in (("raw", raw), ("scaled", raw / math.sqrt(D))):
        p = torch.softmax(s, -1)
        J = torch.diag_embed(p) - p[:, :, None] * p[:, None, :]
        norm = J.flatten(1).norm(dim=1)
        top = p.max(-1).values
        out[name] = {
            "std": float(s.std()),
            "top": float(top.mean()),
            "saturated": float((top > 0.99).double().mean()),
            "entropy": float(-(p * torch.log(p.clamp_min(1e-300))).sum(-1).mean()),
            "norm": float(norm.mean()),
            "median": float(norm.median()),
            "worst": float(norm[top > 0.99].max()) if bool((top > 0.99).any()) else 0.0,
        }
    return out


def test_the_scale_keeps_the_softmax_out_of_saturation():
    m = saturation()
    raw, scaled = m["raw"], m["scaled"]
    # Monte-Carlo tolerances: each at least 5 standard errors of 20,000 rows
    # (and the figures' rounding)
    assert raw["std"] == pytest.approx(8.0, abs=0.1) and scaled["std"] == pytest.approx(
        1.0, abs=0.02
    )
    assert raw["top"] == pytest.approx(0.86, abs=0.015) and scaled["top"] == pytest.approx(
        0.32, abs=0.01
    )
    assert raw["saturated"] == pytest.approx(0.34, abs=0.025) and scaled["saturated"] == 0.0
    assert raw["entropy"] == pytest.approx(0.35, abs=0.03) and scaled["entropy"] == pytest.approx(
        1.92, abs=0.02
    )
    assert raw["norm"] == pytest.approx(0.16, abs=0.01) and scaled["norm"] == pytest.approx(
        0.35, abs=0.01
    )
    assert raw["median"] == pytest.approx(0.083, abs=0.01) and scaled["median"] == pytest.approx(
        0.35, abs=0.01
    )
    assert raw["worst"] <= 0.0201  # "such a row's ‖J‖ is at most about 0.02"
    assert (
        3.5 < scaled["median"] / raw["median"] < 5.0
    )  # "its typical row's ‖J‖ four times as large"
    t = text()
    for figure in (
        "without 1/√D with 1/√D score std 8.0 1.0 mean largest weight 0.86 0.32",
        "rows with a weight above 0.99 34% none mean entropy (nats) 0.35 1.92",
        "mean ‖J‖ 0.16 0.35 median ‖J‖ 0.083 0.35",
        "entropy ln 10 = 2.30 nats",
    ):
        assert figure in t, figure
    assert f"{math.log(10):.2f}" == "2.30"
    # the closed form behind it: q·k is a sum of D products of variance 1
    assert "at D = 64 the raw scores have a standard deviation of 8" in t


# --- exercises ---------------------------------------------------------------------------------


def test_the_exercises_numbers():
    ex = {e.id: e for e in lesson().exercises}
    p = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
    dP = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)
    J = torch.diag(p) - torch.outer(p, p)
    dS = J @ dP
    assert float(ex["fused-row"].answer) == pytest.approx(float(dS[0]), rel=1e-14)
    assert [float(a) for a, _ in ex["fused-row"].mistakes] == pytest.approx(
        [float(p[0] * dP[0]), float(dP[0])]
    )
    assert float(dS[1]) == pytest.approx(-0.15, rel=1e-14) and float(dS[2]) == pytest.approx(
        -0.1, rel=1e-14
    )
    assert "0.3·(0 − 0.5) = −0.15 and 0.2·(0 − 0.5) = −0.1" in ex["fused-row"].explain
    assert float(ex["raw-std"].answer) == math.sqrt(64)
    assert [float(a) for a, _ in ex["raw-std"].mistakes] == [64.0, 1.0]
    # masked-grad: row 0, column 3 of a causal head's dS, whatever the upstream
    G, Q, K, V = leaves(seed=2)
    Q.requires_grad_(True)
    S, P, out = head(Q, K, V)
    S.retain_grad()
    (out * G).sum().backward()
    assert float(S.grad[0, 3]) == float(ex["masked-grad"].answer) == 0.0


def test_the_code_exercise_accepts_the_fused_backward_and_refuses_a_missing_mask(tmp_path: Path):
    rc, template, err = run_cli(ATTN, "--code", "backward", "--template")
    assert rc == 0, err
    body = (
        "    dV = P.T @ G\n    dP = G @ V.T\n"
        "    dS = P * (dP - (dP * P).sum(axis=-1, keepdims=True))\n"
        "    dQ = dS @ K / 8\n    dK = dS.T @ Q / 8\n"
    )
    start = template.index("    dQ = ...")
    end = template.index("    return dQ, dK, dV")
    good = template[:start] + body + template[end:]
    (tmp_path / "good.py").write_text(good)
    rc, out, err = run_cli(ATTN, "--code", f"backward={tmp_path / 'good.py'}")
    assert rc == 0, out + err
    assert "backward: correct: every gradient matches the tutor's" in out
    unmasked = good.replace("np.tril(np.exp(S - m))", "np.exp(S - m)")
    assert unmasked != good
    (tmp_path / "unmasked.py").write_text(unmasked)
    rc, out, err = run_cli(ATTN, "--code", f"backward={tmp_path / 'unmasked.py'}")
    assert rc == 1 and "backward: not yet." in out, out + err


def test_headless_text_and_json_run_the_whole_lesson():
    rc, out, err = run_cli(ATTN, "--headless")
    assert rc == 0, err
    assert "One attention head, backwards  [attention-backward]" in out
    assert "∂L/∂Q (matrix form, random data)" in out and "Vector–Jacobian product" in out
    assert "Train" not in out.split("Gradient check")[-1]  # the lesson has nothing to train
    events = headless_json(ATTN)
    assert events[0]["event"] == "lesson" and events[0]["id"] == ATTN
    assert not events_of(events, "train")
