"""Workbook 06 exercises: right implementations pass, known mistakes are caught and named.

Table-driven like tests/test_exercises.py: (id, implementation, expected diagnosis, words the
message must contain).  The reference passing is tested for every exercise there.
"""
import numpy as np

from checker import evaluate, network
from checker.exercises import lookup, wb06

K = 10


def one_hot_loop(labels):
    out = np.zeros((len(labels), K))
    for i, label in enumerate(labels):
        out[i, label] = 1
    return out


def one_hot_compare(labels):
    return (labels[:, None] == np.arange(K)[None, :]).astype(np.float32)


def batch_backward_einsum(X, Y, p):
    c = network.forward(X, p)
    dZ3 = (c["h3"] - Y) / len(X)
    dZ2 = np.einsum("mk,jk->mj", dZ3, p["W3"]) * c["h2"] * (1 - c["h2"])
    dZ1 = np.einsum("mk,jk->mj", dZ2, p["W2"]) * c["h1"] * (1 - c["h1"])
    return {"W1": np.einsum("mi,mj->ij", X, dZ1), "b1": dZ1.sum(0), "W2": np.einsum("mi,mj->ij", c["h1"], dZ2),
            "b2": dZ2.sum(0), "W3": np.einsum("mi,mj->ij", c["h2"], dZ3), "b3": dZ3.sum(0)}


def batch_backward_by_example(X, Y, p):
    """The mean of workbook 02's one-example gradients, in float32."""
    per = [network.backward(x, y, p) for x, y in zip(X, Y, strict=True)]
    return {k: np.mean([g[k] for g in per], axis=0).astype(np.float32) for k in network.PARAM_KEYS}


def one_hot_sized_by_labels(labels):
    return np.eye(labels.max() + 1)[labels]


def sgd_step_loop(params, grads, lr):
    new = {}
    for key, value in params.items():
        new[key] = value.copy()
        new[key] -= lr * grads[key]
    return new


def sgd_step_in_place(params, grads, lr):
    for key in params:
        params[key] -= lr * grads[key]
    return params


def accuracy_loop(H3, labels):
    right = 0
    for row, label in zip(H3, labels, strict=True):
        right += int(np.argmax(row) == label)
    return right / len(labels)


RIGHT = [
    ("wb06.one_hot", lambda labels: np.eye(10)[labels]),
    ("wb06.one_hot", one_hot_loop),
    ("wb06.one_hot", one_hot_compare),
    ("wb06.backward", batch_backward_einsum),
    ("wb06.backward", batch_backward_by_example),
    ("wb06.sgd_step", sgd_step_loop),
    ("wb06.sgd_step", lambda p, g, lr: {k: (p[k] - lr * g[k]).astype(np.float32) for k in p}),
    ("wb06.accuracy", accuracy_loop),
    ("wb06.accuracy", lambda H3, labels: np.float32(np.sum(H3.argmax(-1) == labels) / H3.shape[0])),
    ("wb06.accuracy", lambda H3, labels: np.mean(np.argmax(H3, axis=1) == labels)),  # a numpy float is fine
]


WRONG = [
    ("wb06.one_hot", lambda labels: np.eye(10)[labels].T, "transposed", "transpose"),
    ("wb06.one_hot", one_hot_sized_by_labels, "wrong_shape", "one column per class 0..9"),
    ("wb06.one_hot", lambda labels: np.eye(10)[(labels + 1) % 10], "label_off_by_one", "to the right of its label"),
    ("wb06.one_hot", lambda labels: np.eye(10)[labels - 1], "label_off_by_one", "as if the labels ran from 1 to 10"),
    ("wb06.one_hot", lambda labels: list(np.eye(10)[labels]), "wrong_type", "np.array"),
    ("wb06.backward", lambda X, Y, p: {k: v * len(X) for k, v in network.backward(X, Y, p).items()},
     "scale", "exactly m = 4 times"),
    ("wb06.backward", lambda X, Y, p: {k: v for k, v in network.backward(X, Y, p).items() if k != "W1"},
     "wrong_type", "W1"),
    ("wb06.sgd_step", lambda p, g, lr: {k: p[k] + lr * g[k] for k in p}, "gradient_ascent", "larger loss"),
    ("wb06.sgd_step", lambda p, g, lr: {k: p[k] - g[k] for k in p}, "missing_learning_rate", "learning rate"),
    ("wb06.sgd_step", lambda p, g, lr: {k: -lr * g[k] for k in p}, "returns_the_step", "after the step"),
    ("wb06.sgd_step", sgd_step_in_place, "mutated_input", "params"),
    ("wb06.sgd_step", lambda p, g, lr: {k: p[k] - lr * g[k] for k in p if k != "b3"}, "wrong_type", "b3"),
    ("wb06.accuracy", lambda H3, labels: float(np.sum(H3.argmax(axis=1) == labels)),
     "count_instead_of_fraction", "not a fraction"),
    ("wb06.accuracy", lambda H3, labels: float(np.mean(H3.argmax(axis=1) != labels)), "error_rate", "WRONG"),
    ("wb06.accuracy", lambda H3, labels: float(np.mean(H3.argmax(axis=0) == labels)), "exception", "accuracy("),
    ("wb06.accuracy", lambda H3, labels: float(np.mean(H3.max(axis=1))), "wrong_values", "expected"),
]


def test_a_stub_is_not_implemented_yet():
    def backward(X, Y, params):
        raise NotImplementedError("Replace this line with your code.")
    result = evaluate("wb06.backward", backward, seed=3)
    assert result.diagnosis == "not_implemented" and "not implemented yet" in result.message


def test_backward_has_the_contract_of_workbook_04():
    """A backward written for workbook 04 passes here and the other way round."""
    for exercise_id in ("wb04.backward", "wb06.backward"):
        assert evaluate(exercise_id, batch_backward_einsum, seed=5).passed
    assert lookup("wb06.backward").signature == lookup("wb04.backward").signature


def test_one_hot_cases_include_labels_that_miss_classes():
    cases = lookup("wb06.one_hot").cases(np.random.default_rng(0))
    assert any(len(np.unique(c.args[0])) < K and c.args[0].max() < K - 1 for c in cases)


def test_updates_per_epoch_is_computed_from_the_split():
    question = lookup("wb06.updates_per_epoch")
    assert wb06._n_train() == wb06.N_TRAIN  # the number in the prompt is the real one
    assert question.answer() == 43 == -(-wb06.N_TRAIN // wb06.BATCH_SIZE)
    assert evaluate("wb06.updates_per_epoch", 43).passed
    wrong = evaluate("wb06.updates_per_epoch", 42)      # forgets the last, smaller batch
    assert not wrong.passed and wrong.diagnosis == "wrong_answer"
    assert str(wb06.N_TRAIN) in question.prompt


def test_feedback_points_to_the_mistake_without_giving_the_answer():
    """No hint or mistake text of this workbook spells out a formula the exercise asks for."""
    rng = np.random.default_rng(0)
    texts = []
    for exercise_id in ("wb06.one_hot", "wb06.sgd_step", "wb06.accuracy", "wb06.updates_per_epoch"):
        entry = lookup(exercise_id)
        texts += list(entry.hints)
        if getattr(entry, "mistakes", None):
            texts += [text for case in entry.cases(rng) for *_, text in entry.mistakes(*case.args)]
    given_away = ["np.eye", "argmax", "- lr", "−lr", "θ − lr", "params[key] -", "divide by", "subtract", "axis=1",
                  "column c", "ceil", "43"]
    for text in texts:
        assert not [words for words in given_away if words in text], text


def test_only_a_right_function_passes_the_notebooks_try_on_the_stored_example(capsys):
    """The notebook trains with the student's functions only when they give the example's stored values
    (``ex.yours`` stays silent); every realistic mistake of the WRONG table is caught there too, except two
    that training survives: sgd_step_in_place gives the right values (training starts from a fresh copy of
    params0), and one_hot_sized_by_labels is right for the workbook's labels, which use all ten classes."""
    from checker import examples
    ex = examples.example("wb06")
    tries = {"one_hot": ("Y16", ex.Y16.argmax(axis=1)),
             "backward": ("small_grads", ex.small_X, ex.small_Y, ex.small_params),
             "sgd_step": ("small_stepped", ex.small_params, ex.small_grads, wb06.SMALL_LR)}
    right = {"one_hot": lambda labels: np.eye(10)[labels], "backward": network.backward,
             "sgd_step": wb06.sgd_step_reference}
    for name, (stored, *args) in tries.items():
        ex.yours(stored, right[name], *args)
        assert capsys.readouterr().out == "", name
        for exercise_id, fn, *_ in WRONG:
            if exercise_id == f"wb06.{name}" and fn not in (sgd_step_in_place, one_hot_sized_by_labels):
                ex.yours(stored, fn, *args)
                assert "is not right yet" in capsys.readouterr().out, (name, fn)


def test_the_stored_runs_are_small_and_reach_the_promised_accuracy():
    from checker import examples
    ex = examples.example("wb06")
    assert examples.path("wb06").stat().st_size < 200_000
    assert float(ex.final["test_accuracy"]) >= 0.95
    runs = {name: ex[f"run_{name}"] for name in wb06.CANDIDATES}
    chosen, epochs = wb06.choose(runs)
    assert chosen == "momentum" and len(ex.final["grad_norm"]) == epochs * -(-wb06.N_TRAIN // wb06.BATCH_SIZE)
