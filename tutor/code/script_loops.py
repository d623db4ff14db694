"""An exported script's training loop for each backend, mirroring tutor/train/manual.py and backends.py
operation for operation."""

from __future__ import annotations


from tutor.train.manual import BN_EPS
from tutor.train.spec import RunSpec
from tutor.code.writer import Writer



def on_device(spec: RunSpec) -> bool:
    """A torch script asked to run on a GPU (`--export-code BACKEND --device cuda`)."""
    return spec.backend != "numpy" and spec.device != "cpu"


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
    w("print_every = 1     # reading a loss waits for the GPU: raise this and it runs ahead between prints")


def loop_head(w: Writer, batch: int, torch_idx: bool, spec: RunSpec | None = None) -> None:
    """The epoch (and batch) loops, leaving w.indent inside; each step sees xb, yb and `step`. On a
    device each epoch's permutation goes up once and every batch is a slice of it there."""
    if spec is not None and on_device(spec) and batch:
        w("", "step = 0",
          "order_rng = np.random.RandomState(seed)    # the batch order: a fresh permutation each epoch",
          "for epoch in range(1, epochs + 1):")
        w.indent += 1
        w("order = torch.as_tensor(order_rng.permutation(len(X)), device=device)    # one copy an epoch",
          "for start in range(0, len(X), batch_size):")
        w.indent += 1
        w("idx = order[start:start + batch_size]",
          "xb, yb = X[idx], Y[idx]",
          "step += 1")
        return
    w("", "step = 0")
    if batch:
        w("order_rng = np.random.RandomState(seed)    # the batch order: a fresh permutation each epoch")
    w("for epoch in range(1, epochs + 1):")
    w.indent += 1
    if batch:
        w("order = order_rng.permutation(len(X))",
          "for start in range(0, len(X), batch_size):")
        w.indent += 1
        w("idx = order[start:start + batch_size]" if not torch_idx else
          "idx = torch.from_numpy(order[start:start + batch_size])",
          "xb, yb = X[idx], Y[idx]")
    else:
        w("xb, yb = X, Y                  # the whole training set: one step per epoch")
    w("step += 1")


def print_step(w: Writer, loss: str, spec: RunSpec | None = None) -> None:
    line = f'print(f"step {{step:6d}}  epoch {{epoch:4d}}  loss {{{loss}:.10g}}")'
    if spec is not None and on_device(spec):       # the only place the loss is read from the device
        w("if step % print_every == 0:", "    " + line)
    else:
        w(line)


def seed_line(w: Writer, spec: RunSpec, batch: int) -> None:
    if batch:
        w(f"seed = {spec.seed}")


def manual_loop(w, spec, names, xp, batch, backend):
    torch = backend != "numpy"
    conv = (lambda a: f"torch.as_tensor({a}, {targs(spec)})") if torch else \
        (lambda a: f"{a}.astype(np.{spec.dtype})")
    params = []
    for wname, bname in names:
        w(f"{wname} = {conv(wname + '_init')}")
        params.append(wname)
        if bname:
            w(f"{bname} = {conv(bname + '_init')}")
            params.append(bname)
    for gname, bname in norm_names(spec):
        w(f"{gname} = {conv(gname + '_init')}", f"{bname} = {conv(bname + '_init')}")
        params += [gname, bname]
    optimizer_state(w, spec, manual=True)
    seed_line(w, spec, batch)
    loop_head(w, batch, torch, spec)
    # forward, keeping what backward needs
    w("# forward")
    saved = []              # per layer: (kind, input name, output name, extra)
    for k, kind, h, out, pnames in forward_walk(spec, names):
        if kind == "linear":
            wname, bname = pnames
            w(f"{out} = {h} @ {wname}" + (f" + {bname}" if bname else ""))
            saved.append(("linear", h, out, (wname, bname, k == 0)))
        elif kind == "batchnorm":
            gname, bname = pnames
            n = out[1:]
            w(f"mu{n} = {h}.mean(0)", f"xc{n} = {h} - mu{n}", f"var{n} = (xc{n} * xc{n}).mean(0)   # biased: ÷N",
              f"inv{n} = 1 / (var{n} + {BN_EPS!r}) ** 0.5", f"xhat{n} = xc{n} * inv{n}",
              f"{out} = {gname} * xhat{n} + {bname}")
            saved.append(("batchnorm", h, out, (gname, bname, f"inv{n}", f"xhat{n}")))
        elif kind == "relu":
            w(f"mask{out[1:]} = {h} > 0", f"{out} = {h} * mask{out[1:]}")
            saved.append(("relu", h, out, f"mask{out[1:]}"))
        elif kind == "sigmoid":
            w(f"{out} = 1 / (1 + {xp['exp']}(-{h}))")
            saved.append(("sigmoid", h, out, None))
        elif kind == "tanh":
            w(f"{out} = {xp['tanh']}({h})")
            saved.append(("tanh", h, out, None))
        elif kind == "softmax":
            w(f"e{out[1:]} = {xp['exp']}({h} - {xp['rowmax'].format(h)})",
              f"{out} = e{out[1:]} / {xp['rowsum'].format(f'e{out[1:]}')}")
            saved.append(("softmax", h, out, None))
        else:
            n = out[1:]
            w(f"shifted{n} = {h} - {xp['rowmax'].format(h)}",
              f"{out} = shifted{n} - {xp['log']}({xp['rowsum'].format(xp['exp'] + f'(shifted{n})')})",
              f"s{n} = {xp['exp']}({out})")
            saved.append(("log_softmax", h, out, f"s{n}"))
    w("# loss, and its gradient with respect to the prediction")
    pred = out
    if spec.loss in ("sse", "mse"):
        w(f"d = {pred} - yb")
        if spec.loss == "sse":
            w("loss = (d * d).sum()")
            w("g = 2 * d", back=True)
        else:
            w("loss = (d * d).mean()")
            w(f"g = 2 * d / {xp['size'].format('d')}", back=True)
    elif spec.loss == "bce":
        w(f"p = 1 / (1 + {xp['exp']}(-{pred}))",
          f"loss = ({pred} * ({pred} > 0) - {pred} * yb + {xp['log']}(1 + {xp['exp']}(-abs({pred})))).mean()")
        w(f"g = (p - yb) / ({pred}.shape[0] * {pred}.shape[1])", back=True)
    else:
        w(f"rows = {xp['arange']}({pred}.shape[0]" + (", device=device)" if on_device(spec) else ")"))
        if spec.loss in ("ce", "ce-sum"):
            mean = spec.loss == "ce"
            w(f"e = {xp['exp']}({pred} - {xp['rowmax'].format(pred)})", f"s = e / {xp['rowsum'].format('e')}",
              "loss = -" + xp["log"] + f"(s[rows, yb]).{'mean' if mean else 'sum'}()")
            w(f"g = {xp['copy'].format('s')}", "g[rows, yb] -= 1", *([f"g = g / {pred}.shape[0]"] if mean else []),
              back=True)
        else:
            w(f"loss = -{pred}[rows, yb].mean()")
            w(f"g = {xp['zeros_like']}({pred})", f"g[rows, yb] = -1.0 / {pred}.shape[0]", back=True)
    w("# backward: each layer's rule, from the loss down")
    grads = {}
    for kind, hin, hout, extra in reversed(saved):
        if kind == "linear":
            wname, bname, first = extra
            w(f"d{wname} = {hin}.T @ g", back=True)
            grads[wname] = f"d{wname}"
            if bname:
                w(f"d{bname} = g.sum(0)", back=True)
                grads[bname] = f"d{bname}"
            if first:
                break
            w(f"g = g @ {wname}.T", back=True)
        elif kind == "batchnorm":
            gname, bname, inv, xhat = extra
            w(f"d{gname} = (g * {xhat}).sum(0)", f"d{bname} = g.sum(0)", f"dxhat = g * {gname}", "n = g.shape[0]",
              f"g = {inv} / n * (n * dxhat - dxhat.sum(0) - {xhat} * (dxhat * {xhat}).sum(0))", back=True)
            grads[gname], grads[bname] = f"d{gname}", f"d{bname}"
        elif kind == "relu":
            w(f"g = g * {extra}", back=True)
        elif kind == "sigmoid":
            w(f"g = g * {hout} * (1 - {hout})", back=True)
        elif kind == "tanh":
            w(f"g = g * (1 - {hout} * {hout})", back=True)
        elif kind == "softmax":
            w(f"g = {hout} * (g - {xp['rowsum'].format(f'g * {hout}')})", back=True)
        else:
            w(f"g = g - {extra} * {xp['rowsum'].format('g')}", back=True)
    w("# update, by hand")
    w(f"params = [{', '.join(params)}]", f"grads = [{', '.join(grads[p] for p in params)}]")
    update_lines(w, spec, "grads[i]", manual=True, copy=xp["copy"])
    print_step(w, "loss.item()" if torch else "float(loss)", spec)


def norm_names(spec) -> list[tuple[str, str]]:
    """(gamma, beta) of each batchnorm layer, in order (tutor.train.spec.layer_plan's names)."""
    norms = [layer for layer in spec.layers if layer.type == "batchnorm"]
    return [layer.param_names(i) for i, layer in enumerate(norms, 1)]


def forward_walk(spec, names):
    """The forward pass's names, once for every backend's script: per layer its index, type, input
    and output names, and its parameters' names ((weight, bias) of a linear layer, (gamma, beta) of
    a batchnorm layer, None for an activation)."""
    linear, norms = iter(names), iter(norm_names(spec))
    h = "xb"
    for k, out in layer_names(spec):
        kind = spec.layers[k].type
        yield k, kind, h, out, next(linear) if kind == "linear" else next(norms) if kind == "batchnorm" else None
        h = out


def layer_names(spec):
    """(layer index, output name) per layer, as the lessons name them: z1 after the first linear
    layer, h1 after the activation that follows it, z2 after the second, …"""
    j, used = 0, set()
    for k, layer in enumerate(spec.layers):
        if layer.type == "linear":
            j += 1
        name = f"{'z' if layer.type == 'linear' else 'h'}{j}"
        while name in used:
            name += "_"
        used.add(name)
        yield k, name


def optimizer_state(w, spec, manual: bool) -> None:
    if spec.optimizer == "adam":
        w("beta1, beta2, eps = 0.9, 0.999, 1e-8", "adam_m, adam_v, t = {}, {}, 0")
    elif spec.optimizer == "sgd" and spec.momentum:
        w("velocity = {}")
    if not spec.zero_grad and manual:
        w("accumulated = {}               # zero_grad is off: gradients add up from step to step")


def update_lines(w, spec, grad: str, manual: bool, copy: str) -> None:
    """The hand-written update of every p in `params` (torch's formulas)."""
    if spec.optimizer == "adam":
        w("t += 1")
    w("for i, p in enumerate(params):")
    w.indent += 1
    w(f"g = {grad}")
    if manual and not spec.zero_grad:
        w("g = accumulated[i] = accumulated[i] + g if i in accumulated else g")
    if spec.optimizer == "gd" or (spec.optimizer == "sgd" and not spec.momentum):
        w("p -= lr * g")
    elif spec.optimizer == "sgd":
        w(f"velocity[i] = {copy.format('g')} if i not in velocity else momentum * velocity[i] + g",
          "p -= lr * velocity[i]")
    else:
        zeros = "np.zeros_like" if copy == "{}.copy()" else "torch.zeros_like"
        w(f"m = adam_m.setdefault(i, {zeros}(p))", f"v = adam_v.setdefault(i, {zeros}(p))",
          "m *= beta1", "m += (1 - beta1) * g", "v *= beta2", "v += (1 - beta2) * g * g",
          "m_hat = m / (1 - beta1 ** t)", "v_hat = v / (1 - beta2 ** t)",
          "p -= lr * m_hat / (torch.sqrt(v_hat) + eps)" if zeros.startswith("torch") else
          "p -= lr * m_hat / (np.sqrt(v_hat) + eps)")
    w.indent -= 1


TORCH_LOSS = {
    "sse": "((pred - yb) ** 2).sum()",
    "mse": "((pred - yb) ** 2).mean()",
    "bce": "F.binary_cross_entropy_with_logits(pred, yb)",
    "ce": "F.cross_entropy(pred, yb)",
    "nll": "F.nll_loss(pred, yb)",
    "ce-sum": 'F.cross_entropy(pred, yb, reduction="sum")',
}


def autograd_loop(w, spec, names, batch):
    params = []
    for wname, bname in names:
        for n in (wname, bname):
            if n:
                w(f"{n} = torch.as_tensor({n}_init, {targs(spec)}).requires_grad_(True)")
                params.append(n)
    for pair in norm_names(spec):
        for n in pair:
            w(f"{n} = torch.as_tensor({n}_init, {targs(spec)}).requires_grad_(True)")
            params.append(n)
    w(f"params = [{', '.join(params)}]")
    optimizer_state(w, spec, manual=False)
    seed_line(w, spec, batch)
    loop_head(w, batch, True, spec)
    w("# forward: every operation on a tensor with requires_grad is recorded")
    for k, kind, h, out, names_here in forward_walk(spec, names):
        if kind == "linear":
            wname, bname = names_here
            w(f"{out} = {h} @ {wname}" + (f" + {bname}" if bname else ""))
        elif kind == "batchnorm":
            gname, bname = names_here
            w(f"xc{out[1:]} = {h} - {h}.mean(0)",
              f"{out} = {gname} * (xc{out[1:]} / torch.sqrt((xc{out[1:]} * xc{out[1:]}).mean(0) + {BN_EPS!r})) + {bname}")
        else:
            w(f"{out} = " + {"relu": f"{h}.clamp(min=0)", "sigmoid": f"torch.sigmoid({h})", "tanh": f"torch.tanh({h})",
                             "softmax": f"torch.softmax({h}, dim=1)",
                             "log_softmax": f"torch.log_softmax({h}, dim=1)"}[kind])
    w(f"pred = {out}", f"loss = {TORCH_LOSS[spec.loss]}")
    w("# backward: autograd fills p.grad for every weight p" + ("" if spec.zero_grad else
      " (zero_grad is off: .grad keeps adding up)"))
    w("loss.backward()", back=True)
    w("with torch.no_grad():          # the update is not part of the model")
    w.indent += 1
    update_lines(w, spec, "p.grad", manual=False, copy="{}.clone()")
    if spec.zero_grad:
        w("for p in params:")
        w("    p.grad.zero_()             # or the next backward() adds to these")
    w.indent -= 1
    print_step(w, "loss.item()", spec)


NN_LOSS = {
    "sse": 'nn.MSELoss(reduction="sum")', "mse": "nn.MSELoss()", "bce": "nn.BCEWithLogitsLoss()",
    "ce": "nn.CrossEntropyLoss()", "nll": "nn.NLLLoss()", "ce-sum": 'nn.CrossEntropyLoss(reduction="sum")',
}
NN_LAYER = {"relu": "nn.ReLU()", "sigmoid": "nn.Sigmoid()", "tanh": "nn.Tanh()", "softmax": "nn.Softmax(dim=1)",
            "log_softmax": "nn.LogSoftmax(dim=1)"}


def nn_loop(w, spec, plan, names, batch):
    modules = [f"nn.Linear({p.n_in}, {p.n_out}, bias={bool(p.bias)})" if p.type == "linear" else
               f"nn.BatchNorm1d({p.n_out}, eps={BN_EPS!r}, track_running_stats=False)" if p.type == "batchnorm" else
               NN_LAYER[p.type] for p in plan]
    w("model = nn.Sequential(")
    for m in modules:
        w(f"    {m},")
    w(f").to({targs(spec)})")
    positions = [i for i, layer in enumerate(spec.layers) if layer.type == "linear"]
    w("with torch.no_grad():          # start from the same weights as the other backends (nn.Linear keeps W as out x in)")
    for pos, (wname, bname) in zip(positions, names):
        w(f"    model[{pos}].weight.copy_(torch.as_tensor({wname}_init, {targs(spec)}).T)")
        if bname:
            w(f"    model[{pos}].bias.copy_(torch.as_tensor({bname}_init, {targs(spec)}))")
    norm_at = [i for i, layer in enumerate(spec.layers) if layer.type == "batchnorm"]
    for pos, (gname, bname) in zip(norm_at, norm_names(spec)):
        w(f"    model[{pos}].weight.copy_(torch.as_tensor({gname}_init, {targs(spec)}))   # gamma",
          f"    model[{pos}].bias.copy_(torch.as_tensor({bname}_init, {targs(spec)}))     # beta")
    w(f"criterion = {NN_LOSS[spec.loss]}")
    if spec.backend == "optim":
        if spec.optimizer == "adam":
            w("optimizer = torch.optim.Adam(model.parameters(), lr=lr)")
        else:
            w(f"optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum="
              f"{'momentum' if spec.optimizer == 'sgd' and spec.momentum else '0'})")
    else:
        w("params = list(model.parameters())")
        optimizer_state(w, spec, manual=False)
    seed_line(w, spec, batch)
    loop_head(w, batch, True, spec)
    w("loss = criterion(model(xb), yb)")
    if spec.backend == "optim":
        if spec.zero_grad:
            w("optimizer.zero_grad()")
        w("loss.backward()", back=True)
        w("optimizer.step()")
    else:
        if not spec.zero_grad:
            w("# zero_grad is off: .grad keeps adding up from step to step")
        w("loss.backward()", back=True)
        w("with torch.no_grad():")
        w.indent += 1
        update_lines(w, spec, "p.grad", manual=False, copy="{}.clone()")
        w.indent -= 1
        if spec.zero_grad:
            w("model.zero_grad()")
    print_step(w, "loss.item()", spec)
