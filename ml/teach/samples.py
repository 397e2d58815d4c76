"""The personal dataset ("My samples"): one PNG per drawing and its 28x28, labels in an index written atomically."""

from __future__ import annotations

import contextlib
import io
import json
import os
import threading
import uuid
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from PIL import Image

from ml.atomic_files import write_bytes_atomically
from ml.data.datasets import FOLDER_IMAGE_SUFFIXES, folder_image_files
from ml.errors import DatasetError, ImageReadError
from ml.plurals import plural
from ml.preprocess.pipeline import to_mnist
from ml.preprocess.read import read_image
from ml.user_folders import user_data_folder

INDEX_NAME = "index.json"
INDEX_VERSION = 1
SOURCES = ("correction", "added", "imported")
_INDEX_LOCKS: dict[Path, threading.Lock] = {}
_INDEX_LOCKS_GUARD = threading.Lock()


def _index_lock(folder: Path) -> threading.Lock:
    """One lock per samples folder: the window's store and an import's (in its thread) change one index."""
    with _INDEX_LOCKS_GUARD:
        return _INDEX_LOCKS.setdefault(folder.resolve(), threading.Lock())


def samples_folder() -> Path:
    """Where the window and ``digitlab teach`` keep the user's samples by default."""
    return user_data_folder() / "my-samples"


@dataclass(frozen=True)
class Sample:
    """One saved drawing: its label (a class name), its two PNGs (relative to the store) and where it came from."""

    id: str
    label: str
    digit_file: str
    canvas_file: str | None
    added: str
    source: str = "added"


@dataclass(frozen=True)
class ImportReport:
    """What an import or a folder read did: samples added, files skipped (unreadable or blank) and why."""

    added: int
    skipped: int
    skipped_examples: tuple[str, ...] = ()

    def message(self) -> str:
        """One line for the status bar or the terminal."""
        text = f"Imported {plural(self.added, 'sample')}"
        if self.skipped:
            text += f"; skipped {plural(self.skipped, 'unreadable or blank image')}"
        return text + "."


class SampleStore:
    """The samples in one folder; every change rewrites ``index.json`` atomically after the images are on disk.

    Each change re-reads the index first (under a lock per folder), so two stores on one folder (the window's, and
    an import's in its thread) never write back a list that lacks the other's samples.
    """

    def __init__(self, folder: str | os.PathLike | None = None) -> None:
        """Open (or start) the store in ``folder``; an unreadable index is refused, never overwritten."""
        self.folder = Path(folder) if folder is not None else samples_folder()
        self._samples: list[Sample] = self._read_index()

    def _read_index(self) -> list[Sample]:
        path = self.folder / INDEX_NAME
        if not path.exists():
            return []
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return [Sample(**entry) for entry in data["samples"]]
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise DatasetError(f"Cannot read your samples' index {path}: {error}. It was left as it is.") from None

    def _write_index(self, samples: list[Sample]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"version": INDEX_VERSION, "samples": [asdict(s) for s in samples]}, indent=1)
        write_bytes_atomically(self.folder / INDEX_NAME, text.encode("utf-8"))
        self._samples = samples

    @contextlib.contextmanager
    def _changing(self):
        """Hold the folder's lock with the index as it is on disk now (another store may have changed it)."""
        with _index_lock(self.folder):
            self._samples = self._read_index()
            yield

    def reload(self) -> None:
        """Read the index again (another store object, e.g. an import in a worker thread, changed it)."""
        self._samples = self._read_index()

    @property
    def samples(self) -> list[Sample]:
        """Every sample, oldest first."""
        return list(self._samples)

    def __len__(self) -> int:
        return len(self._samples)

    def of_class(self, label: str) -> list[Sample]:
        """The samples labelled ``label``, oldest first."""
        return [sample for sample in self._samples if sample.label == label]

    def counts(self) -> dict[str, int]:
        """How many samples each label has (labels with none are left out)."""
        found: dict[str, int] = {}
        for sample in self._samples:
            found[sample.label] = found.get(sample.label, 0) + 1
        return dict(sorted(found.items()))

    def add(self, label: str, digit28: np.ndarray, canvas: np.ndarray | None = None, source: str = "added") -> Sample:
        """Save a drawing: its 28x28 (white on black, [0, 1]) and, if given, the canvas image (any gray array)."""
        label = str(label).strip()
        if not label:
            raise DatasetError("A sample needs a class name.")
        if source not in SOURCES:
            raise ValueError(f"Unknown sample source {source!r}.")
        digit28 = np.asarray(digit28, dtype=np.float32)
        if digit28.shape != (28, 28):
            raise DatasetError(f"A sample's digit must be 28x28, not {digit28.shape}.")
        sample_id = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:8]
        images = self.folder / "images"
        images.mkdir(parents=True, exist_ok=True)
        digit_file = f"images/{sample_id}-28.png"
        write_bytes_atomically(self.folder / digit_file, _png_bytes(digit28))
        canvas_file = None
        if canvas is not None:
            canvas_file = f"images/{sample_id}.png"
            write_bytes_atomically(self.folder / canvas_file, _png_bytes(np.asarray(canvas, dtype=np.float32)))
        added = datetime.now(UTC).isoformat(timespec="seconds")
        sample = Sample(sample_id, label, digit_file, canvas_file, added, source)
        try:
            with self._changing():
                self._write_index([*self._samples, sample])
        except (OSError, DatasetError):
            self._remove_files(sample)
            raise
        return sample

    def remove(self, sample_id: str) -> Sample:
        """Delete a sample (the index first, then its images); returns it. KeyError if it is not here."""
        with self._changing():
            sample = self._find(sample_id)
            self._write_index([s for s in self._samples if s.id != sample_id])
        self._remove_files(sample)
        return sample

    def move(self, sample_id: str, label: str) -> Sample:
        """Give a sample another class; returns the changed sample."""
        with self._changing():
            moved = replace(self._find(sample_id), label=str(label).strip())
            self._write_index([moved if s.id == sample_id else s for s in self._samples])
        return moved

    def _find(self, sample_id: str) -> Sample:
        for sample in self._samples:
            if sample.id == sample_id:
                return sample
        raise KeyError(sample_id)

    def _remove_files(self, sample: Sample) -> None:
        for name in (sample.digit_file, sample.canvas_file):
            if name:
                with contextlib.suppress(OSError):
                    (self.folder / name).unlink()

    def digit_image(self, sample: Sample) -> np.ndarray:
        """A sample's 28x28 as float32 in [0, 1], read through the safe reader."""
        return read_image(self.folder / sample.digit_file)

    def arrays(self, class_names: list[str]) -> tuple[np.ndarray, np.ndarray, list[str], int]:
        """The samples of known classes as (N, 28, 28) float32 images and labels (indices into ``class_names``),
        the labels that are not among ``class_names``, and how many images could not be read (skipped)."""
        position = {name: index for index, name in enumerate(class_names)}
        images, labels, unknown = [], [], []
        unreadable = 0
        for sample in self._samples:
            if sample.label not in position:
                unknown.append(sample.label)
                continue
            try:
                images.append(self.digit_image(sample))
            except (ImageReadError, OSError):
                unreadable += 1
                continue
            labels.append(position[sample.label])
        stacked = np.stack(images).astype(np.float32) if images else np.zeros((0, 28, 28), np.float32)
        return stacked, np.asarray(labels, dtype=np.int64), sorted(set(unknown)), unreadable

    def import_folder(self, folder: str | os.PathLike) -> ImportReport:
        """Add every image of a folder with class subfolders (read through the safe reader, preprocessed like the
        canvas); unreadable or blank images are skipped and counted."""
        digits, labels, report = read_class_folder(folder)
        for digit, label in zip(digits, labels, strict=True):
            self.add(label, digit, None, "imported")
        return report

    def export_folder(self, folder: str | os.PathLike) -> int:
        """Write every sample into ``folder/<class>/<id>.png`` (the canvas image, else the 28x28); returns the count."""
        target = Path(folder)
        for sample in self._samples:
            class_folder = target / _safe_folder_name(sample.label)
            class_folder.mkdir(parents=True, exist_ok=True)
            source = self.folder / (sample.canvas_file or sample.digit_file)
            write_bytes_atomically(class_folder / f"{sample.id}.png", source.read_bytes())
        return len(self._samples)


def read_class_folder(folder: str | os.PathLike) -> tuple[list[np.ndarray], list[str], ImportReport]:
    """A folder of class subfolders read into 28x28 digits and their labels (subfolder names), with a report."""
    root = Path(folder)
    if not root.exists():
        raise DatasetError(f"There is no folder at {root}.")
    if not root.is_dir():
        raise DatasetError(f"{root} is not a folder.")
    class_folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not class_folders:
        raise DatasetError(f"{root} has no class subfolders (0 … 9, or the model's class names) of images.")
    digits, labels, skipped = [], [], []
    for class_folder in class_folders:
        for path in folder_image_files(class_folder):
            try:
                result = to_mnist(read_image(path))
            except (ImageReadError, OSError, ValueError):
                skipped.append(path.name)
                continue
            if result.image is None:
                skipped.append(path.name)
                continue
            digits.append(result.image.astype(np.float32))
            labels.append(class_folder.name)
    if not digits:
        suffixes = ", ".join(FOLDER_IMAGE_SUFFIXES)
        extra = f" ({len(skipped)} could not be read or were blank)" if skipped else ""
        raise DatasetError(f"{root} holds no readable images ({suffixes}) in its class subfolders{extra}.")
    return digits, labels, ImportReport(len(digits), len(skipped), tuple(skipped[:5]))


def _safe_folder_name(label: str) -> str:
    cleaned = "".join(ch if ch.isalnum() or ch in "-_ " else "_" for ch in label).strip()
    return cleaned or "_"


def _png_bytes(image: np.ndarray) -> bytes:
    pixels = np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)
    buffer = io.BytesIO()
    Image.fromarray(np.round(pixels * 255).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()
