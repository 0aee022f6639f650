"""The compression techniques of the seed papers (optional experiments on a trained run; the
int8 export every build needs is maskgate.quantize).

The method names and the default pruning sweep live here, away from TensorFlow, so the CLI can
list them without importing it."""
METHODS = ("prune", "channel_prune", "cluster", "qat", "pqat", "cqat", "pcqat", "distill", "dynamic")
SWEEP = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85)  # sparsity steps, as seed 002's Tables 1-2
