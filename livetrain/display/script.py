"""The ``script`` transport, for plots outside notebooks: an HTML page rewritten at most once a second, then a
final PNG."""
from __future__ import annotations

import os
import re
import time
from pathlib import Path

from bokeh.embed import file_html
from bokeh.model import Model
from bokeh.resources import INLINE

from ..core.files import atomic_path
from ..frames import picture
from ..wire import forget_dead_curdocs
from .base import Output

REFRESH_S = 2  # how often the open page reloads itself while the run goes on


class ScriptOutput(Output):
    """The layout as a standalone HTML page (BokehJS inline, so it opens offline), rewritten at most every
    ``every`` seconds while the page reloads itself; at the end the page stops reloading and a PNG of
    the final state is written next to it. One line says where the files are.

    ``path`` defaults to ``livetrain-<name>.html`` in ``$LIVETRAIN_HTML_DIR`` or the working directory.

    Example::

        out = ScriptOutput("line")
        out.show(fig)          # writes livetrain-line.html and prints where it is
        out.push()             # rewrites it, at most once a second
        out.finish()           # the final page, and livetrain-line.png
    """

    def __init__(self, name: str = "plot", path: str | os.PathLike | None = None, every: float = 1.0) -> None:
        super().__init__(name)
        folder = Path(os.environ.get("LIVETRAIN_HTML_DIR", "."))
        self.path = Path(path) if path is not None else folder / f"livetrain-{name}.html"
        self.every = every
        self._layout: Model | None = None
        self._written = 0.0

    def show(self, layout: Model) -> None:
        """Write the page, and say where it is."""
        self._layout = layout
        self._write(refresh=True)
        print(f"livetrain: the live plot is at {self.path.resolve().as_uri()} (open it in a browser; it reloads "
              f"itself every {REFRESH_S} s while training runs)")

    def push(self) -> None:
        """Rewrite the page, unless it was written less than ``every`` seconds ago."""
        if self._layout is not None and time.monotonic() - self._written >= self.every:
            self._write(refresh=True)

    def finish(self) -> None:
        """Write the final page (no more reloading) and a PNG of it."""
        if self._layout is None:
            return
        self._write(refresh=False)
        png = picture(self._layout, self.scale)
        if png is not None:
            with atomic_path(self.path.with_suffix(".png")) as tmp:
                tmp.write_bytes(png)
            png = self.path.with_suffix(".png").resolve()
            print(f"livetrain: the final plot is at {self.path.resolve()} and {png}")

    def _write(self, refresh: bool) -> None:
        forget_dead_curdocs()  # a Ctrl-C in an earlier push may have left one
        html = file_html(self._layout, resources=INLINE, title=self.path.stem)
        if refresh:
            html = re.sub(r"<head>", f'<head>\n<meta http-equiv="refresh" content="{REFRESH_S}">', html, count=1)
        with atomic_path(self.path) as tmp:
            tmp.write_text(html, encoding="utf-8")
        self._written = time.monotonic()
