"""A simulated learner: a websocket client of `backprop-tutor serve` that types keys and reads the
screen as text (escape sequences taken out). The load test, its bench and the code tests use it;
it waits for what the screen shows, never for a time, each wait bounded."""

from __future__ import annotations

import asyncio
import codecs
import re

import aiohttp

ESCAPES = re.compile(
    r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][0-9A-Za-z]|[@-Z\\-_])"
)
KEYS = {
    "enter": "\r",
    "escape": "\x1b",
    "down": "\x1b[B",
    "up": "\x1b[A",
    "right": "\x1b[C",
    "left": "\x1b[D",
    "tab": "\t",
    "backspace": "\x7f",
}


def screen_text(raw: str) -> str:
    """Terminal output as its text: escape sequences removed, runs of blanks as one space."""
    return re.sub(r"[ \t]+", " ", ESCAPES.sub(" ", raw))


class Learner:
    """One browser tab's websocket, with the class code's cookie where the class has a code."""

    def __init__(self, base: str, code: str | None = None, width: int = 100, height: int = 30):
        self.base, self.code, self.width, self.height = base.rstrip("/"), code, width, height
        self.text = ""  # everything the tutor drew so far, as text
        self.closed = asyncio.Event()
        self._changed = asyncio.Event()
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task | None = None

    async def connect(self) -> None:
        self._session = self._session or aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True)
        )
        if self.code is not None:
            async with self._session.post(
                f"{self.base}/code", data={"code": self.code}, allow_redirects=False
            ) as r:
                if r.status != 303:
                    raise RuntimeError(f"the class code was refused ({r.status})")
        url = f"{self.base.replace('http', 'ws', 1)}/ws?width={self.width}&height={self.height}"
        self._ws = await self._session.ws_connect(url)
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        decode = codecs.getincrementaldecoder("utf-8")("replace").decode
        assert self._ws is not None
        try:
            async for message in self._ws:
                if message.type == aiohttp.WSMsgType.BINARY:
                    self.text += screen_text(decode(message.data))
                    self._changed.set()
        finally:
            self.closed.set()
            self._changed.set()

    async def press(self, *keys: str) -> None:
        """Keys by name (enter, down, ...) or as text to type."""
        assert self._ws is not None
        for key in keys:
            await self._ws.send_json(["stdin", KEYS.get(key, key)])

    async def wait_for(self, words: str, after: int = 0, timeout: float = 60.0) -> int:
        """Wait until `words` is drawn after position `after` of the text; → where it ends."""

        async def seen() -> int:
            while True:
                at = self.text.find(words, after)
                if at >= 0:
                    return at + len(words)
                if self.closed.is_set():
                    raise ConnectionError(f"the tutor closed before showing {words!r}")
                self._changed.clear()
                await self._changed.wait()

        try:
            return await asyncio.wait_for(seen(), timeout)
        except TimeoutError:
            raise TimeoutError(
                f"{words!r} was not shown within {timeout} s; last text: {self.text[-300:]!r}"
            ) from None

    async def close(self) -> None:
        """Close the tab (its websocket); safe to call at any point, and more than once."""
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await self._reader
        if self._session is not None:
            await self._session.close()
