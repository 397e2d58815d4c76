"""Refuse paths that are not regular files before opening them: a named pipe or a device blocks or never ends."""

from __future__ import annotations

import os
import stat

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def file_kind(mode: int) -> str:
    """What an ``st_mode`` is, in words: "a regular file", "a folder", "a named pipe", "a character device", ..."""
    if stat.S_ISREG(mode):
        return "a regular file"
    for test, kind in _KINDS:
        if test(mode):
            return kind
    return "a special file"


def irregular_file_kind(path: str | os.PathLike) -> str | None:
    """The kind of a path that exists and is neither a regular file nor a folder (callers word those themselves).

    ``os.stat`` never blocks, unlike opening: opening a named pipe for reading waits for a writer forever.
    """
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None  # missing or unreadable: the caller's own open reports it in its words
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return file_kind(mode)
