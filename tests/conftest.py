"""Fixtures for every layer: the suite's own derivation cache, the broken-lesson fixtures, and the
hypothesis profiles (a small one by default, a larger one where CI=true)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.support import FIXTURES_DIR

settings.register_profile(
    "default", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(
    "ci" if os.environ.get("CI", "").lower() in ("1", "true", "yes") else "default"
)


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES_DIR


@pytest.fixture(autouse=True, scope="session")
def _own_derivation_cache(tmp_path_factory):
    """Derivations are cached on disk; the suite keeps its own cache (subprocesses inherit it),
    so it neither reads nor fills the user's."""
    os.environ["BACKPROP_TUTOR_CACHE"] = str(tmp_path_factory.mktemp("derive-cache"))
    os.environ["BACKPROP_TUTOR_STATE"] = str(tmp_path_factory.mktemp("state"))  # the error log
    yield


# Faults the learner's machine may have, for the unit and pilot tests of what the tutor says then.


@pytest.fixture
def no_network(monkeypatch):
    """Every way out of the machine refuses; the calls are counted."""
    attempts: list[object] = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError(101, "Network is unreachable (blocked by the test)")

    import socket

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return attempts


@pytest.fixture
def fetch_fails(monkeypatch, no_network):
    import sklearn.datasets

    calls = []

    def fetch_openml(*args, **kwargs):
        calls.append((args, kwargs))
        raise OSError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(sklearn.datasets, "fetch_openml", fetch_openml)
    return calls


@pytest.fixture
def no_cuda(monkeypatch):
    """This machine as one without CUDA, whatever it has."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.fixture
def pretend_cuda(monkeypatch):
    """device='cuda' accepted, the tensors kept on the CPU: enough to reach a CUDA error path."""
    from tutor.train import backends as backends_module

    monkeypatch.setattr(
        backends_module, "resolve_device", lambda name: "cpu" if name == "cuda" else name
    )
