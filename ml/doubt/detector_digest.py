"""The shipped not-a-digit detector's SHA-256 and figures, written by tools/fit_doubt_detector.py (do not edit)."""

# ruff: noqa: E501
DETECTOR_SHA256 = "cffb0f02b6a308e46ae9821e5deae952b32ce3694d1d07315d2b55386cf2ef28"
DETECTOR_FIGURES: dict = {
    "check_auroc": 0.9946,
    "logit_refusing_1pct_validation": 1.906,
    "refused": {
        "letters drawn": 0.9819,
        "letters printed": 0.998,
        "symbols printed": 0.9859,
        "shapes drawn": 0.9858,
        "scribbles": 0.8134,
        "noise": 1.0,
        "digit fragments": 0.68,
        "digits drawn": 0.0,
        "digits printed": 0.0,
        "digits redrawn": 0.014,
        "digits slanted": 0.018,
        "digits coarse": 0.004,
    },
}
