"""Model versions made by teaching: each a saved model with its record; any can be made active again or deleted."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ml.atomic_files import write_bytes_atomically
from ml.errors import ModelFileError
from ml.plurals import plural
from ml.user_folders import user_data_folder

if TYPE_CHECKING:
    from ml.models.files import LoadedModel

INDEX_NAME = "versions.json"


TAUGHT_MARK = " · taught "
"""What a taught version's name adds to its original's: "digitlab-best · taught 2"."""


def versions_folder() -> Path:
    """Where the window keeps taught model versions by default."""
    return user_data_folder() / "versions"


def version_name(path: str | os.PathLike, folder: str | os.PathLike | None = None) -> str | None:
    """The name History gives the model file at ``path`` ("… · taught 2"), when it is a version kept in ``folder``
    (default: the window's); None for any other file, or when the history cannot be read. Reads only the history's
    JSON (never the model), and never raises: the window names its Recent models with it."""
    try:
        folder = Path(folder) if folder is not None else versions_folder()
        if Path(path).resolve().parent != folder.resolve() or not (folder / INDEX_NAME).is_file():
            return None
        version = VersionStore(folder).find_path(path)
    except (ModelFileError, OSError, RuntimeError, TypeError, ValueError):  # a history edited by hand, a link loop
        return None
    name = None if version is None else version.name
    return name if isinstance(name, str) and name else None


@dataclass(frozen=True)
class ModelVersion:
    """One version: its file, the version it was taught from, and what the teach measured (empty for an original)."""

    id: str
    path: str
    name: str
    created: str
    parent: str | None = None
    record: dict = field(default_factory=dict)
    source: str | None = None
    """An original kept as a copy: the file it was copied from (a run's model, in a cache that is pruned)."""

    @property
    def is_original(self) -> bool:
        """A model the user opened (not made by teaching): its file is theirs and is never deleted here, unless
        the store keeps it as a copy of its own."""
        return self.parent is None

    def summary(self) -> str:
        """One line: samples taught, and the accuracy before → after on the samples and the test set."""
        if self.is_original:
            return "original model"
        record = self.record
        samples = sum(record.get("samples_per_class", {}).values())
        parts = [plural(samples, "sample")]
        if record.get("samples_after") is not None:
            parts.append(f"your samples {_percent(record.get('samples_before'))} → {_percent(record['samples_after'])}")
        if record.get("test_after") is not None:
            parts.append(f"test set {_percent(record.get('test_before'))} → {_percent(record['test_after'])}")
        return ", ".join(parts)


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


class VersionStore:
    """The versions in one folder, listed in ``versions.json`` (written atomically, after the model file)."""

    def __init__(self, folder: str | os.PathLike | None = None) -> None:
        """Open (or start) the store; an unreadable list is refused, never overwritten."""
        self.folder = Path(folder) if folder is not None else versions_folder()
        self._versions: list[ModelVersion] = []
        self.active: str | None = None
        path = self.folder / INDEX_NAME
        if path.exists():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                self._versions = [ModelVersion(**entry) for entry in data["versions"]]
                self.active = data.get("active")
            except (OSError, ValueError, KeyError, TypeError) as error:
                raise ModelFileError(f"Cannot read the model history {path}: {error}. It was left as it is.") from None

    @property
    def versions(self) -> list[ModelVersion]:
        """Every version, oldest first."""
        return list(self._versions)

    def get(self, version_id: str) -> ModelVersion:
        """The version with this id; KeyError if there is none."""
        for version in self._versions:
            if version.id == version_id:
                return version
        raise KeyError(version_id)

    def find_path(self, path: str | os.PathLike) -> ModelVersion | None:
        """The version saved at ``path`` (or kept as a copy of it), if any."""
        resolved = str(Path(path).resolve())
        return next(
            (v for v in self._versions if resolved in (str(Path(v.path).resolve()), v.source and str(Path(v.source)))),
            None,
        )

    def _write(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        data = {"active": self.active, "versions": [asdict(v) for v in self._versions]}
        write_bytes_atomically(self.folder / INDEX_NAME, json.dumps(data, indent=1).encode("utf-8"))

    def remember_original(self, path: str | os.PathLike, name: str, keep_copy: bool = False) -> ModelVersion:
        """List an opened model file as an original version (once per file); returns its entry.

        ``keep_copy``: the file is not the user's to keep (a run's unsaved model, in a cache that deletes old
        runs), so the store keeps a copy of its own, and History can always go back to it.
        """
        known = self.find_path(path)
        if known is not None:
            return known
        version_id, resolved = _new_id(), Path(path).resolve()
        kept, source = resolved, None
        if keep_copy:
            self.folder.mkdir(parents=True, exist_ok=True)
            kept, source = self.folder / f"{version_id}{resolved.suffix}", str(resolved)
            partial = kept.with_name(f".{kept.name}.partial")
            try:
                shutil.copyfile(resolved, partial)
                os.replace(partial, kept)
            except OSError:
                with contextlib.suppress(OSError):
                    partial.unlink()
                raise
        version = ModelVersion(version_id, str(kept), name, _now(), None, {}, source)
        self._versions.append(version)
        try:
            self._write()
        except OSError:
            self._versions.pop()
            if source is not None:
                with contextlib.suppress(OSError):
                    kept.unlink()
            raise
        return version

    def add_taught(self, taught: LoadedModel, parent: ModelVersion, record: dict) -> ModelVersion:
        """Save a taught model as a new version made from ``parent`` and make it active; returns its entry."""
        from ml.models.files import save_model  # Keras: only where a model is saved (never on the window's start-up)

        self.folder.mkdir(parents=True, exist_ok=True)
        version_id = _new_id()
        base = parent.name.split(TAUGHT_MARK)[0]
        name = f"{base}{TAUGHT_MARK}{self._next_taught_number()}"
        path = save_model(taught.model, self.folder / f"{version_id}.keras", taught.metadata)
        version = ModelVersion(version_id, str(path.resolve()), name, _now(), parent.id, record)
        self._versions.append(version)
        self.active = version_id
        try:
            self._write()
        except OSError:
            self._versions.pop()
            with contextlib.suppress(OSError):
                path.unlink()
            raise
        return version

    def _next_taught_number(self) -> int:
        """One more than the highest "taught N" kept (not the count: with "taught 1" deleted, the next after
        "taught 2" would have been "taught 2" again)."""
        numbers = [0]
        for version in self._versions:
            _, mark, number = version.name.rpartition(TAUGHT_MARK)
            if not version.is_original and mark and number.isdigit():
                numbers.append(int(number))
        return max(max(numbers), sum(1 for v in self._versions if not v.is_original)) + 1

    def check_writable(self) -> None:
        """Raise OSError when ``versions.json`` cannot be written (it is rewritten as it is): History asks before it
        switches, so that a version it cannot mark active is not loaded either."""
        self._write()

    def set_active(self, version_id: str | None) -> None:
        """Remember which version the window shows (call it once the window has loaded it); on an OSError nothing
        changes, here or on disk."""
        if version_id is not None:
            self.get(version_id)
        before, self.active = self.active, version_id
        try:
            self._write()
        except OSError:
            self.active = before
            raise

    def delete(self, version_id: str) -> ModelVersion:
        """Forget a version; a taught one's file (or an original's copy) is deleted too; a user's file stays. When
        the list cannot be written (OSError) nothing is forgotten or deleted.

        The active version cannot be deleted: switch to another first. Versions taught from it keep their files
        and now name its parent as theirs; those taught from a deleted original keep naming it (a taught version
        never turns into an "original": its record stays shown and its file stays the store's to delete).
        """
        version = self.get(version_id)
        if version_id == self.active:
            raise ModelFileError("This version is the active model: switch to another version before deleting it.")
        parent = version_id if version.is_original else version.parent
        kept = self._versions
        self._versions = [
            dataclasses.replace(v, parent=parent) if v.parent == version_id else v
            for v in self._versions
            if v.id != version_id
        ]
        try:
            self._write()
        except OSError:  # an unwritable folder: the version stays listed, and its file stays
            self._versions = kept
            raise
        owned = not version.is_original or version.source is not None
        if owned and Path(version.path).parent.resolve() == self.folder.resolve():
            with contextlib.suppress(OSError):
                Path(version.path).unlink()
        return version


def _new_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
