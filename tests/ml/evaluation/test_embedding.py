"""The map of the data: penultimate features of a model, PCA and t-SNE projections."""

from __future__ import annotations

import numpy as np
import pytest

from ml.evaluation.embedding import penultimate_description, penultimate_features, project, sample_indices
from ml.evaluation.sets import load_evaluation_set
from tests.ml.evaluation.tiny import tiny_digit_model


@pytest.fixture(scope="module")
def tiny():
    return tiny_digit_model()


def test_penultimate_features_are_the_last_dense_layers_input(tiny):
    eval_set = load_evaluation_set("mnist-test", tiny)
    chosen = sample_indices(len(eval_set), 200, seed=1)
    assert len(chosen) == 200 and np.all(np.diff(chosen) > 0)
    features = penultimate_features(tiny, eval_set, chosen)
    assert features.shape == (200, 16)  # the 16-unit hidden layer feeds the output layer
    assert "16 features" in penultimate_description(tiny)
    import keras

    hidden = keras.Model(tiny.model.inputs[0], tiny.model.layers[-1].input)
    expected = np.asarray(hidden(eval_set.images[chosen][..., None]))
    np.testing.assert_allclose(features, expected, atol=1e-5)
    for method in ("pca", "tsne"):
        points = project(features, method)
        assert points.shape == (200, 2) and np.isfinite(points).all()
    with pytest.raises(ValueError):
        project(features, "umap")


def test_an_ensemble_map_uses_every_towers_features():
    import keras

    inputs = keras.Input((8, 8, 1))
    flat = keras.layers.Flatten()(inputs)
    towers = [keras.layers.Dense(3, activation="softmax", name=f"tower{i}")(keras.layers.Dense(5)(flat))
              for i in range(2)]  # fmt: skip
    model = keras.Model(inputs, keras.layers.Average()(towers))
    from ml.models.files import LoadedModel
    from ml.models.metadata import ModelMetadata

    loaded = LoadedModel(model, ModelMetadata(class_names=["a", "b", "c"]), None, True)
    assert "tower0, tower1" in penultimate_description(loaded) and "5 + 5" in penultimate_description(loaded)
