"""An exported script's evaluation mode, for a model with a layer that keeps running statistics
(batchnorm): the statistics' start before the loop, and after it the model measured as the
tutor measures it (tutor/train/session.py's final figures): on the training set, and on the
validation set where the data has one, with the running statistics in place of the batch's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tutor.code.script_loops import device_xp, layer_names_of
from tutor.code.writer import Writer
from tutor.train.layers import LAYERS
from tutor.train.losses import LOSS_KINDS
from tutor.train.spec import RunSpec


def running(plan: Sequence[Any]) -> bool:
    """Whether the model evaluates differently from how it trains (running statistics)."""
    return any(LAYERS[p.type].running for p in plan)


def evaluation_lines(
    w: Writer,
    spec: RunSpec,
    walk: list[tuple[Any, str, str]],
    script: str,
    convert: tuple[str, str],
) -> None:
    """After the loop (at the top level): the loss in evaluation mode on the training set and the
    validation set. `script` is the backend's kind of script (manual, autograd, nn); `convert` the
    spellings that turn x_val and y_val into the training arrays' type."""
    w.indent = 0
    w(
        "",
        "# --- evaluation mode: batchnorm uses its running statistics, not the batch's ---",
        'evaluations = [("training", X, Y)]',
        "if x_val is not None:",
        f'    evaluations.append(("validation", {convert[0]}, {convert[1]}))',
    )
    torch_used = script != "manual" or convert[0].startswith("torch")
    if script == "nn":
        w("model.eval()                  # dropout off, batchnorm's running statistics")
    if torch_used:
        w("with torch.no_grad():")
        w.indent += 1
    w("for part, xb, yb in evaluations:")
    w.indent += 1
    if script == "nn":
        w("pred = model(xb)", f"loss = {LOSS_KINDS[spec.loss].nn_text}")
    else:
        from tutor.code.writer import NP, TORCH

        xp = device_xp(spec, TORCH if torch_used else NP)
        out = "xb"
        for p, h, out in walk:
            kind = LAYERS[p.type]
            if kind.eval_lines is not None:
                w(*kind.eval_lines(h, out, p.names, script == "autograd"))
            elif kind.random:
                w(f"{out} = {h}      # dropout is off in evaluation")
            elif script == "autograd":
                w(*kind.torch_lines(h, out, layer_names_of(p, walk)))
            else:
                w(*kind.forward_lines(xp, h, out, layer_names_of(p, walk)))
        if script == "autograd":
            w(f"pred = {out}", f"loss = {LOSS_KINDS[spec.loss].torch_text}")
        else:
            w(*LOSS_KINDS[spec.loss].lines(xp, out)[0])
    value = "loss.item()" if torch_used else "float(loss)"
    w(f'print(f"evaluation mode (running statistics): {{part}} loss {{{value}:.10g}}")')
    w.indent = 0
