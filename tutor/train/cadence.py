"""When a logged row measures its full-set figures (issue 32).

Every logged row carries its own step's batch loss and gradient and update norms. Its full-set
figures (the validation loss and accuracy, the training-set accuracy and the layers' health, each
a forward pass over a whole set) cost far more than a step on a mini-batch: measured on every row
of a run that logs every step, they would be most of its time. So they are measured on a fixed
cadence of steps, chosen so that their cost stays a small share of the training between two
measurements, and each row says the step they were measured at (`Snapshot.eval_step`).

The cadence is a function of the step numbers alone (never of the clock), so two runs with the
same settings measure at the same steps: the first row, the last step of a run, any row a screen
asks for, and the first row at or after each multiple of `eval_every` steps.
"""

from __future__ import annotations

import math

# A forward pass over a sample costs about a third of a training step on it (forward, backward
# and update), so a measurement over S samples costs about S / (STEP_PASSES · batch) steps.
STEP_PASSES = 3
EVAL_SHARE = 0.1  # a measurement costs at most this share of the steps between two of them


def eval_every(samples: int, batch: int) -> int:
    """Steps between two full-set measurements: `samples` (all a measurement passes forward)
    cost at most EVAL_SHARE of the steps between, each on `batch` samples."""
    if samples <= 0 or batch <= 0:
        return 1
    return max(1, math.ceil(samples / (STEP_PASSES * batch * EVAL_SHARE)))


def measures_at(step: int, every: int, period: int) -> bool:
    """Whether the row logged at `step` (1-based) by a policy that logs every `every`-th step
    measures the full-set figures, for a cadence of `period` steps: the row whose stretch of steps
    since the policy's previous row (or the first row) holds 1 + a multiple of `period` (a run
    that logs every step measures at steps 1, period + 1, 2·period + 1, ...). The first and last
    rows, and rows a screen asks for, measure whatever this says."""
    previous = max(1, step - every)
    return (step - 1) // period != (previous - 1) // period
