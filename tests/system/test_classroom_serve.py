"""`backprop-tutor serve` as a class meets it: the class code (missing, wrong, right) before any
tutor process starts, a full class refused politely, learners (simulated websocket clients on
127.0.0.1) who open a lesson and take a step, every tutor process gone after its tab closes, and
ctrl+c ending the server with every learner's process."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys

import aiohttp
import psutil
import pytest

from tests.support import HANG_BOUND, ROOT, wait_for
from tutor.serve.probe import Learner

LEARNERS = 4  # the load test's smaller sibling (bench/bench_classroom.py runs 20)


class Served:
    def __init__(self, tmp_path, *args: str):
        env = dict(os.environ, PYTHONIOENCODING="utf-8")
        for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
            env[name] = str(tmp_path / name.lower())
        self.class_dir = tmp_path / "class"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tutor",
                "serve",
                "--port",
                "0",
                "--class",
                str(self.class_dir),
                *args,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
        )
        self.banner = [self.proc.stdout.readline() for _ in range(3)]
        found = re.search(r"open (http://127\.0\.0\.1:\d+)/", self.banner[1])
        assert found, self.banner + [
            self.proc.stderr.read() if self.proc.poll() is not None else ""
        ]
        self.base = found.group(1)
        self.server = psutil.Process(self.proc.pid)

    def tutors(self) -> list[psutil.Process]:
        """The learners' processes (and anything they started) still alive."""
        alive = []
        for p in self.server.children(recursive=True):
            try:
                if p.status() != psutil.STATUS_ZOMBIE:
                    alive.append(p)
            except psutil.NoSuchProcess:
                pass
        return alive

    def stop(self) -> tuple[int, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        out, _ = self.proc.communicate(timeout=HANG_BOUND)
        return self.proc.returncode, out


@pytest.fixture
def served(tmp_path):
    made: list[Served] = []

    def start(*args: str) -> Served:
        made.append(Served(tmp_path, *args))
        return made[-1]

    yield start
    for s in made:  # ctrl+c, as a teacher ends it: the learners' processes end with it
        try:
            s.stop()
        except subprocess.TimeoutExpired:
            s.proc.kill()
            s.proc.wait(timeout=HANG_BOUND)


async def get(url: str, **kw) -> tuple[int, str]:
    jar = aiohttp.CookieJar(unsafe=True)
    async with (
        aiohttp.ClientSession(cookie_jar=jar) as session,
        session.request(kw.pop("method", "GET"), url, allow_redirects=False, **kw) as r,
    ):
        return r.status, await r.text()


async def test_a_missing_or_wrong_class_code_gets_a_plain_page_and_starts_nothing(served):
    s = served("--code", "owl42")
    assert s.banner[1].rstrip() == f"open {s.base}/  (class code: owl42)"
    status, page = await get(f"{s.base}/")
    assert (
        status == 401
        and "Type the class code your teacher gave you." in page
        and 'name="code"' in page
    )
    assert "textual.js" not in page
    status, page = await get(f"{s.base}/ws")
    assert (status, page) == (403, "The class code is missing or wrong.\n")
    status, page = await get(f"{s.base}/code", method="POST", data={"code": "owl43"})
    assert status == 403 and "That is not the class code. Ask your teacher for it." in page
    status, page = await get(f"{s.base}/ws", cookies={"backprop-tutor-class": "forged"})
    assert status == 403
    with pytest.raises(RuntimeError, match=r"the class code was refused \(403\)"):
        await Learner(s.base, code="OWL42").connect()
    assert s.tutors() == []  # nothing started for any of them
    assert not s.class_dir.exists() or list(s.class_dir.iterdir()) == []


async def test_the_right_class_code_opens_the_tutor_which_asks_the_name(served):
    s = served("--code", "owl42")
    learner = Learner(s.base, code="owl42")
    await learner.connect()
    try:
        await learner.wait_for("Type your name and press Enter.", timeout=HANG_BOUND)
        assert len(s.tutors()) == 1
        async with (
            aiohttp.ClientSession(cookie_jar=learner._session.cookie_jar) as session,
            session.get(f"{s.base}/") as r,
        ):
            page = await r.text()
        assert (
            r.status == 200
            and "textual.js" in page
            and f"ws://{s.base[len('http://') :]}/ws" in page
        )
    finally:
        await learner.close()
    assert wait_for(lambda: s.tutors() == [], HANG_BOUND)


async def test_a_host_header_that_is_no_host_name_gets_no_page(served):
    s = served()
    status, page = await get(f"{s.base}/", headers={"Host": 'x"><script>alert(1)</script>'})
    assert (
        status == 400
        and "That is not a host name this server answers to." in page
        and "<script>" not in page
    )
    assert s.tutors() == []


async def test_a_full_class_refuses_the_next_learner_politely(served):
    s = served("--max-learners", "1")
    assert "to at most 1 learners" in s.banner[0]
    first = Learner(s.base)
    await first.connect()
    try:
        await first.wait_for("Type your name", timeout=HANG_BOUND)
        status, page = await get(f"{s.base}/")
        assert (
            status == 503
            and "The class is full (1 learners at once). Try again in a while." in page
        )
        status, _ = await get(f"{s.base}/ws")
        assert status == 503
        assert len(s.tutors()) == 1
    finally:
        await first.close()
    assert wait_for(lambda: s.tutors() == [], HANG_BOUND)
    status, _ = await get(f"{s.base}/")
    assert status == 200


async def visit(learner: Learner, name: str) -> None:
    """Name, the first lesson (single-neuron), Derive, one step."""
    await learner.connect()
    at = await learner.wait_for("Type your name", timeout=HANG_BOUND * 2)
    await learner.press(name, "enter")
    at = await learner.wait_for("[single-neuron]", at, timeout=HANG_BOUND * 2)
    await learner.press("enter")
    at = await learner.wait_for("Explain", at, timeout=HANG_BOUND * 2)
    await learner.press("d")
    at = await learner.wait_for("Step 1/", at, timeout=HANG_BOUND * 4)
    await learner.press("n")
    await learner.wait_for("Step 2/", at, timeout=HANG_BOUND * 4)


async def test_learners_open_a_lesson_take_a_step_and_leave_nothing_behind(served):
    s = served()
    learners = [Learner(s.base) for _ in range(LEARNERS)]
    try:
        await asyncio.gather(*(visit(one, f"learner {i}") for i, one in enumerate(learners)))
        tutors = s.tutors()
        assert len([p for p in tutors if p.parent().pid == s.proc.pid]) == LEARNERS
    finally:
        await asyncio.gather(*(one.close() for one in learners))
    assert wait_for(lambda: s.tutors() == [], HANG_BOUND), [p.cmdline() for p in s.tutors()]
    # each learner's place was saved as the tab closed: the Derive part, step 2
    from tutor.progress import learner_progress

    for i in range(LEARNERS):
        place = learner_progress(s.class_dir, f"learner {i}").place("single-neuron")
        assert (place.get("part"), place.get("step")) == ("derive", 1), place


async def test_ctrl_c_stops_the_server_and_every_learners_process(served):
    s = served()
    learners = [Learner(s.base) for _ in range(2)]
    for one in learners:
        await one.connect()
    for one in learners:
        await one.wait_for("Type your name", timeout=HANG_BOUND)
    tutors = s.tutors()
    assert len(tutors) == 2
    rc, out = s.stop()
    assert rc == 0 and out.rstrip().endswith("backprop-tutor: stopped")
    assert wait_for(
        lambda: not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in tutors),
        HANG_BOUND,
    )
    for one in learners:
        await asyncio.wait_for(one.closed.wait(), HANG_BOUND)
        await one.close()
