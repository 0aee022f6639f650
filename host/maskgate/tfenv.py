"""Import TensorFlow the one way this project can use it.

tensorflow-model-optimization needs Keras 2, so every model is built with `tf_keras` and
TF_USE_LEGACY_KERAS must be set before TensorFlow is first imported. Import TensorFlow through
here (never directly) so that rule holds whichever module happens to import it first.
"""
import os
from contextlib import contextmanager

os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@contextmanager
def _c_stderr_silenced():
    """TensorFlow's C++ start-up chatter (absl, oneDNN, CUDA probes) goes to file descriptor 2
    before any Python setting can stop it; hide it during the import only. Python exceptions
    are unaffected: they are printed after the descriptor is restored."""
    if os.environ.get("MASKGATE_TF_VERBOSE"):
        yield
        return
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


with _c_stderr_silenced():
    import tensorflow as tf  # noqa: E402
    import tf_keras as keras  # noqa: E402

tf.get_logger().setLevel("ERROR")


def seed_everything(seed: int) -> None:
    """Same seed, same model: seeds Python, NumPy and TF and makes TF ops deterministic."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


__all__ = ["tf", "keras", "seed_everything"]
