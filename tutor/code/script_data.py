"""An exported script's data recipe and initial weights: the same draws, in the same order, as the tutor's."""

from __future__ import annotations


from tutor.lesson import Lesson
from tutor.lesson import PLAYGROUND as PLAYGROUND_DATASETS
from tutor.train.layers import LAYERS
from tutor.train.spec import RunSpec, draw_rule, drawn_plan, fixed_plan
from tutor.code.writer import Writer



PLAYGROUND_KINDS = (*PLAYGROUND_DATASETS, "csv")        # data the script carries as its points


def playground(dataset, lesson: Lesson):
    """A playground dataset (generated, or a CSV beside the lesson) as the lesson's runs see it."""
    from tutor.train.data import load

    return load(dataset)


def data_lines(w: Writer, dataset, lesson: Lesson) -> None:
    o = dataset.options
    w(f"# --- data: {dataset.kind} ---")
    if dataset.kind in PLAYGROUND_KINDS:
        # the points themselves: the same numbers the tutor trains on, with no recipe to re-run
        data = playground(dataset, lesson)
        for name in ("x_train", "y_train", "x_val", "y_val"):
            values = getattr(data, name).tolist()
            w(f"{name} = np.array({values!r}, dtype=np.float64)")
    elif dataset.kind == "points":
        for key, name in (("x", "x_train"), ("y", "y_train"), ("x_val", "x_val"), ("y_val", "y_val")):
            if o.get(key) is None:
                w(f"{name} = None")
                continue
            values = [list(map(float, v)) if isinstance(v, (list, tuple)) else float(v) for v in o[key]]
            flat = not isinstance(o[key][0], (list, tuple))
            w(f"{name} = np.array({values!r}, dtype=np.float64)" + (".reshape(-1, 1)" if flat else ""))
    elif dataset.kind == "synthetic-linear":
        rand = "rng.rand" if o["x_dist"] == "uniform" else "rng.randn"
        w(f"rng = np.random.RandomState({o['seed']})",
          f"x = {rand}({o['n']}, {o['features']})",
          f"y = x @ np.asarray({[float(v) for v in o['w']]!r}, dtype=np.float64) + {float(o['b'])!r}"
          f" + {float(o['noise'])!r} * rng.randn({o['n']})",
          f"idx = np.arange({o['n']})",
          "rng.shuffle(idx)",
          f"train, val = idx[:{o['train']}], idx[{o['train']}:]",
          "y = y.reshape(-1, 1)",
          "x_train, y_train, x_val, y_val = x[train], y[train], x[val], y[val]")
    elif dataset.kind == "iris":
        w("from sklearn.datasets import load_iris",
          "from sklearn.model_selection import train_test_split",
          "",
          "iris = load_iris()           # versicolor and virginica: setosa removed",
          "keep = iris.target != 0",
          "x = iris.data[keep][:, :2].astype(np.float64)     # sepal length and width",
          "y = iris.data[keep][:, 2:].astype(np.float64)     # petal length and width",
          "x = (x - x.mean(0)) / x.std(0)",
          "y = (y - y.mean(0)) / y.std(0)",
          "x_train, x_val, y_train, y_val = train_test_split(",
          f"    x, y, train_size=0.5, stratify=iris.target[keep], random_state={o['seed']})")
    elif dataset.kind in ("digits", "mnist"):
        w("from sklearn.model_selection import train_test_split", "")
        if dataset.kind == "digits":
            w("from sklearn.datasets import load_digits",
              "",
              "digits = load_digits()",
              "x_train, x_val, y_train, y_val = train_test_split(",
              "    digits.data.astype(np.float64), digits.target.astype(np.int64),",
              f"    test_size={float(o['test_fraction'])!r}, stratify=digits.target, random_state={o['seed']})")
        else:
            w("from sklearn.datasets import fetch_openml",
              "",
              "x, y = fetch_openml('mnist_784', version=1, return_X_y=True, as_frame=False)",
              "x_train, x_val, y_train, y_val = train_test_split(",
              "    x.astype(np.float64), y.astype(np.int64),",
              f"    train_size={o['train_size']}, test_size={o['test_size']}, random_state={o['seed']})")
        w("mean, std = x_train.mean(0), x_train.std(0)",
          "std[std == 0] = 1.0        # pixels that are always blank",
          "x_train, x_val = (x_train - mean) / std, (x_val - mean) / std")
    else:
        raise ValueError(f"no script for dataset kind {dataset.kind!r}")
    w("")


def shapes(lesson: Lesson, dataset) -> tuple[int, int]:
    """(inputs, outputs) of the data, read from the recipe without loading a data set."""
    o = dataset.options
    if dataset.kind in PLAYGROUND_KINDS:
        return 2, 1
    if dataset.kind == "points":
        def width(v):
            return len(v[0]) if isinstance(v[0], (list, tuple)) else 1
        return width(o["x"]), width(o["y"])
    if dataset.kind == "synthetic-linear":
        return o["features"], 1
    if dataset.kind == "iris":
        return 2, 2
    if dataset.kind == "digits":
        return 64, 10
    return 784, 10


def train_count(lesson: Lesson, dataset) -> int:
    o = dataset.options
    if dataset.kind in PLAYGROUND_KINDS:
        return len(playground(dataset, lesson).x_train)
    if dataset.kind == "points":
        return len(o["x"])
    if dataset.kind == "synthetic-linear":
        return o["train"]
    if dataset.kind == "iris":
        return 50
    if dataset.kind == "digits":
        import math
        return 1797 - math.ceil(1797 * o["test_fraction"])      # scikit-learn's split rule
    return o["train_size"]


# --- initial weights ------------------------------------------------------------------------------


def draw(rule: tuple[str, str, float], shape: tuple) -> str:
    """tutor.train.spec._draw as code, from the same rule (spec.draw_rule)."""
    kind, how, _ = rule
    if kind == "zeros":
        return f"np.zeros({shape!r})"
    if kind == "normal":
        return f"rng.randn({', '.join(map(str, shape))})" + (f" * {how}" if how else "")
    return f"rng.uniform(-{how}, {how}, size={shape!r})"


def weight_lines(w: Writer, spec: RunSpec, inputs: int, outputs: int) -> None:
    """Mirror of tutor.train.spec.initial_weights: float64, drawn from one RandomState(seed), per
    layer the bias before the weight; a bias only this backend adds starts at zero; then the
    parameters that start at constants (the layer table's `fixed`)."""
    w("# --- initial weights: drawn in float64 from the run's seed, the same for every backend ---",
      f"rng = np.random.RandomState({spec.seed})")
    for p in drawn_plan(spec, inputs, outputs):
        n_in, n_out = p.n_in, p.n_out
        bias_rule = draw_rule(spec, p, bias=True)
        bias_text = draw(bias_rule, (n_out,)) if p.lesson_bias and bias_rule[0] != "zeros" else None
        if bias_text and not p.bias:
            w(f"_ = {bias_text}    # the lesson's bias {p.bias_name}, unused here: drawn so the weights match")
        elif bias_text and p.layer.bias_init is None:
            w(f"{p.bias}_init = {bias_text}")
        if p.layer.weight is not None:
            w(f"{p.weight}_init = np.array({[list(map(float, r)) for r in p.layer.weight]!r}, dtype=np.float64)"
              f".reshape({n_in}, {n_out})")
        else:
            w(f"{p.weight}_init = {draw(draw_rule(spec, p), (n_in, n_out))}")
        if p.bias:
            if p.layer.bias_init is not None:
                w(f"{p.bias}_init = np.array({list(map(float, p.layer.bias_init))!r}, dtype=np.float64)"
                  f".reshape({n_out})")
            elif not bias_text:
                w(f"{p.bias}_init = np.zeros({n_out})")
    for p in fixed_plan(spec, inputs, outputs):          # tutor.train.spec.fixed_weights: nothing drawn
        w(*(f"{n}_init = np.{how}({p.n_out})" for n, how in zip(p.names, LAYERS[p.type].fixed)))
