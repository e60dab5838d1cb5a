"""The workbook network 1024 -> 512 -> 256 -> 10, written once, as the reference.

Conventions (the same in every workbook):

* row vectors: ``z = h @ W + b`` with ``W`` of shape ``(fan_in, fan_out)``;
* sigmoid hidden layers, softmax + cross-entropy output;
* params keys ``W1 b1 W2 b2 W3 b3``; forward cache keys ``z1 h1 z2 h2 z3 h3``;
* one example is 1-D (``x`` has shape ``(1024,)``, ``y`` is one-hot ``(10,)``);
  a batch is 2-D (``X`` is ``(m, 1024)``, ``Y`` is ``(m, 10)``) and its loss is the
  mean cross-entropy over the ``m`` rows.

Every function is pure: it never changes the arrays it is given.
"""
from __future__ import annotations

import numpy as np

# The sizes, the key names and the parameter draw are shared with the notebooks' stored examples,
# which a grading kernel has while this module stays out of its reach.
from checker.examples import CACHE_KEYS, LAYER_SIZES, PARAM_KEYS, init_params  # noqa: F401 (re-exported)


def param_shapes(sizes=LAYER_SIZES) -> dict:
    """Shape of every parameter: ``W{l}`` is ``(sizes[l-1], sizes[l])``, ``b{l}`` is ``(sizes[l],)``."""
    shapes = {}
    for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), start=1):
        shapes[f"W{layer}"] = (fan_in, fan_out)
        shapes[f"b{layer}"] = (fan_out,)
    return shapes


def n_params(sizes=LAYER_SIZES) -> int:
    """Number of scalar parameters: 658,698 for 1024-512-256-10."""
    return sum(int(np.prod(s)) for s in param_shapes(sizes).values())


# --- activations -----------------------------------------------------------------------

def sigmoid(z):
    """σ(z) = 1 / (1 + e^(-z)), elementwise, without overflow for any finite z.

    z: array of any shape -> array of the same shape, values in [0, 1].
    """
    z = np.asarray(z, dtype=float)
    e = np.exp(-np.abs(z))  # never overflows: the exponent is <= 0
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_grad(z):
    """σ'(z) = σ(z)(1 − σ(z)), elementwise. z: any shape -> same shape."""
    s = sigmoid(z)
    return s * (1.0 - s)


def softmax(z):
    """Softmax over the last axis, stable for logits of any size.

    z: (k,) -> (k,), or (m, k) -> (m, k) with every row summing to 1.
    """
    z = np.asarray(z, dtype=float)
    shifted = z - z.max(axis=-1, keepdims=True)  # the largest exponent becomes e^0
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


def cross_entropy(h3, y):
    """−Σ_j y_j log h3_j for one example.

    h3: (10,) probabilities; y: (10,) one-hot -> float.
    Only the true class's term is taken, so a zero probability elsewhere costs nothing.
    """
    h3 = np.asarray(h3, dtype=float)
    y = np.asarray(y, dtype=float)
    mask = y != 0
    return float(-np.sum(y[mask] * np.log(h3[mask]))) + 0.0  # + 0.0 turns -0.0 into 0.0


def mean_cross_entropy(H3, Y):
    """Mean over the batch of the cross-entropy. H3, Y: (m, 10) -> float."""
    H3 = np.asarray(H3, dtype=float)
    Y = np.asarray(Y, dtype=float)
    mask = Y != 0
    return float(-np.sum(Y[mask] * np.log(H3[mask])) / H3.shape[0]) + 0.0


# --- one layer at a time: each backward rule beside its forward ---------------------------

def linear(h, W, b):
    """z = h @ W + b.  h: (fan_in,) or (m, fan_in); W: (fan_in, fan_out); b: (fan_out,)."""
    return h @ W + b


def linear_backward(h, W, dz):
    """Gradients of a linear layer, given dz = ∂L/∂z.

    One example: h (fan_in,), dz (fan_out,) -> dh (fan_in,), dW = outer(h, dz), db = dz.
    A batch: h (m, fan_in), dz (m, fan_out) -> dh (m, fan_in), dW = hᵀ dz, db = Σ_rows dz.
    (For a batch-mean loss, dz already carries the 1/m.)
    """
    dh = dz @ W.T
    if h.ndim == 1:
        return dh, np.outer(h, dz), dz.copy()
    return dh, h.T @ dz, dz.sum(axis=0)


def sigmoid_backward(z, dh):
    """dz = σ'(z) ⊙ dh, elementwise; z and dh share a shape."""
    return sigmoid_grad(z) * dh


def softmax_cross_entropy_backward(h3, y):
    """∂CE/∂z3 = h3 − y (one example), or (H3 − Y) / m for the batch-mean loss."""
    if h3.ndim == 1:
        return h3 - y
    return (h3 - y) / h3.shape[0]


# --- the whole network ------------------------------------------------------------------

def forward(x, params):
    """Forward pass. x: (1024,) or (m, 1024) -> dict of z1 h1 z2 h2 z3 h3.

    Shapes for one example: z1, h1 (512,); z2, h2 (256,); z3, h3 (10,).
    For a batch every array gains a leading axis of length m.
    """
    cache = {}
    h = np.asarray(x, dtype=float)
    for layer in (1, 2, 3):
        z = linear(h, params[f"W{layer}"], params[f"b{layer}"])
        h = softmax(z) if layer == 3 else sigmoid(z)
        cache[f"z{layer}"], cache[f"h{layer}"] = z, h
    return cache


def loss(x, y, params):
    """Cross-entropy of one example, or the batch mean for 2-D x and y -> float."""
    h3 = forward(x, params)["h3"]
    return cross_entropy(h3, y) if h3.ndim == 1 else mean_cross_entropy(h3, y)


def backward(x, y, params, cache=None):
    """Gradients of ``loss(x, y, params)`` for every parameter.

    x: (1024,) with y: (10,), or X: (m, 1024) with Y: (m, 10) (loss = batch mean).
    Returns a dict W1 b1 W2 b2 W3 b3 with the shapes of the params.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    cache = forward(x, params) if cache is None else cache
    inputs = {1: x, 2: cache["h1"], 3: cache["h2"]}
    grads = {}
    dz = softmax_cross_entropy_backward(cache["h3"], y)
    for layer in (3, 2, 1):
        dh, grads[f"W{layer}"], grads[f"b{layer}"] = linear_backward(inputs[layer], params[f"W{layer}"], dz)
        if layer > 1:
            dz = sigmoid_backward(cache[f"z{layer - 1}"], dh)
    return {key: grads[key] for key in PARAM_KEYS}
