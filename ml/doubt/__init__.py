"""Doubt: when a drawing is not a digit, or the model is unsure between two classes."""
