"""Not a digit: AUROC (digits against non-digits) and refusal rates per held-out family for each method compared,
and the chosen one (the decision stored in the model's card).

    python bench/bench_doubt.py [--model PATH] [--per-family 500] [--seed 1001]

Held-out material (bench/doubt_heldout.py) shares no letter, shape, font, hand or seed with the tuning material the
card's decision was fitted on. The digits it must accept: MNIST test, MNIST test redrawn thicker/thinner/photographed
and slanted, digits drawn in another hand, printed in other fonts, and scikit-learn's 8x8 digits. A drawing the
preprocessing reads as blank ("No digit found") counts as refused.

Methods (thresholds of the plain scores set on MNIST validation digits, 0.2 % refused; the chosen one's on its
tuning material): max softmax probability with the card's temperature; energy of the towers' logits; Mahalanobis
distance on the penultimate features (class means, shared covariance, from 10,000 MNIST training digits); the
not-a-digit detector alone (a small CNN learnt from generated non-digits, ml/doubt/detector.py); Mahalanobis distance
on the detector's hidden features (same fit); Digit Lab's default decision for models without a fitted one (input
checks + detector); with ``--compare FILE``, another fitted decision (a card's ``doubt`` entry as JSON, e.g. the
previous one) judged on the same material; the card's decision. "at 2 %" gives each score's best case: the
refusals at the threshold that refuses 2 % of the held-out digit styles. Last, the time to judge one prediction
(median) and, with ``--compare``, the thread CPU time of the card's decision against the compared one, interleaved.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
for folder in (ROOT, ROOT / "bench"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="a .keras or .h5 model (default: the bundled one)")
    parser.add_argument("--per-family", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1001)
    parser.add_argument("--compare", type=Path, help="another fitted decision (a card's doubt entry as JSON) to judge")
    args = parser.parse_args()

    from ml.native_log import configure_tensorflow_logging, native_chatter_filtered

    with native_chatter_filtered(configure_tensorflow_logging()):
        from doubt_heldout import held_out_families, missing_fonts_note

        from ml.assets import bundled_model_path
        from ml.data.datasets import load_mnist
        from ml.doubt.detector import shipped_detector
        from ml.doubt.material import DIGIT
        from ml.doubt.scorer import DoubtSettings, Scorer
        from ml.doubt.verdict import DoubtJudge, default_settings
        from ml.inference.predictor import Predictor
        from ml.models.files import load_model
    from sklearn.metrics import roc_auc_score

    loaded = load_model(args.model or bundled_model_path())
    predictor = Predictor(loaded)
    judge = DoubtJudge(loaded)
    checks = Scorer(default_settings())
    reader = PenultimateReader(loaded)
    mnist = load_mnist(seed=2)
    squeeze = lambda images: images.reshape(len(images), 28, 28)  # noqa: E731
    mahalanobis = fit_mahalanobis(reader(squeeze(mnist.x_train[6000:16000])), mnist.y_train[6000:16000])
    detector = shipped_detector()
    detector_mahalanobis = fit_mahalanobis(
        detector.features(squeeze(mnist.x_train[6000:16000])), mnist.y_train[6000:16000]
    )
    compared = None
    if args.compare:
        import json

        compared = DoubtSettings.from_dict(json.loads(args.compare.read_text(encoding="utf-8")))

    started = time.perf_counter()
    sets = {"MNIST test": (DIGIT, squeeze(mnist.x_test), mnist.y_test, 0)}
    validation = squeeze(mnist.x_val)[len(mnist.x_val) // 2 :]  # the half the card's threshold was not fitted on
    if note := missing_fonts_note():
        print(note)
    for family in held_out_families(squeeze(mnist.x_test), mnist.y_test):
        material = family.make(args.per_family, args.seed)
        sets[family.name] = (family.kind, material.images, material.labels, material.blank)
    print(f"held-out material drawn in {time.perf_counter() - started:.0f} s ({args.per_family} per family)")

    compared_name = "compared: " + (compared.method if compared is not None else "")
    chosen_name = "chosen: " + (judge.settings.method if judge.settings is not None else "confidence floor")

    def scores_of(images: np.ndarray) -> dict[str, np.ndarray]:
        probabilities = predictor.predict_batch(images)
        features, logits = reader(images, with_logits=True)
        verdicts = judge.judge_batch(images, probabilities)
        return {
            "max softmax (T)": 1.0 - probabilities.max(axis=1),
            "energy (logits)": -np.mean([log_sum_exp(tower) for tower in logits], axis=0),
            "Mahalanobis (penultimate)": mahalanobis(features),
            "detector alone": detector.scores(images),
            "Mahalanobis (detector features)": detector_mahalanobis(detector.features(images)),
            "default (checks + detector)": checks.scores(images, probabilities),
            **({} if compared is None else {compared_name: Scorer(compared).scores(images, probabilities)}),
            chosen_name: np.array([verdict.score for verdict in verdicts]),
            "_refused": np.array([verdict.refused for verdict in verdicts]),
            "_right": probabilities.argmax(axis=1),
        }

    scored = {name: scores_of(images) for name, (_, images, _, _) in sets.items()}
    validation_scores = scores_of(validation)
    methods = [name for name in validation_scores if not name.startswith("_")]
    digits = [name for name, (kind, *_) in sets.items() if kind == DIGIT]
    styles = [name for name in digits if name != "MNIST test"]
    others = [name for name, (kind, *_) in sets.items() if kind != DIGIT]
    all_digit_scores = {m: np.concatenate([scored[name][m] for name in digits]) for m in methods}
    style_scores = {m: np.concatenate([scored[name][m] for name in styles]) for m in methods}

    print(f"model: {loaded.display_name}; decision: {judge.description}")
    header = f"{'method':30} " + " ".join(f"{name[:16]:>16}" for name in others + digits)
    for method in methods:
        if method.startswith("chosen"):
            threshold = judge.settings.threshold if judge.settings is not None else 0.5
            refused_of = lambda name: scored[name]["_refused"]  # noqa: E731
        elif method.startswith(("compared", "default")):
            threshold = compared.threshold if method.startswith("compared") else checks.settings.threshold
            refused_of = lambda name, m=method, t=threshold: scored[name][m] >= t  # noqa: E731
        else:
            threshold = float(np.quantile(validation_scores[method], 0.998))
            refused_of = lambda name, m=method, t=threshold: scored[name][m] >= t  # noqa: E731
        at_two = float(np.quantile(style_scores[method], 0.98))
        print(f"\n== {method}")
        print(header)
        aurocs, refusals, best = [], [], []
        for name in others:
            values = scored[name][method]
            labels = np.r_[np.zeros(len(all_digit_scores[method])), np.ones(len(values))]
            aurocs.append(roc_auc_score(labels, np.r_[all_digit_scores[method], values]))
            blank = sets[name][3]
            refusals.append((refused_of(name).sum() + blank) / (len(values) + blank))
            best.append(((values >= at_two).sum() + blank) / (len(values) + blank))
        for name in digits:  # a digit read as blank is refused too (the window says "No digit found")
            values, blank = scored[name][method], sets[name][3]
            refusals.append((refused_of(name).sum() + blank) / (len(values) + blank))
            best.append(((values >= at_two).sum() + blank) / (len(values) + blank))
        print(f"{'AUROC vs all digits':30} " + " ".join(f"{value:16.3f}" for value in aurocs))
        print(f"{'refused':30} " + " ".join(f"{value:16.1%}" for value in refusals))
        print(f"{'refused at 2 % styles':30} " + " ".join(f"{value:16.1%}" for value in best))
        test_refused = refused_of("MNIST test")
        right = scored["MNIST test"]["_right"] == sets["MNIST test"][2]
        non_digit_refused = np.mean(refusals[: len(others)])
        style_refused = np.mean(refusals[len(others) + 1 :])
        print(
            f"summary: non-digits refused {non_digit_refused:.1%} (families' mean), other-style digits refused "
            f"{style_refused:.1%}, MNIST test refused {test_refused.mean():.2%}, accuracy on accepted "
            f"{right[~test_refused].mean():.2%} (all: {right.mean():.2%})"
        )
    image = sets["MNIST test"][1][:1]
    probabilities = predictor.predict_batch(image)
    timings = []
    for _ in range(200):
        start = time.perf_counter()
        judge.judge(image[0], probabilities[0])
        timings.append(time.perf_counter() - start)
    print(
        f"\njudge one prediction: median {np.median(timings) * 1e3:.2f} ms (p95 {np.quantile(timings, 0.95) * 1e3:.2f})"
    )
    if compared is not None:  # the card's decision against the compared one, interleaved, thread CPU time
        compared_judge = DoubtJudge(loaded)
        compared_judge.settings, compared_judge._scorer = compared, Scorer(compared)
        images = sets["MNIST test"][1][:200]
        cpu = {"chosen": [], "compared": []}
        for index in range(len(images)):
            pair = (("chosen", judge), ("compared", compared_judge))
            for name, each in pair if index % 2 else pair[::-1]:
                start = time.thread_time()
                each.judge(images[index], probabilities[0])
                cpu[name].append(time.thread_time() - start)
        chosen_ms, compared_ms = (np.median(cpu[name]) * 1e3 for name in ("chosen", "compared"))
        print(
            f"judge one prediction, thread CPU, {len(images)} interleaved: chosen {chosen_ms:.2f} ms, compared "
            f"{compared_ms:.2f} ms, ratio {chosen_ms / compared_ms:.2f}"
        )
    return 0


def log_sum_exp(logits: np.ndarray) -> np.ndarray:
    top = logits.max(axis=1, keepdims=True)
    return (top + np.log(np.exp(logits - top).sum(axis=1, keepdims=True)))[:, 0]


class PenultimateReader:
    """Penultimate features (every tower's, side by side) and each tower's logits, for batches of 28x28 digits."""

    def __init__(self, loaded) -> None:
        import keras
        import tensorflow as tf

        from ml.evaluation.embedding import penultimate_layers

        self.loaded = loaded
        layers = penultimate_layers(loaded.model)
        self.heads = [loaded.model.get_layer(name) for name, _ in layers]
        extractor = keras.Model(loaded.model.inputs[0], [tensor for _, tensor in layers])
        self.graph = tf.function(lambda batch: extractor(batch, training=False), reduce_retracing=True)

    def __call__(self, images: np.ndarray, with_logits: bool = False):
        from ml.inference.model_input import prepare_for_model

        features, logits = [], []
        for start in range(0, len(images), 500):
            batch = prepare_for_model(images[start : start + 500], self.loaded.input_shape, self.loaded.metadata)
            outputs = self.graph(batch)
            outputs = [np.asarray(o) for o in (outputs if isinstance(outputs, list | tuple) else [outputs])]
            features.append(np.concatenate(outputs, axis=1))
            logits.append(
                np.stack([o @ h.kernel.numpy() + h.bias.numpy() for o, h in zip(outputs, self.heads, strict=True)])
            )
        features = np.concatenate(features)
        return (features, np.concatenate(logits, axis=1)) if with_logits else features


def fit_mahalanobis(features: np.ndarray, labels: np.ndarray):
    """The smallest Mahalanobis distance to a class mean (shared covariance, lightly shrunk)."""
    means = np.stack([features[labels == c].mean(axis=0) for c in range(10)])
    centred = features - means[labels]
    covariance = centred.T @ centred / len(features)
    covariance += np.eye(len(covariance)) * 1e-3 * np.trace(covariance) / len(covariance)
    precision = np.linalg.inv(covariance)

    def distance(values: np.ndarray) -> np.ndarray:
        return np.stack([np.einsum("ij,jk,ik->i", values - m, precision, values - m) for m in means], 1).min(1)

    return distance


if __name__ == "__main__":
    sys.exit(main())
