"""Transfer learning: a ``keras.applications`` backbone (ImageNet weights) under a new classification head.

The model takes Digit Lab images as they come — float (H, W, 1 or 3) in [0, 1] — and does the rest inside:
it enlarges images smaller than the backbone's minimum (32 pixels), repeats grayscale to three channels and
applies the backbone's own input scaling, so the saved model needs no outside preprocessing.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

from ml.errors import TrainingError

MIN_BACKBONE_SIZE = 32
WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"


@dataclass(frozen=True)
class Backbone:
    """A ``keras.applications`` network used as a feature extractor."""

    name: str
    title: str
    application: str  # attribute of keras.applications
    input_scaling: str  # "caffe": 0-255 BGR minus the ImageNet mean; "tf": [-1, 1]
    notop_weights_file: str  # what keras downloads for include_top=False (224x224 variant for MobileNetV2)


BACKBONES: dict[str, Backbone] = {
    backbone.name: backbone
    for backbone in (
        Backbone("vgg16", "VGG16", "VGG16", "caffe", "vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"),
        Backbone(
            "mobilenetv2",
            "MobileNetV2",
            "MobileNetV2",
            "tf",
            "mobilenet_v2/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5",
        ),
    )
}
IMAGENET_MEAN_RGB = (123.68, 116.779, 103.939)


def resolve_backbone_weights(backbone_weights: str | None) -> str | None:
    """``None``/``"imagenet"`` → ``"imagenet"``; ``"none"`` → ``None`` (from scratch); else a checked file path."""
    if backbone_weights is None or backbone_weights.lower() == "imagenet":
        return "imagenet"
    if backbone_weights.lower() == "none":
        return None
    path = Path(backbone_weights).expanduser()
    if not path.is_file():
        raise TrainingError(f"The backbone weights file {path} does not exist.")
    return str(path)


def offline_weights_message(backbone: Backbone, error: BaseException) -> str:
    """What to do when the ImageNet weights cannot be fetched: name a local file, or train from scratch."""
    return (
        f"Could not fetch the ImageNet weights for {backbone.title} (no network?): {error}\n"
        "Two ways out:\n"
        f"  1. Download {WEIGHTS_URL}{backbone.notop_weights_file} on a machine with a network and name it: "
        "--backbone-weights FILE (TrainConfig.backbone_weights); copying it into ~/.keras/models/ also works.\n"
        "  2. Train the backbone from scratch, without pretrained weights: --backbone-weights none."
    )


def make_backbone(backbone: Backbone, size: tuple[int, int], weights: str | None):
    """The backbone without its top, for (size, size, 3) inputs, with ``weights`` loaded."""
    import keras

    application = getattr(keras.applications, backbone.application)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # MobileNetV2: "weights for input shape (224, 224) will be loaded"
            return application(include_top=False, weights=weights, input_shape=(*size, 3))
    except Exception as error:  # noqa: BLE001 - download and file errors become one clear message
        if weights == "imagenet":
            raise TrainingError(offline_weights_message(backbone, error)) from error
        if weights is not None:
            raise TrainingError(
                f"Could not load the backbone weights from {weights}: {error}. The file must hold the "
                f"'notop' weights of {backbone.title} (include_top=False), e.g. {backbone.notop_weights_file}."
            ) from error
        raise


def scale_for_backbone(tensor, backbone: Backbone):
    """[0, 1] RGB → the input scaling the backbone was trained with (built-in layers and ops only)."""
    import keras
    from keras import layers

    if backbone.input_scaling == "tf":
        return layers.Rescaling(2.0, offset=-1.0, name="scale_to_minus1_1")(tensor)
    tensor = layers.Normalization(
        mean=[value / 255.0 for value in IMAGENET_MEAN_RGB], variance=[(1 / 255.0) ** 2] * 3, name="imagenet_mean"
    )(tensor)
    return keras.ops.flip(tensor, axis=-1)  # RGB → BGR, as keras.applications.vgg16.preprocess_input does


def build_transfer_model(
    backbone_name: str,
    input_shape: tuple[int, ...],
    num_classes: int,
    *,
    backbone_weights: str | None = None,
    freeze_backbone: bool | None = None,
):
    """Backbone + global pooling + dropout + softmax head; frozen by default when the weights are pretrained."""
    import keras
    from keras import layers

    backbone = BACKBONES[backbone_name]
    if len(input_shape) != 3 or input_shape[-1] not in (1, 3):
        raise TrainingError(
            f"{backbone.title} transfer learning needs (height, width, 1 or 3) images, not inputs of shape "
            f"{tuple(input_shape)}."
        )
    height, width, channels = (int(size) for size in input_shape)
    weights = resolve_backbone_weights(backbone_weights)
    freeze = weights is not None if freeze_backbone is None else bool(freeze_backbone)
    size = (max(MIN_BACKBONE_SIZE, height), max(MIN_BACKBONE_SIZE, width))
    inputs = keras.Input(input_shape, name="image")
    x = inputs
    if size != (height, width):
        x = layers.Resizing(*size, name="resize_for_backbone")(x)
    if channels == 1:
        x = layers.Concatenate(name="gray_to_rgb")([x, x, x])
    x = scale_for_backbone(x, backbone)
    base = make_backbone(backbone, size, weights)
    base.trainable = not freeze
    # Pretrained batch-norm statistics stay in inference mode, even when the backbone is unfrozen.
    x = base(x, training=False) if weights is not None else base(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.2)(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=f"{backbone_name}_transfer")
