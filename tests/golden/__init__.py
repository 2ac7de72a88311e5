"""Golden figures: every figure of summary.json, layers.csv and breakdown.csv recorded for a
fixed set of cases (tests/golden/cases.py), compared by tests/test_golden.py and rewritten by
``python tests/golden/record.py``. See docs/golden-figures.md."""
