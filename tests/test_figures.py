import re

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from checker.figures import figure_bundle, png_bytes


def test_a_figure_carries_its_alt_text_and_the_same_bytes_every_time():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    bundle = figure_bundle(fig, 'σ(z) and its "derivative"')
    assert bundle["text/plain"] == '[figure] σ(z) and its "derivative"'
    assert 'alt="σ(z) and its &quot;derivative&quot;"' in bundle["text/html"]
    assert re.search(r'src="data:image/png;base64,[A-Za-z0-9+/=]+"', bundle["text/html"])
    assert png_bytes(fig) == png_bytes(fig)
    plt.close(fig)


def test_a_figure_without_alt_text_is_refused():
    fig, _ = plt.subplots()
    with pytest.raises(ValueError, match="alt text"):
        figure_bundle(fig, "  ")
    plt.close(fig)
