"""Kinds of exercise that recur from layer to layer, each made by one factory.

A factory returns an ``Exercise``: its inputs, its reference and its known mistakes.  The
workbook tables (wb01.py, wb02.py, wb04.py) are lists of factory calls.
"""
from __future__ import annotations

import numpy as np

from checker import network
from checker.exercises import Case, Exercise
from checker.exercises import inputs as draw
from checker.exercises.inputs import FULL, SMALL

UNIT = "one entry per unit of {}"
SATURATING = "large weights (saturated hidden units, logits past 100)"
HUGE_LOGITS = "logits near ±1000 (float64)"


def _full_and_small(rng, make):
    """Small distinct sizes first (clear messages), then the workbook's real sizes twice."""
    return [make(rng, SMALL, "small sizes"), make(rng, FULL, "full size"), make(rng, FULL, "full size, second draw")]


def elementwise(id, fn_name, reference, *, mistakes=None, hints=(), extreme=None, points=1.0):
    """f(z) for z of any shape (1-D and 2-D are both tried)."""
    def cases(rng):
        out = [Case("a small 1-D z", (draw.preactivations(rng, 7),)),
               Case("a small 2-D z (a batch)", (draw.preactivations(rng, 4, 3),)),
               Case("z at full size (512,)", (draw.preactivations(rng, FULL[1]),))]
        if extreme:
            out.append(Case("saturated z (values up to ±1000)", (draw.saturated(rng, 9),)))
        return out
    return Exercise(id, f"{fn_name}(z)", cases, reference, points=points, hints=hints,
                    out_axes=None, mistakes=mistakes, arg_names=("z",))


def outer(id, layer, points=1.0):
    """grad_W{l}(h_prev, dz) -> outer(h_prev, dz), shape (fan_in, fan_out)."""
    h_name = "x" if layer == 1 else f"h{layer - 1}"

    def cases(rng):
        def make(rng, sizes, label):
            fan_in, fan_out = draw.layer_dims(sizes, layer)
            h = draw.images(rng, fan_in) if layer == 1 else draw.activations(rng, fan_in)
            return Case(f"{label}: {h_name} ({fan_in},), dz{layer} ({fan_out},)", (h, draw.upstream(rng, fan_out)))
        return _full_and_small(rng, make)
    return Exercise(id, f"grad_W{layer}({h_name}, dz{layer})", cases, lambda h, dz: np.outer(h, dz),
                    points=points, arg_names=(h_name, f"dz{layer}"),
                    out_axes=(f"one row per unit of {h_name} (fan-in)", f"one column per unit of z{layer} (fan-out)"),
                    hints=("Think about which factor indexes the rows.",))


def bias(id, layer, points=1.0):
    """grad_b{l}(dz) -> dz."""
    def cases(rng):
        def make(rng, sizes, label):
            n = sizes[layer]
            return Case(f"{label}: dz{layer} ({n},)", (draw.upstream(rng, n),))
        return _full_and_small(rng, make)
    return Exercise(id, f"grad_b{layer}(dz{layer})", cases, lambda dz: np.array(dz, copy=True),
                    points=points, arg_names=(f"dz{layer}",), out_axes=(UNIT.format(f"b{layer}"),),
                    hints=(f"How much does z{layer}_j move when b{layer}_j alone moves by a little?",))


def through_weights(id, layer, points=1.0):
    """grad_h{l-1}(W_l, dz_l) -> W_l @ dz_l, shape (fan_in,)."""
    h_name = f"h{layer - 1}"

    def cases(rng):
        def make(rng, sizes, label):
            fan_in, fan_out = draw.layer_dims(sizes, layer)
            W = draw.weights(rng, fan_in, fan_out)
            return Case(f"{label}: W{layer} ({fan_in}, {fan_out}), dz{layer} ({fan_out},)",
                        (W, draw.upstream(rng, fan_out)))
        return _full_and_small(rng, make)
    return Exercise(id, f"grad_{h_name}(W{layer}, dz{layer})", cases, lambda W, dz: W @ dz,
                    points=points, arg_names=(f"W{layer}", f"dz{layer}"), out_axes=(UNIT.format(h_name),),
                    hints=(f"Each unit of {h_name} reaches every unit of z{layer}: add up what comes back along "
                           "all of its connections.",))


def through_sigmoid(id, layer, points=1.0):
    """grad_z{l}(z_l, dh_l) -> σ'(z_l) ⊙ dh_l, and the four ways to get it wrong."""
    def cases(rng):
        def make(rng, sizes, label):
            n = sizes[layer]
            return Case(f"{label}: z{layer} ({n},), dh{layer} ({n},)",
                        (draw.preactivations(rng, n), draw.upstream(rng, n)))
        out = _full_and_small(rng, make)
        n = FULL[layer]
        out.append(Case(f"saturated z{layer} (values up to ±1000)", (draw.saturated(rng, n), draw.upstream(rng, n))))
        return out

    def mistakes(z, dh):
        return [(code, rule(z, dh)) for code, rule in _LOCAL_FACTOR.items()] + [
            ("missing_upstream", network.sigmoid_grad(z))]
    return Exercise(id, f"grad_z{layer}(z{layer}, dh{layer})", cases, network.sigmoid_backward,
                    points=points, arg_names=(f"z{layer}", f"dh{layer}"), out_axes=(UNIT.format(f"z{layer}"),),
                    mistakes=mistakes,
                    hints=(f"h{layer} = σ(z{layer}) acts on each unit alone, so its Jacobian is diagonal.",))


def whole_backward(id, batch: bool, points=3.0):
    """backward(x, y, params) for one example, or backward(X, Y, params) for a batch."""
    x_name, y_name = ("X", "Y") if batch else ("x", "y")

    def make(rng, sizes, label, p, enlarge=None):
        """enlarge(x, p): the params with large weights; their labels are classes they do not predict."""
        m = draw.BATCH[sizes] if batch else None
        x = draw.images(rng, m, sizes[0]) if batch else draw.images(rng, sizes[0])
        if enlarge is None:
            y = draw.one_hot(rng, sizes[-1], m)
        else:
            p = enlarge(x, p)
            y = draw.labels_not_predicted(rng, x, p)
        return Case(f"{label}: {x_name} {x.shape}, sizes {'-'.join(map(str, sizes))}", (x, y, p))

    def cases(rng):
        full = draw.params(rng, FULL)  # one draw of 658,698 numbers, shared: each case has its own x and y
        small = draw.params(rng, SMALL)
        return [make(rng, SMALL, "small sizes", small), make(rng, FULL, "full size", full),
                make(rng, FULL, SATURATING, full, lambda x, p: draw.saturate(p)),
                make(rng, SMALL, HUGE_LOGITS, small, draw.logits_near_1000)]  # a softmax without its shift overflows

    return Exercise(id, f"backward({x_name}, {y_name}, params)", cases, network.backward, points=points,
                    arg_names=(x_name, y_name, "params"), mistakes=backward_mistakes,
                    batch_size=(lambda X, Y, params: X.shape[0]) if batch else None, key_prefix="d",
                    out_axes={k: _param_axes(k) for k in network.PARAM_KEYS},
                    hints=("Go backwards one layer at a time: dz3, then W3 and b3, then dh2, dz2, …",))


def _param_axes(key):
    layer = int(key[1])
    before = "x" if layer == 1 else f"h{layer - 1}"
    if key.startswith("W"):
        return (f"one row per unit of {before} (fan-in)", f"one column per unit of z{layer} (fan-out)")
    return (UNIT.format(f"z{layer}"),)


# --- the mistakes a whole backward pass can make -------------------------------------------

_LOCAL_FACTOR = {
    "activation_instead_of_derivative": lambda z, dh: network.sigmoid(z) * dh,
    "derivative_of_preactivation": lambda z, dh: z * (1 - z) * dh,
    "missing_activation_derivative": lambda z, dh: dh,
    "slope_at_activation": lambda z, dh: network.sigmoid_grad(network.sigmoid(z)) * dh,   # σ'(h), h = σ(z)
}


def backward_with(x, y, params, through_sigmoid_at, *, layer_inputs="h", h3=None):
    """The reference backward pass with a different rule through the sigmoid of some layers.

    through_sigmoid_at: {layer: f(z, dh) -> dz} for the layers (1 or 2) that use it.
    layer_inputs: "z" to take the pre-activations z1, z2 as the inputs of layers 2 and 3.
    h3: f(z3) -> the output probabilities, in place of the softmax over the last axis.
    """
    cache = network.forward(x, params)
    if h3 is not None:
        cache["h3"] = h3(cache["z3"])
    inputs = {1: x, 2: cache[f"{layer_inputs}1"], 3: cache[f"{layer_inputs}2"]}
    grads = {}
    dz = network.softmax_cross_entropy_backward(cache["h3"], y)
    for layer in (3, 2, 1):
        dh, grads[f"W{layer}"], grads[f"b{layer}"] = network.linear_backward(inputs[layer], params[f"W{layer}"], dz)
        if layer > 1:
            rule = through_sigmoid_at.get(layer - 1, network.sigmoid_backward)
            dz = rule(cache[f"z{layer - 1}"], dh)
    return grads


def softmax_over(axis, shift_axis):
    """The softmax of a batch of logits normalised over ``axis`` (0: down each column; None: the whole batch), after
    subtracting the max over ``shift_axis`` (-1: each row's, as a one-example softmax does)."""
    def h3(z):
        e = np.exp(z - np.max(z, axis=shift_axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)
    return h3


# (normalised over, max subtracted over): the shifts that give different answers for each wrong axis
WRONG_SOFTMAX_AXES = ((0, 0), (0, -1), (None, None), (None, -1), (None, 0))


PREACTIVATION_AS_INPUT = ("takes the pre-activation z of the layer below as this layer's input. Which array "
                          "of the forward pass does this layer multiply by its weights?")
SOFTMAX_AXIS = {0: "normalises the softmax down each column, over the examples of the batch: each row (one "
                   "example) is normalised on its own. Add up one row of your probabilities, then one column.",
                None: "normalises the softmax over the whole batch at once: each row (one example) is normalised "
                      "on its own. Add up one row of your probabilities."}


def backward_mistakes(x, y, params) -> list:
    """[(code, gradients dict[, text])] for each sigmoid mistake made at layer 1, at layer 2, or at both; the
    pre-activations taken as the layers' inputs; for a batch, the softmax over the wrong axis."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    out = [(code, backward_with(x, y, params, {layer: rule for layer in layers}))
           for code, rule in _LOCAL_FACTOR.items() for layers in ((2,), (1,), (1, 2))]
    out.append(("preactivation_as_input", backward_with(x, y, params, {}, layer_inputs="z"), PREACTIVATION_AS_INPUT))
    if x.ndim == 2:
        out += [("wrong_axis", backward_with(x, y, params, {}, h3=softmax_over(axis, shift)), SOFTMAX_AXIS[axis])
                for axis, shift in WRONG_SOFTMAX_AXES]
    return out
