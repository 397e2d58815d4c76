"""Teach it your handwriting: corrections, my samples, teaching runs and model history."""
