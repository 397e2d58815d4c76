"""Tune the teach's settings without touching the benchmark's digits: samples *and* held-back digits of a style both
come from MNIST's validation split (bench_teach.py measures on the test set, with other samples).

Each variant: 5 samples per digit chosen with ``seed`` (seeds 1000+, never the benchmark's), 1,000 other validation
digits of the style held back, and the other 3,950 plain validation digits for forgetting. Prints one JSON line per
variant: style accuracy before/after, plain-digit accuracy before/after, and the teach's wall and CPU time.

With ``--shares 1,0.8``, each taught model is also measured with its weights blended back towards the original
ones (the taught weights' share; ``TeachSettings.taught_share``), one line per share, without teaching again (the
teach itself then keeps its full change, taught_share=1, unless the variant sets it).

    python tools/tune_teach.py outline:0 outline:0:keep_ink_levels=1 slant:1:average_last_epochs=4,epochs=12
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def parse_variant(text: str) -> tuple[str, int, dict]:
    """``style:seed[:name=value,…]`` -> (style, seed, TeachSettings overrides); values are numbers (1/0 for yes/no)."""
    style, seed, *rest = text.split(":")
    overrides = {}
    for pair in filter(None, (rest[0] if rest else "").split(",")):
        name, value = pair.split("=")
        overrides[name] = float(value) if "." in value or "e" in value else int(value)
    return style, int(seed), overrides


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="+", help="style:seed[:setting=value,…], style outline or slant")
    parser.add_argument("--shares", default="", help="taught weights' shares to measure too, e.g. 1,0.9,0.8")
    parser.add_argument(
        "--refresh",
        default="",
        help="with --shares, also measure each blend with its batch-norm statistics refreshed on: replay (2,000 "
        "MNIST training digits), mix (the same, the teach's share of them sheared to the hand's slant, and the "
        "samples), e.g. replay,mix",
    )
    parser.add_argument(
        "--layer-shares",
        default="",
        help="taught shares per kind of layer to measure too, CONV:DENSE pairs, e.g. 1:0.5,0.5:1",
    )
    args = parser.parse_args()

    import keras

    from ml.assets import bundled_model_path
    from ml.data.datasets import load_mnist
    from ml.inference.model_input import prepare_for_model
    from ml.models.files import load_model
    from ml.teach.batch_norm import refresh_batch_norm
    from ml.teach.slant import sheared
    from ml.teach.styles import outline_digits, slanted_digits
    from ml.teach.teaching import TEACH_AUGMENTATION, TeachSettings, accuracy, teach

    styles = {"outline": outline_digits, "slant": slanted_digits}
    mnist = load_mnist()
    images, labels = mnist.x_val[..., 0], mnist.y_val.astype(np.int64)
    for text in args.variants:
        style_name, seed, overrides = parse_variant(text)
        style = styles[style_name]
        rng = np.random.default_rng(1000 + seed)
        chosen = np.concatenate([rng.choice(np.flatnonzero(labels == d), 5, replace=False) for d in range(10)])
        rest = np.setdiff1d(np.arange(len(labels)), chosen)
        tune = np.random.default_rng(7).choice(rest, 1000, replace=False)
        plain = np.setdiff1d(rest, tune)
        if "thickness_probability" in overrides:
            probability = overrides.pop("thickness_probability")
            overrides["augmentation"] = dataclasses.replace(TEACH_AUGMENTATION, thickness_probability=probability)
        for name in (
            "keep_ink_levels",
            "freeze_batch_norm",
            "cosine_decay",
            "freeze_full_resolution_convs",
            "augment_upright_replay",
        ):
            if name in overrides:
                overrides[name] = bool(overrides[name])
        if args.shares:
            overrides.setdefault("taught_share", 1.0)
            overrides.setdefault("taught_share_in_user_slant", 1.0)
        settings = TeachSettings(seed=seed, test_images=1, **overrides)
        loaded = load_model(bundled_model_path())
        started, cpu_started = time.perf_counter(), time.process_time()
        result = teach(
            loaded, style(images[chosen]), labels[chosen], settings, held_back=(style(images[tune]), labels[tune])
        )
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        row = {
            "variant": text,
            "style_before": result.record["samples_before"],
            "style_after": result.record["samples_after"],
            "plain_before": round(accuracy(loaded, images[plain], labels[plain]), 5),
            "plain_after": round(accuracy(loaded, images[plain], labels[plain], result.model), 5),
            "teach_s": result.record["teach_seconds"],
            "wall_s": round(wall, 1),
            "cpu_s": round(cpu, 1),
        }
        print(json.dumps(row), flush=True)
        taught, original = result.model.get_weights(), loaded.model.get_weights()
        replay = mnist.x_train[np.random.default_rng(seed).choice(len(mnist.x_train), 2000, replace=False), ..., 0]
        slanted = int(round(len(replay) * settings.replay_in_user_slant)) if result.record["user_slant"] else 0
        refresh_images = {
            "replay": replay,
            "mix": np.concatenate(
                [sheared(replay[:slanted], result.record["user_slant"]), replay[slanted:], style(images[chosen])]
            ),
        }
        taught_layers = [layer.get_weights() for layer in result.model.layers]
        for pair in filter(None, args.layer_shares.split(",")):
            conv_share, dense_share = (float(part) for part in pair.split(":"))
            for layer, kept, before in zip(result.model.layers, taught_layers, loaded.model.layers, strict=True):
                share = conv_share if isinstance(layer, keras.layers.Conv2D) else dense_share
                layer.set_weights(
                    [share * t + (1 - share) * o for t, o in zip(kept, before.get_weights(), strict=True)]
                )
            style_after = accuracy(loaded, style(images[tune]), labels[tune], result.model)
            plain_after = accuracy(loaded, images[plain], labels[plain], result.model)
            name = f"{text} conv={conv_share} dense={dense_share}"
            print(
                json.dumps({**row, "variant": name, "style_after": style_after, "plain_after": plain_after}), flush=True
            )
        for share in [float(text) for text in filter(None, args.shares.split(","))]:
            for refresh in ["", *filter(None, args.refresh.split(","))]:
                blend = [share * t + (1 - share) * o for t, o in zip(taught, original, strict=True)]
                result.model.set_weights(blend)
                if refresh:
                    batch = prepare_for_model(refresh_images[refresh], loaded.input_shape, loaded.metadata)
                    refresh_batch_norm(result.model, batch)
                style_after = accuracy(loaded, style(images[tune]), labels[tune], result.model)
                plain_after = accuracy(loaded, images[plain], labels[plain], result.model)
                name = f"{text} share={share}" + (f" refresh={refresh}" if refresh else "")
                blended = {"variant": name, "style_after": style_after, "plain_after": plain_after}
                print(json.dumps({**row, **blended}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
