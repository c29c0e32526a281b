"""The ``static`` transport: a PNG of the layout in the cell, redrawn in place at most once a second."""
from __future__ import annotations

import time
from typing import Any

from bokeh.model import Model

from ..frames import open_renderer
from ..frames.base import Renderer
from .base import Output


class StaticOutput(Output):
    """The layout as a PNG in the cell, redrawn in place at most every ``every`` seconds, and at the end.

    For frontends without JavaScript (nbconvert, papermill) and frontends that cannot receive pushes.
    One renderer is kept for the layout, chosen by the ``"quick"`` policy of
    :func:`~livetrain.frames.open_renderer` (matplotlib, else Chromium); without either, the cell says what
    to install.

    Chosen for the views created after ``livetrain.set_transport("static")``; used as any
    :class:`~livetrain.display.base.Output` is.
    """

    def __init__(self, name: str = "plot", every: float = 1.0) -> None:
        super().__init__(name)
        self.every = every
        self._drawer: Renderer | None = None
        self._handle: Any = None
        self._drawn = 0.0

    def show(self, layout: Model) -> None:
        """Display the layout's picture in the current cell."""
        from IPython.display import display

        self.close()
        try:
            self._drawer, _ = open_renderer(layout, "quick")
        except RuntimeError:
            self._drawer = None
        self._handle = display(self._image(), display_id=True)

    def push(self) -> None:
        """Redraw the picture, unless it was drawn less than ``every`` seconds ago."""
        if self._handle is not None and time.monotonic() - self._drawn >= self.every:
            self._handle.update(self._image())

    def finish(self) -> None:
        """Draw the final state, and free the renderer."""
        if self._handle is not None:
            self._handle.update(self._image())
            self._handle = None
        self.close()

    def close(self) -> None:
        """Free the renderer; the cell keeps the last picture."""
        if self._drawer is not None:
            self._drawer.close()
            self._drawer = None

    def _image(self) -> Any:
        from IPython.display import Image, Markdown

        from ..frames.png import to_png

        self._drawn = time.monotonic()
        if self._drawer is None:
            return Markdown("*livetrain: the static transport needs matplotlib or Chromium to draw the plot: "
                            "`pip install matplotlib`*")
        return Image(data=to_png(self._drawer.capture()), format="png")
