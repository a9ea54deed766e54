"""Labels from production: MLflow traces of investigations plus user feedback become validated, hidden-truth
scenarios (docs/labels.md).

``trace_log`` logs evalkit's own trials as traces; ``harvest`` reads traces and their assessments into candidate
labels; ``confidence`` and ``validation`` score them; ``review`` and ``decisions`` keep the human decisions in an
append-only log; ``admit`` writes the approved labels into a suite through :mod:`evalkit.suite`.
"""
