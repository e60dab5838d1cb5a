"""Show a matplotlib figure with alt text.

A plain inline plot is a bare PNG: a screen reader gets nothing, and a headless run (nbval,
nbclient, GitHub's viewer) stores only "<Figure size …>".  ``show`` publishes the picture as
an <img> with its alt text, and the alt text itself as the plain-text version.
"""
from __future__ import annotations

import base64
import html
import io


def png_bytes(fig, dpi: int = 100) -> bytes:
    """The figure as PNG bytes, without the metadata that changes from run to run."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    return buffer.getvalue()


def figure_bundle(fig, alt: str) -> dict:
    """{'text/html': <img … alt>, 'text/plain': '[figure] alt'} for one figure."""
    if not alt or not alt.strip():
        raise ValueError("a figure needs alt text: say what the plot shows")
    data = base64.b64encode(png_bytes(fig)).decode("ascii")
    img = f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt, quote=True)}">'
    return {"text/html": img, "text/plain": f"[figure] {alt}"}


def show(fig, alt: str) -> None:
    """Display ``fig`` with alt text and close it (so the inline backend does not show it twice)."""
    import matplotlib.pyplot as plt
    from IPython.display import publish_display_data
    bundle = figure_bundle(fig, alt)
    plt.close(fig)
    publish_display_data(bundle)
