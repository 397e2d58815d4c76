"""The shipped not-a-digit detector's SHA-256 and figures, written by tools/fit_doubt_detector.py (do not edit)."""

# ruff: noqa: E501
DETECTOR_SHA256 = "3e298d8a3550fd12d8cc78bd86183389c4dd54b41dbc6039ef2afbaf627021d6"
DETECTOR_FIGURES: dict = {
    "check_auroc": 0.9944,
    "logit_refusing_1pct_validation": 1.848,
    "refused": {
        "letters drawn": 0.9839,
        "letters printed": 0.998,
        "symbols printed": 0.994,
        "shapes drawn": 0.9858,
        "scribbles": 0.7972,
        "noise": 1.0,
        "digit fragments": 0.684,
        "digits drawn": 0.0,
        "digits printed": 0.0,
        "digits redrawn": 0.014,
        "digits slanted": 0.02,
        "digits coarse": 0.006,
    },
}
