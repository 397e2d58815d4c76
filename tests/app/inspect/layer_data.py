"""Layer traces and filter banks as the model thread sends them (plain numpy data), for the widget tests."""

from __future__ import annotations

import numpy as np


def layer(name: str, kind: str, shape: tuple, tower: str | None = None, note: str = "", seed: int = 0, values=True):
    """One ``LayerView`` as a dict; ``values=False`` for a dropout layer (off at inference)."""
    rng = np.random.default_rng(seed)
    data = rng.random(shape, dtype=np.float32) if values else None
    return {"name": name, "kind": kind, "tower": tower, "output_shape": shape, "values": data, "note": note}


def cnn_trace(seed: int = 0, towers: tuple[str, ...] = (), fold: bool = True) -> list[dict]:
    """Input, conv, pool, dropout, flatten, dense, logits and softmax (per tower when ``towers`` are given)."""
    trace = [layer("image", "input", (28, 28, 1), seed=seed)]
    for number, tower in enumerate(towers or (None,)):
        prefix = f"t{number}_" if tower else ""
        trace.append(
            layer(f"{prefix}conv", "conv", (26, 26, 8), tower, "batch norm and ReLU folded in" if fold else "", seed)
        )
        if not fold:
            trace.append(layer(f"{prefix}norm", "norm", (26, 26, 8), tower, seed=seed))
            trace.append(layer(f"{prefix}relu", "activation", (26, 26, 8), tower, seed=seed))
        trace += [
            layer(f"{prefix}pool", "pool", (13, 13, 8), tower, seed=seed),
            layer(f"{prefix}dropout", "dropout", (13, 13, 8), tower, "off at inference", values=False),
            layer(f"{prefix}flatten", "flatten", (1352,), tower, seed=seed),
            layer(f"{prefix}dense", "dense", (64,), tower, seed=seed),
            layer(f"{prefix}logits", "logits", (10,), tower, "before softmax", seed=seed),
        ]
    trace.append(layer("probabilities", "softmax", (10,), seed=seed))
    return trace


def mlp_trace(seed: int = 0) -> list[dict]:
    """An 8x8 scikit-learn-digits MLP: input, one dense layer, logits, softmax."""
    return [
        layer("features", "input", (64,), seed=seed),
        layer("dense", "dense", (500,), seed=seed),
        layer("logits", "logits", (10,), seed=seed),
        layer("probabilities", "softmax", (10,), seed=seed),
    ]
