"""Workbook 04: right batch implementations pass, the batch mistakes are caught and named, and the
graded questions' computed answers are the ones the workbook explains."""
import numpy as np
import pytest

from checker import evaluate, network
from checker.exercises import as_written, lookup, shown_letter

σ = network.sigmoid


def grad_W_loops(H, dZ):
    out = np.zeros((H.shape[1], dZ.shape[1]))
    for i in range(H.shape[0]):
        out += np.outer(H[i], dZ[i])
    return out


def backward_einsum(X, Y, p):
    """Batch backward written with einsum and explicit per-layer lines."""
    H1 = σ(X @ p["W1"] + p["b1"]); H2 = σ(H1 @ p["W2"] + p["b2"])
    H3 = network.softmax(H2 @ p["W3"] + p["b3"])
    dZ3 = (H3 - Y) / len(X)
    dZ2 = np.einsum("mk,jk->mj", dZ3, p["W3"]) * H2 * (1 - H2)
    dZ1 = np.einsum("mk,jk->mj", dZ2, p["W2"]) * H1 * (1 - H1)
    return {"W1": np.einsum("mi,mj->ij", X, dZ1), "b1": dZ1.sum(0), "W2": np.einsum("mi,mj->ij", H1, dZ2),
            "b2": dZ2.sum(0), "W3": np.einsum("mi,mj->ij", H2, dZ3), "b3": dZ3.sum(0)}


def backward_mean_of_examples(X, Y, p):
    """The mean of the one-example gradients: slow but right."""
    per = [network.backward(x, y, p) for x, y in zip(X, Y)]
    return {k: np.mean([g[k] for g in per], axis=0) for k in network.PARAM_KEYS}


RIGHT = [
    ("wb04.grad_W", lambda H, dZ: np.einsum("mi,mj->ij", H, dZ)),
    ("wb04.grad_W", grad_W_loops),
    ("wb04.grad_W", lambda H, dZ: (H.astype(np.float32).T @ dZ.astype(np.float32))),
    ("wb04.grad_W", lambda H, dZ: (dZ.T @ H).T),
    ("wb04.grad_b", lambda dZ: np.ones(dZ.shape[0]) @ dZ),
    ("wb04.grad_b", lambda dZ: np.add.reduce(dZ.astype(np.float32), axis=0)),
    ("wb04.grad_b", lambda dZ: sum(row for row in dZ)),
    ("wb04.backward", backward_einsum),
    ("wb04.backward", backward_mean_of_examples),
]

WRONG = [
    ("wb04.grad_W", lambda H, dZ: H.T @ dZ / H.shape[0], "scale", "divided by m one time too many"),
    ("wb04.grad_W", lambda H, dZ: H.T @ dZ * H.shape[0], "scale", "exactly m = 4 times"),
    ("wb04.grad_W", lambda H, dZ: dZ.T @ H, "transposed", "transpose"),
    ("wb04.grad_W", lambda H, dZ: np.outer(H.mean(axis=0), dZ.sum(axis=0)), "outer_of_means", "example by example"),
    ("wb04.grad_W", lambda H, dZ: np.einsum("mi,mj->mij", H, dZ), "wrong_shape", "one value per example"),
    ("wb04.grad_b", lambda dZ: dZ.mean(axis=0), "scale", "divided by m one time too many"),
    ("wb04.grad_b", lambda dZ: dZ.sum(axis=1), "wrong_shape", "one entry per unit of Z"),
    ("wb04.grad_b", lambda dZ: np.full(dZ.shape[1], dZ.sum()), "summed_wrong_axis", "its own column"),
    ("wb04.grad_b", lambda dZ: dZ.copy(), "wrong_shape", "one value per example"),
]


@pytest.mark.parametrize("exercise_id", ["wb04.grad_W", "wb04.grad_b"])
def test_reference_passes_and_cases_have_distinct_small_sizes(exercise_id):
    result = evaluate(exercise_id, lookup(exercise_id).reference, seed=1)
    assert result.passed and result.score == result.max_score, result.text()
    first = lookup(exercise_id).cases(np.random.default_rng(0))[0]
    sizes = {n for arg in first.args for n in arg.shape}     # m, fan_in, fan_out: a transpose cannot hide
    assert len(sizes) == (3 if exercise_id == "wb04.grad_W" else 2), first.label


def test_batch_mean_backward_equals_the_mean_of_one_example_gradients():
    rng = np.random.default_rng(0)
    p = network.init_params(rng, (6, 5, 4, 3))
    X, Y = rng.uniform(size=(7, 6)), np.eye(3)[rng.integers(3, size=7)]
    batch, per = network.backward(X, Y, p), backward_mean_of_examples(X, Y, p)
    for key in network.PARAM_KEYS:
        np.testing.assert_allclose(batch[key], per[key], rtol=1e-12, atol=1e-15)


# --- questions: the computed answers ---------------------------------------------------------

@pytest.mark.parametrize("qid, answer", [
    ("wb04.shape_X", (16, 1024)), ("wb04.shape_Z1", (16, 512)), ("wb04.n_bias_numbers", 512),
    ("wb04.shape_dW2", (512, 256)), ("wb04.shape_dz1_dW1", (1024, 512, 512)),
    ("wb04.tensor_bytes", 2 * 2 ** 30),
    ("wb04.choice_kronecker", "a"), ("wb04.choice_db", "a"), ("wb04.choice_chain_order", "a"),
])
def test_question_answers(qid, answer):
    assert as_written()[qid].answer() == answer   # choices: in the table's own letters
    assert evaluate(qid, shown_letter(qid, answer) if isinstance(answer, str) else answer).passed


@pytest.mark.parametrize("qid, wrong", [
    ("wb04.n_bias_numbers", 16 * 512), ("wb04.shape_Z1", (512, 16)), ("wb04.choice_db", "b"),
    ("wb04.choice_chain_order", "b"), ("wb04.choice_kronecker", "c"), ("wb04.tensor_bytes", 1024 * 512 * 8),
])
def test_wrong_answers_fail(qid, wrong):
    result = evaluate(qid, shown_letter(qid, wrong) if isinstance(wrong, str) else wrong)
    assert not result.passed and result.score == 0, result.text()
