"""The wheel carries the lessons, and a plain (non-editable) install finds them."""

from __future__ import annotations

import subprocess
import sys
import zipfile

from tests.support import LISTED_IDS, ROOT


def test_wheel_ships_lessons_and_installs(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        timeout=600,
    )
    wheel = next(tmp_path.glob("backprop_tutor-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for lesson in LISTED_IDS:
        assert f"tutor/lessons/{lesson}.toml" in names
    assert "tutor/ui/tutor.tcss" in names
    assert "tutor/code/child.py" in names  # the code check's child process runs this file
    assert "tutor/code/jail.py" in names  # and loads its sandbox from this one
    assert "tutor/serve/templates/index.html" in names  # the served page (backprop-tutor serve)
    assert "tutor/train/data/python_names.txt" in names  # the python-names dataset's frozen corpus
    # a fresh environment (dependencies borrowed from this one) with the wheel installed, not editable
    env_dir = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", str(env_dir)],
        check=True,
        timeout=300,
    )
    py = env_dir / "bin" / "python"
    subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
        timeout=300,
    )
    out = subprocess.run(
        [str(env_dir / "bin" / "backprop-tutor"), "--list"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=True,
    ).stdout
    assert [line.split()[0] for line in out.splitlines()] == list(LISTED_IDS)
    where = subprocess.run(
        [
            str(py),
            "-c",
            "import tutor, tutor.lesson as l; print(tutor.__file__); print(l.lessons_dir())",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=True,
    ).stdout.split()
    assert str(env_dir) in where[0] and where[1].startswith(str(env_dir))
