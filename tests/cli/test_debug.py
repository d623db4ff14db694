"""--debug prints where the error log is; a run that fails leaves its traceback there while the
learner sees one line."""

from __future__ import annotations

from tutor import cli


def test_debug_prints_the_log_path_and_a_failed_run_is_logged(tmp_path, monkeypatch, capsys):
    from tutor import log
    from tutor.train import backends

    monkeypatch.setenv("BACKPROP_TUTOR_STATE", str(tmp_path))
    monkeypatch.setattr(log._logger, "handlers", [])
    assert cli.main(["--debug"]) == 0
    assert capsys.readouterr().out == f"{tmp_path / 'tutor.log'}  (no error logged yet)\n"

    def broken(self, x, y, record=False):
        raise FloatingPointError("the GPU caught fire")

    monkeypatch.setattr(backends.ManualBackend, "step", broken)
    assert cli.main(["single-neuron", "--headless", "--backend", "numpy", "--no-derive"]) == 3
    shown = capsys.readouterr().out
    assert "the GPU caught fire" in shown and "Traceback" not in shown  # one line for the learner
    assert cli.main(["--debug"]) == 0
    assert capsys.readouterr().out == f"{tmp_path / 'tutor.log'}\n"
    text = (tmp_path / "tutor.log").read_text(encoding="utf-8")
    assert "numpy at step 1: FloatingPointError: the GPU caught fire" in text
    assert "Traceback (most recent call last):" in text and "in broken" in text
