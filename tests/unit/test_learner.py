"""Issue 20: the TUI as a learner meets it. Each test presses the keys a learner would and reads
the screen as drawn (every character of it), not the widgets' state alone."""

from __future__ import annotations


def test_small_numbers_keep_their_magnitude_and_cut_lists_say_so():
    from tutor.fmt import number, numbers_within

    assert [number(v) for v in (9e-13, -1e-9, 0.0, -2.0, 0.64, 2.0000000001)] == [
        "9e-13",
        "-1e-09",
        "0.0",
        "-2.0",
        "0.64",
        "2.0",
    ]
    assert numbers_within([1.11102, 0.597539, 0.07637], 20) == "1.11102, 0.597539, …"
    assert numbers_within([1.5, 0.5], 20) == "1.5, 0.5"
