"""Fixtures for every layer: the suite's own derivation cache, the broken-lesson fixtures, and the
hypothesis profiles (a small one by default, a larger one where CI=true)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.support import FIXTURES_DIR

settings.register_profile("default", max_examples=40, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", max_examples=100, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI", "").lower() in ("1", "true", "yes") else "default")


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES_DIR


@pytest.fixture(autouse=True, scope="session")
def _own_derivation_cache(tmp_path_factory):
    """Derivations are cached on disk; the suite keeps its own cache (subprocesses inherit it),
    so it neither reads nor fills the user's."""
    os.environ["BACKPROP_TUTOR_CACHE"] = str(tmp_path_factory.mktemp("derive-cache"))
    os.environ["BACKPROP_TUTOR_STATE"] = str(tmp_path_factory.mktemp("state"))      # the error log
    yield
