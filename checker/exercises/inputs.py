"""Random inputs that look like what flows through the network.

Two networks are drawn from: the workbook's real one, and a small one whose sizes (and batch)
are all different, so that a transposed matrix can never hide behind a square shape.
"""
from __future__ import annotations

import numpy as np

from checker import network

FULL = network.LAYER_SIZES          # (1024, 512, 256, 10)
SMALL = (11, 7, 5, 3)
BATCH = {FULL: 16, SMALL: 4}        # m; 4 differs from every SMALL size


def activations(rng, *shape):
    """Sigmoid outputs: values in (0, 1)."""
    return network.sigmoid(rng.normal(0.0, 2.0, size=shape))


def upstream(rng, *shape):
    """A gradient arriving from the layer above: small signed numbers."""
    return rng.normal(0.0, 0.1, size=shape)


def preactivations(rng, *shape, scale=2.0):
    return rng.normal(0.0, scale, size=shape)


def saturated(rng, *shape):
    """Pre-activations far in the tails of the sigmoid (up to ±1000), some moderate ones too."""
    z = rng.choice([-1.0, 1.0], size=shape) * rng.uniform(30.0, 1000.0, size=shape)
    z.flat[: min(z.size, 3)] = [-1000.0, 1000.0, 0.5][: min(z.size, 3)]
    return z


def one_hot(rng, k, m=None):
    """One-hot labels: (k,) for one example, (m, k) for a batch."""
    if m is None:
        return np.eye(k)[rng.integers(k)]
    return np.eye(k)[rng.integers(k, size=m)]


def labels_not_predicted(rng, x, params):
    """One-hot labels, each a class the network does not predict for its input (x: one example or a batch).

    Where a network with large weights is right, it is right with p = 1 − 1e-13 or closer: every
    gradient is then the rounding error of 1 − p, and a right float64 answer computed another way
    differs from the reference in its leading digits.  A wrong prediction keeps the gradients O(1).
    """
    logits = network.forward(x, params)["z3"]
    k = logits.shape[-1]
    predicted = np.argmax(logits, axis=-1)
    return np.eye(k)[(predicted + rng.integers(1, k, size=np.shape(predicted))) % k]


def images(rng, *shape):
    """Inputs like pixel intensities in [0, 1]."""
    return rng.uniform(0.0, 1.0, size=shape)


def params(rng, sizes):
    return network.init_params(rng, sizes)


def weights(rng, fan_in, fan_out):
    """One weight matrix (fan_in, fan_out), drawn like init_params draws it."""
    return rng.normal(0.0, 1.0 / np.sqrt(fan_in), size=(fan_in, fan_out))


def saturate(params):
    """The same params with weights large enough to saturate many hidden units and push
    logits past 100.

    Not further: in float32 logits near 1000 carry an absolute error of ~1e-3, and a float32
    computation must still pass.  Overflow at ±1000 is tested where it lives, in the
    elementwise exercises (sigmoid, softmax, sigmoid_grad, grad_z).
    """
    factor = {"W1": 10.0, "W2": 10.0, "W3": 100.0}
    return {k: v * factor.get(k, 1.0) for k, v in params.items()}


def top_logit_near_1000(params):
    """The same params with b3 = (1000, 900, 800, …): each example's logits are b3 moved by a few (h2 @ W3),
    so its largest is near 1000, about 100 above the next.  A softmax without its max-shift overflows (e^1000
    is inf), while the right h3 is one-hot to within e^-90.  Where two logits near 1000 are close, float32's
    rounding of them (1e-4) moves h3 past the judge's tolerance; here it moves nothing, so a right forward
    pass in float32 passes too."""
    return {**params, "b3": 1000.0 - 100.0 * np.arange(params["b3"].size)}


def logits_near_1000(x, params):
    """The same params with W3 and b3 changed so that the logits of x spread from −1000 to 1000.

    Only the output layer changes: the hidden layers stay moderate, so every entry of the gradients
    is still a well-conditioned float64 number, while a softmax without its max-shift overflows.
    Both ends are reached: centred on the mean, the largest logit could stay below 709, where e^z is
    still finite, and a softmax without its shift passed on about one seed in twenty.
    """
    h = x
    for layer in (1, 2):
        h = network.sigmoid(h @ params[f"W{layer}"] + params[f"b{layer}"])
    z = h @ params["W3"] + params["b3"]
    centre = (float(np.max(z)) + float(np.min(z))) / 2
    factor = 1000.0 / (float(np.max(z)) - centre)
    return {**params, "W3": params["W3"] * factor, "b3": (params["b3"] - centre) * factor}


def layer_dims(sizes, layer):
    """(fan_in, fan_out) of layer 1, 2 or 3."""
    return sizes[layer - 1], sizes[layer]
