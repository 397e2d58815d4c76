"""Digit Lab's window (PySide6). TensorFlow is never imported on its start-up path."""
