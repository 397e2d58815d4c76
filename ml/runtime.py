"""Where TensorFlow runs: the GPU with memory growth when there is one, else the CPU."""

from __future__ import annotations


def configure_device() -> str:
    """Turn on GPU memory growth when TensorFlow sees a GPU; return a description of the device used."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return "CPU"
    for gpu in gpus:
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:
            pass  # already initialised: growth can only be set before first use
    details = tf.config.experimental.get_device_details(gpus[0])
    return f"GPU: {details.get('device_name', gpus[0].name)}"
