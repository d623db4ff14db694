"""Errors shown to the learner in one line keep their traceback in the error log."""

from __future__ import annotations

import logging

from tutor import log


def test_a_logged_error_keeps_its_traceback_and_returns_the_line_shown(tmp_path, monkeypatch):
    monkeypatch.setenv("BACKPROP_TUTOR_STATE", str(tmp_path))
    monkeypatch.setattr(log._logger, "handlers", [])

    def deep():
        raise ValueError("the loop broke")

    try:
        deep()
    except ValueError as exc:
        shown = log.logged(exc, "training numpy")
    for handler in log._logger.handlers:
        handler.flush()
    text = (tmp_path / "tutor.log").read_text(encoding="utf-8")
    assert shown == "ValueError: the loop broke"
    assert "ERROR training numpy: ValueError: the loop broke" in text
    assert "Traceback (most recent call last):" in text and "in deep" in text
    assert log.log_path() == tmp_path / "tutor.log"
    assert not log._logger.propagate  # never onto the terminal the TUI draws on


def test_an_unwritable_state_directory_still_returns_the_line(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("BACKPROP_TUTOR_STATE", str(blocker / "state"))
    monkeypatch.setattr(log._logger, "handlers", [])
    assert log.logged(KeyError("w1"), "somewhere") == "KeyError: 'w1'"
    assert isinstance(log._logger.handlers[0], logging.NullHandler)
