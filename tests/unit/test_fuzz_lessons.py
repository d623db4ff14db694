"""A mutation fuzzer over the shipped lessons: numbers pushed to extremes (huge integers, 1e308,
infinities, negatives), keys dropped, duplicated and misspelt, values of the wrong type, arrays
cut short or made ragged, control characters and terminal escapes in strings, files cut off.

Every mutant is read and validated by the lesson reader (`tutor.lesson.loads`, what `--check`
runs before the derivation). Each outcome must be a lesson, or a clean LessonError whose every
problem prints as `FILE:LINE: KEY: message` without control characters; never another exception.
A lesson the reader accepts must also set up its runs: every backend's initial weights for every
variant's dataset, with the dataset's real widths.

The run is seeded (FUZZ_SEED, default 21) and bounded: FUZZ_MUTATIONS mutants (by default
ten times the hypothesis profile's max_examples: 400, or 1,000 where CI=true) in well under a
minute on two cores. The derivation (`FUZZ_DERIVE=1`) is left out by default: it is
checked by the derivation's own tests, and this suite must stay quick.
"""

from __future__ import annotations

import os
import random
import re
from pathlib import Path

import pytest

from tests.support import LESSONS_DIR, examples
from tutor.errors import LessonError
from tutor.lesson import dataset_shape, loads

SEED = int(os.environ.get("FUZZ_SEED", 21))
MUTATIONS = int(
    os.environ.get("FUZZ_MUTATIONS", examples(10))
)  # 400 by default, 1,000 where CI=true
DERIVE = os.environ.get("FUZZ_DERIVE") == "1"

EXTREMES = [
    "1" + "0" * 400,
    "-" + "9" * 330,
    "1" + "0" * 5000,
    "9223372036854775808",
    "4294967296",
    "2147483648",
    "-1",
    "0",
    "-0.0",
    "1e308",
    "-1e308",
    "5e-324",
    "inf",
    "-inf",
    "nan",
    "1e12",
    "100000",
    "4096",
    "10001",
    '"x"',
    '""',
    '"relu"',
    "true",
    "false",
    "[]",
    "[[]]",
    "[1, 2]",
    "[[1.0, 2.0], [3.0]]",
    "[[[1.0]]]",
    '[1, "a"]',
    "{}",
    "{ a = 1 }",
    '"\\u001b]0;PWNED\\u0007"',
    '"\\u001b[2J\\u009b"',
    "1979-05-27",
    "[" * 60 + "]" * 60,
    '"' + "a" * 3000 + '"',
]
CONTROL = [
    "\\u001b]0;PWNED\\u0007",
    "\\u001b]52;c;Y2xpcA==\\u001b\\\\",
    "\\u001b[2J",
    "\\u0000",
    "\\r",
    "\\u007f",
    "\\u0085",
]
KEY_LINE = re.compile(r"^(\s*)([A-Za-z0-9_.\"-]+)(\s*=\s*)(.*)$")
NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:e-?\d+)?(?![\w.])")
PROBLEM = re.compile(
    r"^(?P<file>[^\n]+?)(?::(?P<line>\d+))?: (?P<key>[^\n:]+?): (?P<message>.+)$", re.DOTALL
)


def _mutate(text: str, rng: random.Random) -> tuple[str, str]:
    """One random change to a lesson's text → (new text, what was done)."""
    lines = text.split("\n")
    keyed = [i for i, line in enumerate(lines) if KEY_LINE.match(line)]
    if not keyed:  # cut off before the first key
        return text + "\n" + rng.choice(EXTREMES), "a value with no key"
    i = rng.choice(keyed)
    m = KEY_LINE.match(lines[i])
    indent, key, eq, value = m.groups()
    op = rng.randrange(12)
    if op == 0:
        new = rng.choice(EXTREMES)
        lines[i] = f"{indent}{key}{eq}{new}"
        return "\n".join(lines), f"line {i + 1}: {key} = {new[:40]}"
    if op == 1:
        numbers = list(NUMBER.finditer(value))
        if numbers:
            n = rng.choice(numbers)
            new = rng.choice(EXTREMES[:19])
            lines[i] = f"{indent}{key}{eq}{value[: n.start()]}{new}{value[n.end() :]}"
            return "\n".join(lines), f"line {i + 1}: a number in {key} → {new[:40]}"
        op = 2
    if op == 2:
        del lines[i]
        return "\n".join(lines), f"line {i + 1}: {key} dropped"
    if op == 3:
        lines.insert(i, lines[i])
        return "\n".join(lines), f"line {i + 1}: {key} twice"
    if op == 4:
        lines[i] = f"{indent}{key}x{eq}{value}"
        return "\n".join(lines), f"line {i + 1}: {key} misspelt"
    if op == 5 and value.startswith("[") and "," in value:
        cut = value.split(",")[: rng.randrange(1, value.count(",") + 1)]
        lines[i] = (
            f"{indent}{key}{eq}{','.join(cut)}{']' * (value.count('[') - ','.join(cut).count('['))}"
        )
        return "\n".join(lines), f"line {i + 1}: {key} cut short"
    if op == 6 and value.startswith("[["):
        lines[i] = f"{indent}{key}{eq}{value.replace(']', ', 7.0]', 1)}"
        return "\n".join(lines), f"line {i + 1}: {key} made ragged"
    if op in (5, 6, 7) and '"' in value:
        at = value.index('"') + 1
        bad = rng.choice(CONTROL)
        lines[i] = f"{indent}{key}{eq}{value[:at]}{bad}{value[at:]}"
        return "\n".join(lines), f"line {i + 1}: a control character in {key}"
    headers = [j for j, line in enumerate(lines) if line.startswith("[")]
    if op == 8 and headers:
        j = rng.choice(headers)
        lines.insert(j, lines[j])
        return "\n".join(lines), f"line {j + 1}: header {lines[j][:40]} twice"
    if op == 9:
        j = rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
        return "\n".join(lines), f"lines {i + 1} and {j + 1} swapped"
    if op == 10:
        new = rng.choice(['"a string"', "[1.0]", "1", "true", '{ kind = "points" }'])
        lines[i] = f"{indent}{key}{eq}{new}"
        return "\n".join(lines), f"line {i + 1}: {key} = {new} (another type)"
    cut = rng.randrange(len(text))
    return text[:cut], f"cut at byte {cut}"


def _sets_up_its_runs(lesson) -> None:
    """What a run needs before it starts: every backend's initial weights, for every dataset."""
    from tutor.train.spec import backends_for, dataset_for, initial_weights, param_names, resolve

    if lesson.train is None:
        return
    for variant in (None, *lesson.variants):
        _, inputs, outputs = dataset_shape(dataset_for(lesson, variant))
        for backend in backends_for(lesson, variant):
            spec = resolve(lesson, backend, variant)
            weights = initial_weights(spec, inputs, outputs)
            assert sorted(weights) == sorted(param_names(spec, inputs, outputs))


def _mutants():
    rng = random.Random(SEED)
    sources = sorted(LESSONS_DIR.glob("*.toml"))
    texts = {p: p.read_text(encoding="utf-8") for p in sources}
    for n in range(MUTATIONS):
        path = sources[n % len(sources)]
        text, what = texts[path], []
        for _ in range(rng.choice((1, 1, 1, 2, 3))):  # mostly one change, sometimes a few
            text, done = _mutate(text, rng)
            what.append(done)
        yield path, text, "; ".join(what)


@pytest.mark.timeout(240)
def test_every_mutant_is_a_lesson_or_a_clean_error():
    outcomes = {"ok": 0, "error": 0}
    failures = []
    for path, text, what in _mutants():
        display = str(path)
        try:
            lesson = loads(text, display, Path(path.name))
            _sets_up_its_runs(lesson)
            if DERIVE and (lesson.graph is not None or lesson.jacobian is not None):
                from tutor.cli import _check_derivation

                _check_derivation(lesson, display)
            outcomes["ok"] += 1
        except LessonError as exc:
            outcomes["error"] += 1
            for problem in exc.located(file=display).problems:
                shown = str(problem)
                m = PROBLEM.match(shown)
                if not m or m["file"] != display or not shown.isprintable():
                    failures.append(
                        f"{path.name} [{what}]: not FILE:LINE: KEY: message: {shown[:300]!r}"
                    )
                elif m["line"] is not None and not 1 <= int(m["line"]) <= text.count("\n") + 1:
                    failures.append(
                        f"{path.name} [{what}]: line {m['line']} is outside the file: {shown[:200]!r}"
                    )
        except Exception as exc:  # noqa: BLE001 - every other exception is the finding
            failures.append(f"{path.name} [{what}]: {type(exc).__name__}: {str(exc)[:300]}")
    assert not failures, (
        f"{len(failures)} of {MUTATIONS} mutants (seed {SEED}) went wrong:\n"
        + "\n".join(failures[:20])
    )
    assert outcomes["ok"] > 0 and outcomes["error"] > MUTATIONS // 4, (
        outcomes
    )  # the mutations bite, not all
