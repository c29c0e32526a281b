"""What every renderer is: a :class:`Renderer` draws a Bokeh layout's current state as a :data:`Frame`."""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Protocol, Union

from bokeh.model import Model

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

#: The name of the line view's best-epoch ``CustomJSFilter``, then ``:min`` or ``:max``: renderers that cannot run
#: its JavaScript (matplotlib) know it by this name and apply the same rule.
BEST_FILTER = "livetrain:best"

#: A frame: PNG bytes, a PIL image, an ``(H, W, 3|4)`` uint8 array, or the path of an image file.
Frame = Union[bytes, "Image.Image", "np.ndarray", str, os.PathLike]


class Renderer(Protocol):
    """Draws a layout's current state. Registered in :data:`livetrain.frames.RENDERERS`; the contract tests
    (``tests/contract/test_renderers.py``) run every registered one over every registered view.

    A renderer is made for one layout (``Renderer(graph)``), is asked for frames as the layout changes, and is
    closed once.
    """

    name: str
    notice: str  #: one line: what draws the frames, and how to get the other renderer

    def __init__(self, graph: Model) -> None: ...

    @classmethod
    def missing(cls) -> str | None:
        """What this renderer needs that is not installed, or ``None`` when it can start."""

    def capture(self) -> Frame:
        """The layout as it is now."""

    def close(self) -> None:
        """Free what the renderer holds (a browser, a figure)."""
