"""Issue 16, part 1: the exported script of every backend of every lesson, run with `python`,
prints the headless run's losses, step for step, to 1e-6 relative."""

from __future__ import annotations

from tutor.code.export import export
from tutor.code.writer import BACKWARD_MARK
from tutor.lesson import catalogue, load


def test_the_backward_lines_are_marked(tmp_path):
    lesson = load(next(i.path for i in catalogue() if i.id == "two-layer-relu"))
    manual = export(lesson, "numpy")
    lines = manual.text.splitlines()
    marked = [lines[i].strip() for i in sorted(manual.backward)]
    assert marked == [
        f"g = 2 * d{BACKWARD_MARK}",
        f"dw2 = h1.T @ g{BACKWARD_MARK}",
        f"g = g @ w2.T{BACKWARD_MARK}",
        f"g = g * mask1{BACKWARD_MARK}",
        f"dw1 = xb.T @ g{BACKWARD_MARK}",
    ]
    auto = export(lesson, "autograd")
    assert [auto.text.splitlines()[i].split("#")[0].strip() for i in auto.backward] == [
        "loss.backward()"
    ]
    optim = export(lesson, "optim").text
    assert (
        "optimizer = torch.optim.Adam(model.parameters(), lr=lr)" in optim
        and "optimizer.step()" in optim
    )
