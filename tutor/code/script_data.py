"""An exported script's data recipe and initial weights: the same draws, in the same order, as the tutor's."""

from __future__ import annotations

from tutor.code.writer import Writer
from tutor.lesson import Dataset, Lesson
from tutor.train.datasets import DATASET_KINDS
from tutor.train.layers import LAYERS
from tutor.train.spec import RunSpec, draw_rule, drawn_plan, fixed_plan


def data_lines(w: Writer, dataset: Dataset, lesson: Lesson) -> None:
    """The dataset's lines, from its kind's entry in tutor/train/datasets.py's registry."""
    w(f"# --- data: {dataset.kind} ---", *DATASET_KINDS[dataset.kind].script(dataset), "")


# --- initial weights ------------------------------------------------------------------------------


def draw(rule: tuple[str, str, float], shape: tuple[int, ...]) -> str:
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
    w(
        "# --- initial weights: drawn in float64 from the run's seed, the same for every backend ---",
        f"rng = np.random.RandomState({spec.seed})",
    )
    for p in drawn_plan(spec, inputs, outputs):
        n_in, n_out = p.n_in, p.n_out
        bias_rule = draw_rule(spec, p, bias=True)
        bias_text = draw(bias_rule, (n_out,)) if p.lesson_bias and bias_rule[0] != "zeros" else None
        if bias_text and not p.bias:
            w(
                f"_ = {bias_text}    # the lesson's bias {p.bias_name}, unused here: drawn so the weights match"
            )
        elif bias_text and p.layer.bias_init is None:
            w(f"{p.bias}_init = {bias_text}")
        if p.layer.weight is not None:
            w(
                f"{p.weight}_init = np.array({[list(map(float, r)) for r in p.layer.weight]!r}, dtype=np.float64)"
                f".reshape({n_in}, {n_out})"
            )
        else:
            w(f"{p.weight}_init = {draw(draw_rule(spec, p), (n_in, n_out))}")
        if p.bias:
            if p.layer.bias_init is not None:
                w(
                    f"{p.bias}_init = np.array({list(map(float, p.layer.bias_init))!r}, dtype=np.float64)"
                    f".reshape({n_out})"
                )
            elif not bias_text:
                w(f"{p.bias}_init = np.zeros({n_out})")
    for p in fixed_plan(spec, inputs, outputs):  # tutor.train.spec.fixed_weights: nothing drawn
        w(
            *(
                f"{n}_init = np.{how}({p.n_out})"
                for n, how in zip(p.names, LAYERS[p.type].fixed, strict=False)
            )
        )
