"""Named model presets: small factories with an explicit ``keras.Input``, and their training defaults.

Importing this module does not import Keras, so the window can list presets at start-up.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ModelFactory = Callable[..., Any]


@dataclass(frozen=True)
class Preset:
    """A named architecture, the training defaults that suit it, and its tutorial's reported figure."""

    name: str
    title: str
    factory: ModelFactory
    defaults: dict[str, Any] = field(default_factory=dict)
    tutorial_result: str | None = None
    dataset: str = "mnist"
    representation: str = "images"  # "features": flat standardized vectors (see ml.data.datasets.load_dataset)
    default_input_shape: tuple[int, ...] = (28, 28, 1)
    factory_options: tuple[str, ...] = ()  # TrainConfig fields the factory takes as keyword arguments

    def parameter_count(self, input_shape: tuple[int, ...] | None = None, num_classes: int = 10) -> int:
        """Trainable plus frozen parameters for an input shape (the preset's default when None)."""
        return parameter_count(self.name, tuple(input_shape or self.default_input_shape), num_classes)


def conv_bn_relu(tensor, filters: int, kernel_size: int, bn_momentum: float = 0.99):
    """Conv (no bias) → batch norm → ReLU, the building block of ``best`` and ``vgg``."""
    from keras import layers

    tensor = layers.Conv2D(filters, kernel_size, padding="same", use_bias=False)(tensor)
    tensor = layers.BatchNormalization(momentum=bn_momentum)(tensor)
    return layers.ReLU()(tensor)


def convolutional_tower(inputs, num_classes: int, widths: tuple[int, int, int], tower: int):
    """One member of ``best``'s ensemble: conv 5x5 → pool → 2x conv 3x3 → pool → conv 3x3 → pool → dense."""
    from keras import layers

    first, middle, last = widths
    x = conv_bn_relu(inputs, first, 5)
    x = layers.MaxPooling2D()(x)
    x = conv_bn_relu(x, middle, 3)
    x = conv_bn_relu(x, middle, 3)
    x = layers.MaxPooling2D()(x)
    x = conv_bn_relu(x, last, 3)
    x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    x = layers.Dense(128, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.Dropout(0.4)(x)
    return layers.Dense(num_classes, activation="softmax", name=f"tower{tower}_probabilities")(x)


def build_best(input_shape: tuple[int, ...], num_classes: int, towers: int = 3):
    """An ensemble of small batch-normalised CNNs, averaged in one model: ≥ 99.7 % on MNIST, < 1 ms per image."""
    import keras
    from keras import layers

    inputs = keras.Input(input_shape, name="image")
    members = [convolutional_tower(inputs, num_classes, (32, 48, 96), index) for index in range(towers)]
    outputs = layers.Average(name="probabilities")(members)
    return keras.Model(inputs, outputs, name="best")


def build_fast(input_shape: tuple[int, ...], num_classes: int):
    """A small batch-normalised CNN (3 conv blocks, ~45k parameters) that passes 99 % on MNIST in two epochs."""
    import keras
    from keras import layers

    inputs = keras.Input(input_shape, name="image")
    x = inputs
    for filters in (24, 48, 64):
        x = conv_bn_relu(x, filters, 3)
        x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.2)(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="fast")


def build_lenet5x5(input_shape: tuple[int, ...], num_classes: int):
    """The TensorFlow 'Deep MNIST' CNN: conv 5x5 32 → pool → conv 5x5 64 → pool → dense 1024 → dropout 0.5."""
    import keras
    from keras import layers

    inputs = keras.Input(input_shape, name="image")
    x = layers.Conv2D(32, 5, padding="same", activation="relu")(inputs)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(64, 5, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    x = layers.Dense(1024, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="lenet5x5")


def build_cnn3x3(input_shape: tuple[int, ...], num_classes: int):
    """The Keras ``mnist_cnn`` example: conv 3x3 32 → conv 3x3 64 → pool → dropout → dense 128 → dropout."""
    import keras
    from keras import layers

    inputs = keras.Input(input_shape, name="image")
    x = layers.Conv2D(32, 3, activation="relu")(inputs)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Dropout(0.25)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(128, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="cnn3x3")


def build_mlp(
    input_shape: tuple[int, ...],
    num_classes: int,
    hidden_units: tuple[int, ...] = (500, 250, 100),
    name: str = "mlp",
):
    """A fully connected ReLU network: flatten → ``hidden_units`` → softmax (the tutorials' MLPs)."""
    import keras
    from keras import layers

    inputs = keras.Input(input_shape, name="image" if len(input_shape) > 1 else "features")
    x = layers.Flatten()(inputs) if len(input_shape) > 1 else inputs
    for units in hidden_units:
        x = layers.Dense(units, activation="relu")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=name)


def vgg_block_count(height: int, width: int, max_blocks: int = 5) -> int:
    """How many pooling blocks an image affords: halve it while the feature map stays ≥ 4 pixels (VGG16 has 5)."""
    size, blocks = min(height, width), 0
    while blocks < max_blocks and size // 2 >= 4:
        size //= 2
        blocks += 1
    return max(blocks, 1)


# Batch-norm running statistics that catch up within an epoch of a small folder dataset (Keras's 0.99 lags,
# and validation accuracy then swings while training accuracy climbs).
VGG_BN_MOMENTUM = 0.9


def build_vgg(input_shape: tuple[int, ...], num_classes: int):
    """VGG-style CNN: blocks of two 3x3 conv-BN-ReLU + max-pool (32, 64, 128, 256, 256 filters), as many as fit."""
    import keras
    from keras import layers

    if len(input_shape) != 3:
        raise ValueError(f"The vgg preset needs (height, width, channels) images, not inputs of shape {input_shape}.")
    inputs = keras.Input(input_shape, name="image")
    x = inputs
    for block in range(vgg_block_count(input_shape[0], input_shape[1])):
        filters = min(32 * 2**block, 256)
        x = conv_bn_relu(x, filters, 3, VGG_BN_MOMENTUM)
        x = conv_bn_relu(x, filters, 3, VGG_BN_MOMENTUM)
        x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    x = layers.Dense(256, use_bias=False)(x)
    x = layers.BatchNormalization(momentum=VGG_BN_MOMENTUM)(x)
    x = layers.ReLU()(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="vgg")


def build_vgg16_transfer(input_shape: tuple[int, ...], num_classes: int, **options: Any):
    """VGG16 (ImageNet) backbone with a new classification head; see :mod:`ml.models.transfer`."""
    from ml.models.transfer import build_transfer_model

    return build_transfer_model("vgg16", input_shape, num_classes, **options)


def build_mobilenetv2_transfer(input_shape: tuple[int, ...], num_classes: int, **options: Any):
    """MobileNetV2 (ImageNet) backbone with a new classification head; see :mod:`ml.models.transfer`."""
    from ml.models.transfer import build_transfer_model

    return build_transfer_model("mobilenetv2", input_shape, num_classes, **options)


TRANSFER_OPTIONS = ("backbone_weights", "freeze_backbone")
TRANSFER_DEFAULTS = dict(epochs=10, batch_size=32, optimizer="adam", learning_rate=1e-3, schedule="constant")

PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            "best",
            "Digit Lab best: 3 BN CNNs averaged + augmentation",
            build_best,
            dict(
                epochs=40,
                batch_size=128,
                optimizer="adam",
                learning_rate=3e-3,
                schedule="cosine",
                augment=True,
            ),
        ),
        Preset(
            "fast",
            "Digit Lab fast: small BN CNN, 99% in a minute on a CPU",
            build_fast,
            dict(epochs=2, batch_size=128, optimizer="adam", learning_rate=4e-3, schedule="cosine"),
        ),
        Preset(
            "lenet5x5",
            "CNN 5x5 32/64 + dense 1024 (TF tutorial)",
            build_lenet5x5,
            dict(epochs=3, batch_size=50, optimizer="adam", learning_rate=1e-3, schedule="constant"),
            tutorial_result="99.3% test accuracy after 3 epochs (MNIST)",
        ),
        Preset(
            "cnn3x3",
            "CNN 3x3 32/64 + dense 128 (Keras mnist_cnn)",
            build_cnn3x3,
            dict(epochs=10, batch_size=128, optimizer="adam", learning_rate=1e-3, schedule="constant"),
            tutorial_result="99.14% test accuracy after 10 epochs, batch 128 (MNIST)",
        ),
        Preset(
            "mlp",
            "MLP 500-250-100 (Fashion-MNIST tutorial)",
            build_mlp,
            dict(
                epochs=30,
                batch_size=32,
                optimizer="sgd",
                learning_rate=0.01,
                momentum=0.9,
                nesterov=True,
                schedule="constant",
                early_stopping_patience=3,
            ),
            tutorial_result="89.3% test accuracy (Fashion-MNIST)",
            dataset="fashion-mnist",
        ),
        Preset(
            "mlp-digits",
            "MLP 64-500 on standardized 8x8 digits",
            functools.partial(build_mlp, hidden_units=(500,), name="mlp-digits"),
            dict(epochs=30, batch_size=32, optimizer="adam", learning_rate=1e-3, schedule="constant"),
            tutorial_result="97.8% test accuracy (scikit-learn digits, 70/30 split)",
            dataset="sklearn-digits",
            representation="features",
            default_input_shape=(64,),
        ),
        Preset(
            "mlp-digits-deep",
            "MLP 64-500-500 on standardized 8x8 digits",
            functools.partial(build_mlp, hidden_units=(500, 500), name="mlp-digits-deep"),
            dict(epochs=30, batch_size=32, optimizer="adam", learning_rate=1e-3, schedule="constant"),
            tutorial_result="98.3% test accuracy (scikit-learn digits, 70/30 split)",
            dataset="sklearn-digits",
            representation="features",
            default_input_shape=(64,),
        ),
        Preset(
            "vgg",
            "VGG-style 3x3 conv + BN blocks, scaled to the image",
            build_vgg,
            dict(
                epochs=30,
                batch_size=64,
                optimizer="sgd",
                learning_rate=0.01,
                momentum=0.9,
                schedule="plateau",
                early_stopping_patience=6,
            ),
        ),
        Preset(
            "vgg16-transfer",
            "VGG16 ImageNet backbone + new head",
            build_vgg16_transfer,
            dict(TRANSFER_DEFAULTS),
            factory_options=TRANSFER_OPTIONS,
        ),
        Preset(
            "mobilenetv2-transfer",
            "MobileNetV2 ImageNet backbone + new head",
            build_mobilenetv2_transfer,
            dict(TRANSFER_DEFAULTS),
            factory_options=TRANSFER_OPTIONS,
        ),
    )
}


def get_preset(name: str) -> Preset:
    """The preset called ``name``, or a ``KeyError`` that lists the known ones."""
    try:
        return PRESETS[name]
    except KeyError:
        raise KeyError(f"Unknown preset {name!r}. Known presets: {', '.join(PRESETS)}.") from None


def build_model(name: str, input_shape: tuple[int, ...] = (28, 28, 1), num_classes: int = 10, **options: Any):
    """Build the named preset's model for the given input shape and class count (``options``: factory_options)."""
    preset = get_preset(name)
    unknown = set(options) - set(preset.factory_options)
    if unknown:
        raise TypeError(f"Preset {name!r} takes no option(s) {', '.join(sorted(unknown))}.")
    return preset.factory(tuple(input_shape), num_classes, **options)


@functools.cache
def parameter_count(name: str, input_shape: tuple[int, ...], num_classes: int) -> int:
    """How many parameters the preset's model has for this input: from the shipped table for the panel's fixed
    inputs (``preset_parameter_counts.py``), else built once (never downloads weights)."""
    from ml.models.preset_parameter_counts import KNOWN_PARAMETER_COUNTS

    known = KNOWN_PARAMETER_COUNTS.get((name, tuple(input_shape), int(num_classes)))
    return known if known is not None else built_parameter_count(name, input_shape, num_classes)


def built_parameter_count(name: str, input_shape: tuple[int, ...], num_classes: int) -> int:
    """The parameters of the preset's model built for this input (backbones without their weights)."""
    options = {"backbone_weights": "none"} if "backbone_weights" in get_preset(name).factory_options else {}
    return int(build_model(name, tuple(input_shape), num_classes, **options).count_params())


def format_parameter_count(count: int) -> str:
    """``1234567`` → ``1.23 M``; ``56789`` → ``56.8 k``."""
    if count >= 1_000_000:
        return f"{count / 1e6:.2f} M"
    if count >= 1_000:
        return f"{count / 1e3:.1f} k"
    return str(count)
