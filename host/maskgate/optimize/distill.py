"""Knowledge distillation (Hinton et al.; seed 002): a student learns from the labels and from a
frozen teacher's softened outputs.

    loss = alpha * CE(labels, student) + (1 - alpha) * T^2 * KL(softmax(teacher / T) || softmax(student / T))

with seed 002's temperature (5 or 10) and alpha 0.1 (so most of the weight is on the teacher).
A binary model's single sigmoid output p = sigmoid(z) is the two-class distribution
[1 - p, p] = softmax([0, z]), so softening it is sigmoid(z / T). Logits are taken before the
head's activation (features @ kernel + bias of the output Dense), never recovered from a
saturated probability. Only the student is exported.
"""
from __future__ import annotations

from maskgate.tfenv import keras, tf

TEMPERATURE = 5.0
ALPHA = 0.1


def logits_fn(model):
    """x, training -> logits of a model whose last layer is a Dense with a sigmoid or softmax;
    otherwise the log-odds of its (clipped) probabilities."""
    head = model.layers[-1]
    activation = getattr(getattr(head, "activation", None), "__name__", "")
    if isinstance(head, keras.layers.Dense) and activation in ("sigmoid", "softmax"):
        features = keras.Model(model.inputs, head.input)

        def logits(x, training=False):
            return tf.matmul(features(x, training=training), head.kernel) + head.bias

        return logits

    def log_odds(x, training=False):
        p = tf.clip_by_value(model(x, training=training), 1e-7, 1 - 1e-7)
        return tf.math.log(p / (1 - p)) if p.shape[-1] == 1 else tf.math.log(p)

    return log_odds


def _distribution(logits, temperature):
    """Class distribution of softened logits (two classes for a single sigmoid logit)."""
    if logits.shape[-1] == 1:
        p = tf.sigmoid(logits / temperature)
        return tf.concat([1.0 - p, p], axis=-1)
    return tf.nn.softmax(logits / temperature, axis=-1)


def student_loss(y, student_logits):
    if student_logits.shape[-1] == 1:
        return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
            labels=tf.reshape(tf.cast(y, tf.float32), (-1, 1)), logits=student_logits))
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.cast(y, tf.int32), logits=student_logits))


def distillation_loss(y, student_logits, teacher_logits, temperature=TEMPERATURE, alpha=ALPHA):
    teacher = _distribution(teacher_logits, temperature)
    student = _distribution(student_logits, temperature)
    kl = tf.reduce_mean(keras.losses.kl_divergence(teacher, student))
    return alpha * student_loss(y, student_logits) + (1.0 - alpha) * temperature**2 * kl


class Distiller(keras.Model):
    """Trains `student` against labels and a frozen `teacher`; evaluates the student alone.
    Reports loss and accuracy under the names train.fit's callbacks watch."""

    def __init__(self, student, teacher, temperature=TEMPERATURE, alpha=ALPHA):
        super().__init__()
        self.student, self.teacher = student, teacher
        self.teacher.trainable = False
        self.temperature, self.alpha = float(temperature), float(alpha)
        self.student_logits, self.teacher_logits = logits_fn(student), logits_fn(teacher)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        binary = student.outputs[0].shape[-1] == 1
        self.accuracy = (keras.metrics.BinaryAccuracy(name="accuracy") if binary
                         else keras.metrics.SparseCategoricalAccuracy(name="accuracy"))

    @property
    def metrics(self):
        return [self.loss_tracker, self.accuracy]

    def call(self, x, training=False):
        return self.student(x, training=training)

    def loss_on(self, x, y, training=False):
        """(distillation loss, student logits) on one batch."""
        student_logits = self.student_logits(x, training=training)
        teacher_logits = self.teacher_logits(x, training=False)
        return distillation_loss(y, student_logits, teacher_logits, self.temperature, self.alpha), student_logits

    def _probabilities(self, logits):
        return tf.sigmoid(logits) if logits.shape[-1] == 1 else tf.nn.softmax(logits, axis=-1)

    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            loss, logits = self.loss_on(x, y, training=True)
        variables = self.student.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        self.loss_tracker.update_state(loss)
        self.accuracy.update_state(y, self._probabilities(logits))
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        # validation watches the student alone, on the labels
        x, y = data
        logits = self.student_logits(x, training=False)
        self.loss_tracker.update_state(student_loss(y, logits))
        self.accuracy.update_state(y, self._probabilities(logits))
        return {m.name: m.result() for m in self.metrics}


def compile_distiller(distiller, learning_rate: float = 1e-3):
    distiller.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-7))
    return distiller
