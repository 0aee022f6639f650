"""Stochastic weight averaging: the averaged weights are the plain mean of the epochs' weights,
batch norm is recomputed for them, and a training run with swa_start keeps its best checkpoint
beside the averaged model."""
import json

import numpy as np
import pytest

from maskgate.tfenv import keras
from maskgate.weight_averaging import WeightAverage, recompute_batch_norm


def _bn_model():
    inputs = keras.Input((4,))
    x = keras.layers.Dropout(0.5)(inputs)
    x = keras.layers.BatchNormalization(momentum=0.99)(x)
    return keras.Model(inputs, keras.layers.Dense(1)(x))


def test_batch_norm_statistics_become_the_mean_over_the_batches():
    model = _bn_model()
    rng = np.random.default_rng(0)
    batches = [rng.normal(loc=[1, -2, 3, 0], scale=[1, 2, 0.5, 3], size=(50, 4)).astype(np.float32) for _ in range(6)]
    used = recompute_batch_norm(model, ((b, None) for b in batches))
    norm = model.layers[2]
    assert used == 6
    # the mean of per-batch means (equal-sized batches: the data's mean); dropout was off,
    # or the inputs would have been halved or doubled at random
    np.testing.assert_allclose(norm.moving_mean.numpy(), np.mean([b.mean(axis=0) for b in batches], axis=0), rtol=1e-5, atol=1e-5)
    assert norm.moving_variance.numpy() == pytest.approx(np.mean([b.var(axis=0) for b in batches], axis=0), rel=1e-4)
    assert norm.momentum == 0.99 and model.layers[1].rate == 0.5  # settings restored


def test_averaged_weights_are_the_mean_from_the_start_epoch():
    model = _bn_model()
    averager = WeightAverage(start_epoch=2)
    averager.set_model(model)
    for epoch in range(4):
        model.set_weights([np.full(w.shape, epoch, np.float32) for w in model.get_weights()])
        averager.on_epoch_end(epoch)
    assert averager.count == 3  # epochs 2, 3 and 4 (1-based)
    assert all(np.allclose(w, 2.0) for w in averager.averaged())  # mean of 1, 2, 3


def test_nothing_averaged_is_an_error():
    with pytest.raises(ValueError, match="nothing was averaged"):
        WeightAverage(start_epoch=5).averaged()


def test_training_with_swa_keeps_the_best_checkpoint_beside_the_average(synthetic_import, tmp_path):
    from maskgate.run_folder import BEST_CHECKPOINT
    from maskgate.train import TrainConfig, train

    cfg = TrainConfig(arch="maskgate", arch_options={"width": 0.34}, epochs=3, batch_size=32, seed=1,
                      max_train=160, swa_start=2)
    run = train(synthetic_import, tmp_path / "swa", cfg)
    summary = json.loads((run / "config.json").read_text())
    assert summary["swa"]["epochs_averaged"] == 2  # epochs 2 and 3
    assert summary["swa"]["bn_batches"] == -(-summary["train_images"] // 32)  # one pass over the training set
    averaged = keras.models.load_model(run / "model.keras")
    best = keras.models.load_model(run / BEST_CHECKPOINT)
    assert any(not np.array_equal(a, b) for a, b in zip(averaged.get_weights(), best.get_weights()))
    assert 0.0 <= summary["swa"]["val_accuracy"] <= 1.0


def test_swa_start_outside_the_epochs_is_refused_before_training():
    from maskgate.errors import DataError
    from maskgate.train import TrainConfig

    with pytest.raises(DataError, match="swa_start 26 is not an epoch of 1..3"):
        TrainConfig.from_dict({"epochs": 3, "swa_start": 26})


def test_early_stop_before_the_averaging_keeps_the_best_checkpoint(synthetic_import, tmp_path):
    from maskgate.run_folder import BEST_CHECKPOINT
    from maskgate.train import TrainConfig, train

    # patience 0 stops at the first epoch without a val gain, long before epoch 40
    cfg = TrainConfig(arch="tinycnn", arch_options={"width": 0.25}, epochs=40, batch_size=32, seed=1,
                      max_train=96, swa_start=40, stop_patience=0, learning_rate=0.0)
    run = train(synthetic_import, tmp_path / "stopped", cfg)
    summary = json.loads((run / "config.json").read_text())
    assert summary["epochs_run"] < 40 and "before swa_start 40" in summary["swa"]["skipped"]
    assert (run / "model.keras").is_file() and not (run / BEST_CHECKPOINT).exists()
