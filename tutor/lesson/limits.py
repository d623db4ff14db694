"""Every limit of the lesson format, defined once (lessons/README.md documents them; keep the two in step).

A lesson file must stay small and cheap to check, derive and train."""

from __future__ import annotations

from tutor.expr.parser import MAX_NUMBER

SCHEMA_VERSION = 1

MAX_FILE_BYTES = 1_000_000
MAX_NODES = 64
MAX_PAGES = 40
MAX_TEXT = 50_000
MAX_LAYERS = 16
MAX_WIDTH = 4096  # units in one layer
MAX_PARAMS = 20_000_000  # weights in a model
MAX_EPOCHS = 100_000
MAX_STEPS = 10_000_000  # epochs × batches
MAX_POINTS = 10_000  # samples listed inline in a lesson
MAX_SAMPLES = 100_000  # samples of a synthetic data set
MAX_DIM = 10_000  # a dimension in [graph.dims]
MAX_EXERCISES = 50
MAX_INT = 2**53  # |an integer| anywhere in a file: exact as a float, never an overflow
MAX_VALUE = MAX_NUMBER  # |a number| in data: points, weights, probes, synthetic w, b, noise
MAX_CELLS = 25_000_000  # samples × (input width + every layer's width): the values one pass keeps
MAX_SEED = 2**32 - 1  # numpy's RandomState and scikit-learn take seeds in 0..2^32-1
MAX_MISTAKES = 12  # known mistakes listed for one exercise
MAX_DECAY = 10.0  # l2, l1 and weight_decay: 0 up to this
ADAMW_DECAY = 0.01  # weight_decay when adamw is chosen without one (torch.optim.AdamW's default)
MAX_CLIP = 1e6  # clip: a gradient norm above 0 up to this
MAX_STD = 100.0  # a layer's `std` (init = "normal"): 0 up to this
MAX_MESSAGE = 200  # characters in a response to an answer
SAMPLES = 500  # points of a 2-D data set (TF Playground's number)
MAX_NOISE = 50  # percent, for a 2-D data set
MAX_CSV_BYTES = 2_000_000  # a CSV file of points
MAX_CSV_ROWS = 20_000
MAX_LEAF_VALUES = 10_000  # entries of one array at [graph.values]: a leaf's, and every node's
MAX_NAMED_ENTRIES = 8  # entries [graph.entries] names for one array
MAX_FD_ENTRIES = 100  # entries of one parameter the values check moves by finite differences
NAMES_MAX_BLOCK = 8  # characters of context in a python-names dataset (`block`)
MAX_WORKERS = 8  # data-parallel worker processes: [train] workers and --workers (1 up to this)
