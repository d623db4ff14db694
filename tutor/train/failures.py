"""A training run that failed, said in one line."""

from __future__ import annotations

from tutor.train.registry import BACKEND_KINDS
from tutor.train.spec import RunSpec


def explain_failure(spec: RunSpec, step: int, exc: BaseException, device: str | None = None) -> str:
    """One line for a run that failed, naming the device it ran on (`device`, or resolved from the
    spec), never "auto"."""
    name = type(exc).__name__
    device = (
        "cpu"
        if not BACKEND_KINDS[spec.backend].torch
        else spec.device
        if spec.device != "auto"
        else device or resolved_name(spec)
    )
    if "OutOfMemory" in name or "out of memory" in str(exc).lower():
        return (
            f"{device.upper()} ran out of memory at step {step} ({spec.backend}). Lower the batch size "
            f"or the hidden size, or run on the CPU (--device cpu)."
        )
    what = " ".join(str(exc).split())  # one line, however the exception wrote itself
    what = what if len(what) <= 200 else what[:199] + "…"
    where = "" if device == "cpu" else f" on {device.upper()}"  # a GPU's error names the GPU
    return (
        f"the {spec.backend} backend failed at step {step}{where}: {name}: {what}. The run was stopped; the rest of "
        f"the tutor still works. Try another backend, or report this with the lesson file."
    )


def resolved_name(spec: RunSpec) -> str:
    """The device a run of `spec` uses (cpu for numpy; auto resolved)."""
    if not BACKEND_KINDS[spec.backend].torch:
        return "cpu"
    if spec.device != "auto":
        return spec.device
    try:
        from tutor.train.backends import resolve_device

        return resolve_device("auto", spec.dtype)  # what make_backend picked for it
    except Exception:  # noqa: BLE001 - naming the device must not fail the message
        return spec.device
