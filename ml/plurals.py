"""Counts in words: ``plural(1, "image")`` is "1 image", ``plural(2, "image")`` "2 images"."""

from __future__ import annotations


def plural(count: int, noun: str, plural_noun: str | None = None) -> str:
    """``count`` (with thousands separators) and ``noun``, or ``plural_noun`` (default ``noun`` + "s") unless 1."""
    return f"1 {noun}" if count == 1 else f"{count:,} {plural_noun or noun + 's'}"
