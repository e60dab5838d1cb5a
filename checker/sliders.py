"""Two sliders for workbook 03: a saturating sigmoid and a dead ReLU unit.

    from checker.sliders import saturation_slider, dead_relu_slider
    saturation_slider()          # last line of a cell
    dead_relu_slider()

In a live Jupyter front end each shows an ipywidgets slider and a short report that updates as
the slider moves.  Where nothing renders widgets (nbval, nbclient, a terminal, GitHub's viewer)
the same object shows a static text/plain and text/html version: the report at the starting
value and a table of the report at a few slider positions, so the trend can be read without
moving anything.  Both depend only on the arguments, so stored outputs are the same on every run.

The logic lives in plain functions (``saturation``, ``dead_relu``, ``render_text``,
``render_html``) that tests can call without any front end.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Callable

import numpy as np

from checker import _mode
from checker.widgets import _in_kernel

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
SIGMOID_GRAD_MAX = 0.25     # σ'(0)


# --- the sigmoid saturating ---------------------------------------------------------------------

def _sigmoid(z: float) -> float:
    """σ(z) without overflow for any z (the reference network is not in a grading kernel's copy of checker)."""
    e = float(np.exp(-abs(z)))
    return 1.0 / (1.0 + e) if z >= 0 else e / (1.0 + e)


def saturation(z: float) -> dict:
    """σ(z), σ'(z) and how much of the largest possible slope is left, at one pre-activation z."""
    z = float(z)
    s = _sigmoid(z)
    g = s * (1.0 - s)
    fraction = g / SIGMOID_GRAD_MAX
    if fraction > 0.5:
        verdict = "in the linear middle: a change of z still moves σ(z) well"
    elif fraction > 0.01:
        verdict = "flattening: the gradient through this unit is shrinking"
    else:
        verdict = "saturated: almost no gradient passes back through this unit"
    return {"z": z, "sigma": s, "sigma_grad": g, "fraction_of_max": fraction, "verdict": verdict}


def saturation_line(state: dict) -> str:
    return (f"z = {state['z']:g}: σ(z) = {state['sigma']:.6f}, σ'(z) = {state['sigma_grad']:.3e} "
            f"({100 * state['fraction_of_max']:.3g}% of the sigmoid's largest slope) — {state['verdict']}.")


# --- a dead ReLU unit ---------------------------------------------------------------------------------

def relu_unit_inputs(n: int = 200, seed: int = 0) -> np.ndarray:
    """A fixed set of n two-feature inputs in [0, 1) for the ReLU unit (like pixel intensities)."""
    return np.random.default_rng(seed).random((n, 2))


def dead_relu(bias: float, weights=(1.0, -0.5), inputs=None) -> dict:
    """The unit h = ReLU(x · w + bias) on a fixed set of inputs, and what gradient descent can do to it.

    The gradient of any loss with respect to w and bias passes through ReLU'(z) = 1[z > 0]; here
    the upstream gradient is taken as 1 for every example, so grad_w = Σ 1[z > 0] x and
    grad_b = Σ 1[z > 0].  When no input makes z positive, both are exactly 0: no step of gradient
    descent changes the unit, so it stays dead (unless the layers below change its inputs).
    """
    x = relu_unit_inputs() if inputs is None else np.asarray(inputs, dtype=float)
    w = np.asarray(weights, dtype=float)
    z = x @ w + float(bias)
    active = z > 0
    grad_w = (active[:, None] * x).sum(axis=0)
    grad_b = float(active.sum())
    n_active = int(active.sum())
    if n_active == 0:
        verdict = ("dead: no input switches it on, so its gradient is exactly 0 and no gradient step can revive it "
                   "while its inputs stay as they are")
    elif n_active < 0.1 * len(z):
        verdict = "nearly dead: only a few inputs pass any gradient back"
    else:
        verdict = "alive: inputs with z > 0 pass gradient back to its weights"
    return {"bias": float(bias), "n": int(len(z)), "active": n_active, "fraction_active": n_active / len(z),
            "max_z": float(z.max()), "grad_w": grad_w, "grad_b": grad_b, "dead": n_active == 0, "verdict": verdict}


def dead_relu_line(state: dict) -> str:
    return (f"bias = {state['bias']:g}: {state['active']} of {state['n']} inputs give z > 0 "
            f"(largest z = {state['max_z']:.3f}); gradient for w = {np.round(state['grad_w'], 3).tolist()}, "
            f"for the bias = {state['grad_b']:g} — {state['verdict']}.")


# --- one displayable slider -----------------------------------------------------------------------

@dataclass(frozen=True)
class SliderSpec:
    title: str
    label: str               # the slider's description, e.g. "z"
    minimum: float
    maximum: float
    step: float
    start: float
    table_at: tuple           # slider positions listed in the static table
    state: Callable           # value -> dict
    line: Callable            # state -> one sentence
    columns: tuple            # (heading, state -> cell text) for the table


def render_text(spec: SliderSpec, value: float) -> str:
    """The static report: the sentence at `value`, then one line per position of the table."""
    lines = [spec.title, spec.line(spec.state(value)), "",
             f"At a few positions of the slider ({spec.label} from {spec.minimum:g} to {spec.maximum:g}):"]
    heads = [head for head, _ in spec.columns]
    rows = [[cell(spec.state(v)) for _, cell in spec.columns] for v in spec.table_at]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(heads)]
    lines.append("  ".join(h.rjust(w) for h, w in zip(heads, widths, strict=True)))
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def render_html(spec: SliderSpec, value: float) -> str:
    """The same report as static HTML: a status paragraph and a table with a header row."""
    esc = html.escape
    head = "".join(f"<th scope=\"col\">{esc(h)}</th>" for h, _ in spec.columns)
    body = "".join("<tr>" + "".join(f"<td>{esc(cell(spec.state(v)))}</td>" for _, cell in spec.columns) + "</tr>"
                   for v in spec.table_at)
    return (f"<div class=\"checker-slider\"><p><strong>{esc(spec.title)}</strong></p>"
            f"<p role=\"status\">{esc(spec.line(spec.state(value)))}</p>"
            f"<table><caption>At a few positions of the slider ({esc(spec.label)} from {spec.minimum:g} to "
            f"{spec.maximum:g})</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>")


class Slider:
    """What ``saturation_slider`` and ``dead_relu_slider`` return; display it as a cell's last line."""

    def __init__(self, spec: SliderSpec, interactive: bool | None = None):
        self.spec = spec
        self.interactive = _in_kernel() if interactive is None else bool(interactive)
        self.slider = self.report = self.box = None
        if self.interactive:
            self._build()

    def _build(self) -> None:
        try:
            import ipywidgets as w
        except ImportError:
            self.interactive = False
            return
        s = self.spec
        self.slider = w.FloatSlider(value=s.start, min=s.minimum, max=s.maximum, step=s.step, description=s.label,
                                    continuous_update=True, layout=w.Layout(width="32em"))
        self.report = w.HTML(value=f"<p role=\"status\">{html.escape(s.line(s.state(s.start)))}</p>")
        self.slider.observe(lambda change: self.update(change["new"]), names="value")
        self.box = w.VBox([w.HTML(value=f"<strong>{html.escape(s.title)}</strong>"), self.slider, self.report])

    def update(self, value) -> str:
        """The sentence for `value`; also shown in the live report when there is one."""
        line = self.spec.line(self.spec.state(value))
        if self.report is not None:
            self.report.value = f"<p role=\"status\">{html.escape(line)}</p>"
        return line

    def _repr_mimebundle_(self, include=None, exclude=None):
        data = {"text/plain": render_text(self.spec, self.spec.start),
                "text/html": render_html(self.spec, self.spec.start)}
        if self.box is not None:
            data[WIDGET_MIME] = {"version_major": 2, "version_minor": 0, "model_id": self.box.model_id}
        return data

    def __repr__(self) -> str:
        return render_text(self.spec, self.spec.start)


SATURATION = SliderSpec(
    title="How much slope does the sigmoid have left at z?", label="z", minimum=-20.0, maximum=20.0, step=0.5,
    start=1.0, table_at=(1.0, 2.0, 5.0, 10.0, 20.0, -20.0), state=saturation, line=saturation_line,
    columns=(("z", lambda s: f"{s['z']:g}"), ("σ(z)", lambda s: f"{s['sigma']:.6f}"),
             ("σ'(z)", lambda s: f"{s['sigma_grad']:.2e}"),
             ("% of max slope", lambda s: f"{100 * s['fraction_of_max']:.3g}%"),
             ("state", lambda s: s["verdict"].split(":")[0])))

DEAD_RELU = SliderSpec(
    title="A ReLU unit h = ReLU(x · w + bias), w = (1, −0.5), on 200 fixed inputs in [0, 1)²", label="bias",
    minimum=-3.0, maximum=1.0, step=0.1, start=0.0, table_at=(0.5, 0.0, -0.5, -0.9, -1.0, -2.0),
    state=dead_relu, line=dead_relu_line,
    columns=(("bias", lambda s: f"{s['bias']:g}"), ("inputs with z > 0", lambda s: f"{s['active']} of {s['n']}"),
             ("gradient for the bias", lambda s: f"{s['grad_b']:g}"),
             ("state", lambda s: s["verdict"].split(":")[0])))


def saturation_slider(*, interactive: bool | None = None) -> Slider:
    """σ(z) and σ'(z) as z moves from −20 to 20."""
    aside = _mode.standing_aside("the saturation slider")
    return aside if aside is not None else Slider(SATURATION, interactive=interactive)


def dead_relu_slider(*, interactive: bool | None = None) -> Slider:
    """A ReLU unit whose bias moves from 1 down to −3, until no input switches it on."""
    aside = _mode.standing_aside("the dead-ReLU slider")
    return aside if aside is not None else Slider(DEAD_RELU, interactive=interactive)
