"""An image folder evaluated as a stream: its files are read batch by batch, so memory does not grow with it.

The figures are those of reading the folder into memory (:func:`ml.evaluation.sets.load_folder_set`, then
:func:`ml.evaluation.run.evaluate`): the same files in the same order, the same pixels (the streamed pipeline of
:mod:`ml.data.streaming`), the same batches through the model. Only the model's probabilities are kept (k numbers an
image); the few images a report or a robustness sweep needs are read again by index.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ml.data.datasets import folder_image_files, unreadable_files_error
from ml.data.streaming import FolderSplit, SkippedFiles, StreamedFolder, open_image_folder
from ml.errors import DatasetError
from ml.evaluation.run import (
    DEFAULT_BATCH_SIZE,
    Evaluation,
    EvaluationFailed,
    EvaluationStopped,
    Progress,
    ShouldStop,
    evaluation_from_probabilities,
)
from ml.evaluation.sets import (
    DATASET_ALIASES,
    LUMA,
    SET_TITLES,
    EvaluationSet,
    class_subfolders,
    folder_reading,
    model_labels,
)
from ml.inference.model_input import prepare_color_for_model, prepare_for_model
from ml.plurals import plural

_EMPTY = FolderSplit(np.asarray([], dtype=bytes), np.asarray([], dtype=np.int64))


@dataclass
class FolderStream:
    """A folder to evaluate, listed but not read: its files (``stream.test``), labels mapped onto the model."""

    title: str
    source: str
    stream: StreamedFolder
    labels: np.ndarray
    class_names: list[str]

    def __len__(self) -> int:
        return len(self.labels)

    def as_set(self, indices: np.ndarray | None = None) -> EvaluationSet:
        """An :class:`EvaluationSet` of the images at ``indices`` (read now); without ``indices`` every label but
        no image (what the figures need)."""
        chosen = np.arange(0) if indices is None else np.asarray(indices, np.int64)
        pixels = self.read(chosen)
        color = pixels.shape[-1] == 3
        images = pixels @ LUMA if color else pixels[..., 0]
        labels = self.labels if indices is None else self.labels[chosen]
        return EvaluationSet(
            "folder",
            self.title,
            np.ascontiguousarray(images, np.float32),
            labels,
            list(self.class_names),
            color_images=np.ascontiguousarray(pixels) if color else None,
            source=self.source,
        )

    def read(self, indices: np.ndarray) -> np.ndarray:
        """The (n, size, size, c) images of the files at ``indices``, refusing the set if one cannot be read."""
        images, read = self.stream.read_batch(self.stream.test.paths[np.asarray(indices, np.int64)])
        refuse_skipped(self.stream, len(self))
        return images[read]

    def display_images(self) -> FolderImages:
        """Grey images to show, read by index when a report draws them."""
        return FolderImages(self)


class FolderImages:
    """``images[indices]`` of a folder stream, read when indexed (a report's galleries show a few dozen)."""

    def __init__(self, folder: FolderStream) -> None:
        self.folder = folder

    def __len__(self) -> int:
        return len(self.folder)

    def __getitem__(self, indices) -> np.ndarray:
        return self.folder.as_set(np.atleast_1d(np.arange(len(self))[indices])).images


def is_image_folder(name: str) -> bool:
    """Whether an evaluation set's name is a folder (not mnist-test, fashion-test, digits-test or their aliases)."""
    return name not in SET_TITLES and name not in DATASET_ALIASES and Path(name).is_dir()


def open_folder_stream(folder: str | os.PathLike, loaded) -> FolderStream:
    """The folder as :func:`ml.evaluation.sets.load_folder_set` lists it (every image of its class subfolders, or the
    held-out test split of the model's own training folder), with the same refusals, without reading an image."""
    folder = Path(folder)
    height, _, color_mode, is_training_folder = folder_reading(folder, loaded)
    if is_training_folder:
        stream = open_image_folder(folder, image_size=height, color_mode=color_mode)
        stream.train, stream.val = _EMPTY, _EMPTY
        title = f"{folder.name}, its test split"
    else:
        stream = _whole_folder(folder, height, color_mode)
        title = folder.name or str(folder)
    labels = model_labels(loaded, stream.class_names, stream.test.labels, f"The image folder {folder}")
    return FolderStream(
        f"{title} ({plural(len(labels), 'image')})", str(folder), stream, labels, list(loaded.metadata.class_names)
    )


def _whole_folder(folder: Path, size: int, color_mode: str) -> StreamedFolder:
    class_folders = class_subfolders(folder)
    paths, labels = [], []
    for label, class_folder in enumerate(class_folders):
        found = folder_image_files(class_folder)
        paths.extend(os.fsencode(path) for path in found)
        labels.extend([label] * len(found))
    if not paths:
        raise DatasetError(f"The image folder {folder} holds no images in its class subfolders; it is empty.")
    return StreamedFolder(
        name=str(folder),
        folder=folder,
        class_names=[entry.name for entry in class_folders],
        image_size=size,
        color_mode=color_mode,
        train=_EMPTY,
        val=_EMPTY,
        test=FolderSplit(np.asarray(paths), np.asarray(labels, np.int64)),
        skipped=SkippedFiles(folder),
    )


def refuse_skipped(stream: StreamedFolder, total: int) -> None:
    """No accuracy is measured on a silently shrunk set: files that could not be read refuse it, named."""
    items = stream.skipped.items()
    if not items:
        return
    raise unreadable_files_error(
        stream.folder, [(str(Path(path).relative_to(stream.folder)), reason) for path, reason in items], total
    )


def evaluate_folder_stream(
    loaded,
    folder: FolderStream,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
    scorer=None,
) -> Evaluation:
    """:func:`ml.evaluation.run.evaluate` on a folder read batch by batch: the same figures, memory kept flat."""
    from ml.inference.scoring import BatchScorer

    scorer = scorer or BatchScorer(loaded)
    input_shape, metadata = tuple(loaded.input_shape), loaded.metadata
    rows, done = [], 0
    for images, _labels in folder.stream.pipeline("test", batch_size).as_numpy_iterator():
        if should_stop is not None and should_stop():
            raise EvaluationStopped("Evaluation stopped; nothing was measured.")
        try:
            batch = (
                prepare_color_for_model(images, input_shape, metadata)
                if images.shape[-1] == 3
                else prepare_for_model(images[..., 0], input_shape, metadata)
            )
            rows.append(np.asarray(scorer.raw_probabilities(batch), np.float32))
        except Exception as error:  # noqa: BLE001 - a model Keras loaded but cannot run: one clear line
            message = " ".join(str(error).split())[:300]
            raise EvaluationFailed(f"{loaded.display_name} cannot score {folder.title}: {message}") from error
        done += len(images)
        if progress is not None:
            progress(done, len(folder))
    refuse_skipped(folder.stream, len(folder))
    raw = np.concatenate(rows) if rows else np.zeros((0, loaded.num_classes), np.float32)
    if not np.isfinite(raw).all():
        raise EvaluationFailed(
            f"{loaded.display_name} gives NaN or infinite scores on {folder.title}; no accuracy can be measured."
        )
    return evaluation_from_probabilities(loaded, folder.as_set(), raw)
