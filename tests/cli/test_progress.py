"""The progress file under stress: corrupt, truncated, from a newer tutor, not a record at all,
in a directory that cannot be written, written by two tutors at once, and a save that dies
half-way. In each case the tutor keeps working, says what happened once, and never loses the
learner's bytes (an unreadable file is kept as a backup)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from tests.support import ROOT
from tests.unit.test_progress import _check_one_writer, temp_files

WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from tutor.progress import Progress

    path, name, rounds = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    progress = Progress(path)
    print("ready", flush=True)
    sys.stdin.readline()                   # start together
    for i in range(rounds):
        progress.visit(f"{name}-{i}", "explain")
    print("notice:" + progress.notice, flush=True)
""")


def test_two_tutor_processes_write_the_same_file(tmp_path):
    path = tmp_path / "progress.json"
    rounds = 300
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), name, str(rounds)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("a", "b")
    ]
    try:
        for p in procs:
            assert p.stdout.readline().strip() == "ready", p.stderr.read()
        for p in procs:
            p.stdin.write("go\n")
            p.stdin.flush()
        reads = 0
        while any(p.poll() is None for p in procs):
            try:
                raw = path.read_text(encoding="utf-8")
            except FileNotFoundError:
                continue
            _check_one_writer(raw, ("a", "b"))
            reads += 1
        outs = [p.communicate(timeout=60) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, (out, err) in zip(procs, outs, strict=False):
        assert p.returncode == 0, err
        assert "notice:\n" in out, out  # neither writer was told anything went wrong
    assert reads > 0
    final = path.read_text(encoding="utf-8")
    _check_one_writer(final, ("a", "b"))
    assert len(json.loads(final)["lessons"]) == 2 * rounds, "no writer's update is lost"
    assert temp_files(tmp_path) == []
