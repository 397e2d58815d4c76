"""The bundled model's shipped numpy weights: current, bound to the .keras file by SHA-256, as exact as Keras, and
refused (with a log line) when stale, altered or damaged."""

from __future__ import annotations

import io
import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ml.inference.shipped_model as shipped_model
import ml.inference.shipped_numpy as shipped
from ml.assets import bundled_model_path
from ml.data.sources import sha256_of
from ml.inference.predictor import PROBABILITY_TOLERANCE

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.skipif(
    not shipped.shipped_network_path(bundled_model_path()).is_file(), reason="run tools/build_bundled_fast_paths.py"
)


def mnist_test_images(count: int) -> tuple[np.ndarray, np.ndarray]:
    with np.load(ROOT / "assets" / "data" / "mnist.npz") as archive:
        return archive["x_test"][:count].astype(np.float32) / 255.0, archive["y_test"][:count]


@pytest.fixture
def own_assets(tmp_path, monkeypatch) -> Path:
    """A models folder that counts as Digit Lab's own assets, holding copies of the bundled model and its weights."""
    folder = tmp_path / "models"
    folder.mkdir()
    model_path = bundled_model_path()
    for source in (model_path, shipped.shipped_network_path(model_path), shipped.shipped_record_path(model_path)):
        shutil.copy(source, folder / source.name)
    monkeypatch.setattr(shipped_model, "asset_path", lambda *parts: tmp_path.joinpath(*parts))
    return folder / model_path.name


def test_the_shipped_weights_belong_to_the_bundled_model_as_it_is_now():
    model_path = bundled_model_path()
    record = json.loads(shipped.shipped_record_path(model_path).read_text())
    assert record["source_sha256"] == sha256_of(model_path), "re-run tools/build_bundled_fast_paths.py"
    assert record["max_probability_difference"] <= shipped.BUILD_TOLERANCE and record["agreement"] == 1.0
    assert shipped.checked_shipped_network(model_path).output_shape == (10,)


def test_the_numpy_pass_gives_keras_probabilities_on_mnist_test():
    from ml.inference.predictor import Predictor
    from ml.models.files import load_model

    fast_path = shipped.shipped_numpy_path(bundled_model_path())
    assert fast_path is not None and fast_path.backend == "numpy"
    loaded = load_model(bundled_model_path())
    images, labels = mnist_test_images(600)
    expected = Predictor(loaded).predict_batch(images)  # Keras's probabilities, with the card's temperature
    predicted = fast_path.predict_batch(images)
    np.testing.assert_allclose(predicted, expected, atol=PROBABILITY_TOLERANCE, rtol=0)
    assert np.mean(predicted.argmax(axis=1) == labels) > 0.99
    np.testing.assert_allclose(fast_path.predict_one(images[3]), expected[3], atol=PROBABILITY_TOLERANCE, rtol=0)
    assert fast_path.class_names == loaded.metadata.class_names and fast_path.loaded.display_name == "digitlab-best"
    with pytest.raises(ValueError):
        fast_path.predict_one(images[:2])


def test_the_first_prediction_imports_no_tensorflow():
    code = """
import sys
import numpy as np
from ml.assets import bundled_model_path
from ml.doubt.verdict import DoubtJudge
from ml.inference.shipped_numpy import shipped_numpy_path
from ml.preprocess.pipeline import to_mnist
fast_path = shipped_numpy_path(bundled_model_path())
canvas = np.ones((280, 280), np.float32)
canvas[60:220, 130:150] = 0.0  # a "1", black ink on white
image = to_mnist(canvas).image
probabilities = fast_path.predict_one(image)
verdict = DoubtJudge(fast_path.loaded).judge(image, probabilities)
print(int(np.argmax(probabilities)), verdict.status, "tensorflow" in sys.modules, "keras" in sys.modules)
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["1", "digit", "False", "False"]


def tamper(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_altered_weights_are_refused_with_a_log_line(own_assets, caplog):
    assert shipped.shipped_numpy_path(own_assets) is not None  # the copy counts as Digit Lab's own
    tamper(shipped.shipped_network_path(own_assets))
    with caplog.at_level(logging.WARNING, logger=shipped.__name__):
        assert shipped.shipped_numpy_path(own_assets) is None
    assert "altered or damaged" in caplog.text


def test_weights_made_from_another_model_file_are_refused(own_assets, caplog):
    record_path = shipped.shipped_record_path(own_assets)
    record = json.loads(record_path.read_text())
    record_path.write_text(json.dumps({**record, "source_sha256": "0" * 64}))
    with caplog.at_level(logging.WARNING, logger=shipped.__name__):
        assert shipped.shipped_numpy_path(own_assets) is None
    assert "stale" in caplog.text


def test_a_missing_or_broken_record_and_a_users_folder_are_refused(own_assets, tmp_path):
    record_path = shipped.shipped_record_path(own_assets)
    user_folder = tmp_path / "mine"
    shutil.copytree(own_assets.parent, user_folder)
    assert shipped.shipped_numpy_path(user_folder / own_assets.name) is None  # never a user's folder
    record_path.write_text("{not json")
    assert shipped.shipped_numpy_path(own_assets) is None
    record_path.unlink()
    assert shipped.shipped_numpy_path(own_assets) is None


def rewrite_network(model_path: Path, change) -> None:
    """Change the shipped .npz's arrays and re-record its SHA-256 (a well-formed but wrong file, as a bad build)."""
    network_path = shipped.shipped_network_path(model_path)
    with np.load(network_path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    change(arrays)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    network_path.write_bytes(buffer.getvalue())
    record_path = shipped.shipped_record_path(model_path)
    record = json.loads(record_path.read_text())
    record["network_sha256"] = shipped_model.sha256_of_bytes(buffer.getvalue())
    record_path.write_text(json.dumps(record))


@pytest.mark.parametrize(
    "change",
    [
        lambda arrays: arrays.update({"conv2d.kernel": arrays["conv2d.kernel"][:, :, :, :5]}),  # wrong shape
        lambda arrays: arrays.pop("conv2d_1.kernel"),
        lambda arrays: arrays.update({"plan": np.array("{]")}),
        lambda arrays: arrays.update({"plan": np.array([object()], dtype=object)}),  # a pickle
    ],
)
def test_wrong_arrays_or_a_pickle_are_refused_even_when_recorded(own_assets, change):
    rewrite_network(own_assets, change)
    with pytest.raises(shipped.ShippedNetworkRefused):
        shipped.checked_shipped_network(own_assets)
    assert shipped.shipped_numpy_path(own_assets) is None


def test_building_writes_checked_weights_and_refuses_a_pass_that_differs(tmp_path, monkeypatch):
    import keras

    from ml.models.files import load_model, save_model
    from ml.models.metadata import ModelMetadata

    keras.utils.set_random_seed(3)
    inputs = keras.Input((28, 28, 1))
    features = keras.layers.Flatten()(keras.layers.MaxPooling2D()(keras.layers.Conv2D(4, 3, activation="relu")(inputs)))
    model = keras.Model(inputs, keras.layers.Dense(10)(features))  # logits: the early path applies a softmax
    loaded = load_model(save_model(model, tmp_path / "small.keras", ModelMetadata()))
    images = np.random.default_rng(0).random((12, 28, 28), dtype=np.float32)
    built = shipped.build_shipped_numpy(loaded, images)
    assert built.network == tmp_path / "small.numpy.npz" and built.images == 12 and built.agreement == 1.0
    record = json.loads(built.record.read_text())
    assert record["source_sha256"] == sha256_of(tmp_path / "small.keras")
    assert shipped.checked_shipped_network(tmp_path / "small.keras").output_is_probabilities is False
    built.network.unlink()
    monkeypatch.setattr(shipped.NumpyNetwork, "outputs", lambda self, batch: np.zeros((len(batch), 10), np.float32))
    with pytest.raises(ValueError, match="differs from Keras"):
        shipped.build_shipped_numpy(loaded, images)
    assert not built.network.exists()
