"""Written answers: the most points each can get, by answer id.

A written answer is a markdown cell of a workbook tagged ``written-answer`` whose metadata
``checker.answer_id`` names it (``wb02.q_4_9``).  The instructor grades it by hand in the grader's
``written.csv`` (docs/grading.md); the points entered there count only from 0 to the maximum
given here, and the maxima of a workbook's written answers are part of that workbook's maximum in
the gradebook and every export.  1 point each, 2 for the answers in several parts.  Change a
number here to weigh an answer differently; ``tests/test_written_points.py`` keeps this table and
the answer cells of solutions/ in step.

Nothing here is an answer (these are points), and like the other tables it is not in a grading
kernel's copy of the package.
"""
from __future__ import annotations

POINTS = {
    # Workbook 00 — The chain rule and computational graphs
    "wb00.q_1_1": 1.0, "wb00.q_1_2": 1.0, "wb00.q_1_3": 1.0, "wb00.q_2_1": 1.0, "wb00.q_2_2": 1.0,
    "wb00.q_3_1": 1.0, "wb00.q_4_4": 1.0, "wb00.q_5_1": 1.0, "wb00.q_5_2": 1.0, "wb00.q_5_4": 1.0,
    "wb00.q_6_1": 1.0, "wb00.q_7_1": 1.0, "wb00.q_7_2": 1.0, "wb00.q_7_3": 1.0,
    # Backprop Workbook 01: The Forward Pass and the Output Layer
    "wb01.q_row_convention": 1.0, "wb01.q_broadcast_bias": 1.0, "wb01.q_stable_sigmoid": 1.0,
    "wb01.q_softmax_shift": 1.0, "wb01.q_softmax_axis": 1.0, "wb01.q_ce_range": 1.0, "wb01.q_grad_h3": 1.0,
    "wb01.q_jacobian": 1.0, "wb01.q_grad_z3": 1.0, "wb01.q_one_path": 1.0, "wb01.q_grad_W3": 1.0,
    "wb01.q_grad_b3": 1.0,
    # Workbook 02 — Carrying the gradient back into the hidden layers
    "wb02.q_1_1": 1.0, "wb02.q_1_2": 1.0, "wb02.q_2_1": 1.0, "wb02.q_2_2": 1.0, "wb02.q_2_3": 1.0,
    "wb02.q_2_5": 1.0, "wb02.q_2_6": 1.0, "wb02.q_2_7": 1.0, "wb02.q_3_1": 1.0, "wb02.q_3_2": 1.0,
    "wb02.q_3_3": 1.0, "wb02.q_3_4": 1.0, "wb02.q_3_5": 1.0, "wb02.q_3_6": 1.0, "wb02.q_3_7": 1.0,
    "wb02.q_3_8": 1.0, "wb02.q_3_9": 1.0, "wb02.q_3_10": 1.0, "wb02.q_3_11": 1.0, "wb02.q_3_12": 1.0,
    "wb02.q_4_1": 1.0, "wb02.q_4_2": 1.0, "wb02.q_4_3": 1.0, "wb02.q_4_4": 1.0, "wb02.q_4_5": 1.0,
    "wb02.q_4_6": 1.0, "wb02.q_4_7": 1.0, "wb02.q_4_8": 1.0, "wb02.q_4_9": 1.0, "wb02.q_4_10": 1.0,
    "wb02.q_5_2": 1.0, "wb02.q_5_3": 1.0, "wb02.q_5_4": 1.0, "wb02.q_5_5": 1.0, "wb02.q_6_2": 1.0,
    "wb02.q_6_3": 1.0, "wb02.q_6_4": 1.0, "wb02.q_6_5": 1.0, "wb02.q_6_6": 1.0, "wb02.q_6_7": 1.0,
    "wb02.q_6_8": 1.0, "wb02.q_7_1": 1.0, "wb02.q_7_2": 1.0, "wb02.q_7_3": 1.0, "wb02.q_summary": 2.0,
    # Workbook 03 — Activation functions
    "wb03.q_1_1": 1.0, "wb03.q_2_2": 1.0, "wb03.q_2_3": 1.0, "wb03.q_3_1": 1.0, "wb03.q_3_2": 1.0,
    "wb03.q_5_2": 1.0, "wb03.q_6_1": 1.0, "wb03.q_7_1": 1.0, "wb03.q_7_2": 1.0, "wb03.q_7_3": 1.0,
    # Workbook 04 — Batches and tensor derivatives
    "wb04.q_1_3": 1.0, "wb04.q_1_4": 1.0, "wb04.q_2_1": 1.0, "wb04.q_3_1": 1.0, "wb04.q_3_2": 1.0,
    "wb04.q_3_4": 1.0, "wb04.q_3_5": 1.0, "wb04.q_4_1": 1.0, "wb04.q_4_2": 1.0, "wb04.q_5_1": 1.0,
    "wb04.q_5_2": 1.0,
    # Workbook 05 — Gradient checking and two worked examples
    "wb05.q_1_1": 1.0, "wb05.q_3_2": 1.0, "wb05.q_5_2": 1.0, "wb05.q_5_3": 1.0,
    # Workbook 06 — Training the network on real handwritten digits
    "wb06.q_1_1": 1.0, "wb06.q_4_2": 1.0, "wb06.q_7_1": 1.0, "wb06.q_8_1": 2.0,
}


def maximum(answer_id: str) -> float | None:
    """The most points the written answer ``answer_id`` can get; None when it is no workbook's."""
    points = POINTS.get(answer_id)
    return None if points is None else float(points)


def of_workbook(workbook: str) -> dict:
    """answer id -> maximum, for one workbook's written answers."""
    return {i: float(p) for i, p in POINTS.items() if i.startswith(workbook + ".")}
