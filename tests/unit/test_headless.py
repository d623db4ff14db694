"""The headless runner's contract (`--headless [--json]`): one strict JSON object a line, the
events in order (lesson, derive, gradcheck, jacobian, train, done, baseline, answer), and the
exit status: 0 ok, 1 a wrong answer, 2 bad arguments, 3 a run that diverged or failed."""

from __future__ import annotations

import pytest

from tests.support import lesson_path, parse_json_lines


def test_headless_only_list_matches_the_parser():
    from tutor import cli

    [group] = [g for g in cli.parser()._action_groups if g.title == "headless runs"]
    dests = [a.dest for a in group._group_actions if a.dest not in ("headless", "device", "answer")]
    assert tuple(dests) == cli.HEADLESS_ONLY


def test_device_messages(monkeypatch):
    import io

    import torch

    from tutor import headless
    from tutor.lesson import load
    from tutor.train.backends import DeviceError, resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.version, "cuda", None)
    monkeypatch.setattr(torch, "__version__", "2.13.0+cpu")
    cuda = (
        "Device cuda was asked for, but CUDA is not available (this torch build has no CUDA support, "
        "torch 2.13.0+cpu). Choose cpu, or auto for whatever exists (--device cpu or auto on the command line)."
    )
    with pytest.raises(DeviceError) as exc:
        resolve_device("cuda")
    assert str(exc.value) == cuda and len(cuda) <= 200
    monkeypatch.setattr(torch.version, "cuda", "12.8")
    with pytest.raises(DeviceError, match=r"\(no CUDA GPU is visible, torch 2\.13\.0\+cpu\)"):
        resolve_device("cuda")
    monkeypatch.setattr(torch.version, "cuda", None)

    out, err = io.StringIO(), io.StringIO()
    opts = headless.Options(backends=["autograd"], device="cuda", json=True, derive=False)
    assert headless.run(load(lesson_path("single-neuron")), opts, out, err) == 2
    assert err.getvalue() == f"backprop-tutor: {cuda}\n"
    assert parse_json_lines(out.getvalue())[-1] == {"event": "error", "message": cuda}

    if getattr(torch.backends, "mps", None) is not None:
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(DeviceError) as exc:
        resolve_device("mps")
    assert str(exc.value) == (
        "Device mps was asked for, but Apple's MPS is not available here. Choose cpu, or auto "
        "for whatever exists (--device cpu or auto on the command line)."
    )
