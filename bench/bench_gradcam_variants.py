"""Where Grad-CAM's evidence lies, and why: the share of positive mass within 2 px of the ink for Grad-CAM variants.

Issue 9 asks that at least 80 % of the positive Grad-CAM mass (upsampled to 28x28) lie within 2 px of the ink, with
the bundled model on MNIST test digits. This measures, on the same digits and the class each digit is predicted as:
- Grad-CAM as the paper defines it (channel weights = the spatial mean of d logit / d A; map = ReLU(sum weight * A);
  A = the last conv layer's rectified maps), per tower, the towers' maps averaged; with the cells the classifier
  never reads zeroed (what Digit Lab shows) and without (as before);
- the same weights on other maps: the conv's output before batch norm, and the previous conv layer (14x14);
- HiResCAM (sum over channels of gradient x A), LayerCAM (ReLU(gradient) x A), Grad-CAM++;
- Guided Grad-CAM (Grad-CAM x guided backpropagation) and guided backpropagation alone;
- upsampling: bilinear (Digit Lab's), bicubic, nearest;
- references that are no explanation at all: the ink itself average-pooled to the last conv layer's 7x7 grid and
  upsampled alike (what a 7x7 map that follows the ink can reach), and a uniform map (the share of the image there).
Then how class-specific each map is: the median correlation between the maps for the predicted class and the runner-up.

    python bench/bench_gradcam_variants.py [--digits 1000] [--split test|train]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SIDE = 28
BATCH = 100


def upsampling_matrices(cells: int) -> dict[str, np.ndarray]:
    """(28, cells) matrices M with map28 = M @ map @ M.T, for cells spread evenly over the 28 pixels."""
    from ml.inspect.evidence import place_on_digit

    box = (0.0, 0.0, float(SIDE), float(SIDE))
    matrices = {}
    for name, smooth in (("bilinear", True), ("nearest", False)):
        matrix = np.zeros((SIDE, cells))
        for cell in range(cells):
            impulse = np.zeros((cells, cells), np.float32)
            impulse[cell, :] = 1.0
            matrix[:, cell] = place_on_digit(impulse, box, smooth)[:, SIDE // 2]
        matrices[name] = matrix
    positions = (np.arange(SIDE) + 0.5) / SIDE * cells - 0.5  # the same cell centres, cubic convolution (a = -0.5)
    base = np.floor(positions).astype(int)
    cubic = np.zeros((SIDE, cells))
    for offset in range(-1, 3):
        distance = np.abs(positions - (base + offset))
        weight = np.where(
            distance <= 1,
            1.5 * distance**3 - 2.5 * distance**2 + 1,
            np.where(distance < 2, -0.5 * distance**3 + 2.5 * distance**2 - 4 * distance + 2, 0.0),
        )
        np.add.at(cubic, (np.arange(SIDE), np.clip(base + offset, 0, cells - 1)), weight)
    matrices["bicubic"] = cubic
    return matrices


def tower_tensors(model, digits: np.ndarray, classes: np.ndarray) -> dict[str, list[np.ndarray]]:
    """Per tower: the last conv layer's output before batch norm and after its ReLU, the previous conv layer's
    rectified output, the gradients of the tower's logit for ``classes`` at each; and the guided gradient at the
    input of the summed logits."""
    import tensorflow as tf

    from ml.inspect.graph import trace_model

    def rectified(steps, index):
        """The output of the norm and activation layers that follow step ``index`` in its tower."""
        tensor = steps[index].tensor
        for step in steps[index + 1 :]:
            if step.tower != steps[index].tower or step.kind not in ("norm", "activation"):
                break
            tensor = step.tensor
        return tensor

    @tf.function(reduce_retracing=True)
    def compute(batch, targets):
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(batch)
            trace = trace_model(model, batch, fold=False)
            steps = trace.steps
            towers = trace.towers or [None]
            found = {}
            for tower in towers:
                convs = [index for index, step in enumerate(steps) if step.kind == "conv" and step.tower == tower]
                score = tf.gather(trace.tower_scores[tower], targets, axis=1, batch_dims=1)
                found[tower] = (
                    steps[convs[-1]].tensor,
                    rectified(steps, convs[-1]),
                    rectified(steps, convs[-2]),
                    score,
                )
        result = {
            "pre": [],
            "post": [],
            "previous": [],
            "gradient pre": [],
            "gradient post": [],
            "gradient previous": [],
        }
        for pre, post, previous, score in found.values():
            for name, tensor in (("pre", pre), ("post", post), ("previous", previous)):
                result[name].append(tensor)
                result[f"gradient {name}"].append(tape.gradient(score, tensor))
        with tf.GradientTape() as tape:
            tape.watch(batch)
            trace = trace_model(model, batch, fold=False, guided=True)
            total = tf.add_n(
                [
                    tf.gather(trace.tower_scores[tower], targets, axis=1, batch_dims=1)
                    for tower in trace.towers or [None]
                ]
            )
        result["guided"] = [tape.gradient(total, batch)[..., 0]]
        return result

    collected: dict[str, list[list[np.ndarray]]] = {}
    for start in range(0, len(digits), BATCH):
        batch = tf.constant(digits[start : start + BATCH, ..., None])
        parts = compute(batch, tf.constant(classes[start : start + BATCH], tf.int32))
        for name, tensors in parts.items():
            collected.setdefault(name, []).append([np.asarray(tensor) for tensor in tensors])
    return {
        name: [np.concatenate(column) for column in zip(*chunks, strict=True)] for name, chunks in collected.items()
    }


def cam(kind: str, maps: np.ndarray, gradients: np.ndarray) -> np.ndarray:
    """(N, h, w) class activation maps from (N, h, w, c) maps and their gradients."""
    if kind == "gradcam":
        return np.einsum("nc,nhwc->nhw", gradients.mean(axis=(1, 2)), maps)
    if kind == "hirescam":
        return (gradients * maps).sum(-1)
    if kind == "layercam":
        return (np.maximum(gradients, 0) * maps).sum(-1)
    if kind == "gradcam++":  # Chattopadhay et al. 2018, the closed form for an exponentiated score
        squared, cubed = gradients**2, gradients**3
        denominator = 2 * squared + maps.sum(axis=(1, 2), keepdims=True) * cubed
        alphas = squared / np.where(denominator != 0, denominator, 1)
        weights = (alphas * np.maximum(gradients, 0)).sum(axis=(1, 2))
        return np.einsum("nc,nhwc->nhw", weights, maps)
    raise ValueError(kind)


def near_ink_shares(maps28: np.ndarray, near: np.ndarray) -> np.ndarray:
    positive = np.maximum(maps28, 0).reshape(len(maps28), -1)
    totals = positive.sum(axis=1)
    return np.where(totals > 0, (positive * near.reshape(len(near), -1)).sum(axis=1) / np.maximum(totals, 1e-30), 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits", type=int, default=1000)
    parser.add_argument("--split", choices=["test", "train"], default="test", help="train: the last N training digits")
    args = parser.parse_args()

    from scipy import ndimage

    from ml.assets import bundled_model_path
    from ml.models.files import load_model

    with np.load(Path(bundled_model_path()).parents[1] / "data" / "mnist.npz") as archive:
        images = archive["x_test"][: args.digits] if args.split == "test" else archive["x_train"][-args.digits :]
    digits = images.astype(np.float32) / 255.0
    model = load_model(bundled_model_path()).model
    ranked = np.argsort(np.asarray(model.predict(digits[..., None], verbose=0, batch_size=250)), axis=1)
    classes, runners_up = ranked[:, -1], ranked[:, -2]
    tensors = tower_tensors(model, digits, classes)
    near = np.stack([ndimage.distance_transform_edt(digit <= 0) <= 2 for digit in digits])
    towers = len(tensors["post"])

    def upsampled(maps: np.ndarray, how: str) -> np.ndarray:
        matrix = upsampling_matrices(maps.shape[1])[how]
        return np.einsum("ih,nhw,jw->nij", matrix, maps, matrix)

    def combined(
        kind: str, layer: str = "post", how: str = "bilinear", read_cells_only: bool = True, tensors=tensors
    ) -> np.ndarray:
        """The towers' maps, upsampled and averaged (ReLU comes in the share: only positive mass counts)."""
        maps = []
        for tower in range(towers):
            gradients = tensors[f"gradient {layer}"][tower]
            one = cam(kind, tensors[layer][tower], gradients)
            if read_cells_only:
                one = np.where((gradients != 0).any(axis=-1), one, 0.0)
            maps.append(upsampled(one, how))
        return np.mean(maps, axis=0)

    rows: list[tuple[str, np.ndarray]] = []
    for how in ("bilinear", "bicubic", "nearest"):
        rows.append((f"Grad-CAM, {how} (Digit Lab: bilinear)", combined("gradcam", how=how)))
    rows.append(("Grad-CAM, bilinear, every cell (before)", combined("gradcam", read_cells_only=False)))
    rows.append(("Grad-CAM on the conv's output before batch norm", combined("gradcam", "pre")))
    rows.append(("Grad-CAM on the previous conv layer (14x14)", combined("gradcam", "previous")))
    for kind, title in (("hirescam", "HiResCAM"), ("layercam", "LayerCAM"), ("gradcam++", "Grad-CAM++")):
        rows.append((f"{title}, bilinear", combined(kind)))
    guided = tensors["guided"][0]
    rows.append(("Guided Grad-CAM (Grad-CAM x guided backprop)", guided * np.maximum(combined("gradcam"), 0)))
    rows.append(("guided backpropagation alone", guided))
    pooled = digits.reshape(len(digits), 7, 4, 7, 4).mean(axis=(2, 4))
    rows.append(("reference: the ink pooled to 7x7, bilinear", upsampled(pooled, "bilinear")))
    rows.append(("reference: a uniform map", np.ones_like(digits)))

    edge = np.zeros((SIDE, SIDE), bool)
    edge[24:, :] = edge[:, 24:] = True
    before = np.maximum(combined("gradcam", read_cells_only=False), 0)
    dropped = (before * edge).reshape(len(digits), -1).sum(1) / before.reshape(len(digits), -1).sum(1)

    print(f"bundled model, {len(digits)} MNIST {args.split} digits, the class each is predicted as")
    print("positive mass within 2 px of the ink:")
    print("| map | median | mean | digits with >= 80 % |")
    print("|---|--:|--:|--:|")
    for title, maps28 in rows:
        shares = near_ink_shares(maps28, near)
        print(f"| {title} | {np.median(shares):.1%} | {shares.mean():.1%} | {np.mean(shares >= 0.8):.1%} |")
    print(f"Grad-CAM over every cell: median {np.median(dropped):.1%} of its positive mass in pixels 24-27 (rows or")
    print("columns), whose cells the towers' valid 7x7 -> 3x3 pooling never passes on to the classifier")

    others = tower_tensors(model, digits, runners_up)
    gradcam_maps = (combined("gradcam"), combined("gradcam", tensors=others))
    pairs = {
        "Grad-CAM": gradcam_maps,
        "Guided Grad-CAM": tuple(
            guide * np.maximum(maps, 0) for guide, maps in zip((guided, others["guided"][0]), gradcam_maps, strict=True)
        ),
        "guided backpropagation alone": (guided, others["guided"][0]),
    }
    print("class-specific? median correlation of the positive maps for the predicted class and the runner-up:")
    for title, (first, second) in pairs.items():
        first, second = np.maximum(first, 0).reshape(len(digits), -1), np.maximum(second, 0).reshape(len(digits), -1)
        correlations = [np.corrcoef(one, two)[0, 1] for one, two in zip(first, second, strict=True)]
        print(f"  {title}: {np.nanmedian(correlations):.2f}")


if __name__ == "__main__":
    main()
