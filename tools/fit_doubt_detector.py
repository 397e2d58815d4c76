"""Train Digit Lab's not-a-digit detector (outlier exposure) and ship it as assets/models/digitlab-doubt-detector.npz,
its SHA-256 and figures in ml/doubt/detector_digest.py; then refit the decisions that read it
(tools/fit_doubt_default.py, tools/fit_bundled_doubt.py, tools/build_bundled_fast_paths.py).

    nice python tools/fit_doubt_detector.py --target NET.keras [--per-family 3000] [--digits-per-family 2000]
        [--procedural 3000] [--procedural-digits 2000] [--epochs 8] [--jobs 2] [--seed 7]

Positives: MNIST training digits (never validation or test digits), the detector families' digits (drawn, printed,
redrawn, slanted, coarsely scanned; ml/doubt/material.py detector_families), the procedural ones (training digits
warped elastically, digits printed in every training font; ml/doubt/procedural.py) and whole digits cut from numbers
of training digits as the number reader's judge sees them (tools/number_part_material.py). Negatives: the template
letters, symbols, shapes, scribbles, noise and mixed digit fragments, the procedural stroke programs, polygons, stars
and doodles, glyphs of several scripts, digits crossed out or paired, the parts of numbers that hold a non-digit put
in a digit's place or two digits read as one, noise as a model's own 28x28 input (ml/doubt/material.py
noise_images), the letters and signs people write often, printed in the training fonts (ml/doubt/procedural.py
COMMON_CHARACTERS), and lowercase letters written by pen programs (ml/doubt/written_letters.py). Nothing of the
held-out benchmark (bench/doubt_heldout.py: its fonts, hand-drawn templates, seeds, MNIST test) is drawn; its letters
and signs are learnt as characters only, in other fonts, or as pen programs of their own. Material is cached
under /tmp (seeded, so a rerun reuses it). The printed figures come from material drawn with other seeds, from a
script and fonts kept out of training (ml/doubt/procedural.py validation_families) and from MNIST validation digits.

The shipped detector averages the logits of ml/doubt/detector.py's MEMBERS networks, each trained with --target
(another --seed each) and shipped together:

    nice python tools/fit_doubt_detector.py --seed 7 --target /tmp/a.keras   # and --seed 8 --target /tmp/b.keras
    nice python tools/fit_doubt_detector.py --ship /tmp/a.keras /tmp/b.keras
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))  # the sibling scripts

CHUNK = 500
SEED = 7
MATERIAL_SEED = 20_000  # chunk seeds 20,000 + 100 * family + chunk; the check material 29,000 + family
CHECK_SEED = 29_000
MINE_SEED = 60_000  # fresh non-digits for hard-negative mining
DIGEST = ROOT / "ml" / "doubt" / "detector_digest.py"
INSERTED_FAMILIES = (
    "letters drawn",
    "shapes drawn",
    "scribbles",
    "stroke programs",
    "shapes and doodles",
    "glyphs printed",
)
"""The non-digits put in a digit's place in numbers (tools/number_part_material.py)."""

_families = None


def _family_list():
    global _families
    if _families is None:
        from number_part_material import number_part_families

        from ml.data.datasets import load_mnist
        from ml.doubt.digit_variants import variant_families
        from ml.doubt.material import NOT_A_DIGIT, RAW_NOISE, Family, detector_families, noise_images
        from ml.doubt.procedural import common_character_family, procedural_families, validation_families
        from ml.doubt.written_letters import written_letters_family

        mnist = load_mnist(seed=2)
        digits, labels = mnist.x_train.reshape(-1, 28, 28), mnist.y_train
        _families = [
            *detector_families(digits, labels),
            *procedural_families(digits, labels),
            *validation_families(),
            *variant_families(),  # after the others, so they keep their chunk seeds and cached drawings
        ]
        _families += number_part_families(digits, labels, _inserted_drawings)
        _families.append(Family(RAW_NOISE, NOT_A_DIGIT, noise_images))
        _families.append(common_character_family())  # appended, so every earlier family keeps its chunk seeds
        _families.append(written_letters_family())
    return _families


def _inserted_drawings(count: int, seed: int) -> np.ndarray:
    """``count`` non-digit drawings (at least) of the families put in a digit's place in a number."""
    chosen = [family for family in _family_list() if family.name in INSERTED_FAMILIES]
    share = count // len(chosen) + 1
    return np.concatenate([family.make(share, seed + index).images for index, family in enumerate(chosen)])


def _draw_chunk(task: tuple[int, int, int, str]) -> str:
    index, seed, count, path = task
    if not os.path.exists(path):
        material = _family_list()[index].make(count, seed)
        temporary = path + ".part.npz"
        np.savez(temporary, images=material.images.astype(np.float32), blank=np.int64(material.blank))
        os.replace(temporary, path)
    return path


def draw_material(
    per_kind: dict[str, int], seed_base: int, jobs: int, cache: Path, names: set[str]
) -> dict[str, np.ndarray]:
    """The named families' images (family name -> (n, 28, 28)), drawn in chunks by ``jobs`` processes.
    ``per_kind`` maps "digit", "other" (and "procedural digit", "procedural other", "variant digit", "number digit",
    "number other") to counts per family."""
    from number_part_material import NUMBER_PART_FAMILIES

    from ml.doubt.digit_variants import VARIANT_FAMILIES
    from ml.doubt.material import DIGIT
    from ml.doubt.procedural import COMMON_FAMILY, PROCEDURAL_FAMILIES
    from ml.doubt.written_letters import WRITTEN_LETTERS_FAMILY

    families = _family_list()
    tasks = []
    for index, family in enumerate(families):
        if family.name not in names:
            continue
        kind = "digit" if family.kind == DIGIT else "other"
        if family.name in VARIANT_FAMILIES:
            count = per_kind.get("variant digit", per_kind[kind])
        elif family.name in NUMBER_PART_FAMILIES:
            count = per_kind.get(f"number {kind}", per_kind[kind])
        elif family.name in (*PROCEDURAL_FAMILIES, COMMON_FAMILY, WRITTEN_LETTERS_FAMILY):
            count = per_kind.get(f"procedural {kind}", per_kind[kind])
        else:
            count = per_kind[kind]
        for chunk in range(0, count, CHUNK):
            seed = seed_base + 100 * index + chunk // CHUNK
            size = min(CHUNK, count - chunk)
            tasks.append((index, seed, size, str(cache / f"{index:02d}-{seed}-{size}.npz")))
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        paths = pool.map(_draw_chunk, tasks, chunksize=1)
    material: dict[str, list] = {family.name: [] for family in families if family.name in names}
    for (index, *_), path in zip(tasks, paths, strict=True):
        with np.load(path) as archive:
            material[families[index].name].append(archive["images"])
    return {name: np.concatenate(parts) for name, parts in material.items()}


def main() -> int:
    from number_part_material import NUMBER_PART_FAMILIES

    from ml.doubt.detector import CONV_CHANNELS, HIDDEN_UNITS, MEMBERS
    from ml.doubt.material import NOT_A_DIGIT

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-family", type=int, default=3000, help="non-digit drawings per template family")
    parser.add_argument("--digits-per-family", type=int, default=2000, help="digit drawings per template family")
    parser.add_argument("--procedural", type=int, default=3000, help="non-digit drawings per procedural family")
    parser.add_argument("--procedural-digits", type=int, default=2000, help="digit drawings per procedural family")
    parser.add_argument("--variant-digits", type=int, default=4000, help="digits in writers' variants")
    parser.add_argument("--number-digits", type=int, default=4000, help="whole digits cut from composed numbers")
    parser.add_argument("--number-others", type=int, default=3000, help="non-digits cut from composed numbers")
    parser.add_argument("--no-numbers", action="store_true", help="no material cut from numbers (the previous way)")
    parser.add_argument("--no-procedural", action="store_true", help="only the template families (the previous way)")
    parser.add_argument("--mine", type=int, default=0, help="hard negatives: fresh non-digits per family to mine")
    parser.add_argument(
        "--first", type=Path, help="a network (.keras) this tool saved, to mine with instead of training"
    )
    parser.add_argument("--channels", default=",".join(map(str, CONV_CHANNELS)), help="conv layers' widths")
    parser.add_argument("--hidden", type=int, default=HIDDEN_UNITS, help="hidden dense units")
    parser.add_argument(
        "--ship", type=Path, nargs="+", help=f"ship {MEMBERS} networks (.keras) this tool saved with --target, together"
    )
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=SEED, help="the training's seed (initial weights, order)")
    parser.add_argument("--jobs", type=int, default=2, help="processes drawing the material")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/digitlab-doubt-detector"))
    parser.add_argument(
        "--target", type=Path, help="write the network here (.keras) and its figures beside it, not ship it"
    )
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    channels = tuple(int(width) for width in args.channels.split(","))
    shipping = args.target is None
    if shipping and (channels != CONV_CHANNELS or args.hidden != HIDDEN_UNITS):
        parser.error("only a network of ml/doubt/detector.py's layer widths can be shipped; give --target")
    if shipping and len(args.ship or ()) != MEMBERS:
        parser.error(f"the detector ships {MEMBERS} networks trained with --target: give them to --ship")

    from ml.data.datasets import load_mnist

    started = time.perf_counter()
    per_kind = {
        "digit": args.digits_per_family,
        "other": args.per_family,
        "procedural digit": args.procedural_digits,
        "procedural other": args.procedural,
        "variant digit": args.variant_digits,
        "number digit": args.number_digits,
        "number other": args.number_others,
    }
    material, check, kinds = draw_all(per_kind, args.jobs, args.cache)
    if args.no_procedural:
        from ml.doubt.procedural import PROCEDURAL_FAMILIES

        material = {name: images for name, images in material.items() if name not in PROCEDURAL_FAMILIES}
    if args.no_numbers:
        material = {name: images for name, images in material.items() if name not in NUMBER_PART_FAMILIES}
    counts = ", ".join(f"{name} {len(images)}" for name, images in material.items())
    print(f"material drawn in {time.perf_counter() - started:.0f} s: {counts}")

    mnist = load_mnist(seed=2)
    validation = mnist.x_val.reshape(-1, 28, 28).astype(np.float32)
    train_digits = mnist.x_train.reshape(-1, 28, 28)
    options = {"conv_channels": channels, "hidden_units": args.hidden}
    trained = time.perf_counter()
    if args.ship:
        import keras

        networks = [keras.saving.load_model(path) for path in args.ship]
    elif args.mine:
        if args.first:
            import keras

            first = keras.saving.load_model(args.first)
        else:
            first = train_network(material, kinds, train_digits, args.epochs, args.seed, **options)
        material["hard negatives"] = mine(first, validation, kinds, args.mine, args.jobs, args.cache)
        kinds["hard negatives"] = NOT_A_DIGIT
    if not args.ship:
        networks = [train_network(material, kinds, train_digits, args.epochs, args.seed, **options)]
    print(f"trained in {time.perf_counter() - trained:.0f} s")
    score = keras_scores(networks)
    figures = check_figures(score, validation, check, kinds)
    if not shipping:
        networks[0].save(args.target)
        args.target.with_suffix(".json").write_text(json.dumps({"args": str(vars(args)), **figures}, indent=1))
        print(json.dumps(figures, indent=1))
        return 0
    target = ROOT / "assets" / "models" / "digitlab-doubt-detector.npz"
    weights_out = save_weights(networks, target)

    from ml.doubt.detector import SCORE_LIMIT, read_detector

    detector = read_detector(target, expected_sha256=None)
    keras_logits = np.clip(score(validation[:512]), -SCORE_LIMIT, SCORE_LIMIT)  # the numpy pass clips its logits
    difference = np.abs(keras_logits - detector.scores(validation[:512])).max()
    print(f"numpy forward pass against Keras (logits clipped to +-{SCORE_LIMIT:g}): max |difference| {difference:.2e}")
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    write_digest(digest, figures)
    params = sum(int(np.prod(value.shape)) for value in weights_out.values())
    print(f"{target.relative_to(ROOT)}: {target.stat().st_size} bytes, {params} parameters, SHA-256 {digest}")
    print(json.dumps(figures, indent=1))
    return 0


def keras_scores(networks):
    """(n, 28, 28) -> (n,) logits of "not a digit": the Keras networks' mean."""
    return lambda images: np.mean(
        [np.asarray(network.predict(images[..., None], batch_size=1024, verbose=0))[:, 0] for network in networks],
        axis=0,
    )


def mine(network, validation: np.ndarray, kinds: dict[str, str], count: int, jobs: int, cache: Path) -> np.ndarray:
    """Hard negatives: fresh non-digits (MINE_SEED; ``count`` per procedural family, half that per template family,
    no noise, nothing of the validation families) that ``network`` accepts at the logit refusing 1 % of the
    validation digits."""
    from ml.doubt.material import NOT_A_DIGIT
    from ml.doubt.procedural import VALIDATION_FAMILIES

    score = keras_scores([network])
    threshold = float(np.quantile(score(validation), 0.99))
    names = {
        name for name, kind in kinds.items() if kind == NOT_A_DIGIT and name not in (*VALIDATION_FAMILIES, "noise")
    }
    per_kind = {"digit": 0, "other": count // 2, "procedural other": count}
    fresh = draw_material(per_kind, MINE_SEED, jobs, cache, names)
    hard = []
    for name, images in fresh.items():
        accepted = images[score(images) < threshold]
        print(f"hard negatives from {name}: {len(accepted)} of {len(images)} accepted by the first network")
        hard.append(accepted)
    return np.concatenate(hard)


def draw_all(per_kind: dict[str, int], jobs: int, cache: Path) -> tuple[dict, dict, dict]:
    """(training material, check material, family kinds): the training families with MATERIAL_SEED; every family,
    the validation families (kept out of training) included, with CHECK_SEED (500 each, 1,000 for validation)."""
    from ml.doubt.procedural import VALIDATION_FAMILIES

    families = _family_list()
    kinds = {family.name: family.kind for family in families}
    training = {family.name for family in families if family.name not in VALIDATION_FAMILIES}
    material = draw_material(per_kind, MATERIAL_SEED, jobs, cache, training)
    check = draw_material({"digit": 500, "other": 500}, CHECK_SEED, jobs, cache, training)
    check |= draw_material({"digit": 1000, "other": 1000}, CHECK_SEED, jobs, cache, set(VALIDATION_FAMILIES))
    return material, check, kinds


def train_network(
    material: dict[str, np.ndarray],
    kinds: dict[str, str],
    train_digits: np.ndarray,
    epochs: int,
    seed: int = SEED,
    **network_options,
):
    """The detector trained on MNIST training digits and the material: the generated digits weigh as much as all
    MNIST training digits together, each non-digit family the same, and the two classes the same."""
    from ml.doubt.material import DIGIT

    train_digits = train_digits.astype(np.float32)
    images, targets, weights = [train_digits], [np.zeros(len(train_digits))], [np.full(len(train_digits), 1.0)]
    digit_families = [name for name in material if kinds[name] == DIGIT]
    other_families = [name for name in material if kinds[name] != DIGIT]
    generated_digits = sum(len(material[name]) for name in digit_families)
    for name in digit_families:
        images.append(material[name])
        targets.append(np.zeros(len(material[name])))
        weights.append(np.full(len(material[name]), len(train_digits) / generated_digits))
    positives_weight = 2.0 * len(train_digits)
    for name in other_families:
        images.append(material[name])
        targets.append(np.ones(len(material[name])))
        weights.append(np.full(len(material[name]), positives_weight / len(other_families) / len(material[name])))
    x = np.concatenate(images)[..., None]
    y = np.concatenate(targets).astype(np.float32)
    w = np.concatenate(weights).astype(np.float32)
    w /= w.mean()

    from ml.native_log import configure_tensorflow_logging, native_chatter_filtered

    with native_chatter_filtered(configure_tensorflow_logging()):
        import keras
    keras.utils.set_random_seed(seed)
    from ml.doubt.detector import build_keras_network

    network = build_keras_network(**network_options)
    schedule = keras.optimizers.schedules.CosineDecay(2e-3, epochs * (len(x) // 256 + 1))
    network.compile(optimizer=keras.optimizers.Adam(schedule), loss=keras.losses.BinaryCrossentropy(from_logits=True))
    network.fit(x, y, sample_weight=w, batch_size=256, epochs=epochs, shuffle=True, verbose=2)
    print(f"{len(x)} images ({int(y.sum())} not digits)")
    return network


def save_weights(networks, target: Path) -> dict[str, np.ndarray]:
    """The networks' conv, dense and score weights written to ``target`` (.npz, ``member<i>_`` before each
    network's names) and returned."""
    weights_out = {}
    for index, network in enumerate(networks):
        for layer in network.layers:
            if layer.name.startswith(("conv", "dense", "score")):
                kernel, bias = layer.get_weights()
                weights_out[f"member{index}_{layer.name}_kernel"] = kernel.astype(np.float32)
                weights_out[f"member{index}_{layer.name}_bias"] = bias.astype(np.float32)
    np.savez(target, **weights_out)
    return weights_out


def check_figures(score, validation: np.ndarray, check: dict[str, np.ndarray], kinds: dict[str, str]) -> dict:
    """AUROC (all check digits against the non-digits; and against the unseen script and fonts alone) and refusals
    on check material (other seeds) at the logits that refuse 1 % and 0.2 % of MNIST validation digits."""
    from sklearn.metrics import roc_auc_score

    from ml.doubt.material import DIGIT
    from ml.doubt.procedural import VALIDATION_FAMILIES

    validation_scores = score(validation)
    threshold = float(np.quantile(validation_scores, 0.99))
    strict = float(np.quantile(validation_scores, 0.998))
    scores = {name: score(images) for name, images in check.items()}
    digits = np.concatenate([validation_scores] + [s for n, s in scores.items() if kinds[n] == DIGIT])

    def auroc(others: list[np.ndarray]) -> float:
        others = np.concatenate(others)
        return round(float(roc_auc_score(np.r_[np.zeros(len(digits)), np.ones(len(others))], np.r_[digits, others])), 4)

    unseen = [s for n, s in scores.items() if kinds[n] != DIGIT and n in VALIDATION_FAMILIES]
    return {
        "check_auroc": auroc([s for n, s in scores.items() if kinds[n] != DIGIT]),
        "unseen_auroc": auroc(unseen),
        "logit_refusing_1pct_validation": round(threshold, 3),
        "refused": {name: round(float((values >= threshold).mean()), 4) for name, values in scores.items()},
        "refused_at_0.2pct_validation": {name: round(float((v >= strict).mean()), 4) for name, v in scores.items()},
    }


def write_digest(digest: str, figures: dict) -> None:
    text = (
        '"""The shipped not-a-digit detector\'s SHA-256 and figures, written by tools/fit_doubt_detector.py (do not '
        'edit)."""\n\n# ruff: noqa: E501\n'
        f'DETECTOR_SHA256 = "{digest}"\n'
        f"DETECTOR_FIGURES: dict = {json.dumps(figures)}\n"
    )
    DIGEST.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
