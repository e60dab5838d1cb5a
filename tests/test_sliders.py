"""checker.sliders: the numbers behind the two sliders of workbook 03, and what a headless viewer shows."""
import numpy as np
import pytest

from checker import network
from checker.sliders import (
    DEAD_RELU,
    SATURATION,
    WIDGET_MIME,
    dead_relu,
    dead_relu_slider,
    render_html,
    render_text,
    saturation,
    saturation_slider,
)


def test_saturation_peaks_at_zero_and_vanishes_in_both_tails():
    assert saturation(0.0)["sigma_grad"] == 0.25 and saturation(0.0)["fraction_of_max"] == 1.0
    grads = [saturation(z)["sigma_grad"] for z in (0, 2, 5, 10, 20)]
    assert all(a > b for a, b in zip(grads, grads[1:], strict=False))   # each with the next one
    assert saturation(20.0)["sigma_grad"] == pytest.approx(saturation(-20.0)["sigma_grad"])
    assert saturation(20.0)["sigma_grad"] < 1e-8


@pytest.mark.parametrize("z, word", [(0.0, "linear middle"), (3.0, "flattening"), (12.0, "saturated"),
                                     (-12.0, "saturated")])
def test_saturation_verdict(z, word):
    assert word in saturation(z)["verdict"]


def test_saturation_is_finite_at_the_ends_of_any_range():
    state = saturation(-1000.0)
    assert state["sigma"] == 0.0 and state["sigma_grad"] == 0.0 and np.isfinite(state["fraction_of_max"])


def test_dead_relu_gradient_is_the_sum_over_active_inputs():
    x = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    state = dead_relu(0.0, weights=(1.0, -1.0), inputs=x)       # z = 1, -1, 0: only the first is active
    assert state["active"] == 1 and state["grad_b"] == 1.0
    assert np.array_equal(state["grad_w"], [1.0, 0.0])


def test_a_dead_unit_gets_exactly_zero_gradient_and_the_verdict_says_so():
    state = dead_relu(-2.0)
    assert state["dead"] and state["active"] == 0
    assert state["grad_b"] == 0.0 and not np.any(state["grad_w"])
    assert "dead" in state["verdict"] and "no gradient step can revive it while its inputs stay" in state["verdict"]


def test_lowering_the_bias_never_switches_more_inputs_on():
    counts = [dead_relu(b)["active"] for b in np.arange(1.0, -3.01, -0.1)]
    assert all(a >= b for a, b in zip(counts, counts[1:], strict=False))   # each with the next one
    assert counts[0] == 200 and counts[-1] == 0


def test_the_dead_threshold_is_the_largest_z_at_bias_zero():
    """The unit dies exactly when the bias falls below −max(x · w)."""
    largest = dead_relu(0.0)["max_z"]
    assert dead_relu(-largest + 1e-9)["active"] >= 1
    assert dead_relu(-largest - 1e-9)["dead"]


@pytest.mark.parametrize("spec, factory", [(SATURATION, saturation_slider), (DEAD_RELU, dead_relu_slider)])
def test_static_display_has_the_sentence_and_a_table_and_no_widget(spec, factory):
    bundle = factory(interactive=False)._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    text, markup = bundle["text/plain"], bundle["text/html"]
    assert text.splitlines()[0] == spec.title
    assert spec.line(spec.state(spec.start)) in text
    assert len(text.splitlines()) == 4 + 1 + len(spec.table_at)
    assert markup.count("<tr>") == 1 + len(spec.table_at) and "<th scope=\"col\">" in markup
    assert "role=\"status\"" in markup


def test_static_display_is_the_same_on_every_call():
    assert render_text(SATURATION, 0.0) == render_text(SATURATION, 0.0)
    assert render_html(DEAD_RELU, 0.0) == render_html(DEAD_RELU, 0.0)


def test_html_escapes_the_sentence():
    markup = render_html(DEAD_RELU, 0.0)
    assert "z &gt; 0" in markup and "z > 0" not in markup


def test_the_live_slider_updates_its_report():
    pytest.importorskip("ipywidgets")
    slider = saturation_slider(interactive=True)
    assert WIDGET_MIME in slider._repr_mimebundle_()
    slider.slider.value = 10.0
    assert "z = 10" in slider.report.value and "saturated" in slider.report.value
    assert slider.update(0.0).startswith("z = 0")


def test_the_table_values_come_from_the_network_sigmoid():
    for z in SATURATION.table_at:
        assert saturation(z)["sigma_grad"] == pytest.approx(float(network.sigmoid_grad(z)), abs=0)
