"""The teach worker: what it skipped is said in the result, not only in a message the next one replaces."""

from __future__ import annotations

import keras
import numpy as np

from app.teach.worker import TeachWorker
from ml.models.files import save_model
from ml.models.metadata import ModelMetadata
from ml.teach.samples import SampleStore


def test_samples_whose_images_cannot_be_read_are_named_in_the_results_warnings(qtbot, tmp_path):
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10, "softmax")])
    model_path = str(save_model(model, tmp_path / "stranger.keras", ModelMetadata()))
    store = SampleStore(tmp_path / "samples")
    for digit in (3, 3, 7, 7):
        image = np.zeros((28, 28), np.float32)
        image[6:22, 10 + digit : 14 + digit] = 1.0
        store.add(str(digit), image)
    (store.folder / store.samples[0].digit_file).write_bytes(b"not a png any more")
    worker = TeachWorker(model_path, "stranger", store.folder, tmp_path / "versions", epochs=1)
    made: list[dict] = []
    worker.taught.connect(made.append)
    worker.failed.connect(lambda message: made.append({"failed": message}))
    worker.run()  # in this thread: the signals arrive at once
    assert len(made) == 1 and "failed" not in made[0]
    assert made[0]["record"]["samples_per_class"] == {"3": 1, "7": 2}
    assert any("Skipped 1 sample image that could not be read" in warning for warning in made[0]["warnings"])
