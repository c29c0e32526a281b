"""User strings in the page the browser renderer loads in Chromium (for ``FrameExporter``, ``livetrain gif`` and the
final picture) stay text: metric keys, phase names, category labels and titles that close a ``<script>``, carry an
``onerror`` handler, a template literal or a Unicode line separator run nothing, and the plot is drawn. Each
hostile string, if it ran, would invert the page's colours (the red train line turns cyan) and set
``window.pwned``; a dialog from it would be dismissed by Playwright, so the colours are what the frame shows."""
from __future__ import annotations

import numpy as np
import pytest

from livetrain import LinePlotsCallback, VBarPlotsCallback
from livetrain.frames.browser import BrowserRenderer
from livetrain.frames.png import to_image

RUN = "document.documentElement.style.filter='invert(1)';window.pwned=1"
HOSTILE = [
    f"</script><script>{RUN}</script>",
    f'<img src=x onerror="{RUN}">',
    f"${{{RUN}}}",
    f"@{{x}}{{%.3f}} $x \u2028{RUN}\u2029",
    f"'\";{RUN};//",
    f"</title><svg onload=\"{RUN}\">",
]
WHITE, TRAIN_RED = (255, 255, 255), (214, 39, 40)


pytestmark = pytest.mark.usefixtures("no_display")  # views made here display nothing


def colours(frame) -> set[tuple[int, int, int]]:
    return {tuple(c) for c in np.unique(np.asarray(to_image(frame)).reshape(-1, 3), axis=0)}


def assert_drawn_as_text(renderer: BrowserRenderer, frame, colour: tuple[int, int, int]) -> None:
    assert renderer.name == "browser"
    assert to_image(frame).getpixel((0, 0)) == WHITE and colour in colours(frame), \
        "the plot is not drawn in its colours: a hostile string ran as script (it inverts them), or nothing was drawn"


def test_keys_phases_and_titles_in_the_line_view_page():
    view = LinePlotsCallback(epochs=4, keys=HOSTILE[:3], phases=("train", *HOSTILE[3:])).replica()
    history = {"train": {key: [0.9, 0.5, 0.4] for key in HOSTILE[:3]}}
    for epoch in range(2):  # in the page as it is loaded
        view.on_epoch_end(epoch, "train", {"train": {k: v[:epoch + 1] for k, v in history["train"].items()}})
    with BrowserRenderer(view.graph) as renderer:
        assert_drawn_as_text(renderer, renderer.capture(), TRAIN_RED)
        view.on_epoch_end(2, "train", history)  # new rows, and new titles, sent as a PATCH-DOC
        for figure, text in zip(view.figures, HOSTILE[3:]):
            figure.title.text = text
        assert_drawn_as_text(renderer, renderer.capture(), TRAIN_RED)


def bars_frame(labels: list[str]):
    view = VBarPlotsCallback(categories=labels, phases=("train",)).replica()
    history = {"train": {"corrects": [np.arange(len(labels))], "counts": [np.full(len(labels), 8)]}}
    with BrowserRenderer(view.graph) as renderer:
        view.on_epoch_end(0, "train", history)
        return renderer.name, to_image(renderer.capture())


def main_colours(image) -> set[tuple[int, int, int]]:
    """The colours of large coloured areas (bars), not of grey text or white background."""
    return {c for n, c in image.getcolors(1 << 24) if n > 500 and max(c) - min(c) > 30}


def test_category_labels_in_the_bars_page():
    name, frame = bars_frame(HOSTILE)
    _, plain = bars_frame([f"class {k}" for k in range(len(HOSTILE))])
    assert name == "browser" and frame.getpixel((0, 0)) == WHITE
    assert main_colours(frame) == main_colours(plain) != set(), \
        "the bars are not drawn in their colours: a hostile label ran as script (it inverts them), or nothing was drawn"
