"""The progress file under stress: corrupt, truncated, from a newer tutor, not a record at all,
in a directory that cannot be written, written by two tutors at once, and a save that dies
half-way. In each case the tutor keeps working, says what happened once, and never loses the
learner's bytes (an unreadable file is kept as a backup)."""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path

import pytest

from tutor.progress import DONE, IN_PROGRESS, NOT_STARTED, Progress

GOOD = {
    "version": 1,
    "last_lesson": "linear-1d",
    "lessons": {
        "linear-1d": {"parts": ["explain", "derive"]},
        "single-neuron": {"solved": ["a"], "done": True},
    },
}


# What a learner's disk can hold instead of a progress record.
BAD_FILES = {
    "garbage-bytes": b"\xff\xfe\x00\x80\x81garbage\x00\xc3(",
    "truncated-json": json.dumps(GOOD, indent=1).encode()[:37],
    "newer-version": json.dumps(
        {"version": 99, "last_lesson": "linear-1d", "lessons": {}}
    ).encode(),
    "a-list": b"[1, 2, 3]",
    "a-string": b'"progress"',
    "null": b"null",
    "lessons-not-a-dict": json.dumps({"version": 1, "lessons": ["linear-1d"]}).encode(),
    "empty": b"",
    "nested-100000-deep": b"[" * 100_000 + b"]" * 100_000,
    "bom-then-garbage": b"\xef\xbb\xbf{not json",
}


def backups(directory: Path) -> list[Path]:
    return sorted(directory.glob("progress.unreadable-*.json"))


def temp_files(directory: Path) -> list[Path]:
    return sorted(directory.glob(".progress-*"))


def assert_usable(progress: Progress, solved_in: str = "mlp-digits") -> None:
    """The record works: visits and answers are kept in memory (and on disk where it can be written)."""
    progress.visit("two-layer-relu", "derive")
    progress.solve(solved_in, "grad-w", 2)
    assert progress.last_lesson == "two-layer-relu"
    assert progress.state("two-layer-relu") == IN_PROGRESS
    assert progress.solved(solved_in) == ["grad-w"]
    assert progress.state(solved_in, 2) == IN_PROGRESS
    progress.solve(solved_in, "other", 2)
    assert progress.state(solved_in, 2) == DONE


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_unreadable_file_is_kept_as_a_backup_and_a_fresh_record_starts(tmp_path, kind):
    path = tmp_path / "progress.json"
    original = BAD_FILES[kind]
    path.write_bytes(original)

    progress = Progress(path)

    assert progress.notice, "the learner is told"
    assert "could not be read" in progress.notice
    found = backups(tmp_path)
    assert len(found) == 1, found
    assert found[0].read_bytes() == original, "the backup holds the learner's bytes, unchanged"
    assert found[0].name in progress.notice, "the notice names the backup"
    assert progress.last_lesson is None and progress.state("linear-1d") == NOT_STARTED
    assert_usable(progress)
    # the fresh record is a whole, valid file that a new tutor reads without complaint
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved["last_lesson"] == "two-layer-relu" and saved["version"] == 1
    again = Progress(path)
    assert again.notice == "" and again.state("two-layer-relu") == IN_PROGRESS
    assert found[0].read_bytes() == original
    assert temp_files(tmp_path) == []


def test_newer_version_says_so(tmp_path):
    path = tmp_path / "progress.json"
    path.write_bytes(BAD_FILES["newer-version"])
    progress = Progress(path)
    assert "newer" in progress.notice and "99" in progress.notice


def test_a_good_file_round_trips_without_a_notice(tmp_path):
    path = tmp_path / "progress.json"
    path.write_text(json.dumps(GOOD), encoding="utf-8")
    progress = Progress(path)
    assert progress.notice == "" and backups(tmp_path) == []
    assert progress.last_lesson == "linear-1d"
    assert progress.state("linear-1d") == IN_PROGRESS and progress.state("single-neuron") == DONE


@pytest.mark.parametrize(
    "entry",
    [
        {"solved": 5},
        {"solved": "grad-w"},
        {"parts": "derive"},
        {"parts": 3, "solved": None},
        {"done": "yes", "solved": {"a": 1}},
    ],
)
def test_entries_of_the_wrong_type_do_not_break_the_tutor(tmp_path, entry):
    """Valid JSON, right version, but a lesson's entry holds the wrong types (hand-edited, or
    written by a buggy tutor): the record still answers and still takes visits and answers."""
    path = tmp_path / "progress.json"
    path.write_text(
        json.dumps(
            {
                "version": 1,
                "last_lesson": "two-layer-relu",
                "lessons": {"two-layer-relu": entry, "single-neuron": entry},
            }
        ),
        encoding="utf-8",
    )
    progress = Progress(path)
    assert progress.state("two-layer-relu", 3) in (NOT_STARTED, IN_PROGRESS, DONE)
    assert progress.solved("two-layer-relu") in (
        [],
        ["grad-w"],
    )  # no list of exercises was recorded
    assert_usable(progress, solved_in="single-neuron")
    json.loads(path.read_text(encoding="utf-8"))


def test_a_second_bad_file_does_not_overwrite_the_first_backup(tmp_path, monkeypatch):
    """Two unreadable files set aside within the same second: both sets of bytes survive."""
    import tutor.progress as progress_module

    monkeypatch.setattr(progress_module.time, "strftime", lambda fmt, *a: "20250101-120000")
    path = tmp_path / "progress.json"
    path.write_bytes(b"{first broken")
    Progress(path)
    path.write_bytes(b"{second broken")
    Progress(path)
    kept = sorted(p.read_bytes() for p in tmp_path.glob("progress.unreadable-*"))
    assert kept == [b"{first broken", b"{second broken"]


def test_parent_is_a_regular_file(tmp_path):
    """The data directory cannot exist (its name is taken by a file; root ignores chmod, so this
    is how an unusable directory is simulated): the tutor runs for the session, without saving."""
    blocker = tmp_path / "home"
    blocker.write_bytes(b"not a directory")
    path = blocker / "progress.json"
    progress = Progress(path)
    assert progress.notice and "starting afresh" in progress.notice
    assert_usable(progress)
    progress.save()
    assert blocker.read_bytes() == b"not a directory"
    assert temp_files(tmp_path) == []


def test_parent_is_a_regular_file_two_levels_up(tmp_path):
    blocker = tmp_path / "data"
    blocker.write_bytes(b"x")
    progress = Progress(blocker / "backprop-tutor" / "progress.json")
    assert progress.notice
    assert_usable(progress)
    assert blocker.read_bytes() == b"x"


def test_directory_becomes_unwritable_during_the_session(tmp_path):
    """Readable at start (no file yet), then the directory goes: saving fails, the record lives on
    in memory, and the notice says progress lasts this session only."""
    home = tmp_path / "home"
    home.mkdir()
    path = home / "progress.json"
    progress = Progress(path)
    assert progress.notice == ""
    home.rmdir()
    home.write_bytes(b"a file where the directory was")
    progress.visit("linear-1d", "explain")
    assert "cannot be saved" in progress.notice and "this session only" in progress.notice
    assert_usable(progress)
    assert home.read_bytes() == b"a file where the directory was"


def test_mkstemp_refused(tmp_path, monkeypatch):
    """A read-only directory (what a non-root learner meets): no exception, a notice, and the
    existing file untouched."""
    path = tmp_path / "progress.json"
    path.write_text(json.dumps(GOOD), encoding="utf-8")
    before = path.read_bytes()
    progress = Progress(path)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    progress.visit("two-layer-relu", "train")
    assert "cannot be saved" in progress.notice and "Permission denied" in progress.notice
    assert path.read_bytes() == before
    assert_usable(progress)


def _saved_once(tmp_path) -> tuple[Path, bytes]:
    path = tmp_path / "progress.json"
    first = Progress(path)
    first.visit("linear-1d", "derive")
    first.solve("linear-1d", "ex1", 3)
    return path, path.read_bytes()


@pytest.mark.parametrize("where", ["replace", "fsync"])
def test_a_save_that_fails_half_way_leaves_the_old_file_whole(tmp_path, monkeypatch, where):
    path, before = _saved_once(tmp_path)
    progress = Progress(path)
    assert progress.notice == ""
    calls = []

    def boom(*args, **kwargs):
        calls.append(args)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, where, boom)
    progress.visit("two-layer-relu", "train")
    assert calls, f"os.{where} was reached"
    assert path.read_bytes() == before, "the old file is intact"
    assert temp_files(tmp_path) == [], "no temporary file is left behind"
    assert "cannot be saved" in progress.notice and "No space left on device" in progress.notice
    assert progress.state("two-layer-relu") == IN_PROGRESS  # still kept for this session
    monkeypatch.undo()
    assert Progress(path).state("two-layer-relu") == NOT_STARTED
    assert Progress(path).state("linear-1d") == IN_PROGRESS


def test_interrupted_save_removes_its_temporary_file(tmp_path, monkeypatch):
    """ctrl+c (a BaseException) during os.replace: it propagates, the old file is whole and the
    temporary file is gone."""
    path, before = _saved_once(tmp_path)
    progress = Progress(path)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        progress.visit("two-layer-relu", "train")
    assert path.read_bytes() == before
    assert temp_files(tmp_path) == []


def test_saves_are_whole_json_with_no_temp_files_left(tmp_path):
    path = tmp_path / "progress.json"
    progress = Progress(path)
    for i in range(50):
        progress.visit(f"lesson-{i}", "explain")
        data = json.loads(path.read_text(encoding="utf-8"))
        assert data["last_lesson"] == f"lesson-{i}" and len(data["lessons"]) == i + 1
    assert temp_files(tmp_path) == []


def _check_one_writer(raw: str, prefixes: tuple[str, ...]) -> None:
    """A whole file in which each writer's saves are merged: every writer has a whole prefix of its
    work (saves merge what the other wrote, under a lock), and the last lesson is one writer's."""
    data = json.loads(raw)  # a half-written file fails here
    assert isinstance(data, dict) and data["version"] == 1
    keys = set(data["lessons"])
    for owner in {k.split("-")[0] for k in keys}:
        assert owner in prefixes
        mine = {k for k in keys if k.startswith(owner + "-")}
        assert mine == {f"{owner}-{i}" for i in range(len(mine))}, (
            f"{owner} lost a save: {sorted(mine)[:6]}"
        )
    if keys:
        assert data["last_lesson"] in keys


def test_two_tutors_in_threads_write_the_same_file(tmp_path):
    path = tmp_path / "progress.json"
    writers = {name: Progress(path) for name in ("a", "b")}  # both opened before either writes
    rounds = 150
    errors: list[BaseException] = []
    stop = threading.Event()

    def write(name: str) -> None:
        try:
            progress = writers[name]
            for i in range(rounds):
                progress.visit(f"{name}-{i}", "explain")
                progress.solve(f"{name}-{i}", "ex", 1)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    reads = 0

    def read() -> None:
        nonlocal reads
        try:
            while not stop.is_set():
                try:
                    raw = path.read_text(encoding="utf-8")
                except FileNotFoundError:
                    continue
                _check_one_writer(raw, ("a", "b"))
                reads += 1
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    reader = threading.Thread(target=read)
    threads = [threading.Thread(target=write, args=(n,)) for n in writers]
    reader.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    stop.set()
    reader.join(timeout=10)
    assert not errors, errors[0]
    assert reads > 0
    final = json.loads(path.read_text(encoding="utf-8"))
    _check_one_writer(json.dumps(final), ("a", "b"))
    assert len(final["lessons"]) == 2 * rounds, "no writer's update is lost"
    assert temp_files(tmp_path) == []
    for progress in writers.values():
        assert progress.notice == ""


def test_one_tutor_saving_from_two_threads(tmp_path):
    """The UI thread and a worker thread share one Progress: no exception, one valid file."""
    path = tmp_path / "progress.json"
    progress = Progress(path)
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            for i in range(100):
                progress.visit(f"{name}{i}", "train")
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in ("x", "y")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors[0]
    data = json.loads(path.read_text(encoding="utf-8"))
    assert len(data["lessons"]) == 200
    assert temp_files(tmp_path) == []


def test_the_train_place_keeps_backend_variant_and_clean_kept_runs(tmp_path):
    """Issue 27, item 5: backend, variant and kept runs are remembered; a malformed kept run (a
    hand-edited file) is dropped, never trusted, and NaN-free rows survive a save and a load."""
    good = {
        "label": "numpy (seed004)",
        "backend": "numpy",
        "variant": "seed004",
        "step": 40,
        "total": 40,
        "settings": {"lr": 0.1, "epochs": 40, "optimizer": "sgd", "evil": "x", "seed": True},
        "rows": [
            [1, 1, 2.5, 2.5, 2.5, None],
            [2, 3, 1.0, 2.0, 1.5, 1.75],
            ["bad"],
            [1, 2, 3, 4, "5", 6],
        ],
    }
    p = Progress(tmp_path / "progress.json")
    p.remember(
        "linear-1d",
        backend="nn",
        variant="seed004",
        kept=[good, {"label": 3}, "nonsense", {**good, "rows": "no"}],
    )
    p.save()
    place = Progress(tmp_path / "progress.json").place("linear-1d")
    assert place["backend"] == "nn" and place["variant"] == "seed004"
    [kept] = place["kept"]
    assert kept["settings"] == {"lr": 0.1, "epochs": 40, "optimizer": "sgd"}
    assert kept["rows"] == [[1, 1, 2.5, 2.5, 2.5, None], [2, 3, 1.0, 2.0, 1.5, 1.75]]
    assert (kept["label"], kept["step"], kept["total"]) == ("numpy (seed004)", 40, 40)
