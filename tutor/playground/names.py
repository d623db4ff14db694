"""The playground's vocabulary and limits, free of imports so that tutor/lesson.py can read them."""

CLASSIFY = ("circle", "xor", "gauss", "spiral", "moons")
REGRESS = ("plane", "multi-gauss")
DATASETS = CLASSIFY + REGRESS
SAMPLES = 500                      # TF Playground's number of points
MAX_NOISE = 50                     # percent
MAX_CSV_BYTES = 2_000_000
MAX_CSV_ROWS = 20_000
