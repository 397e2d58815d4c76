"""Predictor: its fast path gives Keras's probabilities for every input layout Digit Lab supports."""

from __future__ import annotations

import threading
from pathlib import Path

import keras
import numpy as np
import pytest

from ml.inference.model_input import adapt_to_input
from ml.inference.predictor import FAST_PATH_BATCH, PROBABILITY_TOLERANCE, Predictor
from ml.models.files import LoadedModel, load_model
from ml.models.metadata import ModelMetadata

REPO_ROOT = Path(__file__).parents[3]
MLP_FIXTURE = REPO_ROOT / "tests/fixtures/tutorial_mlp_28x28_tfkeras2.h5"
CNN_FIXTURE = REPO_ROOT.parent / "shared/fixtures/tutorial_cnn_28x28x1_tfkeras2.h5"
MNIST = REPO_ROOT / "assets/data/mnist.npz"


def conv_classifier(input_shape: tuple = (28, 28, 1), softmax: bool = True) -> keras.Model:
    """A small conv/BN/pool/dropout/dense classifier with non-trivial BatchNormalization statistics."""
    channels_first = input_shape[0] == 1
    data_format = "channels_first" if channels_first else "channels_last"
    keras.utils.set_random_seed(11)
    inputs = keras.Input(input_shape)
    features = keras.layers.Conv2D(8, 3, activation="relu", data_format=data_format)(inputs)
    batch_norm = keras.layers.BatchNormalization(axis=1 if channels_first else -1)
    features = batch_norm(features)
    features = keras.layers.MaxPooling2D(data_format=data_format)(features)
    features = keras.layers.Flatten()(features)
    features = keras.layers.Dropout(0.5)(features)
    outputs = keras.layers.Dense(10, activation="softmax" if softmax else None)(features)
    model = keras.Model(inputs, outputs)
    generator = np.random.default_rng(7)
    batch_norm.moving_mean.assign(generator.normal(0.0, 0.3, 8).astype("float32"))
    batch_norm.moving_variance.assign(generator.uniform(0.3, 3.0, 8).astype("float32"))
    dense = model.layers[-1]
    dense.kernel.assign(dense.kernel * 50.0)  # confident outputs: probabilities far from uniform
    return model


def dense_classifier(input_shape: tuple, softmax: bool = True) -> keras.Model:
    keras.utils.set_random_seed(12)
    layers = [keras.Input(input_shape)]
    if len(input_shape) > 1:
        layers.append(keras.layers.Flatten())
    layers += [keras.layers.Dense(32, activation="relu"), keras.layers.Dense(10)]
    if softmax:
        layers.append(keras.layers.Softmax())
    return keras.Sequential(layers)


def wrap(model: keras.Model, metadata: ModelMetadata | None = None) -> LoadedModel:
    return LoadedModel(model=model, metadata=metadata or ModelMetadata(), path=None, has_metadata=True)


def digit_like_images(count: int) -> np.ndarray:
    """(count, 28, 28) float32 in [0, 1]: sparse bright strokes on black."""
    generator = np.random.default_rng(3)
    images = generator.random((count, 28, 28), dtype=np.float32)
    return images * (generator.random((count, 28, 28)) < 0.25)


def keras_probabilities(model: keras.Model, images28: np.ndarray, metadata: ModelMetadata) -> np.ndarray:
    """What Keras itself says, given the same adapted input; softmax applied here when the model gives logits."""
    scale = "0-1" if metadata.input_scale == "standardize" else metadata.input_scale
    batch = adapt_to_input(
        images28,
        tuple(model.inputs[0].shape[1:]),
        scale=scale,
        mean=metadata.input_mean,
        std=metadata.input_std,
    )
    return np.asarray(model(batch, training=False), dtype=np.float64)


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


@pytest.fixture(scope="module")
def cnn_predictor() -> Predictor:
    return Predictor(wrap(conv_classifier()))


def test_softmax_model_probabilities_match_keras(cnn_predictor: Predictor) -> None:
    images = digit_like_images(6)
    expected = keras_probabilities(cnn_predictor.loaded.model, images, ModelMetadata())

    predicted = np.stack([cnn_predictor.predict_one(image) for image in images])

    assert cnn_predictor.backend in ("tflite", "xla", "tf.function", "eager")
    assert not cnn_predictor.applies_softmax
    assert expected.max(axis=1).min() > 0.5  # the check below would be weak for near-uniform outputs
    np.testing.assert_allclose(predicted, expected, atol=PROBABILITY_TOLERANCE, rtol=0)
    np.testing.assert_allclose(predicted.sum(axis=1), 1.0, atol=1e-5)


def test_a_sigmoid_per_class_head_gives_its_scores_over_their_sum_not_a_softmax_of_them() -> None:
    """A head of one sigmoid per class (trained one-vs-rest) outputs probabilities already: a softmax over them
    squashed a sure 0.99 to about 0.2, so every digit read as "not a digit"."""
    keras.utils.set_random_seed(13)
    model = keras.Sequential(
        [keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(10, activation="sigmoid")]
    )
    dense = model.layers[-1]
    dense.kernel.assign(dense.kernel * 40.0)  # confident scores: near 0 or 1
    predictor = Predictor(wrap(model))
    images = digit_like_images(6)
    scores = keras_probabilities(model, images, ModelMetadata())

    predicted = np.stack([predictor.predict_one(image) for image in images])

    expected = scores / scores.sum(axis=1, keepdims=True)
    assert scores.max(axis=1).min() > 0.9  # a softmax of these would put the top class below 0.25
    np.testing.assert_allclose(predicted, expected, atol=PROBABILITY_TOLERANCE, rtol=0)
    np.testing.assert_allclose(predicted.sum(axis=1), 1.0, atol=1e-5)


def test_logits_model_gets_a_softmax_matching_keras() -> None:
    model = conv_classifier(softmax=False)
    predictor = Predictor(wrap(model))
    images = digit_like_images(6)
    expected = softmax(keras_probabilities(model, images, ModelMetadata()))

    predicted = np.stack([predictor.predict_one(image) for image in images])

    assert predictor.applies_softmax
    np.testing.assert_allclose(predicted, expected, atol=PROBABILITY_TOLERANCE, rtol=0)
    np.testing.assert_allclose(predicted.sum(axis=1), 1.0, atol=1e-6)
    assert np.all(predicted >= 0.0)


def test_predict_batch_equals_predict_one_row_by_row(cnn_predictor: Predictor) -> None:
    images = digit_like_images(70)

    batch = cnn_predictor.predict_batch(images, batch_size=32)
    one_by_one = np.stack([cnn_predictor.predict_one(image) for image in images])

    assert batch.shape == (70, 10)
    np.testing.assert_allclose(batch, one_by_one, atol=1e-5, rtol=0)


def test_a_small_batch_takes_the_fast_path_and_traces_no_graph() -> None:
    model = conv_classifier()
    predictor = Predictor(wrap(model))
    images = digit_like_images(FAST_PATH_BATCH)

    small = predictor.predict_batch(images)
    raw = predictor.predict_batch(images[:3], calibrated=False)

    assert predictor.scorer._graph.experimental_get_tracing_count() == 0  # a number's digits need no graph
    expected = keras_probabilities(model, images, ModelMetadata())
    np.testing.assert_allclose(small, expected, atol=PROBABILITY_TOLERANCE, rtol=0)
    np.testing.assert_allclose(raw, expected[:3], atol=PROBABILITY_TOLERANCE, rtol=0)
    larger = digit_like_images(FAST_PATH_BATCH + 1)
    np.testing.assert_allclose(predictor.predict_batch(larger), keras_probabilities(model, larger, ModelMetadata()),
                               atol=PROBABILITY_TOLERANCE, rtol=0)  # fmt: skip
    assert predictor.scorer._graph.experimental_get_tracing_count() == 1  # larger batches: the traced graph


def test_predict_batch_of_nothing_is_empty(cnn_predictor: Predictor) -> None:
    assert cnn_predictor.predict_batch(np.zeros((0, 28, 28), np.float32)).shape == (0, 10)


@pytest.mark.parametrize(
    "build",
    [
        lambda: dense_classifier((28, 28)),
        lambda: dense_classifier((784,)),
        lambda: conv_classifier((28, 28, 1)),
        lambda: conv_classifier((1, 28, 28)),
    ],
    ids=["28x28", "784", "28x28x1", "channels_first_1x28x28"],
)
def test_every_input_layout_predicts_like_keras(build) -> None:
    model = build()
    predictor = Predictor(wrap(model))
    images = digit_like_images(3)

    predicted = predictor.predict_batch(images)
    single = predictor.predict_one(images[0])

    np.testing.assert_allclose(
        predicted, keras_probabilities(model, images, ModelMetadata()), atol=PROBABILITY_TOLERANCE, rtol=0
    )
    np.testing.assert_allclose(single, predicted[0], atol=1e-5, rtol=0)


def test_input_scale_and_polarity_from_metadata_reach_the_model() -> None:
    model = dense_classifier((28, 28))
    metadata = ModelMetadata(input_scale="0-255", input_polarity="black_on_white")
    predictor = Predictor(wrap(model, metadata))
    images = digit_like_images(2)

    expected = keras_probabilities(model, 1.0 - images, metadata)

    np.testing.assert_allclose(predictor.predict_batch(images), expected, atol=PROBABILITY_TOLERANCE, rtol=0)
    assert not np.allclose(expected, keras_probabilities(model, images, ModelMetadata()), atol=1e-3)


def test_standardize_metadata_applies_the_stored_mean_and_std() -> None:
    model = dense_classifier((784,))
    generator = np.random.default_rng(5)
    metadata = ModelMetadata(
        input_scale="standardize",
        input_mean=generator.uniform(0.0, 0.3, 784).tolist(),
        input_std=generator.uniform(0.2, 0.5, 784).tolist(),
    )
    predictor = Predictor(wrap(model, metadata))
    images = digit_like_images(2)
    flat = images.reshape(2, 784)
    by_hand = (flat - np.float32(metadata.input_mean)) / np.float32(metadata.input_std)

    np.testing.assert_allclose(
        predictor.predict_batch(images), np.asarray(model(by_hand, training=False)), atol=1e-4, rtol=0
    )


def test_a_fast_path_that_fails_to_build_falls_back_to_the_next(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_converter(self):
        raise RuntimeError("converter unavailable")

    monkeypatch.setattr(Predictor, "_build_tflite", broken_converter)
    model = conv_classifier()
    predictor = Predictor(wrap(model))
    image = digit_like_images(1)

    assert predictor.backend == "xla"
    assert "converter unavailable" in predictor.fallback_reasons["tflite"]
    np.testing.assert_allclose(
        predictor.predict_one(image[0]), keras_probabilities(model, image, ModelMetadata())[0], atol=1e-4, rtol=0
    )


def test_a_fast_path_with_wrong_numbers_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    def slightly_wrong(self):
        exact = self._build_graph(jit_compile=False)
        return lambda batch: exact(batch) + 1e-3

    monkeypatch.setattr(Predictor, "_build_tflite", slightly_wrong)
    predictor = Predictor(wrap(conv_classifier()))

    assert predictor.backend != "tflite"
    assert "differ from Keras" in predictor.fallback_reasons["tflite"]


@pytest.fixture
def saved_classifier(tmp_path: Path) -> Path:
    """A small classifier saved as a .keras file: each load is a new model object with the file's layer names."""
    path = tmp_path / "classifier.keras"
    conv_classifier().save(path)
    return path


def test_tflite_conversion_is_cached_and_reused_for_the_same_model(
    tmp_path: Path, saved_classifier: Path, monkeypatch
) -> None:
    cache = tmp_path / "tflite"
    first = Predictor(load_model(saved_classifier), tflite_cache=cache)
    assert first.backend == "tflite"
    assert len(list(cache.glob("*.tflite"))) == 1

    def no_conversion(self):
        raise AssertionError("converted again")

    monkeypatch.setattr(Predictor, "_build_tflite", no_conversion)
    again = Predictor(load_model(saved_classifier), tflite_cache=cache)
    image = digit_like_images(1)[0]

    assert again.backend == "tflite"
    assert again.fallback_reasons == {}
    np.testing.assert_allclose(again.predict_one(image), first.predict_one(image), atol=1e-6, rtol=0)


def test_a_changed_model_gets_its_own_conversion(tmp_path: Path) -> None:
    model = conv_classifier()
    Predictor(wrap(model), tflite_cache=tmp_path)
    output_layer = model.layers[-1]
    output_layer.bias.assign(output_layer.bias + np.linspace(-3.0, 3.0, 10, dtype=np.float32))
    changed = Predictor(wrap(model), tflite_cache=tmp_path)
    images = digit_like_images(3)

    assert len(list(tmp_path.glob("*.tflite"))) == 2
    predicted = np.stack([changed.predict_one(image) for image in images])
    expected = keras_probabilities(model, images, ModelMetadata())
    np.testing.assert_allclose(predicted, expected, atol=PROBABILITY_TOLERANCE, rtol=0)


def test_a_damaged_cached_conversion_is_replaced(tmp_path: Path, saved_classifier: Path) -> None:
    cache = tmp_path / "tflite"
    Predictor(load_model(saved_classifier), tflite_cache=cache)
    (entry,) = cache.glob("*.tflite")
    entry.write_bytes(entry.read_bytes()[:200])  # a truncated file, as after a crash
    loaded = load_model(saved_classifier)
    model = loaded.model
    predictor = Predictor(loaded, tflite_cache=cache)
    images = digit_like_images(2)

    assert predictor.backend == "tflite"
    assert len(entry.read_bytes()) > 200
    predicted = np.stack([predictor.predict_one(image) for image in images])
    np.testing.assert_allclose(
        predicted, keras_probabilities(model, images, ModelMetadata()), atol=PROBABILITY_TOLERANCE, rtol=0
    )


def test_an_unwritable_cache_folder_only_costs_the_cache(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "occupied"
    not_a_folder.write_text("a file where the cache folder would go")

    predictor = Predictor(wrap(conv_classifier()), tflite_cache=not_a_folder)

    assert predictor.backend == "tflite"
    assert not_a_folder.read_text() == "a file where the cache folder would go"


def test_predict_one_rejects_a_batch(cnn_predictor: Predictor) -> None:
    with pytest.raises(ValueError, match="one \\(28, 28\\) image"):
        cnn_predictor.predict_one(np.zeros((2, 28, 28), np.float32))


def test_uint8_images_are_read_as_0_to_255(cnn_predictor: Predictor) -> None:
    image = digit_like_images(1)[0]
    as_bytes = np.round(image * 255).astype(np.uint8)

    np.testing.assert_allclose(
        cnn_predictor.predict_one(as_bytes),
        cnn_predictor.predict_one(as_bytes.astype(np.float32) / 255),
        atol=1e-6,
    )


def test_predictor_builds_and_runs_in_a_worker_thread() -> None:
    results: dict[str, object] = {}

    def work() -> None:
        try:
            predictor = Predictor(wrap(dense_classifier((28, 28))))
            results["probabilities"] = predictor.predict_one(digit_like_images(1)[0])
        except Exception as error:  # reported to the main thread below
            results["error"] = error

    worker = threading.Thread(target=work)
    worker.start()
    worker.join(timeout=120)

    assert "error" not in results, results.get("error")
    assert np.isclose(np.sum(results["probabilities"]), 1.0, atol=1e-5)


def mnist_sample(count: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    with np.load(MNIST) as data:
        return data["x_test"][:count].astype(np.float32) / 255.0, data["y_test"][:count]


def test_tutorial_mlp_fixture_reads_mnist_through_the_predictor() -> None:
    predictor = Predictor(load_model(MLP_FIXTURE))
    images, labels = mnist_sample()

    batch = predictor.predict_batch(images)
    singles = np.stack([predictor.predict_one(image) for image in images[:20]])

    assert np.mean(np.argmax(batch, axis=1) == labels) > 0.92
    np.testing.assert_allclose(singles, batch[:20], atol=1e-5)


@pytest.mark.skipif(not CNN_FIXTURE.exists(), reason="shared CNN fixture (14 MB) is not in the repository")
def test_tutorial_cnn_fixture_reads_mnist_through_the_predictor() -> None:
    predictor = Predictor(load_model(CNN_FIXTURE))
    images, labels = mnist_sample()

    assert np.mean(np.argmax(predictor.predict_batch(images), axis=1) == labels) > 0.92
