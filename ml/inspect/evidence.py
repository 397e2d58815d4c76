"""Which pixels pushed the decision: Grad-CAM on the last conv layer, Guided Grad-CAM and Integrated Gradients, split
for / against.

All differentiate the class score: the logit, or for an ensemble (which averages softmaxes and has no logits) the
mean of its towers' logits; a log-probability would saturate (a black image already reads as "1" at p ≈ 1), leaving
Integrated Gradients nothing to attribute. They run on the Keras model (TFLite has no gradients), in tf.functions
built once. Why Grad-CAM's evidence spreads beside the strokes and Guided Grad-CAM's does not: README, "Where the
evidence lies" (bench/bench_gradcam_variants.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ml.inference.model_input import input_frame, prepare_for_model
from ml.inspect.graph import trace_model
from ml.models.files import LoadedModel

METHODS = ("gradcam", "guided-gradcam", "integrated-gradients")
NEEDS_CONV = ("gradcam", "guided-gradcam")
MIN_STEPS = 32
DEFAULT_STEPS = 64  # completeness within 1 % on MNIST digits (32 steps: 2.3 % at worst)
DIGIT_SIDE = 28
NO_CONV_LAYER = "no-conv-layer"  # Evidence.unsupported: the model has no conv layer to read
ONE_CELL_MAP = "one-cell-map"  # Evidence.unsupported: its last conv map is 1x1, the same weight on every pixel
NO_CONV_MESSAGE = "Grad-CAM needs a conv layer; this model has none. Try Integrated Gradients."
ONE_CELL_MESSAGE = (
    "Grad-CAM reads the last conv layer's map, which is 1x1 in this model (its input shrinks to a single position "
    "there), so it cannot show where the evidence lies. Try Guided Grad-CAM or Integrated Gradients."
)


@dataclass(frozen=True)
class Evidence:
    """Evidence for and against one class, on the 28x28 digit, each scaled so the strongest pixel of either is 1."""

    method: str
    class_index: int  # the class explained
    positive: np.ndarray | None  # 28x28 float32 >= 0: evidence for the class (None when message is set)
    negative: np.ndarray | None  # 28x28 float32 >= 0: evidence against
    message: str | None  # plain reason when the method does not apply
    towers: tuple[tuple[str, np.ndarray, np.ndarray], ...] = ()  # Grad-CAM of an ensemble: (tower, for, against)
    unsupported: str | None = None  # why the method cannot apply to this model at all: NO_CONV_LAYER or ONE_CELL_MAP


@dataclass(frozen=True)
class Attributions:
    """Integrated Gradients in the model's input space, with the scores that completeness compares them to."""

    class_index: int  # the class explained
    values: np.ndarray  # the model input's shape, batch axis removed
    score: float  # f(x): the class score of the digit
    baseline_score: float  # f(baseline): the class score of a black image


class Explainer:
    """Built once per model; explain() runs on the Keras model (TFLite has no gradients)."""

    def __init__(self, loaded: LoadedModel) -> None:
        import tensorflow as tf

        self.loaded = loaded
        self._input_shape = tuple(loaded.input_shape)
        self._tf = tf
        model = loaded.model
        self.towers: list[str | None] = []
        self._cells: list[int | None] = []  # positions in each tower's last conv map (None: free-size input)

        def chosen(class_index, probabilities):
            """The class asked for, or (a negative index) the one the model picks: decided in the same pass."""
            winner = tf.cast(tf.argmax(probabilities), tf.int32)
            return tf.where(class_index < 0, winner, class_index)

        def class_maps(batch, class_index):
            with tf.GradientTape() as tape:
                tape.watch(batch)
                trace = trace_model(model, batch, fold=True)
                target = chosen(class_index, trace.probabilities[0])
                convs = {tower: tensor for tower, tensor in trace.last_conv.items() if len(tensor.shape) == 4}
                towers = [tower for tower in trace.towers if tower in convs and tower in trace.tower_scores]
                towers = towers or list(convs)
                self.towers = towers
                self._cells = [_cells(convs[tower]) for tower in towers]
                if not towers:
                    return [], target
                scores = [trace.tower_scores.get(tower, trace.class_scores)[0, target] for tower in towers]
                total = tf.add_n(scores) if len(scores) > 1 else scores[0]
            maps = [convs[tower] for tower in towers]
            gradients = tape.gradient(total, maps)
            cams = []
            for feature_map, gradient in zip(maps, gradients, strict=True):
                weights = tf.reduce_mean(gradient, axis=(1, 2), keepdims=True)  # one weight per channel
                cam = tf.reduce_sum(weights * feature_map, axis=-1)[0]
                # Cells the score does not read (a valid 2x2 pooling of a 7x7 map drops its last row and column)
                # carry no evidence: their gradient is 0 in every channel.
                read = tf.reduce_any(tf.not_equal(gradient, 0.0), axis=-1)[0]
                cams.append(tf.where(read, cam, tf.zeros_like(cam)))
            return cams, target

        def guided_maps(batch, class_index):
            """Grad-CAM's maps and the guided-backpropagation gradient of the same class's score at the input."""
            cams, target = class_maps(batch, class_index)
            with tf.GradientTape() as tape:
                tape.watch(batch)
                trace = trace_model(model, batch, fold=True, guided=True)
                towers = [tower for tower in self.towers if tower in trace.tower_scores] or [None]
                scores = [trace.tower_scores.get(tower, trace.class_scores)[0, target] for tower in towers]
                total = tf.add_n(scores) if len(scores) > 1 else scores[0]
            return cams, target, tape.gradient(total, batch)[0]

        def path_gradients(path, class_index):
            with tf.GradientTape() as tape:
                tape.watch(path)
                trace = trace_model(model, path, fold=True)
                target = chosen(class_index, trace.probabilities[-1])  # the path's last point is the digit
                scores = tf.gather(trace.class_scores, target, axis=1)
                total = tf.reduce_sum(scores)
            return tape.gradient(total, path), scores, target

        single = tf.TensorSpec((1, *self._input_shape), tf.float32)
        self._class_maps = tf.function(class_maps, input_signature=[single, tf.TensorSpec((), tf.int32)])
        self._class_maps.get_concrete_function()  # traces now: the towers with a conv layer are known
        self._guided_maps = tf.function(guided_maps, input_signature=[single, tf.TensorSpec((), tf.int32)])
        self._path_gradients = tf.function(
            path_gradients,
            input_signature=[tf.TensorSpec((None, *self._input_shape), tf.float32), tf.TensorSpec((), tf.int32)],
        )
        self.has_conv = bool(self.towers)
        # False when every last conv map is 1x1: Grad-CAM would weigh every pixel alike
        self.gradcam_localizes = any(cells is None or cells > 1 for cells in self._cells)

    # ------------------------------------------------------------------------------------------ public

    def model_input(self, image28: np.ndarray) -> np.ndarray:
        """The (1, …) batch the model receives for a 28x28 digit."""
        image = np.asarray(image28, dtype=np.float32)
        if image.shape != (DIGIT_SIDE, DIGIT_SIDE):
            raise ValueError(f"Expected a 28x28 digit, got shape {image.shape}.")
        return prepare_for_model(image[None], self._input_shape, self.loaded.metadata)

    def explain(
        self, image28: np.ndarray, method: str = "gradcam", class_index: int | None = None, steps: int = DEFAULT_STEPS
    ) -> Evidence:
        """Evidence for ``class_index`` (None: the winning class) on a 28x28 white-on-black digit in [0, 1]."""
        if method not in METHODS:
            raise ValueError(f"Unknown method {method!r}; use one of {', '.join(METHODS)}.")
        self._check_class(class_index)
        if method == "gradcam":
            return self._gradcam(image28, class_index)
        if method == "guided-gradcam":
            return self._guided_gradcam(image28, class_index)
        attributions = self.integrated_gradients(image28, class_index, steps)
        signed = self._to_digit(_channels_summed(attributions.values, self._input_shape), image28, smooth=False)
        positive, negative = split_evidence(signed)
        return Evidence(method, attributions.class_index, positive, negative, None)

    def integrated_gradients(
        self, image28: np.ndarray, class_index: int | None = None, steps: int = DEFAULT_STEPS
    ) -> Attributions:
        """Integrated Gradients from a black digit (the trapezoid rule over ``steps`` ≥ 32 segments, in one batch)."""
        self._check_class(class_index)
        steps = max(int(steps), MIN_STEPS)
        batch = self.model_input(image28)
        baseline = self.model_input(np.zeros((DIGIT_SIDE, DIGIT_SIDE), np.float32))
        alphas = np.linspace(0.0, 1.0, steps + 1, dtype=np.float32).reshape(-1, *([1] * (batch.ndim - 1)))
        path = baseline + alphas * (batch - baseline)
        gradients, scores, target = self._path_gradients(self._tf.constant(path), self._target(class_index))
        gradients = np.asarray(gradients, dtype=np.float64)
        average = (gradients[:-1] + gradients[1:]).sum(axis=0) / (2 * steps)
        values = ((batch[0] - baseline[0]) * average).astype(np.float32)
        scores = np.asarray(scores, dtype=np.float64)
        return Attributions(int(target), values, float(scores[-1]), float(scores[0]))

    def _check_class(self, class_index: int | None) -> None:
        if class_index is not None and not 0 <= class_index < self.loaded.num_classes:
            raise ValueError(f"Class {class_index} does not exist; the model scores {self.loaded.num_classes}.")

    def _target(self, class_index: int | None):
        """The class as the compiled functions take it: -1 for the winner."""
        return self._tf.constant(-1 if class_index is None else int(class_index), self._tf.int32)

    # ------------------------------------------------------------------------------------------ Grad-CAM

    def _gradcam(self, image28: np.ndarray, class_index: int | None) -> Evidence:
        batch = self.model_input(image28)
        cams, target = self._class_maps(self._tf.constant(batch), self._target(class_index))
        class_index = int(target)
        if not self.has_conv:
            return Evidence("gradcam", class_index, None, None, NO_CONV_MESSAGE, unsupported=NO_CONV_LAYER)
        if not self.gradcam_localizes:  # one number per map: the same weight on every pixel
            return Evidence("gradcam", class_index, None, None, ONE_CELL_MESSAGE, unsupported=ONE_CELL_MAP)
        maps = [self._to_digit(np.asarray(cam, dtype=np.float32), image28, smooth=True) for cam in cams]
        combined = np.mean(maps, axis=0)
        positive, negative = split_evidence(combined)
        towers: tuple = ()
        if len(maps) > 1:
            towers = tuple((str(name), *split_evidence(one)) for name, one in zip(self.towers, maps, strict=True))
        return Evidence("gradcam", class_index, positive, negative, None, towers)

    def _guided_gradcam(self, image28: np.ndarray, class_index: int | None) -> Evidence:
        """Grad-CAM (its positive part, upsampled) times guided backpropagation, pixel by pixel (Selvaraju et al.):
        Grad-CAM's regions at the pixels' resolution. For: pixels whose brightening raises the class's score."""
        batch = self.model_input(image28)
        cams, target, guided = self._guided_maps(self._tf.constant(batch), self._target(class_index))
        class_index = int(target)
        if not self.has_conv:
            return Evidence("guided-gradcam", class_index, None, None, NO_CONV_MESSAGE, unsupported=NO_CONV_LAYER)
        regions = np.maximum(
            np.mean([self._to_digit(np.asarray(cam, dtype=np.float32), image28, smooth=True) for cam in cams], 0), 0
        )
        pixels = self._to_digit(_channels_summed(np.asarray(guided), self._input_shape), image28, smooth=False)
        positive, negative = split_evidence(regions * pixels)
        return Evidence("guided-gradcam", class_index, positive, negative, None)

    def _to_digit(self, values: np.ndarray, image28: np.ndarray, smooth: bool) -> np.ndarray:
        """A 2-D map over the model's input (or a conv layer's grid over it) placed on the 28x28 digit."""
        _, _, box = input_frame(image28, self._input_shape)
        return place_on_digit(values, box, smooth)


def _cells(feature_map) -> int | None:
    """How many positions a (1, h, w, c) conv map has (None when the input's size is free)."""
    height, width = tuple(feature_map.shape)[1:3]
    return None if height is None or width is None else int(height) * int(width)


def _channels_summed(values: np.ndarray, input_shape: tuple) -> np.ndarray:
    """A model input's attributions as one 2-D map: channels summed, flat inputs made square."""
    if values.ndim == 1:
        side = int(round(np.sqrt(values.size)))
        return values.reshape(side, side)
    if values.ndim == 3:
        return values.sum(axis=-1) if values.shape[-1] in (1, 3) else values.sum(axis=0)
    return values


def place_on_digit(values: np.ndarray, box: tuple[float, float, float, float], smooth: bool) -> np.ndarray:
    """Sample an (h, w) map spread over ``box`` (left, top, right, bottom, in 28x28 pixels) at the 28x28 pixel centres.

    ``smooth``: bilinear, as Grad-CAM's coarse grid is upsampled; else each cell's value fills its own pixels. Pixels
    outside the box get 0.
    """
    values = np.asarray(values, dtype=np.float32)
    height, width = values.shape
    left, top, right, bottom = (float(edge) for edge in box)
    if (height, width) == (DIGIT_SIDE, DIGIT_SIDE) and box == (0.0, 0.0, DIGIT_SIDE, DIGIT_SIDE):
        return values.copy()
    centres = np.arange(DIGIT_SIDE, dtype=np.float64) + 0.5
    rows = (centres - top) / (bottom - top) * height  # position in cells
    columns = (centres - left) / (right - left) * width
    inside = np.outer((rows >= 0) & (rows < height), (columns >= 0) & (columns < width))
    if smooth:
        grid = _bilinear(values, rows - 0.5, columns - 0.5)
    else:
        row_cells = np.clip(np.floor(rows).astype(int), 0, height - 1)
        column_cells = np.clip(np.floor(columns).astype(int), 0, width - 1)
        grid = values[np.ix_(row_cells, column_cells)]
    return np.where(inside, grid, 0.0).astype(np.float32)


def _bilinear(values: np.ndarray, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """Values at fractional cell positions (edges held), the rows x columns grid."""
    height, width = values.shape
    rows = np.clip(rows, 0, height - 1)
    columns = np.clip(columns, 0, width - 1)
    row0 = np.floor(rows).astype(int)
    column0 = np.floor(columns).astype(int)
    row1 = np.minimum(row0 + 1, height - 1)
    column1 = np.minimum(column0 + 1, width - 1)
    row_weight = (rows - row0)[:, None]
    column_weight = (columns - column0)[None, :]
    top = values[np.ix_(row0, column0)] * (1 - column_weight) + values[np.ix_(row0, column1)] * column_weight
    bottom = values[np.ix_(row1, column0)] * (1 - column_weight) + values[np.ix_(row1, column1)] * column_weight
    return top * (1 - row_weight) + bottom * row_weight


def split_evidence(signed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(for, against): the positive and negative parts, both divided by the largest magnitude (all 0 when flat)."""
    signed = np.nan_to_num(np.asarray(signed, dtype=np.float32))
    peak = float(np.abs(signed).max()) if signed.size else 0.0
    scale = np.float32(1.0 / peak) if peak > 0 else np.float32(0.0)
    return np.maximum(signed, 0) * scale, np.maximum(-signed, 0) * scale


def saliency(evidence: Evidence) -> np.ndarray | None:
    """The evidence for the class as a distribution: non-negative, summing to 1 (None when there is none)."""
    if evidence.positive is None:
        return None
    total = float(evidence.positive.sum())
    if total <= 0:
        return None
    return (evidence.positive / total).astype(np.float32)
