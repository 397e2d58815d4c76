"""A map of the data: each image's features from the model's penultimate layer, projected to 2-D (PCA, or t-SNE
from scikit-learn on a sample).

The penultimate layer is the input of the last layer with weights on the way back from the output (the final
Dense of a plain CNN or MLP). The bundled ensemble ends in three towers' Dense layers averaged together; its map
uses all three towers' penultimate features side by side (3 x 128 values), so it shows what the whole ensemble
sees rather than one tower.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ml.evaluation.run import DEFAULT_BATCH_SIZE, EvaluationStopped, model_batches
from ml.evaluation.sets import EvaluationSet

PROJECTIONS = ("pca", "tsne")
TSNE_SAMPLE = 2000  # t-SNE is quadratic-ish: a sample of this many images takes about 10-20 s on 2 cores
TSNE_PCA_DIMENSIONS = 50  # features are reduced by PCA first, as the t-SNE literature advises


def penultimate_layers(model) -> list[tuple[str, object]]:
    """(layer name, its input tensor) of each last weighted layer on the paths back from the model's output."""
    import keras

    found: list[tuple[str, object]] = []
    frontier = [model.outputs[0]]
    seen: set[int] = set()
    while frontier:
        tensor = frontier.pop(0)
        operation, node_index, _ = tensor._keras_history
        if id(operation) in seen:
            continue
        seen.add(id(operation))
        if isinstance(operation, keras.layers.InputLayer):
            continue
        inputs = list(operation._inbound_nodes[node_index].input_tensors)
        if operation.weights and inputs:
            found.append((operation.name, inputs[0]))
        else:
            frontier.extend(inputs)
    return sorted(found, key=lambda item: item[0])


def penultimate_description(loaded) -> str:
    """Which layer the map's features come from, in words (for the window and the report)."""
    layers = penultimate_layers(loaded.model)
    if not layers:
        return "the model's input (it has no weighted layer to look behind)"
    sizes = [int(np.prod([size for size in tensor.shape[1:] if size is not None])) for _, tensor in layers]
    if len(layers) == 1:
        return f"the input of {layers[0][0]} ({sizes[0]} features)"
    names = ", ".join(name for name, _ in layers)
    return f"the inputs of {names}, side by side ({' + '.join(str(size) for size in sizes)} features)"


def sample_indices(count: int, size: int = TSNE_SAMPLE, seed: int = 0) -> np.ndarray:
    """``size`` indices out of ``count`` (all of them when fewer), drawn with a fixed seed, sorted."""
    if count <= size:
        return np.arange(count, dtype=np.int64)
    return np.sort(np.random.default_rng(seed).choice(count, size=size, replace=False)).astype(np.int64)


def penultimate_features(
    loaded,
    eval_set: EvaluationSet,
    indices: np.ndarray | None = None,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> np.ndarray:
    """(n, d) float32 penultimate features of the set's images (or of ``indices`` of them, in that order)."""
    import keras
    import tensorflow as tf

    model = loaded.model
    layers = penultimate_layers(model)
    outputs = [tensor for _, tensor in layers] or [model.inputs[0]]
    extractor = keras.Model(model.inputs[0], outputs)
    graph = tf.function(lambda batch: extractor(batch, training=False), reduce_retracing=True)
    chosen = eval_set if indices is None else eval_set.subset(indices)
    batch_of = model_batches(loaded, chosen)
    rows = []
    for start in range(0, len(chosen), batch_size):
        if should_stop is not None and should_stop():
            raise EvaluationStopped("The map was stopped; nothing was computed.")
        values = graph(tf.constant(batch_of(start, start + batch_size)))
        values = values if isinstance(values, list | tuple) else [values]
        rows.append(np.concatenate([np.asarray(v).reshape(len(np.asarray(v)), -1) for v in values], axis=1))
        if progress is not None:
            progress(min(start + batch_size, len(chosen)), len(chosen))
    if not rows:
        return np.zeros((0, 0), np.float32)
    return np.concatenate(rows).astype(np.float32)


def project(features: np.ndarray, method: str = "pca", seed: int = 0) -> np.ndarray:
    """(n, d) features -> (n, 2) map coordinates by PCA or t-SNE (pass t-SNE a sample: :func:`sample_indices`)."""
    from sklearn.decomposition import PCA

    if method not in PROJECTIONS:
        raise ValueError(f"Unknown projection {method!r}; use one of {', '.join(PROJECTIONS)}.")
    features = np.asarray(features, dtype=np.float32)
    count = len(features)
    if count < 3:
        return np.zeros((count, 2), np.float32)
    if method == "pca":
        return PCA(n_components=2, random_state=seed).fit_transform(features).astype(np.float32)
    from sklearn.manifold import TSNE

    reduced = features
    if features.shape[1] > TSNE_PCA_DIMENSIONS and count > TSNE_PCA_DIMENSIONS:
        reduced = PCA(n_components=TSNE_PCA_DIMENSIONS, random_state=seed).fit_transform(features)
    perplexity = float(min(30.0, max(2.0, (count - 1) / 3.0)))
    tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed)
    return tsne.fit_transform(reduced).astype(np.float32)
