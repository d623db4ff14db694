"""Code the learner reads and writes: the standalone script each backend's run is (export.py), and
the `code` exercises, whose starting file and reference solution come from the lesson's graph
(template.py) and whose check runs the learner's code in a separate, limited process (check.py,
child.py). Free of Textual."""
