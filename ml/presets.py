"""Named model presets: small factories with an explicit ``keras.Input``, and their training defaults.

Importing this module does not import Keras, so the window can list presets at start-up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ModelFactory = Callable[[tuple[int, ...], int], Any]


@dataclass(frozen=True)
class Preset:
    """A named architecture, the training defaults that suit it, and its tutorial's reported figure."""

    name: str
    title: str
    factory: ModelFactory
    defaults: dict[str, Any] = field(default_factory=dict)
    tutorial_result: str | None = None
    dataset: str = "mnist"


def conv_bn_relu(tensor, filters: int, kernel_size: int):
    """Conv (no bias) → batch norm → ReLU, the building block of ``best``."""
    from keras import layers

    tensor = layers.Conv2D(filters, kernel_size, padding="same", use_bias=False)(tensor)
    tensor = layers.BatchNormalization()(tensor)
    return layers.ReLU()(tensor)


def build_best(input_shape: tuple[int, ...], num_classes: int):
    """Compact batch-normalised CNN tuned for ≥ 99.7 % on MNIST and fast single-image inference."""
    import keras
    from keras import layers

    inputs = keras.Input(input_shape, name="image")
    x = conv_bn_relu(inputs, 32, 5)
    x = layers.MaxPooling2D()(x)
    x = conv_bn_relu(x, 64, 3)
    x = conv_bn_relu(x, 64, 3)
    x = layers.MaxPooling2D()(x)
    x = conv_bn_relu(x, 128, 3)
    x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    x = layers.Dense(128, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.Dropout(0.4)(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="best")


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


def build_mlp(input_shape: tuple[int, ...], num_classes: int):
    """The Fashion-MNIST tutorial's MLP: flatten → 500 → 250 → 100."""
    import keras
    from keras import layers

    inputs = keras.Input(input_shape, name="image")
    x = layers.Flatten()(inputs)
    for units in (500, 250, 100):
        x = layers.Dense(units, activation="relu")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="mlp")


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            "best",
            "Digit Lab best (BN CNN, augmentation)",
            build_best,
            dict(
                epochs=20,
                batch_size=128,
                optimizer="adam",
                learning_rate=3e-3,
                schedule="cosine",
                augment=True,
            ),
        ),
        Preset(
            "lenet5x5",
            "CNN 5x5 32/64 + dense 1024 (TensorFlow tutorial)",
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
        ),
    )
}


def get_preset(name: str) -> Preset:
    """The preset called ``name``, or a ``KeyError`` that lists the known ones."""
    try:
        return PRESETS[name]
    except KeyError:
        raise KeyError(f"Unknown preset {name!r}. Known presets: {', '.join(PRESETS)}.") from None


def build_model(name: str, input_shape: tuple[int, ...] = (28, 28, 1), num_classes: int = 10):
    """Build the named preset's model for the given input shape and class count."""
    return get_preset(name).factory(tuple(input_shape), num_classes)
