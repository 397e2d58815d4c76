"""write_bytes_atomically: all of the new data or the old file untouched, and nothing left beside it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from ml import atomic_files
from ml.atomic_files import write_bytes_atomically


def test_writes_the_data_with_a_plain_files_permissions_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "deeper" / "index.json"
    assert write_bytes_atomically(target, b"new") == target
    assert target.read_bytes() == b"new"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    assert [path.name for path in target.parent.iterdir()] == ["index.json"]


def test_a_failure_while_writing_keeps_the_old_file_and_removes_the_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "index.json"
    target.write_bytes(b"old")

    def disk_full(descriptor: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic_files.os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        write_bytes_atomically(target, b"new data")
    assert target.read_bytes() == b"old"
    assert [path.name for path in tmp_path.iterdir()] == ["index.json"]
