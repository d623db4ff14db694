"""Training faults: a run that diverges, a backend that raises, CUDA asked for where there is
none, CUDA running out of memory, MNIST asked for without a network. Each ends the run (never
the tutor) with a message that says what happened and what to do; headless runs exit 2 (could
not start) or 3 (diverged or failed); in the TUI the status line says it and the controls work.

Nothing here reaches the network: MNIST tests replace the fetch, and block sockets as well."""

from __future__ import annotations

import pytest
import torch

from tests.support import run_cli


def test_huge_lr_exit_status_from_the_command_line():
    rc, out, err = run_cli(
        "two-layer-relu", "--headless", "--no-derive", "--backend", "numpy", "--lr", "10"
    )
    assert rc == 3, err
    assert "diverged at step" in out and "Lower the learning rate" in out
    assert "Traceback" not in err


@pytest.mark.skipif(
    torch.cuda.is_available(), reason="this machine has CUDA: the real refusal cannot happen"
)
def test_cuda_requested_without_cuda_from_the_command_line():
    rc, out, err = run_cli(
        "two-layer-relu", "--headless", "--no-derive", "--backend", "autograd", "--device", "cuda"
    )
    assert rc == 2
    assert "Device cuda was asked for, but CUDA is not available" in err and "Traceback" not in err
