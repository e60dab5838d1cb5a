"""Graded questions of workbook 04 (batches and tensor derivatives), in the workbook's order.

Every answer is computed: shapes from the layer sizes and the batch size, numbers from the
sizes, choices by trying each option numerically on small arrays whose sizes all differ.  Hints and
why_not texts point at where to look; none states the shape, number or option asked for.
"""
import numpy as np

from checker import network
from checker.exercises import Question

N_IN, N_H1, N_H2, K = network.LAYER_SIZES
M = 16          # the batch size of the workbook
_SHAPES = network.param_shapes()
EXAMPLES = "one row per example in the batch (m)"


def _shape(id, prompt, shape, axes, hints=(), points=0.5):
    return Question(id, prompt, "shape", lambda: tuple(shape), points=points, axes=tuple(axes), hints=tuple(hints))


def _only(truths):
    """The one option whose claim holds; None (an error in the question) if not exactly one."""
    right = [key for key, holds in truths.items() if holds]
    return right[0] if len(right) == 1 else None


def _small_layer(seed=0, m=4, fan_in=5, fan_out=3):
    rng = np.random.default_rng(seed)
    return rng.uniform(size=(m, fan_in)), rng.normal(size=(fan_in, fan_out)), rng.normal(size=fan_out)


def _dZ_dW(A, W, b, eps=1e-6):
    """T[i, p, j, k] = ∂Z[i, p]/∂W[j, k] by central differences."""
    out = np.zeros(A.shape[:1] + W.shape[1:] + W.shape)
    for j, k in np.ndindex(W.shape):
        step = np.zeros_like(W)
        step[j, k] = eps
        out[:, :, j, k] = ((A @ (W + step) + b) - (A @ (W - step) + b)) / (2 * eps)
    return out


def _kronecker_claims():
    A, W, b = _small_layer()
    T = _dZ_dW(A, W, b)
    n_out = W.shape[1]
    eye = np.eye(n_out)
    a = np.einsum("ij,pk->ipjk", A, eye)                 # A[i, j] δ_pk
    b_ = np.einsum("ik,pj->ipjk", A[:, :n_out], eye[:, :n_out]) if A.shape[1] >= n_out else None
    c = np.broadcast_to(A[:, None, :, None], T.shape)     # A[i, j] whatever p and k
    return _only({"a": np.allclose(T, a, atol=1e-8),
                  "b": b_ is not None and b_.shape == T.shape and np.allclose(T, b_, atol=1e-8),
                  "c": np.allclose(T, c, atol=1e-8)})


def _bias_claims():
    A, W, b = _small_layer(1)
    dZ = np.random.default_rng(2).normal(size=(A.shape[0], W.shape[1]))   # some ∇Z J

    def J_of_b(bias):
        return float(np.sum((A @ W + bias) * dZ))   # a loss whose gradient with respect to Z is dZ
    numeric = np.array([(J_of_b(b + e) - J_of_b(b - e)) / 2e-6 for e in 1e-6 * np.eye(b.size)])
    return _only({"a": np.allclose(dZ.sum(axis=0), numeric), "b": np.allclose(dZ.mean(axis=0), numeric),
                  "c": np.allclose(dZ[0], numeric)})


def _chain_order_claims():
    """x (5,) -> y = x A (4,) -> z = tanh(y) @ B (3,): which product is ∇x z (input axes first)?"""
    rng = np.random.default_rng(3)
    x, A, B = rng.normal(size=5), rng.normal(size=(5, 4)), rng.normal(size=(4, 3))
    y = x @ A
    grad_x_y = A                                        # (5, 4)
    grad_y_z = (1 - np.tanh(y) ** 2)[:, None] * B       # (4, 3)
    eps = 1e-6
    def f(x):
        return np.tanh(x @ A) @ B
    numeric = np.array([(f(x + e) - f(x - e)) / (2 * eps) for e in eps * np.eye(5)])

    def product(first, second):
        try:
            return first @ second
        except ValueError:          # shapes that do not chain
            return None
    left = product(grad_x_y, grad_y_z)
    right = product(grad_y_z, grad_x_y)
    return _only({"a": left is not None and np.allclose(left, numeric, atol=1e-8),
                  "b": right is not None and right.shape == numeric.shape and np.allclose(right, numeric, atol=1e-8),
                  "c": False})


def _tensor_bytes():
    """float64 bytes of ∇W1 z1 for one example: (1024, 512) inputs × 512 outputs."""
    return N_IN * N_H1 * N_H1 * np.dtype(np.float64).itemsize


QUESTIONS = [
    # 1. the design matrix
    _shape("wb04.shape_X", f"The shape of the design matrix X for a batch of m = {M} inputs.", (M, N_IN),
           (EXAMPLES, "one column per input pixel"),
           hints=("Look at how the section stacks the examples: what does one row of X hold?",)),
    _shape("wb04.shape_Z1", f"The shape of Z1 = X W1 + b1 for a batch of m = {M}.", (M, N_H1),
           (EXAMPLES, "one column per unit of z1")),
    Question("wb04.n_bias_numbers",
             f"How many different numbers does the bias of layer 1 contribute to Z1 for a batch of m = {M}?",
             "number", lambda: _SHAPES["b1"][0],
             hints=("Which of the numbers that the bias adds to Z1 could training change independently of the "
                    "others?",)),
    # 3. by index
    Question("wb04.choice_kronecker", "Which is ∂Z[i, p] / ∂W[j, k] for Z = A W + b (A: (m, n_in), W: (n_in, n_out))?",
             "choice", _kronecker_claims,
             options={"a": "A[i, j] δ_pk: A[i, j] when p = k, else 0",
                      "b": "A[i, k] δ_pj: A[i, k] when p = j, else 0",
                      "c": "A[i, j] for every p"},
             why_not={"b": "Write Z[i, p] out as a sum over q: which entry of A does W[j, k] multiply, and in the sum "
                           "for which column of Z does it stand?",
                      "c": "Does W[j, k] stand in the sum for every column p of Z? Write Z[i, p] out for a p "
                           "different from k."}),
    _shape("wb04.shape_dW2", f"The shape of ∇W2 J for the batch-mean loss J of m = {M} examples.", _SHAPES["W2"],
           ("one row per unit of h1 (fan-in)", "one column per unit of z2 (fan-out)"),
           hints=("J is one number, whatever the batch size: workbook 00 (section 7) says what shape the "
                  "gradient of one number has.",)),
    Question("wb04.choice_db", "Given dZ = ∇Z J of shape (m, n_out), which is ∇b J?", "choice", _bias_claims,
             options={"a": "dZ.sum(axis=0)", "b": "dZ.mean(axis=0)", "c": "dZ[0], the first row"},
             why_not={"b": "Where did the 1/m of the mean go in Question 2.1? Count how often J's gradient would be "
                           "divided by m with your choice.",
                      "c": "Which rows of Z does b reach (section 1)? A change of b_k moves the loss through each "
                           "of them."}),
    # 4. layouts
    Question("wb04.choice_chain_order",
             "x → y → z with gradients laid out input axes first (∇x y has the axes of x, then of y). Which is ∇x z?",
             "choice", _chain_order_claims,
             options={"a": "∇x y · ∇y z", "b": "∇y z · ∇x y", "c": "either order: matrix products commute"},
             why_not={"b": "Write down the shapes of the two factors for x of 5 entries, y of 4 and z of 3: does "
                           "this order multiply, and would its result have the axes of x first?",
                      "c": "Try both orders with x of 5 entries, y of 4 and z of 3: do both products exist?"}),
    # 5. the 3-D tensor
    _shape("wb04.shape_dz1_dW1", "The shape of ∇W1 z1 for one example (axes of W1 first, then of z1).",
           _SHAPES["W1"] + (N_H1,),
           ("one entry per row of W1 (input pixels)", "one entry per column of W1 (units of z1)",
            "one entry per output z1_k")),
    Question("wb04.tensor_bytes", "How many bytes would ∇W1 z1 take in float64 (8 bytes per number)?", "number",
             _tensor_bytes, hints=("Start from the shape you gave in Question 5.1; each entry is one float64.",)),
]
