"""Knowledge distillation: the loss follows seed 002's formula, the student's logits come from
before the sigmoid, and the loss changes when the teacher does."""
import numpy as np
import pytest

from maskgate import nets
from maskgate.optimize import distill
from maskgate.tfenv import seed_everything, tf

X = np.random.default_rng(0).integers(0, 256, (16, 32, 32, 3)).astype(np.float32)
Y = np.array([0, 1] * 8, np.float32)


def _model(seed, width=0.25):
    seed_everything(seed)
    return nets.build("tinycnn", width=width, dropout=0.0)


def test_logits_are_the_pre_sigmoid_values():
    model = _model(0)
    logits = distill.logits_fn(model)(X).numpy()
    np.testing.assert_allclose(tf.sigmoid(logits).numpy(), model.predict(X, verbose=0), rtol=1e-5, atol=1e-6)


def test_loss_changes_when_the_teacher_does():
    student = _model(0)
    loss_a = distill.Distiller(student, _model(1, width=0.5), temperature=5, alpha=0.1).loss_on(X, Y)[0]
    loss_b = distill.Distiller(student, _model(2, width=0.5), temperature=5, alpha=0.1).loss_on(X, Y)[0]
    assert abs(float(loss_a) - float(loss_b)) > 1e-6


def test_loss_is_label_loss_plus_weighted_kl():
    student, teacher = _model(0), _model(1)
    s, t = distill.logits_fn(student)(X), distill.logits_fn(teacher)(X)
    ce = float(distill.student_loss(Y, s))
    # alpha = 1: labels only, whatever the teacher
    assert float(distill.distillation_loss(Y, s, t, 5.0, 1.0)) == pytest.approx(ce, rel=1e-5)
    # a teacher identical to the student adds no KL term
    assert float(distill.distillation_loss(Y, s, s, 5.0, 0.1)) == pytest.approx(0.1 * ce, rel=1e-5)
    # two-class KL by hand, scaled by T^2
    T = 10.0
    pt, ps = tf.sigmoid(t / T).numpy().ravel(), tf.sigmoid(s / T).numpy().ravel()
    kl = np.mean(pt * np.log(pt / ps) + (1 - pt) * np.log((1 - pt) / (1 - ps)))
    expected = 0.1 * ce + 0.9 * T**2 * kl
    assert float(distill.distillation_loss(Y, s, t, T, 0.1)) == pytest.approx(expected, rel=1e-4)


def test_training_step_moves_only_the_student():
    student, teacher = _model(0), _model(1)
    before_teacher = [w.copy() for w in teacher.get_weights()]
    before_student = [w.copy() for w in student.get_weights()]
    distiller = distill.compile_distiller(distill.Distiller(student, teacher), 1e-2)
    history = distiller.fit(X, Y, epochs=1, batch_size=8, verbose=0)
    assert set(history.history) == {"loss", "accuracy"}
    assert all(np.array_equal(a, b) for a, b in zip(before_teacher, teacher.get_weights()))
    assert any(not np.array_equal(a, b) for a, b in zip(before_student, student.get_weights()))
    assert student.predict(X, verbose=0).shape == (16, 1)  # a plain Keras model that exports alone
