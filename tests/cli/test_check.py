"""`backprop-tutor --check`, `--list`, `--version` and unknown lesson ids, through the real CLI.

Every broken fixture must give exactly one `FILE:LINE: KEY: message` line and exit status 2 (a file
broken in several independent parts gives one line per part),
quickly (each call runs under a subprocess timeout), and never a traceback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support import (
    CHECK_NOTES,
    FIXTURES_DIR,
    LESSONS_DIR,
    LISTED_IDS,
    lesson_path,
    parse_json_lines,
    run_cli,
)

CHECK_TIMEOUT = 60  # seconds for one --check call, derivations of shipped lessons included


# fixture file → (line, key, message) of the one error --check must print
EXPECTED = {
    "bad-syntax.toml": (33, "(file)", "invalid TOML: Invalid value"),
    "unknown-key.toml": (
        35,
        "train.epoch",
        "unknown key (did you mean epochs? allowed here: backends, baseline, batch_size, clip, dataset, decay_steps, dtype, "
        "epochs, gamma, hidden, init, l1, l2, layers, log_every, loss, lr, lr_end, momentum, note, optimizer, overrides, "
        "probe, schedule, seed, step_size, warmup, weight_decay, workers, zero_grad)",
    ),
    "wrong-type.toml": (33, "train.lr", "expected an integer or a number, found a string"),
    "missing-field.toml": (29, "train.loss", "required key is missing"),
    "unknown-name.toml": (
        22,
        "graph.nodes[1].expr",
        "unknown name 'target' (known here: w, x, y, y_pred)",
    ),
    "hostile-expr.toml": (
        18,
        "graph.nodes[0].expr",
        "only the named functions may be called: abs, colmean, colsum, exp, leaky_relu, leaky_step, log, max, mean, onehot, relu, rowmax, rowmean, rowsum, sigmoid, sign, softplus, sqrt, step, sum, tanh, tril",
    ),
    "duplicate-node.toml": (
        21,
        "graph.nodes[1].name",
        "duplicate name 'y_pred' (already another node)",
    ),
    "cycle.toml": (
        18,
        "graph.nodes[0].expr",
        "'y_pred' uses 'L', which depends on 'y_pred': the graph has a cycle",
    ),
    "shape-mismatch.toml": (
        18,
        "graph.nodes[0].expr",
        "shapes do not multiply: x is N×D and w is H×O (inner dimensions D and H differ)",
    ),
    "unknown-dataset.toml": (
        38,
        "train.dataset.kind",
        "'cifar' is not one of: points, synthetic-linear, iris, digits, mnist, circle, xor, "
        "gauss, spiral, moons, plane, multi-gauss, make-moons, csv, python-names",
    ),
    "unknown-backend.toml": (
        30,
        "train.backends[1]",
        "unknown backend 'tensorflow' (known: numpy, torch-manual, autograd, nn, optim)",
    ),
    "huge-hidden.toml": (
        44,
        "train.layers[0].out",
        "a layer of 1000000000 units is outside 1..4096",
    ),
    "huge-epochs.toml": (34, "train.epochs", "1e+09 is above the limit 100000"),
}


def check(*paths) -> tuple[int, str, str]:
    return run_cli("--check", *map(str, paths), timeout=CHECK_TIMEOUT)


def assert_clean(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr
    assert stderr.strip() == "", stderr


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_fixture_gives_exact_error_line(name):
    path = FIXTURES_DIR / name
    line, key, message = EXPECTED[name]
    rc, out, err = check(path)
    assert out.splitlines() == [f"{path}:{line}: {key}: {message}"]
    assert rc == 2
    assert_clean(err)


def test_error_line_points_at_the_offending_text():
    """The line numbers above are where a teacher would look: check them against the files."""
    needles = {
        "bad-syntax.toml": "lr = = 0.1",
        "unknown-key.toml": "epoch = 5",
        "wrong-type.toml": 'lr = "fast"',
        "missing-field.toml": "[train]",
        "unknown-name.toml": "target",
        "hostile-expr.toml": "__import__",
        "duplicate-node.toml": 'name = "y_pred"',
        "cycle.toml": "w*x + L",
        "shape-mismatch.toml": "x @ w",
        "unknown-dataset.toml": "cifar",
        "unknown-backend.toml": "tensorflow",
        "huge-hidden.toml": "out = 1000000000",
        "huge-epochs.toml": "epochs = 1000000000",
    }
    for name, needle in needles.items():
        lines = (FIXTURES_DIR / name).read_text(encoding="utf-8").splitlines()
        assert needle in lines[EXPECTED[name][0] - 1], name


def test_hostile_expression_runs_nothing(tmp_path):
    marker = Path("/tmp/pwned")
    if marker.exists():
        marker.unlink()
    rc, out, err = run_cli(
        "--check", FIXTURES_DIR / "hostile-expr.toml", timeout=CHECK_TIMEOUT, cwd=tmp_path
    )
    assert rc == 2
    assert not marker.exists()
    assert list(tmp_path.iterdir()) == []


def test_all_fixtures_in_one_call():
    paths = [FIXTURES_DIR / name for name in sorted(EXPECTED)]
    rc, out, err = check(*paths)
    expected = [
        f"{p}:{EXPECTED[p.name][0]}: {EXPECTED[p.name][1]}: {EXPECTED[p.name][2]}" for p in paths
    ]
    assert out.splitlines() == expected
    assert rc == 2
    assert_clean(err)


def test_good_and_bad_together_exit_2():
    good = lesson_path("single-neuron")
    bad = FIXTURES_DIR / "cycle.toml"
    rc, out, err = check(good, bad)
    lines = out.splitlines()
    assert lines[0] == f"{good}: ok"
    assert lines[1].startswith(f"{bad}:18: graph.nodes[0].expr: ")
    assert len(lines) == 2
    assert rc == 2


def test_every_broken_part_of_one_file_is_listed_in_line_order(tmp_path):
    """Independent parts are each checked, so one pass shows every broken part, sorted by line."""
    text = (
        _valid_text()
        .replace("order = 900", 'order = 900\ncolour = "red"')
        .replace('expr = "(y_pred - y)**2"', 'expr = "(y_pred - target)**2"')
        .replace("lr = 0.1", 'lr = "fast"')
    )
    path = tmp_path / "unknown-key.toml"  # the id of the text
    path.write_text(text, encoding="utf-8")
    colour, target, lr = (
        1 + next(i for i, line in enumerate(text.splitlines()) if line.startswith(start))
        for start in ("colour =", 'expr = "(y_pred - target)', "lr =")
    )
    rc, out, err = check(path)
    assert out.splitlines() == [
        f"{path}:{colour}: colour: unknown key (allowed here: exercises, explain, "
        "graph, group, id, jacobian, order, schema, summary, title, train, variants)",
        f"{path}:{target}: graph.nodes[1].expr: unknown name 'target' (known here: w, x, y, y_pred)",
        f"{path}:{lr}: train.lr: expected an integer or a number, found a string",
    ]
    assert rc == 2
    assert_clean(err)


def test_a_part_that_needs_a_broken_part_is_not_reported_twice(tmp_path):
    """Exercises are read against the graph's names: with the graph broken, only the graph is named."""
    text = _valid_text().replace('expr = "w*x"', 'expr = "w*q"') + (
        '\n[[exercises]]\nid = "dw"\nkind = "derivative"\nprompt = "dL/dw?"\nanswer = "2*(w*x - y)*x"\n'
    )
    path = tmp_path / "unknown-key.toml"
    path.write_text(text, encoding="utf-8")
    rc, out, err = check(path)
    assert out.splitlines() == [
        f"{path}:18: graph.nodes[0].expr: unknown name 'q' (known here: w, x, y)"
    ]
    assert rc == 2


def _valid_text() -> str:
    """A valid lesson: the unknown-key fixture without its one bad line."""
    text = (FIXTURES_DIR / "unknown-key.toml").read_text(encoding="utf-8")
    return text.replace("epoch = 5\n", "")


def test_valid_base_of_fixtures_passes(tmp_path):
    path = tmp_path / "unknown-key.toml"
    path.write_text(_valid_text(), encoding="utf-8")
    rc, out, err = check(path)
    assert out.splitlines() == [f"{path}: ok"]
    assert rc == 0


def test_non_utf8_file(tmp_path):
    text = _valid_text().encode("utf-8")
    marker = b'title = "The model"'
    assert marker in text
    raw = text.replace(marker, b'title = "The m\xff\xfedel"')
    offset = raw.index(b"\xff")
    line = raw[:offset].count(b"\n") + 1
    path = tmp_path / "latin.toml"
    path.write_bytes(raw)
    rc, out, err = check(path)
    assert out.splitlines() == [
        f"{path}:{line}: (file): not UTF-8 text (byte 0xff at offset {offset})"
    ]
    assert rc == 2
    assert_clean(err)


def test_deeply_nested_array(tmp_path):
    path = tmp_path / "deep.toml"
    path.write_text("a = " + "[" * 10000 + "]" * 10000 + "\n" + _valid_text(), encoding="utf-8")
    rc, out, err = check(path)
    assert out.splitlines() == [f"{path}: (file): invalid TOML: nested too deeply"]
    assert rc == 2
    assert_clean(err)


def test_file_over_one_megabyte(tmp_path):
    path = tmp_path / "big.toml"
    text = _valid_text()
    pad = "# " + "x" * 97 + "\n"  # 100 bytes a line
    body = (text + pad * ((1_200_000 - len(text)) // 100)).encode("utf-8")
    body += b"#" * (1_200_000 - len(body) - 1) + b"\n"
    assert len(body) == 1_200_000
    path.write_bytes(body)
    rc, out, err = check(path)
    assert out.splitlines() == [f"{path}: (file): file is 1.2 MB; the limit is 1 MB"]
    assert rc == 2
    assert_clean(err)


def test_missing_file(tmp_path):
    path = tmp_path / "absent.toml"
    rc, out, err = check(path)
    assert out.splitlines() == [f"{path}: (file): cannot read the file: No such file or directory"]
    assert rc == 2
    assert_clean(err)


@pytest.mark.parametrize("lesson_id", LISTED_IDS)
def test_curriculum_lesson_checks_ok(lesson_id):
    path = lesson_path(lesson_id)
    assert path.is_file(), f"lessons/{lesson_id}.toml is missing"
    rc, out, err = check(path)
    assert out.splitlines() == [f"{path}: ok{CHECK_NOTES.get(lesson_id, '')}"]
    assert rc == 0
    assert "Traceback" not in err


def test_all_shipped_lessons_in_one_call():
    paths = sorted(LESSONS_DIR.glob("*.toml"))
    assert paths
    rc, out, err = run_cli("--check", *paths, timeout=CHECK_TIMEOUT * len(paths))
    assert out.splitlines() == [f"{p}: ok{CHECK_NOTES.get(p.stem, '')}" for p in paths]
    assert rc == 0
    assert "Traceback" not in err


def test_version():
    import tutor

    rc, out, err = run_cli("--version", timeout=30)
    assert rc == 0
    assert out.strip() == f"backprop-tutor {tutor.__version__}"
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", tutor.__version__)


def test_list_has_every_curriculum_lesson_in_order():
    from tutor.lesson import load

    rc, out, err = run_cli("--list", timeout=60)
    assert rc == 0
    assert_clean(err)
    lines = out.splitlines()
    assert "broken" not in out, out
    ids = [line.split()[0] for line in lines]
    assert ids == list(LISTED_IDS)
    for line, lesson_id in zip(lines, LISTED_IDS, strict=False):
        title = load(lesson_path(lesson_id)).title
        assert line[len(lesson_id) :].strip() == title, line


def test_list_is_one_line_per_lesson_file():
    rc, out, err = run_cli("--list", timeout=60)
    assert rc == 0
    assert len(out.splitlines()) == len(list(LESSONS_DIR.glob("*.toml")))


@pytest.mark.parametrize("extra", [["--headless"], ["--headless", "--json"], []])
def test_unknown_lesson_id(extra):
    rc, out, err = run_cli("no-such-lesson", *extra, timeout=60)
    assert rc == 2
    assert "Traceback" not in err
    assert "unknown lesson 'no-such-lesson'" in err
    shipped = [p.stem for p in LESSONS_DIR.glob("*.toml")]
    for lesson_id in shipped:
        assert lesson_id in err, f"{lesson_id} not listed in: {err}"
    if "--json" in extra:  # the JSON contract: the error as the last event
        [event] = parse_json_lines(out)
        assert event["event"] == "error" and event["message"] == err.strip().removeprefix(
            "backprop-tutor: "
        )
    else:
        assert out == ""


def test_missing_lesson_file_path():
    rc, out, err = run_cli("does/not/exist.toml", "--headless", timeout=60)
    assert rc == 2
    assert "no such lesson file: does/not/exist.toml" in err
    assert "Traceback" not in err


def test_check_exit_status_documented_in_help():
    rc, out, err = run_cli("--help", timeout=30)
    assert rc == 0
    assert "--check" in out and "exit status: 0 ok" in out


def test_a_misspelt_required_key_is_named_with_the_closest_name(tmp_path):
    """Issue 20: `epocs = 50` used to give 'train.epochs: required key is missing' at [train]."""
    text = (LESSONS_DIR / "two-layer-relu.toml").read_text(encoding="utf-8")
    assert "\nepochs = 50\n" in text
    path = tmp_path / "two-layer-relu.toml"
    path.write_text(text.replace("\nepochs = 50\n", "\nepocs = 50\n"), encoding="utf-8")
    line = text.split("\nepochs = 50\n")[0].count("\n") + 2
    code, out, _ = run_cli("--check", str(path))
    assert code == 2
    assert out.strip() == f"{path}:{line}: train.epocs: unknown key 'epocs' (did you mean epochs?)"
    # an optional key misspelt: the closest known name, then the allowed ones
    path.write_text(
        text.replace("\nepochs = 50\n", "\nepochs = 50\nhiden = 100\n"), encoding="utf-8"
    )
    code, out, _ = run_cli("--check", str(path))
    assert code == 2 and "train.hiden: unknown key (did you mean hidden? allowed here: " in out
