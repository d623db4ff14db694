"""The share of function parameters and returns annotated, in the core and in the whole package
(issue 31's before/after figure). Read from the syntax trees; `self` and `cls` of methods are not
counted (mypy infers them), `*args` and `**kwargs` are.

    python bench/annotation_coverage.py [ROOT]        # ROOT: a checkout, by default this one
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

CORE = ("expr", "lesson", "derive", "exercises", "train", "present", "code", "playground")


def counts(path: Path) -> tuple[int, int, int, int]:
    """(parameters annotated, parameters, returns annotated, functions) in one file."""
    params = annotated = returns = functions = 0
    tree = ast.parse(path.read_text(encoding="utf-8"))
    methods = {id(f) for c in ast.walk(tree) if isinstance(c, ast.ClassDef) for f in c.body}
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        a = node.args
        args = [*a.posonlyargs, *a.args, *a.kwonlyargs, *filter(None, (a.vararg, a.kwarg))]
        if (
            id(node) in methods
            and a.args[:1]
            and a.args[0].arg in ("self", "cls")
            and not any(
                isinstance(d, ast.Name) and d.id == "staticmethod" for d in node.decorator_list
            )
        ):
            args = [x for x in args if x is not a.args[0]]
        params += len(args)
        annotated += sum(x.annotation is not None for x in args)
        functions += 1
        returns += node.returns is not None
    return annotated, params, returns, functions


def share(paths: list[Path]) -> str:
    total = [0, 0, 0, 0]
    for path in paths:
        total = [t + c for t, c in zip(total, counts(path), strict=True)]
    annotated, params, returns, functions = total
    return (
        f"parameters {annotated}/{params} = {annotated / params:.1%}, "
        f"returns {returns}/{functions} = {returns / functions:.1%}"
    )


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent
    every = sorted((root / "tutor").rglob("*.py"))
    core = [p for p in every if p.relative_to(root / "tutor").parts[0] in CORE]
    print(f"core ({', '.join(CORE)}): {share(core)}")
    print(f"whole package (tutor/):  {share(every)}")


if __name__ == "__main__":
    main()
