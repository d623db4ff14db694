"""An output that cannot be written (issue 25, item 7): each printing command, run as a real
process with its standard output on a full disk (/dev/full) or closed (`>&-`), says so in one line
on stderr and exits 2; a pipe closed early (`| head -1`) ends it quietly. Never a traceback, never
"Exception ignored" from the interpreter's last flush."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support import CLI_TIMEOUT, ROOT

COMMANDS = {
    "list": ("--list",),
    "check": ("--check", "lessons/linear-1d.toml"),
    "export-code": ("linear-1d", "--export-code", "numpy"),
    "template": ("two-layer-relu", "--code", "backward", "--template"),
    "code": ("two-layer-relu", "--code", "backward={solution}"),
    "headless": ("linear-1d", "--headless", "--json", "--log-every", "1"),
    "derive": ("derive", "c = a*b; L = c**2", "--at", "a=1, b=2"),
    "playground": ("playground", "--headless", "--epochs", "2"),
}


@pytest.fixture(scope="module")
def solution(tmp_path_factory) -> str:
    """A file for `--code backward=FILE`: the exercise's starting file."""
    path = tmp_path_factory.mktemp("code") / "bw.py"
    with open(path, "w") as out:
        subprocess.run(
            [sys.executable, "-m", "tutor", "two-layer-relu", "--code", "backward", "--template"],
            stdout=out,
            check=True,
            cwd=ROOT,
            timeout=CLI_TIMEOUT,
            env=env(),
        )
    return str(path)


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONIOENCODING": "utf-8"}


def shell(command: tuple[str, ...], redirect: str, solution: str) -> subprocess.CompletedProcess:
    """`python -m tutor COMMAND` with its stdout as `redirect` says, in bash (stdin from /dev/null)."""
    args = [a.format(solution=solution) for a in command]
    return subprocess.run(
        [
            "bash",
            "-o",
            "pipefail",
            "-c",
            f'"$@" {redirect}',
            "bash",
            sys.executable,
            "-m",
            "tutor",
            *args,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env(),
        timeout=CLI_TIMEOUT,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize("name", COMMANDS)
def test_a_full_disk_is_one_line_and_exit_2(name, solution):
    proc = shell(COMMANDS[name], "> /dev/full", solution)
    assert (proc.returncode, proc.stderr) == (
        2,
        "backprop-tutor: cannot write the output: No space left on device\n",
    )


@pytest.mark.parametrize("name", COMMANDS)
def test_a_closed_stdout_is_one_line_and_exit_2(name, solution):
    proc = shell(COMMANDS[name], ">&-", solution)
    assert (proc.returncode, proc.stderr) == (
        2,
        "backprop-tutor: cannot write the output: standard output is closed\n",
    )


@pytest.mark.parametrize("name", ["headless", "export-code", "list"])
def test_a_pipe_closed_early_ends_quietly(name, solution):
    proc = shell(COMMANDS[name], "| head -n 1", solution)
    assert len(proc.stdout.splitlines()) == 1
    assert (proc.returncode, proc.stderr) == (0, "")
