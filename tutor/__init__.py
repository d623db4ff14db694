"""backprop-tutor: learn backpropagation one node of the computation graph at a time."""

__version__ = "0.1.0"
