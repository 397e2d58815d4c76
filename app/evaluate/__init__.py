"""The evaluation workspace: confusion matrix, mistakes, calibration, robustness and model comparison."""
