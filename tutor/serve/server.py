"""`backprop-tutor serve`: the tutor served to browsers with textual-serve, one tutor process per
browser tab (its websocket), each learner's progress in the class directory.

On top of textual-serve's Server: a class code a browser must present (a form, then a cookie)
before any page or process; the most learners at once; each tutor started without a shell in a
process group of its own, so that a closed tab (or the server's end) ends the tutor and anything
it started (a code check's child) within a bounded time."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import html
import logging
import os
import re
import secrets
import signal
import socket
import sys
from pathlib import Path

from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

from tutor.progress import CLASS_ENV

log = logging.getLogger("backprop-tutor.serve")

COOKIE = "backprop-tutor-class"
QUIT_GRACE = 1.5  # seconds a closed tab's tutor has to save and leave before its group is killed
# Memory budgeted per learner: ~40 MB idle, ~300 MB once Derive has loaded sympy and torch
# (bench/bench_classroom.py).
LEARNER_MB = 300
MAX_SIZE = (500, 200)  # columns and rows of a browser's terminal, at most
HOST = re.compile(r"[A-Za-z0-9.\-]+(:\d+)?|\[[0-9A-Fa-f:.]+\](:\d+)?")
STATIC = Path(str(__import__("textual_serve").__file__)).resolve().parent / "static"
TEMPLATES = Path(__file__).resolve().parent / "templates"


def default_max_learners() -> int:
    """As many learners as fit in half the memory available now, at LEARNER_MB each."""
    try:
        available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 8
    return max(1, available // 2 // (LEARNER_MB * 2**20))


def new_code() -> str:
    """A class code to read out in a room: two short words' worth of letters and digits."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
    return "".join(secrets.choice(alphabet) for _ in range(8))


class LearnerService(AppService):
    """One learner's tutor: started without a shell in a new session (its own process group),
    stopped by a quit message, then the group is killed after QUIT_GRACE."""

    def __init__(self, argv: list[str], env: dict[str, str], **kw):
        super().__init__(" ".join(argv), **kw)
        self.argv, self.extra_env = argv, env

    async def _open_app_process(self, width: int = 80, height: int = 24):
        environment = {**self._build_environment(width=width, height=height), **self.extra_env}
        self._process = process = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=environment,
            start_new_session=True,
        )
        self._stdin = process.stdin
        return process

    async def set_terminal_size(self, width: int, height: int) -> None:
        await super().set_terminal_size(*clamp(to_int(str(width), 80), to_int(str(height), 24)))

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    async def stop(self) -> None:
        """Ask the tutor to quit (it saves progress); QUIT_GRACE later, kill its group whatever
        happened (the tutor, and a code check it started)."""
        process = self._process
        if process is None:
            return

        async def quit_and_wait() -> None:
            await super(LearnerService, self).stop()
            await process.wait()

        with contextlib.suppress(TimeoutError, OSError, RuntimeError):
            await asyncio.wait_for(asyncio.shield(quit_and_wait()), QUIT_GRACE)
        kill_group(process.pid)
        if self._task is not None:
            self._task.cancel()
        try:
            await asyncio.wait_for(process.wait(), QUIT_GRACE)
        except TimeoutError:
            log.warning("tutor process %s did not end", process.pid)


def clamp(width: int, height: int) -> tuple[int, int]:
    """A browser's terminal size within what a screen can be: a client cannot make a tutor draw
    (and hold in memory) a screen of a billion cells."""
    return min(max(width, 20), MAX_SIZE[0]), min(max(height, 10), MAX_SIZE[1])


def kill_group(pid: int) -> None:
    """SIGKILL to every process in the group `pid` leads (the tutor and what it started)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


class ClassServer(Server):
    def __init__(
        self,
        class_dir: Path,
        host: str = "127.0.0.1",
        port: int = 8000,
        code: str | None = None,
        max_learners: int | None = None,
        ascii: bool = False,
    ):
        super().__init__(
            "backprop-tutor",
            host=host,
            port=port,
            title="backprop-tutor",
            statics_path=STATIC,
            templates_path=TEMPLATES,
        )
        self.class_dir = Path(class_dir).resolve()
        self.code = code
        self.max_learners = max_learners or default_max_learners()
        self.argv = [sys.executable, "-m", "tutor"] + (["--ascii"] if ascii else [])
        self.services: set[LearnerService] = set()
        self._secret = secrets.token_bytes(32)

    # -- the class code -------------------------------------------------------------------------

    def _token(self) -> str:
        return hmac.new(self._secret, (self.code or "").encode(), hashlib.sha256).hexdigest()

    def admitted(self, request: web.Request) -> bool:
        return self.code is None or hmac.compare_digest(
            request.cookies.get(COOKIE, ""), self._token()
        )

    async def handle_code(self, request: web.Request) -> web.StreamResponse:
        form = await request.post() if request.can_read_body else {}
        given = str(form.get("code", "")).strip()
        if self.code is not None and hmac.compare_digest(given.encode(), self.code.encode()):
            response = web.HTTPSeeOther("/")
            response.set_cookie(COOKIE, self._token(), httponly=True, samesite="Strict")
            raise response
        return plain_page(
            "That is not the class code. Ask your teacher for it.", form=True, status=403
        )

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        if not self.admitted(request):
            return plain_page("Type the class code your teacher gave you.", form=True, status=401)
        if len(self.services) >= self.max_learners:
            return self.full_page()
        import aiohttp_jinja2

        # addresses from the request, so that a reverse proxy's host name and scheme hold; the
        # page is a template without escaping, so the Host header must be a host name
        if not HOST.fullmatch(request.host or ""):
            return plain_page("That is not a host name this server answers to.", status=400)
        scheme = request.headers.get("X-Forwarded-Proto", request.scheme)
        context = {
            "font_size": 16,
            "app_websocket_url": f"{'wss' if scheme == 'https' else 'ws'}://{request.host}/ws",
            "config": {"static": {"url": "/static/"}},
            "application": {"name": "backprop-tutor"},
        }
        return aiohttp_jinja2.render_template("index.html", request, context)

    def full_page(self) -> web.Response:
        return plain_page(
            f"The class is full ({self.max_learners} learners at once). Try again in a while.",
            status=503,
        )

    # A refusal (no code, a full class) answers in plain HTTP where textual-serve's handler always
    # returns a websocket; aiohttp takes any StreamResponse from a handler.
    async def handle_websocket(self, request: web.Request) -> web.StreamResponse:  # type: ignore[override]
        """textual-serve's handler with the checks first (no code, a full class: no process) and
        the learner's service in place of AppService."""
        if not self.admitted(request):
            return web.Response(status=403, text="The class code is missing or wrong.\n")
        if len(self.services) >= self.max_learners:
            return self.full_page()
        websocket = web.WebSocketResponse(heartbeat=15)
        width, height = clamp(
            to_int(request.query.get("width", "80"), 80),
            to_int(request.query.get("height", "24"), 24),
        )
        service = LearnerService(
            self.argv,
            {CLASS_ENV: str(self.class_dir)},
            write_bytes=websocket.send_bytes,
            write_str=websocket.send_str,
            close=websocket.close,
            download_manager=self.download_manager,
        )
        self.services.add(service)
        try:
            await websocket.prepare(request)
            await service.start(width, height)
            await self._process_messages(websocket, service)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception:  # one learner's failure never stops the server
            log.exception("a learner's tutor failed")
        finally:
            self.services.discard(service)
            await service.stop()
        return websocket

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.router.add_post("/code", self.handle_code)
        return app

    async def on_startup(self, app: web.Application) -> None:
        pass  # the command line prints the address

    async def on_shutdown(self, app: web.Application) -> None:
        """The server stops (ctrl+c): every learner's tutor is asked to quit, then killed."""
        await asyncio.gather(*(s.stop() for s in list(self.services)), return_exceptions=True)

    def run(self, sock: socket.socket) -> None:
        """Serve on `sock` until SIGINT (ctrl+c) or SIGTERM; every learner's tutor ends with it."""
        from aiohttp.web_runner import GracefulExit

        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)

        def leave() -> None:
            raise GracefulExit()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, leave)
        web.run_app(
            self._make_app(),
            sock=sock,
            handle_signals=False,
            loop=loop,
            print=None,
            shutdown_timeout=QUIT_GRACE * 2,
        )


def plain_page(message: str, form: bool = False, status: int = 200) -> web.Response:
    body = f"<p>{html.escape(message)}</p>"
    if form:
        body += (
            '<form method="post" action="/code"><label>Class code <input name="code" autofocus '
            'autocomplete="off"></label> <button type="submit">Enter</button></form>'
        )
    page = (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>backprop-tutor</title></head>"
        f"<body><h1>backprop-tutor</h1>{body}</body></html>"
    )
    return web.Response(status=status, text=page, content_type="text/html")


def listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound before the server starts (port 0: a free port, for tests)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock
