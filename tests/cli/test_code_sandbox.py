"""Issue 25, item 2: a learner's code runs in a sandbox. Each test hands the real command line
(`--code backward=FILE`) a file that attempts one escape through numpy's own modules (the red
team's route, `np._core._methods.os`), and asserts that nothing happened outside the child and
that no process of it is left. Each runs twice: with the kernel's isolation (namespaces, seccomp:
this machine has them) and with only the floor (resource limits and the audit hook), as on a
system without them."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from tutor.cli import main
from tutor.code import runner

CHILD = str(runner.CHILD)
# the attempts run once, as the file is loaded; the function itself returns zeros
HEAD = "import numpy as np\nos = np._core._methods.os\n"
TAIL = "\n\ndef backward(x, y, w1, w2):\n    return w1 * 0, w2 * 0\n"


def leftovers(parent: int) -> list[psutil.Process]:
    """Processes of a child this `parent` started (child.py's argument is the parent's pid)."""
    found = []
    for p in psutil.process_iter(["cmdline"]):
        cmd = p.info["cmdline"] or []
        if CHILD in cmd and cmd[-1] == str(parent):
            found.append(p)
    return found


@pytest.fixture(params=["kernel", "floor"])
def level(request, monkeypatch, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "secret.txt").write_text("the user's secret")
    monkeypatch.setenv("HOME", str(home))
    if request.param == "floor":
        monkeypatch.setenv(runner.FLOOR, "floor")
    return request.param


def check(tmp_path, capsys, body: str, name: str = "attempt.py") -> dict:
    """Run `--code backward=FILE --json` in this process on HEAD + body + TAIL; the codecheck event."""
    path = tmp_path / name
    path.write_text(HEAD + body + TAIL)
    code = main(["two-layer-relu", "--code", f"backward={path}", "--json"])
    event = json.loads(capsys.readouterr().out)
    assert code == (0 if event["ok"] else 1)
    assert leftovers(os.getpid()) == []
    return event


def printed(event: dict) -> str:
    """The last line the learner's code printed (what its attempts raised)."""
    return event["stdout"].strip().splitlines()[-1]


def attempts(*lines: str) -> str:
    """Each line tried in turn; what it raised (or ALLOWED) printed as a list."""
    out = ["seen = []\n"]
    for line in lines:
        out.append(
            f"try:\n    {line}\n    seen.append('ALLOWED')\n"
            f"except BaseException as e:\n    seen.append(type(e).__name__)\n"
        )
    return "".join(out) + "print(seen)\n"


def test_the_level_is_reported_in_json(level, tmp_path, capsys):
    sandbox = check(tmp_path, capsys, "")["sandbox"]
    assert (
        sandbox["audit_hook"] is True
        and sandbox["die_with_tutor"] is True
        and sandbox["no_new_privs"] is True
    )
    assert set(sandbox["limits"]) == {"as", "cpu", "fsize", "nofile", "nproc", "core"}
    if level == "kernel":
        # what this kernel allows a process like the child (a container may refuse namespaces)
        unshare = "import ctypes, sys; sys.exit(ctypes.CDLL(None).unshare(0x10000000 | 0x40000000 | 0x20000))"
        probe = subprocess.run([sys.executable, "-I", "-c", unshare], check=False, timeout=60)
        has = probe.returncode == 0
        assert (
            sandbox["namespaces"] == ["user", "network", "mount"]
            if has
            else sandbox["namespaces"] in ([], ["network"])
        )
        assert sandbox["read_only_fs"] is has and sandbox["home_hidden"] is has
        assert sandbox["seccomp"] is True  # x86-64 and arm64 Linux: the filter is installed
    else:
        assert (
            sandbox["namespaces"] == [] and not sandbox["seccomp"] and not sandbox["read_only_fs"]
        )


def test_writes_outside_its_folder_fail(level, tmp_path, capsys):
    target = tmp_path / "written"
    event = check(
        tmp_path,
        capsys,
        attempts(
            f"os.close(os.open({str(target)!r}, os.O_WRONLY | os.O_CREAT))",
            f"os.sys.modules['io'].open({str(target)!r}, 'w')",
            f"os.rename({str(tmp_path / 'attempt.py')!r}, {str(target)!r})",
            f"os.mkdir({str(tmp_path / 'made')!r})",
            f"os.remove({str(tmp_path / 'attempt.py')!r})",
            f"np.save({str(target)!r}, np.zeros(2))",
            "os.close(os.open('inside', os.O_WRONLY | os.O_CREAT))",
        ),
    )
    assert printed(event) == str(
        ["PermissionError"] * 6 + ["ALLOWED"]
    )  # its own folder is writable
    assert (
        not target.exists()
        and not (tmp_path / "made").exists()
        and (tmp_path / "attempt.py").exists()
    )


def test_the_users_files_cannot_be_read_or_listed(level, tmp_path, capsys):
    secret = Path(os.environ["HOME"]) / "secret.txt"
    event = check(
        tmp_path,
        capsys,
        attempts(
            f"print(os.read(os.open({str(secret)!r}, os.O_RDONLY), 100))",
            f"print(np.loadtxt({str(secret)!r}, dtype=str))",
            f"print(os.listdir({os.environ['HOME']!r}))",
            "print(open('/etc/passwd').read())",
        ),
    )
    assert (
        printed(event) == "['PermissionError', 'PermissionError', 'PermissionError', 'NameError']"
    )
    assert "secret" not in str(event) and "root:" not in str(event)


def test_no_connection_reaches_a_listening_port(level, tmp_path, capsys):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.setblocking(False)
        port = server.getsockname()[1]
        event = check(
            tmp_path,
            capsys,
            attempts(
                "import socket",
                f"np._core._methods.os.sys.modules['socket'].create_connection(('127.0.0.1', {port}))",
            ),
        )
        assert printed(event) == "['ImportError', 'KeyError']"
        with pytest.raises(BlockingIOError):
            server.accept()  # nothing is waiting: no connection arrived


def test_no_program_or_process_starts(level, tmp_path, capsys):
    marker = tmp_path / "ran"
    event = check(
        tmp_path,
        capsys,
        attempts(
            f"os.system('touch {marker}')",
            f"os.posix_spawn('/usr/bin/touch', ['touch', {str(marker)!r}], {{}})",
            f"os.execv('/usr/bin/touch', ['touch', {str(marker)!r}])",
            "import subprocess",
            "os.sys.modules['builtins'].__import__('_posixsubprocess')",
        ),
    )
    assert (
        printed(event)
        == "['PermissionError', 'PermissionError', 'PermissionError', 'ImportError', 'PermissionError']"
    )
    assert not marker.exists()


def test_a_setsid_double_fork_daemon_is_not_left(level, tmp_path, capsys):
    marker = tmp_path / "daemon"
    event = check(
        tmp_path,
        capsys,
        attempts(
            "os.setsid()",
            f"pid = os.fork()\n    if pid == 0:\n        os.setsid()\n        if os.fork() == 0:\n"
            f"            os.close(os.open({str(marker)!r}, os.O_WRONLY | os.O_CREAT))\n        os._exit(0)",
            "os.forkpty()",
        ),
    )
    assert printed(event) in (
        "['PermissionError', 'PermissionError', 'PermissionError']",
        "['OSError', 'PermissionError', 'PermissionError']",
    )
    assert not marker.exists()


def test_signals_to_the_tutor_are_refused(level, tmp_path):
    """Run as its own process: a signal that got through would end (or stop) the tutor."""
    path = tmp_path / "kill.py"
    path.write_text(
        HEAD
        + attempts(
            "os.kill(os.getppid(), 19)",
            "os.kill(os.getppid(), 9)",
            "os.killpg(0, 9)",
            "os.kill(-1, 9)",
        )
        + TAIL
    )
    env = dict(os.environ)
    done = subprocess.run(
        [sys.executable, "-m", "tutor", "two-layer-relu", "--code", f"backward={path}", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    event = json.loads(done.stdout)
    assert (
        printed(event)
        == "['PermissionError', 'PermissionError', 'PermissionError', 'PermissionError']"
    )


def test_the_reference_is_nowhere_the_code_can_reach(level, tmp_path, capsys):
    """The expected gradients and the reference solution are never sent to the child: its folder
    is empty, the tutor's files are unreadable, and nothing reachable from its frames holds them."""
    template = Path(runner.__file__).with_name("template.py")
    event = check(
        tmp_path,
        capsys,
        attempts(
            "print(os.listdir('.'))",
            f"print(os.read(os.open({str(template)!r}, os.O_RDONLY), 10))",
            "print('reference found' if any('dz1 = ' + 'dh1 *' in repr(f.f_locals) + repr(f.f_globals) "
            "for f in frames()) else 'nothing found')",
            "print(os.sys.modules['builtins'].__import__('gc').get_objects())",
        ).replace("seen = []\n", "seen = []\n" + FRAMES),
    )
    assert event["stdout"].splitlines() == [
        "[]",
        "nothing found",
        "['ALLOWED', 'PermissionError', 'ALLOWED', 'PermissionError']",
    ]


FRAMES = (
    "def frames():\n    try:\n        1 / 0\n    except ZeroDivisionError as e:\n"
    "        f = e.__traceback__.tb_frame\n    while f is not None:\n        yield f\n"
    "        f = f.f_back\n"
)


def test_a_forged_result_is_a_verdict(level, tmp_path, capsys):
    forge = (
        "for fd in range(3, 12):\n    try:\n        os.write(fd, b'BPT1' + (10**9).to_bytes(8, 'big'))\n"
        "    except OSError:\n        pass\n"
    )
    event = check(tmp_path, capsys, forge)
    assert event["ok"] is False
    assert (
        event["error"]
        == "the checking process's result could not be read (the result is cut short): was it written over?"
    )
    event = check(
        tmp_path,
        capsys,
        "os.write(1, b'BPT1')\nos.close(os.open('result.json', os.O_WRONLY | os.O_CREAT))\n"
        "os.sys.modules['posix']._exit(0)\n",
    )
    assert (
        event["error"]
        == "the checking process's result could not be read (no result came back): was it written over?"
    )
    huge = (
        'head = b\'{"runs": [], "arrays": [{"key": "k", "dtype": "|O", "shape": [1]}]}\'\n'
        "for fd in range(3, 12):\n    try:\n        os.write(fd, b'BPT1' + len(head).to_bytes(8, 'big') + head)\n"
        "        os.sys.modules['posix']._exit(0)\n    except OSError:\n        pass\n"
    )
    event = check(tmp_path, capsys, huge)
    assert event["error"] == (
        "the checking process's result could not be read (an array in the result has an "
        "unknown type or shape): was it written over?"
    )


@pytest.mark.parametrize(
    "sig", [signal.SIGHUP, signal.SIGTERM, signal.SIGKILL], ids=lambda s: s.name
)
def test_a_blocked_read_then_a_signal_to_the_tutor_leaves_no_process(sig, level, tmp_path):
    """SIGHUP (a closed terminal) and SIGTERM end the check through its cleanup; SIGKILL (a crash)
    runs no cleanup at all, and the child still dies with the tutor (PR_SET_PDEATHSIG)."""
    path = tmp_path / "block.py"
    path.write_text(
        HEAD + "r, w = os.pipe()\nos.close(os.open('blocked', os.O_WRONLY | os.O_CREAT))\n"
        "os.read(r, 1)\n" + TAIL
    )
    tutor = subprocess.Popen(
        [sys.executable, "-m", "tutor", "two-layer-relu", "--code", f"backward={path}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        child = wait_for_blocked_child(tutor.pid)
        work = child.cwd()
        tutor.send_signal(sig)
        assert tutor.wait(timeout=60) == (-sig if sig == signal.SIGKILL else 128 + sig)
        _, alive = psutil.wait_procs([child], timeout=60)
        assert alive == [] and leftovers(tutor.pid) == []
        if sig != signal.SIGKILL:
            assert not os.path.exists(work)  # its folder is removed too
        else:
            shutil.rmtree(work)  # a killed tutor leaves the (empty-made) folder behind
    finally:
        tutor.kill()
        tutor.wait()


def wait_for_blocked_child(parent: int) -> psutil.Process:
    """The child, once its code has reached the blocked read (it made the file 'blocked' first)."""
    import time

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for p in leftovers(parent):
            try:
                if os.path.exists(os.path.join(p.cwd(), "blocked")):
                    return p
            except psutil.Error:
                pass
        psutil.wait_procs(
            [psutil.Process(parent)], timeout=0.05
        )  # a short poll that ends early if it exits
    raise AssertionError("the child never reached its blocked read")
