"""`backprop-tutor --check`, `--list`, `--version` and unknown lesson ids, through the real CLI.

Every broken fixture must give exactly one `FILE:LINE: KEY: message` line and exit status 2 (a file
broken in several independent parts gives one line per part),
quickly (each call runs under a subprocess timeout), and never a traceback."""

from __future__ import annotations

from tests.cli.test_check import EXPECTED
from tests.support import FIXTURES_DIR


def test_every_fixture_has_an_expectation():
    assert sorted(p.name for p in FIXTURES_DIR.glob("*.toml")) == sorted(EXPECTED)
