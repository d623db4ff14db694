"""Issue 25, item 1: lesson text never becomes code. Every script and file the tutor generates from
a lesson (the exported training scripts of every backend and variant, every code exercise's
starting file, its reference solution and the slip variant the checker runs) is generated from
lessons whose every prose string holds quotes, triple quotes, backslashes, line breaks and `#`;
each parses, the text appears only inside string literals and comments, and the title of the
issue (`T\"\"\"; <code>; \"\"\"`) runs nothing, through the real command line."""

from __future__ import annotations

import ast
import io
import json
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest

from tutor.cli import main
from tutor.code.export import export
from tutor.code.template import reference, template
from tutor.lesson import catalogue, loads
from tutor.train.spec import backends_for

PROSE = {"title", "summary", "text", "prompt", "hints", "why", "note", "says", "explain", "choices"}
# Every way out of a literal or a comment: quotes of both kinds, single and tripled, a backslash
# before a quote and at the end, every line break Python or an editor knows, and a `#`.
HOSTILE = (
    'T"""; PWNED=1; """\'\'\';PWNED=2;\'\'\'";PWNED=3;"\';PWNED=4;\'\\"\\\n PWNED=5\r PWNED=6'
    "\r\n PWNED=7\x0c\x0b\x85\u2028 #PWNED=8 \\"
)


def toml_value(v) -> str:
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # JSON's escapes are TOML's
    return repr(v)


def hostile(value, key=None):
    """The lesson's data with every prose string replaced by HOSTILE (keeping its first words, so
    that strings that must differ still do)."""
    if isinstance(value, dict):
        return {k: hostile(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [hostile(v, key) for v in value]
    if isinstance(value, str) and key in PROSE:
        return value[:8] + HOSTILE
    return value


def hostile_text(path: Path) -> bytes:
    import tomllib

    data = hostile(tomllib.loads(path.read_text()))
    return "\n".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in data.items()).encode()


LESSONS = [i for i in catalogue()]


def only_in_literals(source: str, what: str) -> None:
    """`source` parses, and no token but a string or a comment holds PWNED."""
    ast.parse(source)
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if "PWNED" in tok.string:
            assert tok.type in (tokenize.STRING, tokenize.COMMENT), (
                f"{what}: lesson text became code: {tok}"
            )


@pytest.mark.parametrize("item", LESSONS, ids=lambda i: i.id)
def test_every_generated_script_holds_lesson_text_only_as_literals(item):
    lesson = loads(hostile_text(item.path), str(item.path), item.path)
    # the loader drops control characters (\r, \f, \v, \x85); line breaks and the rest reach the generators
    assert all(
        part in lesson.title for part in ('"""', "'''", '\\"', "\n", "\u2028", "#PWNED=8 \\")
    )
    sources = []
    for ex in (e for e in lesson.exercises if e.kind == "code"):
        sources += [
            (f"template {ex.id}", template(lesson, ex)),
            (f"reference {ex.id}", reference(lesson, ex)),
            (f"no-mask {ex.id}", reference(lesson, ex, slip="no-mask")),
        ]
        doc = ast.get_docstring(ast.parse(sources[-3][1]), clean=False)
        assert doc == f"{lesson.title}: exercise {ex.id}. Write the backward pass."
    if lesson.train is not None and lesson.train.dataset.kind != "mnist":
        for variant in (None, *lesson.variants):
            for backend in backends_for(lesson, variant):
                text = export(lesson, backend, variant).text
                sources.append((f"{backend} {variant.name if variant else ''}", text))
                title_line = next(
                    line for line in text.splitlines() if line.startswith("# title: ")
                )
                assert ast.literal_eval(title_line[len("# title: ") :]) == lesson.title
    assert sources or (lesson.train is None and not any(e.kind == "code" for e in lesson.exercises))
    for what, source in sources:
        only_in_literals(source, f"{item.id} {what}")


ISSUE_TITLE = 'T"""; open(__import__("os").environ["PWN_AT"], "w").write("ran"); """'


@pytest.fixture
def issue_lesson(tmp_path):
    """two-layer-relu with the issue's title, in a folder of its own."""
    src = next(i.path for i in catalogue() if i.id == "two-layer-relu")
    text = src.read_text().replace(
        'title = "The chain rule through a hidden layer"', f"title = {json.dumps(ISSUE_TITLE)}", 1
    )
    assert ISSUE_TITLE in loads(text.encode(), str(src), src).title
    path = tmp_path / "two-layer-relu.toml"
    path.write_text(text)
    return path


def test_the_issues_title_runs_nothing_in_the_template_the_check_or_the_export(
    issue_lesson, tmp_path, capsys, monkeypatch
):
    marker = tmp_path / "pwned"
    monkeypatch.setenv("PWN_AT", str(marker))
    assert main(["--check", str(issue_lesson)]) == 0
    capsys.readouterr()
    assert main([str(issue_lesson), "--code", "backward", "--template"]) == 0
    start = tmp_path / "backward.py"
    start.write_text(capsys.readouterr().out)
    assert main([str(issue_lesson), "--export-code", "numpy", "--epochs", "1"]) == 0
    script = tmp_path / "run.py"
    script.write_text(capsys.readouterr().out)
    for path in (start, script):
        ran = subprocess.run(
            [sys.executable, str(path)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert ran.returncode == 0, ran.stderr
    # the check runs the starting file and, for the slip it names, the reference with the title
    assert main([str(issue_lesson), "--code", f"backward={start}"]) == 1
    assert "dw1 is still ... : write it" in capsys.readouterr().out
    wrong = tmp_path / "wrong.py"
    wrong.write_text(
        reference(
            loads(issue_lesson.read_bytes(), str(issue_lesson), issue_lesson),
            next(
                e
                for e in loads(issue_lesson.read_bytes(), str(issue_lesson), issue_lesson).exercises
                if e.kind == "code"
            ),
            slip="no-mask",
        )
    )
    assert main([str(issue_lesson), "--code", f"backward={wrong}"]) == 1
    assert "dw1: the ReLU mask is missing" in capsys.readouterr().out
    assert not marker.exists()
