"""Import TensorFlow the one way this project can use it.

tensorflow-model-optimization needs Keras 2, so every model is built with `tf_keras` and
TF_USE_LEGACY_KERAS must be set before TensorFlow is first imported. Import TensorFlow through
here (never directly) so that rule holds whichever module happens to import it first.
"""
import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

tf.get_logger().setLevel("ERROR")


def seed_everything(seed: int) -> None:
    """Same seed, same model: seeds Python, NumPy and TF and makes TF ops deterministic."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


__all__ = ["tf", "keras", "seed_everything"]
