"""An exported script's training loop for each backend, mirroring tutor/train/manual.py and backends.py
operation for operation."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from tutor.code.script_update import (
    clip_lines,
    optimizer_state,
    penalty_grad_lines,
    penalty_lines,
    scheduled,
    torch_optimizer_text,
    torch_scheduler_lines,
    update_lines,
)
from tutor.code.writer import TORCH, Writer
from tutor.train.layers import LAYERS, nn_class_lines, nn_text
from tutor.train.layers_modern import SKIP_SEQUENTIAL_TEXT, drop_seed, mask_text
from tutor.train.losses import LOSS_KINDS, nn_criterion_text
from tutor.train.registry import BACKEND_KINDS
from tutor.train.spec import Planned, RunSpec, param_owners


def on_device(spec: RunSpec) -> bool:
    """A torch script asked to run on a GPU (`--export-code BACKEND --device cuda`)."""
    return BACKEND_KINDS[spec.backend].torch and spec.device != "cpu"


def targs(spec: RunSpec) -> str:
    """A tensor's dtype, and its device when the script runs on one: created there, never copied per step."""
    return f"dtype=torch.{spec.dtype}" + (", device=device" if on_device(spec) else "")


def device_lines(w: Writer, spec: RunSpec) -> None:
    """The `device` setting of a script that runs on a GPU (nothing on the CPU)."""
    if not on_device(spec):
        return
    if spec.device == "auto":
        w('device = "cuda" if torch.cuda.is_available() else "cpu"')
    else:
        w(f"device = {spec.device!r}")
    w(
        "print_every = 1     # reading a loss waits for the GPU: raise this and it runs ahead between prints"
    )


def loop_head(w: Writer, batch: int, torch_idx: bool, spec: RunSpec | None = None) -> None:
    """The epoch (and batch) loops, leaving w.indent inside; each step sees xb, yb and `step`. On a
    device each epoch's permutation goes up once and every batch is a slice of it there."""
    if spec is not None and on_device(spec) and batch:
        w(
            "",
            "step = 0",
            "order_rng = np.random.RandomState(seed)    # the batch order: a fresh permutation each epoch",
            "for epoch in range(1, epochs + 1):",
        )
        w.indent += 1
        w(
            "order = torch.as_tensor(order_rng.permutation(len(X)), device=device)    # one copy an epoch",
            "for start in range(0, len(X), batch_size):",
        )
        w.indent += 1
        w("idx = order[start:start + batch_size]", "xb, yb = X[idx], Y[idx]", "step += 1")
        return
    w("", "step = 0")
    if batch:
        w(
            "order_rng = np.random.RandomState(seed)    # the batch order: a fresh permutation each epoch"
        )
    w("for epoch in range(1, epochs + 1):")
    w.indent += 1
    if batch:
        w("order = order_rng.permutation(len(X))", "for start in range(0, len(X), batch_size):")
        w.indent += 1
        w(
            "idx = order[start:start + batch_size]"
            if not torch_idx
            else "idx = torch.from_numpy(order[start:start + batch_size])",
            "xb, yb = X[idx], Y[idx]",
        )
    else:
        w("xb, yb = X, Y                  # the whole training set: one step per epoch")
    w("step += 1")


def print_step(w: Writer, loss: str, spec: RunSpec | None = None) -> None:
    line = f'print(f"step {{step:6d}}  epoch {{epoch:4d}}  loss {{{loss}:.10g}}")'
    if spec is not None and on_device(spec):  # the only place the loss is read from the device
        w("if step % print_every == 0:", "    " + line)
    else:
        w(line)


def seed_line(w: Writer, spec: RunSpec, batch: int) -> None:
    if batch:
        w(f"seed = {spec.seed}")


Walk = list[tuple[Planned, str, str]]


def _rate(p: Planned) -> float:
    assert p.layer.rate is not None  # a dropout layer has its rate (checked on loading)
    return p.layer.rate


def _source(p: Planned) -> int:
    assert p.layer.source is not None  # a residual layer names its source (checked on loading)
    return p.layer.source  # per planned layer: it, its input's name, its output's name


def device_xp(spec: RunSpec, xp: dict[str, str]) -> dict[str, str]:
    """The spellings of the script's arrays: on a GPU script, index vectors are made there."""
    return (
        dict(xp, arange="torch.arange({}, device=device)")
        if xp is TORCH and on_device(spec)
        else xp
    )


def manual_loop(
    w: Writer, spec: RunSpec, plan: tuple[Planned, ...], xp: dict[str, str], batch: int
) -> None:
    torch = xp is TORCH
    xp = device_xp(spec, xp)
    conv: Callable[[str], str] = (
        (lambda a: f"torch.as_tensor({a}, {targs(spec)})")
        if torch
        else (lambda a: f"{a}.astype(np.{spec.dtype})")
    )
    params = [n for p in param_owners(plan) for n in p.names if n]
    w(*(f"{n} = {conv(n + '_init')}" for n in params))
    walk = list(forward_walk(spec, plan))
    start_lines(w, walk, autograd=False)
    drop_source(w, spec, plan)
    optimizer_state(w, spec, manual=True)
    seed_line(w, spec, batch)
    loop_head(w, batch, torch, spec)
    w("# forward, keeping what backward needs")
    for p, h, out in walk:  # each layer's lines from tutor/train/layers.py's table
        if LAYERS[p.type].random:
            w(
                f"mask{out[1:]} = {mask_text(f'{h}.shape', _rate(p), conv)}      # dropout: this step's mask"
            )
        w(*LAYERS[p.type].forward_lines(xp, h, out, layer_names_of(p, walk)))
    w("# loss, and its gradient with respect to the prediction")
    loss_lines, grad_lines = LOSS_KINDS[spec.loss].lines(xp, out)  # tutor/train/losses.py's table
    w(*loss_lines)
    penalty_lines(w, spec, f"[{', '.join(params)}]")
    w(*grad_lines, back=True)
    w("# backward: each layer's rule, from the loss down")
    sent: set[int] = set()  # earlier outputs that residual connections send a gradient to
    for i in reversed(range(len(walk))):
        p, h, out = walk[i]
        if i in sent:
            w(f"g = g + g_skip{i}      # and the residual connection's", back=True)
        if LAYERS[p.type].skip:
            source = _source(p)
            w(
                f"g_skip{source} = g_skip{source} + g" if source in sent else f"g_skip{source} = g",
                back=True,
            )
            sent.add(source)
        w(*LAYERS[p.type].backward_lines(xp, h, out, p.names, i == 0), back=True)
    grads = {n: f"d{n}" for n in params}
    w("# update, by hand")
    w(f"params = [{', '.join(params)}]", f"grads = [{', '.join(grads[p] for p in params)}]")
    penalty_grad_lines(w, spec, "torch.sign" if torch else "np.sign")
    if not spec.zero_grad:
        w("grads = [accumulated[i] + g if i in accumulated else g for i, g in enumerate(grads)]")
    clip_lines(w, spec, "grads", inplace=False)
    if not spec.zero_grad:
        w("accumulated = dict(enumerate(grads))")
    update_lines(w, spec, "grads[i]", manual=True, copy=xp["copy"])
    print_step(w, "loss.item()" if torch else "float(loss)", spec)


def start_lines(w: Writer, walk: Walk, autograd: bool) -> None:
    """Before the loop: each running layer's statistics at their start."""
    for p, _h, out in walk:
        start = LAYERS[p.type].start_lines
        if start is not None:
            w(*start(out, p.names, autograd))


def layer_names_of(p: Planned, walk: Walk) -> tuple[str | None, ...]:
    """A layer's names for its script lines: its parameters', or a residual's earlier output."""
    return (walk[_source(p)][2],) if LAYERS[p.type].skip else p.names


def drop_source(w: Writer, spec: RunSpec, plan: tuple[Planned, ...]) -> None:
    """The dropout masks' generator (tutor/train/layers_modern.py's DropMasks), where the model has dropout."""
    if any(LAYERS[p.type].random for p in plan):
        w(
            f"drop_rng = np.random.RandomState({drop_seed(spec.seed)})      # dropout's masks, apart from the batches"
        )


def torch_conv(spec: RunSpec) -> Callable[[str], str]:
    return lambda a: f"torch.as_tensor({a}, {targs(spec)})"


def forward_walk(spec: RunSpec, plan: tuple[Planned, ...]) -> Iterator[tuple[Planned, str, str]]:
    """The forward pass's names, once for every backend's script: per planned layer, its input's
    and its output's names."""
    h = "xb"
    for p, (_k, out) in zip(plan, layer_names(spec), strict=False):
        yield p, h, out
        h = out


def layer_names(spec: RunSpec) -> Iterator[tuple[int, str]]:
    """(layer index, output name) per layer, as the lessons name them: z1 after the first linear
    layer, h1 after the activation that follows it, z2 after the second, …"""
    j, used = 0, set[str]()
    for k, layer in enumerate(spec.layers):
        if layer.type == "linear":
            j += 1
        name = f"{LAYERS[layer.type].prefix}{j}"
        while name in used:
            name += "_"
        used.add(name)
        yield k, name


def autograd_loop(w: Writer, spec: RunSpec, plan: tuple[Planned, ...], batch: int) -> None:
    params = [n for p in param_owners(plan) for n in p.names if n]
    w(*(f"{n} = torch.as_tensor({n}_init, {targs(spec)}).requires_grad_(True)" for n in params))
    w(f"params = [{', '.join(params)}]")
    walk = list(forward_walk(spec, plan))
    start_lines(w, walk, autograd=True)
    drop_source(w, spec, plan)
    optimizer_state(w, spec, manual=False)
    seed_line(w, spec, batch)
    loop_head(w, batch, True, spec)
    w("# forward: every operation on a tensor with requires_grad is recorded")
    conv = torch_conv(spec)
    for p, h, out in walk:
        if LAYERS[p.type].random:
            w(
                f"mask{out[1:]} = {mask_text(f'{h}.shape', _rate(p), conv)}      # dropout: this step's mask"
            )
        w(*LAYERS[p.type].torch_lines(h, out, layer_names_of(p, walk)))
    w(f"pred = {out}", f"loss = {LOSS_KINDS[spec.loss].torch_text}")
    penalty_lines(w, spec, "params")
    w(
        "# backward: autograd fills p.grad for every weight p"
        + ("" if spec.zero_grad else " (zero_grad is off: .grad keeps adding up)")
    )
    w("loss.backward()", back=True)
    w("with torch.no_grad():          # the update is not part of the model")
    w.indent += 1
    clip_lines(w, spec, "[p.grad for p in params]", inplace=True)
    update_lines(w, spec, "p.grad", manual=False, copy="{}.clone()")
    if spec.zero_grad:
        w("for p in params:")
        w("    p.grad.zero_()             # or the next backward() adds to these")
    w.indent -= 1
    print_step(w, "loss.item()", spec)


def nn_loop(w: Writer, spec: RunSpec, plan: tuple[Planned, ...], batch: int) -> None:
    drops = [(pos, p) for pos, p in enumerate(plan) if LAYERS[p.type].random]
    w(*nn_class_lines(plan))
    skips = {i: _source(p) for i, p in enumerate(plan) if LAYERS[p.type].skip}
    if skips:
        w(*SKIP_SEQUENTIAL_TEXT, "")
        w(f"model = SkipSequential({skips!r},      # layer i adds the output of layer skips[i]")
    else:
        w("model = nn.Sequential(")
    for p in plan:
        w(f"    {nn_text(p)},")
    w(f").to({targs(spec)})")
    w(
        "with torch.no_grad():          # start from the same weights as the other backends (nn.Linear keeps W as out x in)"
    )
    for pos, p in enumerate(plan):
        for name, (attr, transposed) in zip(p.names, LAYERS[p.type].nn_params, strict=False):
            if name:
                w(
                    f"    model[{pos}].{attr}.copy_(torch.as_tensor({name}_init, {targs(spec)})"
                    + (".T)" if transposed else ")")
                )
    w(f"criterion = {nn_criterion_text(spec.loss)}")
    if BACKEND_KINDS[spec.backend].torch_optim:
        w(f"optimizer = {torch_optimizer_text(spec)}")
        torch_scheduler_lines(w, spec)
    else:
        w("params = list(model.parameters())")
        optimizer_state(w, spec, manual=False)
    drop_source(w, spec, plan)
    seed_line(w, spec, batch)
    loop_head(w, batch, True, spec)
    for pos, p in drops:  # dropout: this step's masks, drawn as every backend draws them
        w(
            f"model[{pos}].mask = {mask_text(f'(xb.shape[0], {p.n_in})', _rate(p), torch_conv(spec))}"
        )
    w("pred = model(xb)", f"loss = {LOSS_KINDS[spec.loss].nn_text}")
    penalty_lines(w, spec, "model.parameters()")
    clip = (
        ["torch.nn.utils.clip_grad_norm_(model.parameters(), clip)"]
        if spec.clip is not None
        else []
    )
    if BACKEND_KINDS[spec.backend].torch_optim:
        if spec.zero_grad:
            w("optimizer.zero_grad()")
        w("loss.backward()", back=True)
        w(*clip, "optimizer.step()")
        if scheduled(spec):
            w("scheduler.step()")
    else:
        if not spec.zero_grad:
            w("# zero_grad is off: .grad keeps adding up from step to step")
        w("loss.backward()", back=True)
        w(*clip)
        w("with torch.no_grad():")
        w.indent += 1
        update_lines(w, spec, "p.grad", manual=False, copy="{}.clone()")
        w.indent -= 1
        if spec.zero_grad:
            w("model.zero_grad()")
    print_step(w, "loss.item()", spec)
