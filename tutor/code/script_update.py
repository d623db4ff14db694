"""An exported script's update: the settings, the optimizer's state and its hand-written rule, weight
decay, gradient clipping and the lr schedule, mirroring tutor/train/optimizers.py operation for
operation (and torch.optim's own classes in the optim backend's script)."""

from __future__ import annotations

from tutor.code.writer import Writer
from tutor.train.optimizers import ADAM_EPS, BETAS, CLIP_EPS, RMS_ALPHA, RMS_EPS, factor_lines
from tutor.train.spec import RunSpec


def scheduled(spec: RunSpec) -> bool:
    return spec.schedule != "constant" or bool(spec.warmup)


def settings_lines(w: Writer, spec: RunSpec) -> None:
    """The update's settings, after lr and epochs (only those the run uses)."""
    if spec.optimizer == "sgd" and spec.momentum:
        w(f"momentum = {spec.momentum!r}")
    if spec.optimizer == "adamw":
        w(f"weight_decay = {spec.weight_decay!r}      # AdamW's decoupled decay")
    if spec.l2:
        w(
            f"l2 = {spec.l2!r}      # the penalty l2 * sum(p ** 2) over every parameter, added to the loss"
        )
    if spec.l1:
        w(
            f"l1 = {spec.l1!r}      # the penalty l1 * sum(|p|) over every parameter, added to the loss"
        )
    if spec.clip is not None:
        w(f"clip = {spec.clip!r}      # the gradients' global norm is clipped to this")
    if scheduled(spec):
        w(
            "",
            "def lr_factor(k):      # the lr of the step that k steps precede is lr * lr_factor(k)",
        )
        w(*("    " + line for line in factor_lines(spec)))


def step_lr(w: Writer, spec: RunSpec) -> str:
    """The name of this step's lr (a line computing it when the run has a schedule)."""
    if not scheduled(spec):
        return "lr"
    w("lr_now = lr * lr_factor(step - 1)")
    return "lr_now"


def penalty_lines(w: Writer, spec: RunSpec, params: str) -> None:
    """Weight decay as a penalty in the loss, over the parameters listed in `params`."""
    terms = (["l2 * (p * p).sum()"] if spec.l2 else []) + (["l1 * abs(p).sum()"] if spec.l1 else [])
    if terms:
        w(f"loss = loss + sum({' + '.join(terms)} for p in {params})      # weight decay")


def penalty_grad_lines(w: Writer, spec: RunSpec, sign: str) -> None:
    """The penalty's gradient added to the hand-written `grads` of `params`."""
    terms = (["2 * l2 * p"] if spec.l2 else []) + ([f"l1 * {sign}(p)"] if spec.l1 else [])
    if terms:
        w(
            f"grads = [g + {' + '.join(terms)} for g, p in zip(grads, params)]      # weight decay's gradient",
            back=True,
        )


def clip_lines(w: Writer, spec: RunSpec, grads: str, inplace: bool) -> None:
    """Clipping by the global norm, by hand (torch.nn.utils.clip_grad_norm_'s formula)."""
    if spec.clip is None:
        return
    w(
        f"norm = math.sqrt(sum(float((g * g).sum()) for g in {grads}))",
        f"coef = min(1.0, clip / (norm + {CLIP_EPS!r}))",
    )
    if inplace:
        w(f"for g in {grads}:", "    g *= coef")
    else:
        w(f"grads = [g * coef for g in {grads}]")


def optimizer_state(w: Writer, spec: RunSpec, manual: bool) -> None:
    if spec.optimizer in ("adam", "adamw"):
        w(
            f"beta1, beta2, eps = {BETAS[0]!r}, {BETAS[1]!r}, {ADAM_EPS!r}",
            "adam_m, adam_v, t = {}, {}, 0",
        )
    elif spec.optimizer == "rmsprop":
        w(
            f"alpha, eps = {RMS_ALPHA!r}, {RMS_EPS!r}      # torch.optim.RMSprop's defaults",
            "rms_v = {}",
        )
    elif spec.optimizer == "sgd" and spec.momentum:
        w("velocity = {}")
    if not spec.zero_grad and manual:
        w("accumulated = {}               # zero_grad is off: gradients add up from step to step")


def update_lines(w: Writer, spec: RunSpec, grad: str, manual: bool, copy: str) -> None:
    """The hand-written update of every p in `params` (torch's formulas)."""
    lr = step_lr(w, spec)
    if spec.optimizer in ("adam", "adamw"):
        w("t += 1")
    w("for i, p in enumerate(params):")
    w.indent += 1
    w(f"g = {grad}")
    torch = copy != "{}.copy()"
    sqrt = "torch.sqrt" if torch else "np.sqrt"
    zeros = "torch.zeros_like" if torch else "np.zeros_like"
    if spec.optimizer == "gd" or (spec.optimizer == "sgd" and not spec.momentum):
        w(f"p -= {lr} * g")
    elif spec.optimizer == "sgd":
        w(
            f"velocity[i] = {copy.format('g')} if i not in velocity else momentum * velocity[i] + g",
            f"p -= {lr} * velocity[i]",
        )
    elif spec.optimizer == "rmsprop":
        w(
            f"v = rms_v.setdefault(i, {zeros}(p))",
            "v *= alpha",
            "v += (1 - alpha) * g * g",
            f"p -= {lr} * g / ({sqrt}(v) + eps)",
        )
    else:
        if spec.optimizer == "adamw":
            w(
                f"p *= 1 - {lr} * weight_decay      # decoupled: the weights shrink, the gradient is untouched"
            )
        w(
            f"m = adam_m.setdefault(i, {zeros}(p))",
            f"v = adam_v.setdefault(i, {zeros}(p))",
            "m *= beta1",
            "m += (1 - beta1) * g",
            "v *= beta2",
            "v += (1 - beta2) * g * g",
            "m_hat = m / (1 - beta1 ** t)",
            "v_hat = v / (1 - beta2 ** t)",
            f"p -= {lr} * m_hat / ({sqrt}(v_hat) + eps)",
        )
    w.indent -= 1


def torch_optimizer_text(spec: RunSpec) -> str:
    """tutor.train.optimizers.torch_optimizer as the optim backend's script writes it."""
    kind = spec.optimizer
    if kind == "adam":
        return "torch.optim.Adam(model.parameters(), lr=lr)"
    if kind == "adamw":
        return "torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)"
    if kind == "rmsprop":
        return "torch.optim.RMSprop(model.parameters(), lr=lr)"
    return f"torch.optim.SGD(model.parameters(), lr=lr, momentum={'momentum' if kind == 'sgd' and spec.momentum else '0'})"


def torch_scheduler_lines(w: Writer, spec: RunSpec) -> None:
    """tutor.train.optimizers.torch_scheduler as the optim backend's script writes it."""
    if not scheduled(spec):
        return
    sch = "torch.optim.lr_scheduler"
    main = {
        "constant": f"{sch}.LambdaLR(optimizer, lambda k: 1.0)",
        "step": f"{sch}.StepLR(optimizer, step_size={spec.step_size}, gamma={spec.gamma!r})",
        "linear": f"{sch}.LinearLR(optimizer, start_factor=1.0, end_factor={spec.lr_end!r}, "
        f"total_iters={spec.decay_steps})",
        "cosine": f"{sch}.CosineAnnealingLR(optimizer, T_max={spec.decay_steps}, eta_min=lr * {spec.lr_end!r})",
    }[spec.schedule]
    if not spec.warmup:
        w(f"scheduler = {main}")
        return
    w(
        f"warmup = {sch}.LinearLR(optimizer, start_factor=1 / {spec.warmup}, end_factor=1.0, "
        f"total_iters={spec.warmup - 1})",
        f"scheduler = {sch}.SequentialLR(optimizer, [warmup, {main}], milestones=[{spec.warmup}])",
    )
