"""The [train] and [[variants]] sections and their datasets: shapes and budgets checked before any run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from tutor.errors import LessonError
from tutor.expr import NAME_RE
from tutor.lesson.datasets import (
    Frozen,
    all_numbers,
    data_number,
    dataset_shape,
    freeze,
    has_classes,
    read_dataset,
    rows_shape,
)
from tutor.lesson.limits import (
    ADAMW_DECAY,
    MAX_CELLS,
    MAX_CLIP,
    MAX_DECAY,
    MAX_EPOCHS,
    MAX_LAYERS,
    MAX_PARAMS,
    MAX_SAMPLES,
    MAX_STD,
    MAX_STEPS,
    MAX_WIDTH,
    MAX_WORKERS,
)
from tutor.lesson.reader import Table
from tutor.lesson.records import Dataset, Layer, Train, Variant
from tutor.lesson.vocabulary import (
    BACKENDS,
    BASELINES,
    BINARY_LOSSES,
    CLASS_LOSSES,
    CLASSES,
    CLASSIFIERS,
    DTYPES,
    ID_RE,
    INITS,
    LAYER_INITS,
    LAYER_TYPES,
    LOSSES,
    MNIST_TRAIN,
    NAMES_CHARS,
    NORM_LAYERS,
    OPTIMIZERS,
    PARAM_LAYERS,
    SCHEDULES,
)


def _layer(t: Table) -> Layer:
    kind = t.choice("type", LAYER_TYPES)
    if kind in NORM_LAYERS:  # a scale gamma and a shift beta per feature, named or numbered
        names = [t.take(label, str, None) for label in ("name", "bias_name")]
        for label, value in zip(("name", "bias_name"), names, strict=False):
            if value is not None and not NAME_RE.match(value):
                raise LessonError(
                    f"'{value}' is not a name (a letter, then letters, digits, _)", key=t.key(label)
                )
        t.done()
        return Layer(kind, bias=True, name=names[0], bias_name=names[1])
    if kind == "embedding":  # a lookup table: whole-number inputs 0..vocab − 1 pick its rows
        vocab = t.integer("vocab", lo=1, hi=MAX_SAMPLES)
        out = t.integer("out", lo=1, hi=MAX_WIDTH)
        name = t.take("name", str, None)
        if name is not None and not NAME_RE.match(name):
            raise LessonError(
                f"'{name}' is not a name (a letter, then letters, digits, _)", key=t.key("name")
            )
        t.done()
        return Layer(kind, out, False, name, vocab=vocab)
    if kind == "residual":  # adds an earlier layer's output (checked in _check_run)
        source = t.integer("from", lo=0, hi=MAX_LAYERS)
        t.done()
        return Layer(kind, bias=False, source=source)
    if kind == "dropout":  # in training each unit is dropped with probability p
        rate = t.number("p", lo=0.0, hi=0.99)
        t.done()
        return Layer(kind, bias=False, rate=rate)
    if kind != "linear":
        t.done()
        return Layer(kind, bias=False)
    out = t.take("out", (int, str))
    if isinstance(out, str) and out not in ("hidden", "outputs"):
        raise LessonError("expected a size, 'hidden' or 'outputs'", key=t.key("out"))
    if isinstance(out, int) and not 1 <= out <= MAX_WIDTH:
        raise LessonError(f"a layer of {out} units is outside 1..{MAX_WIDTH}", key=t.key("out"))
    bias = t.take("bias", bool, True)
    name = t.take("name", str, None)
    bias_name = t.take("bias_name", str, None)
    for label, value in (("name", name), ("bias_name", bias_name)):
        if value is not None and not NAME_RE.match(value):
            raise LessonError(
                f"'{value}' is not a name (a letter, then letters, digits, _)", key=t.key(label)
            )
    weight = t.take("weight", list, None)
    bias_init = t.take("bias_init", list, None)
    for label, value in (("weight", weight), ("bias_init", bias_init)):
        if value is not None:
            rows_shape(value, t.key(label), flat_ok=True)
    init, std = _layer_init(t, weight is not None)
    t.done()
    return Layer(
        "linear",
        out,
        bias,
        name,
        bias_name,
        _frozen(weight) if weight is not None else None,
        _frozen(bias_init) if bias_init is not None else None,
        init,
        std,
    )


def _layer_init(t: Table, explicit: bool) -> tuple[str | None, float | None]:
    """A linear layer's own `init` (and the `std` of a "normal" one); None: the run's init."""
    init = t.choice("init", LAYER_INITS, None)
    if init is not None and explicit:
        raise LessonError(
            "the layer gives its 'weight', so there is nothing to draw: drop 'init' or 'weight'",
            key=t.key("init"),
        )
    std = t.number("std", None, lo=0.0, hi=MAX_STD)
    if init == "normal" and std is None:
        raise LessonError(
            "init = \"normal\" needs the standard deviation of its draw: add 'std' (e.g. std = 0.01)",
            key=t.key("init"),
        )
    if std is not None and init != "normal":
        raise LessonError(
            "'std' belongs to init = \"normal\"; other draws set their own scale", key=t.key("std")
        )
    return init, std


_TRAIN_OVERRIDES = {"lr", "optimizer", "momentum", "epochs", "bias", "batch_size", "zero_grad"}


def _hyper(t: Table) -> dict[str, Any]:
    """The hyper-parameters of [train]; overrides and variants change some of them."""
    return {
        "lr": t.number("lr", lo=0.0, hi=1e6),
        "optimizer": t.choice("optimizer", OPTIMIZERS, "gd"),
        "momentum": t.number("momentum", 0.0, lo=0.0, hi=0.999),
        "epochs": t.integer("epochs", lo=1, hi=MAX_EPOCHS),
        "batch_size": t.integer("batch_size", 0, lo=0, hi=MAX_SAMPLES),
        "zero_grad": t.take("zero_grad", bool, True),
    }


def read_train(t: Table) -> Train:
    backends = _backend_list(t)
    hyper = _hyper(t)
    loss = t.choice("loss", LOSSES)
    seed = t.integer("seed", 0, lo=0, hi=2**32 - 1)
    dtype = t.choice("dtype", DTYPES, "float32")
    init = t.choice("init", INITS, "randn")
    hidden = t.integer("hidden", None, lo=1, hi=MAX_WIDTH)
    log_every = t.integer("log_every", 1, lo=1, hi=MAX_STEPS)
    baseline = t.choice("baseline", BASELINES, None)
    note = t.text("note", "", limit=2000)
    workers = t.integer("workers", None, lo=1, hi=MAX_WORKERS)
    probe = t.take("probe", list, [])
    if len(probe) > 10 or not all_numbers(probe, 1):
        raise LessonError("up to ten inputs (numbers, or rows of numbers)", key=t.key("probe"))
    for i, x in enumerate(probe):
        for j, v in enumerate(x if isinstance(x, list) else [x]):
            data_number(v, f"{t.key('probe')}[{i}]" + (f"[{j}]" if isinstance(x, list) else ""))
    update = _update(t, hyper["optimizer"])
    dataset = read_dataset(t.sub("dataset", required=True))
    layers = tuple(_layer(lt) for lt in t.array("layers", required=True, limit=MAX_LAYERS))
    _unique_params(layers, t.key("layers"))
    if not any(lyr.type == "linear" for lyr in layers):
        raise LessonError("a model needs at least one linear layer", key=t.key("layers"))
    if any(lyr.out == "hidden" for lyr in layers) and hidden is None:
        raise LessonError(
            "a layer uses 'hidden' but [train] has no 'hidden' size", key=t.key("hidden")
        )
    overrides = {}
    ov = t.sub("overrides")
    if ov:
        for backend in list(ov.data):
            if backend not in BACKENDS:
                raise LessonError(
                    f"unknown backend {backend!r} (known: {', '.join(BACKENDS)})",
                    key=ov.key(backend),
                )
            bt = ov.sub(backend, True)  # present: it is one of ov's keys
            overrides[backend] = _partial(bt, _TRAIN_OVERRIDES)
            bt.done()
        ov.done()
    t.done()
    train = Train(
        tuple(backends),
        dataset,
        layers,
        loss,
        hyper["optimizer"],
        hyper["lr"],
        hyper["momentum"],
        hyper["epochs"],
        hyper["batch_size"],
        seed,
        dtype,
        init,
        hidden,
        log_every,
        hyper["zero_grad"],
        baseline,
        overrides,
        note,
        _frozen(probe),
        **update,
        workers=workers,
    )
    _check_steps(train, t)
    _check_workers(train, t)
    _check_run(train, dataset, t.path)
    return train


def _check_workers(train: Train, t: Table) -> None:
    """Split across workers, the averaged gradient equals the whole batch's only where every sample's
    loss is its own: batch statistics (batchnorm), per-step masks (dropout) and penalties are not."""
    if train.workers is None:
        return
    mixed = [lyr.type for lyr in train.layers if lyr.type in ("batchnorm", "dropout")]
    if mixed or train.l1 or train.l2:
        why = f"a {mixed[0]} layer" if mixed else "a penalty (l1, l2)"
        raise LessonError(
            f"data-parallel workers need a loss that is a sum or mean over the samples alone, "
            f"and {why} makes it something else",
            key=t.key("workers"),
        )


def _clip(t: Table, default: Any = ...) -> float | None:
    clip: float | None = t.number("clip", default, lo=0.0, hi=MAX_CLIP)
    if clip == 0:
        raise LessonError("must be above 0: a norm of 0 would stop every update", key=t.key("clip"))
    return clip


# each schedule's own keys; a key of another schedule is an error at its line
SCHEDULE_KEYS = {
    "constant": (),
    "step": ("step_size", "gamma"),
    "linear": ("decay_steps", "lr_end"),
    "cosine": ("decay_steps", "lr_end"),
}


def _update(t: Table, optimizer: str) -> dict[str, Any]:
    """The update's settings of [train]: weight decay, the lr schedule and its warm-up, clipping."""
    out: dict[str, Any] = {
        "l2": t.number("l2", 0.0, lo=0.0, hi=MAX_DECAY),
        "l1": t.number("l1", 0.0, lo=0.0, hi=MAX_DECAY),
        "schedule": t.choice("schedule", SCHEDULES, "constant"),
        "warmup": t.integer("warmup", 0, lo=0, hi=MAX_STEPS),
    }
    if "weight_decay" in t.data and optimizer != "adamw":
        raise LessonError(
            "'weight_decay' is AdamW's decoupled decay: use optimizer = \"adamw\", or l2 for a "
            "penalty in the loss",
            key=t.key("weight_decay"),
        )
    out["weight_decay"] = t.number(
        "weight_decay", ADAMW_DECAY if optimizer == "adamw" else 0.0, lo=0.0, hi=MAX_DECAY
    )
    if out["warmup"] == 1:
        raise LessonError(
            "a warm-up of 1 step starts at the full lr: use 0 (none) or at least 2",
            key=t.key("warmup"),
        )
    out["clip"] = _clip(t, None)
    own = SCHEDULE_KEYS[out["schedule"]]
    for name in ("step_size", "gamma", "decay_steps", "lr_end"):
        if name in t.data and name not in own:
            users = [s for s, keys in SCHEDULE_KEYS.items() if name in keys]
            raise LessonError(
                f"'{name}' belongs to schedule = {' or '.join(map(repr, users))}; this run's "
                f"schedule is {out['schedule']!r}",
                key=t.key(name),
            )
    needed = ... if out["schedule"] == "step" else 1  # a schedule's step count is required
    out["step_size"] = t.integer("step_size", needed, lo=1, hi=MAX_STEPS)
    out["gamma"] = t.number("gamma", 0.1, lo=0.0, hi=1.0)
    out["decay_steps"] = t.integer(
        "decay_steps", ... if "decay_steps" in own else 1, lo=1, hi=MAX_STEPS
    )
    out["lr_end"] = t.number("lr_end", 0.0, lo=0.0, hi=1.0)
    return out


def _partial(t: Table, allowed: set[str]) -> dict[str, Any]:
    """Only the keys given, each checked like its counterpart in [train]."""
    out: dict[str, Any] = {}
    readers: dict[str, Callable[[], Any]] = {
        "lr": lambda: t.number("lr", lo=0.0, hi=1e6),
        "optimizer": lambda: t.choice("optimizer", OPTIMIZERS),
        "momentum": lambda: t.number("momentum", lo=0.0, hi=0.999),
        "epochs": lambda: t.integer("epochs", lo=1, hi=MAX_EPOCHS),
        "batch_size": lambda: t.integer("batch_size", lo=0, hi=MAX_SAMPLES),
        "zero_grad": lambda: t.take("zero_grad", bool),
        "bias": lambda: t.take("bias", bool),
        "backends": lambda: _backend_list(t),
        "loss": lambda: t.choice("loss", LOSSES),
        "l2": lambda: t.number("l2", lo=0.0, hi=MAX_DECAY),
        "l1": lambda: t.number("l1", lo=0.0, hi=MAX_DECAY),
        "clip": lambda: _clip(t),
    }
    for name in list(t.data):
        if name in allowed:
            out[name] = readers[name]()
    return out


def _backend_list(t: Table) -> tuple[str, ...]:
    backends = t.take("backends", list)
    for i, b in enumerate(backends):
        if b not in BACKENDS:
            raise LessonError(
                f"unknown backend {b!r} (known: {', '.join(BACKENDS)})",
                key=f"{t.key('backends')}[{i}]",
            )
    if not backends:
        raise LessonError("at least one backend", key=t.key("backends"))
    return tuple(backends)


def _check_steps(train: Train, t: Table) -> None:
    if (
        train.epochs * max(1, MNIST_TRAIN // max(train.batch_size, 1) if train.batch_size else 1)
        > MAX_STEPS
    ):
        raise LessonError(
            f"{train.epochs} epochs at this batch size exceed {MAX_STEPS:,} steps",
            key=t.key("epochs"),
        )


def _unique_params(layers: tuple[Layer, ...], key: str) -> None:
    """Every weight and bias name (given, or W1, b1, ...) differs from the others: a backend keeps
    parameters by name. Bias names count even where `bias = false`, as an override may add one."""
    seen: dict[str, int] = {}
    counts: dict[str, int] = {}  # linear and batchnorm layers are numbered apart: W1, gamma1
    for i, lyr in enumerate(layers):
        if lyr.type not in PARAM_LAYERS:
            continue
        counts[lyr.type] = n = counts.get(lyr.type, 0) + 1
        for label, name in zip(("name", "bias_name"), lyr.param_names(n), strict=False):
            if name in seen:
                raise LessonError(
                    f"'{name}' is already the name of a parameter of layer {seen[name]}: "
                    "every weight and bias needs its own name",
                    key=f"{key}[{i}].{label}",
                )
            seen[name] = i


def _check_run(
    train: Train, dataset: Dataset, train_key: str, variant_key: str | None = None
) -> None:
    """What a run on this dataset needs, from the data's real widths: explicit weights and biases of
    the right size, probes as wide as the inputs, and at most MAX_PARAMS weights and MAX_CELLS values
    per pass (samples × the widths of the input and of every layer's output). A variant's dataset
    is checked against [train]'s layers; its problems are reported at the variant's dataset."""
    samples, width, outputs = dataset_shape(dataset)
    variant = variant_key is not None
    data_key = variant_key or f"{train_key}.dataset"
    layers_key, probe_key = f"{train_key}.layers", f"{train_key}.probe"
    on = "on this dataset, " if variant else ""
    if train.baseline in CLASSIFIERS and not has_classes(dataset):
        raise LessonError(
            f"{on}the baseline '{train.baseline}' is a classifier, and '{dataset.kind}' has no classes "
            f"(classes: {', '.join(CLASSES)})",
            key=data_key if variant else f"{train_key}.baseline",
        )
    if train.loss in BINARY_LOSSES and (has_classes(dataset) or outputs != 1):
        raise LessonError(
            f"{on}the loss '{train.loss}' scores two classes on one output (labels 0 and 1), and "
            f"'{dataset.kind}' has {outputs} outputs"
            + (" of class labels" if has_classes(dataset) else ""),
            key=data_key if variant else f"{train_key}.loss",
        )
    for i, x in enumerate(train.probe):
        given = len(x) if isinstance(x, tuple) else 1
        if given != width:
            raise LessonError(
                f"{on}a probe has {given} inputs, but the data has {width} input columns",
                key=data_key if variant else f"{probe_key}[{i}]",
            )
    widths, params, hidden_in = [width], 0, False
    for i, lyr in enumerate(train.layers):
        if lyr.type == "embedding":
            assert lyr.vocab is not None and isinstance(
                lyr.out, int
            )  # _layer reads both as numbers
            _check_embedding(
                lyr,
                i,
                dataset,
                f"{on}layer {i}: " if variant else "",
                data_key if variant else f"{layers_key}[{i}]",
            )
            params += lyr.vocab * lyr.out
            widths.append(lyr.out * widths[-1])  # each input column's row, side by side
            continue
        src = lyr.source if lyr.type == "residual" else None  # _layer reads a residual's 'from'
        if src is not None and not (src < i and widths[src + 1] == widths[-1]):
            said = (
                f"'from' names layer {src}, which is not before this one (layer {i})"
                if src >= i
                else f"layer {src} gives {widths[src + 1]} values and this layer's input has "
                f"{widths[-1]}: a residual connection adds two of the same width"
            )
            raise LessonError(f"{on}{said}", key=data_key if variant else f"{layers_key}[{i}].from")
        if lyr.type != "linear":
            params += 2 * widths[-1] if lyr.type in NORM_LAYERS else 0
            widths.append(widths[-1])
            continue
        out = _width(lyr.out, train.hidden, outputs)
        n_in, hidden_out = widths[-1], lyr.out == "hidden"
        where = f"{on}layer {i}: " if variant else ""

        def key(label: str, i: int = i) -> str:  # this layer's i, bound now
            return data_key if variant else f"{layers_key}[{i}].{label}"

        if lyr.weight is not None:
            if hidden_in or hidden_out:
                raise LessonError(
                    f"{where}an explicit weight needs fixed sizes, and a learner can change 'hidden'",
                    key=key("weight"),
                )
            rows, cols = _shape(lyr.weight)
            if (rows, cols) not in ((n_in, out), (n_in * out, 1)):
                shape = (
                    f"{rows} × {cols}" if isinstance(lyr.weight[0], tuple) else f"{rows} numbers"
                )
                raise LessonError(
                    f"{where}the weight is {shape}; this layer takes {n_in} inputs to {out} outputs, "
                    f"so it needs {n_in} × {out}",
                    key=key("weight"),
                )
        if lyr.bias_init is not None:
            n = len(_flat(lyr.bias_init))
            if hidden_out:
                raise LessonError(
                    f"{where}an explicit bias needs a fixed size, and a learner can change 'hidden'",
                    key=key("bias_init"),
                )
            if n != out:
                raise LessonError(
                    f"{where}the bias has {n} numbers; this layer has {out} outputs",
                    key=key("bias_init"),
                )
        params += n_in * out + out
        widths.append(out)
        hidden_in = hidden_out
    if params > MAX_PARAMS:
        raise LessonError(
            f"{on}the model would have {params:,} weights; the limit is {MAX_PARAMS:,}",
            key=data_key if variant else layers_key,
        )
    cells = samples * sum(widths)
    if cells > MAX_CELLS:
        raise LessonError(
            f"{samples:,} samples × {sum(widths):,} values each (the inputs and every layer's outputs) "
            f"is {cells:,}; the limit is {MAX_CELLS:,}",
            key=data_key,
        )
    _check_ends(
        train,
        dataset,
        widths[-1],
        outputs,
        on,
        key=data_key if variant else None,
        train_key=train_key,
    )


def _check_ends(
    train: Train,
    dataset: Dataset,
    width: int,
    outputs: int,
    on: str,
    key: str | None,
    train_key: str,
) -> None:
    """The model's last width against what the data gives it to match: one output per class for the
    class losses (ce, nll, ce-sum: labels are indices, and only digits and mnist have them), one
    per target column for the others (a 3-wide output against one target would be broadcast)."""
    last = max(i for i, lyr in enumerate(train.layers) if lyr.type == "linear")
    if train.loss in CLASS_LOSSES:
        if not has_classes(dataset):
            raise LessonError(
                f'{on}loss = "{train.loss}" takes class labels (whole numbers, the index of each '
                f"sample's class), and a '{dataset.kind}' dataset has targets, not classes (datasets "
                f'with classes: {", ".join(CLASSES)}); for two classes labelled 0/1, use loss = "bce"',
                key=key or f"{train_key}.loss",
            )
        if width != outputs:
            raise LessonError(
                f"{on}the model ends in {width} outputs, and {dataset.kind} has {outputs} classes: "
                f'the last linear layer needs out = {outputs} (or "outputs")',
                key=key or f"{train_key}.layers[{last}].out",
            )
    elif width != outputs:
        what = "target column" if outputs == 1 else "target columns"
        raise LessonError(
            f"{on}the model ends in {width} outputs, and the data has {outputs} {what}: the last "
            f'linear layer needs out = {outputs} (or "outputs")',
            key=key or f"{train_key}.layers[{last}].out",
        )


def _check_embedding(lyr: Layer, i: int, dataset: Dataset, where: str, key: str) -> None:
    """An embedding takes the model's input: the first layer, on whole numbers within 0..vocab − 1
    (a points dataset's columns, or python-names' character contexts); each column picks a row."""
    if i != 0:
        raise LessonError(
            f"{where}an embedding takes the model's input, so it is the first layer",
            key=f"{key}.type",
        )
    assert lyr.vocab is not None  # _layer reads an embedding's vocab
    if dataset.kind == "python-names":
        if lyr.vocab < NAMES_CHARS:
            raise LessonError(
                f"{where}python-names has {NAMES_CHARS} characters, so the table "
                f"needs vocab = {NAMES_CHARS} rows or more",
                key=f"{key}.vocab",
            )
        return
    if dataset.kind != "points":
        raise LessonError(
            f"{where}an embedding reads whole numbers: a 'points' dataset or "
            f"'python-names', not '{dataset.kind}'",
            key=f"{key}.type",
        )
    for name in ("x", "x_val"):
        for j, v in enumerate(dataset.options.get(name) or ()):
            row = tuple(v) if isinstance(v, (list, tuple)) else (v,)
            for c in row:
                if not (float(c).is_integer() and 0 <= c < lyr.vocab):
                    shown = list(row) if len(row) != 1 else row[0]
                    raise LessonError(
                        f"{where}{name}[{j}] is {shown!r}: an embedding's inputs "
                        f"are whole numbers within 0..{lyr.vocab - 1}",
                        key=f"{key}.vocab",
                    )


def check_hidden(train: Train, dataset: Dataset, hidden: int) -> None:
    """A learner's `hidden` (a field, --hidden) within the same size bounds as a lesson file's."""
    from dataclasses import replace

    try:
        _check_run(replace(train, hidden=hidden), dataset, "train")
    except LessonError as exc:
        raise LessonError(
            f"{hidden} hidden units is too many here: {exc.message}", key="hidden"
        ) from None


def _frozen(value: list[Any]) -> tuple[Frozen, ...]:
    frozen = freeze(value)
    assert isinstance(frozen, tuple)  # a list freezes to a tuple
    return frozen


def _width(out: int | str | None, hidden: int | None, outputs: int) -> int:
    """A linear layer's `out` as a number: its own, [train]'s `hidden` (present wherever a layer
    names it: the readers check), or the data's outputs."""
    if out == "outputs":
        return outputs
    width = hidden if out == "hidden" else out
    assert isinstance(width, int)  # _layer reads a linear layer's out: a size or a word
    return width


def _shape(value: tuple[Any, ...]) -> tuple[int, int]:
    return (len(value), len(value[0])) if isinstance(value[0], tuple) else (len(value), 1)


def _flat(value: Any) -> list[Any]:
    return [x for v in value for x in _flat(v)] if isinstance(value, tuple) else [value]


def read_variant(t: Table, train: Train | None) -> Variant:
    if train is None:
        raise LessonError("a variant needs a [train] section to vary", key=t.path)
    name = t.take("name", str)
    if not ID_RE.match(name):
        raise LessonError(
            f"'{name}' is not a variant name (lowercase letters, digits and '-')", key=t.key("name")
        )
    title = t.text("title", name, limit=120)
    changes = _partial(t, _TRAIN_OVERRIDES - {"bias"} | {"backends", "loss", "l2", "l1", "clip"})
    if "note" in t.data:  # the variant's own note about its runs, in place of [train]'s
        changes["note"] = t.text("note", "", limit=2000)
    if "layers" in t.data:  # another model on the same data (e.g. without its ReLU)
        layers = tuple(_layer(lt) for lt in t.array("layers", limit=MAX_LAYERS))
        _unique_params(layers, t.key("layers"))
        if not any(lyr.type == "linear" for lyr in layers):
            raise LessonError("a model needs at least one linear layer", key=t.key("layers"))
        if any(lyr.out == "hidden" for lyr in layers) and train.hidden is None:
            raise LessonError(
                "a layer uses 'hidden' but [train] has no 'hidden' size", key=t.key("layers")
            )
        changes["layers"] = layers
        _check_run(
            replace(train, layers=layers, loss=changes.get("loss", train.loss)),
            train.dataset,
            "train",
            t.key("layers"),
        )
    if "loss" in changes and "layers" not in changes and "dataset" not in t.data:
        _check_run(replace(train, loss=changes["loss"]), train.dataset, "train", t.key("loss"))
    ds = t.sub("dataset")
    if ds:
        changes["dataset"] = read_dataset(ds)
        _check_run(
            replace(
                train,
                layers=changes.get("layers", train.layers),
                loss=changes.get("loss", train.loss),
            ),
            changes["dataset"],
            "train",
            ds.path,
        )
    t.done()
    return Variant(name, title, changes)
