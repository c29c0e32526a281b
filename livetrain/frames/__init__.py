"""The frames layer: a Bokeh layout's state drawn as a picture, by a registered renderer, and GIFs of them.

One policy chooses the renderer (:func:`open_renderer`); the exporter, the notebook's final PNG and the static
transport all go through it. A new renderer is one module with a class that follows
:class:`~livetrain.frames.base.Renderer`, its test, and one line in :data:`RENDERERS`.
"""
from __future__ import annotations

import warnings

from bokeh.model import Model

from ..core.registry import resolve
from .base import Renderer, pixel_scale

#: Each renderer by name, as ``"module:Class"``: imported only when chosen, since each needs an optional package.
RENDERERS: dict[str, str] = {
    "browser": "livetrain.frames.browser:BrowserRenderer",     # BokehJS in headless Chromium: export_png's pixels
    "matplotlib": "livetrain.frames.mpl:MatplotlibRenderer",   # no browser: the same panels, drawn by matplotlib
}
#: The order in which each policy tries the renderers.
ORDERS: dict[str, tuple[str, ...]] = {
    "auto": ("browser", "matplotlib"),   # frames and GIFs: Bokeh's own pixels when Chromium is there
    "quick": ("matplotlib", "browser"),  # the notebook's final PNG and the static transport: no browser to start
}
CHOICES = ("auto", *RENDERERS, "quick")


def renderer_class(name: str) -> type[Renderer]:
    """The registered renderer ``name``, imported now.

    Example:
        >>> renderer_class("matplotlib").name
        'matplotlib'
    """
    return resolve(RENDERERS, name, "renderer")


def open_renderer(graph: Model, renderer: str = "auto", *, scale: float = 1.0) -> tuple[Renderer, str]:
    """A renderer for ``graph`` and one line saying which one it is and how to get the other; its pictures have
    ``scale`` device pixels per CSS pixel (see :func:`~livetrain.frames.base.pixel_scale`).

    ``renderer`` is a name from :data:`RENDERERS` (``"browser"``: headless Chromium drawing with BokehJS, the
    pixels of ``export_png``; ``"matplotlib"``: no browser, the same panels, titles, colours and ranges), which
    raises if it cannot start, or a policy from :data:`ORDERS`, which takes the first renderer that can start:

    - ``"auto"`` (frames and GIFs): the browser, then matplotlib;
    - ``"quick"`` (the notebook's final PNG, the static transport): matplotlib, which starts in
      milliseconds, then the browser, which takes seconds to start.

    Raises ``RuntimeError`` when no renderer of the policy can start, saying what to install. The browser renderer
    gives each step (start, frame, close) a time limit (:func:`~livetrain.frames.browser.step_timeout`: 30 s, or
    ``$LIVETRAIN_RENDER_TIMEOUT``); past it Chromium is killed and matplotlib draws on, with one warning.

    Example:
        >>> from livetrain import LinePlotsCallback
        >>> drawer, notice = open_renderer(LinePlotsCallback().replica().graph, "matplotlib")
        >>> drawer.name
        'matplotlib'
        >>> drawer.close()
    """
    if renderer not in CHOICES:
        raise ValueError(f"renderer must be one of {', '.join(map(repr, CHOICES))}; got {renderer!r}")
    if renderer in RENDERERS:  # asked for by name: it starts, or says what it lacks
        name, why = renderer, ""
    else:
        order = ORDERS[renderer]
        missing = {n: renderer_class(n).missing() for n in order}
        name = next((n for n in order if missing[n] is None), None)
        if name is None:
            raise RuntimeError("no renderer can draw here: " + "; ".join(f"{n} needs {m}" for n, m in missing.items()))
        why = "".join(f"no {missing[n]} found, so " for n in order[:order.index(name)])
    drawer = renderer_class(name)(graph, scale=pixel_scale(scale))
    return drawer, f"livetrain: {why}{drawer.notice}"


def picture(graph: Model, scale: float = 1.0) -> bytes | None:
    """A PNG of ``graph`` as it is now, by the ``"quick"`` policy, at ``scale`` device pixels per CSS pixel; ``None``
    when no renderer can start, or (with a warning) when drawing fails.

    Example:
        >>> from livetrain import LinePlotsCallback
        >>> png = picture(LinePlotsCallback().graph)
        >>> png is None or png.startswith(b"\\x89PNG")
        True
    """
    from .png import to_png  # Pillow, only once a picture is drawn

    try:
        drawer, _ = open_renderer(graph, "quick", scale=scale)
    except RuntimeError:
        return None
    try:
        return to_png(drawer.capture(), compress_level=6)
    except Exception as exc:  # noqa: BLE001 - the picture is an extra: the output it goes into must still be kept
        warnings.warn(f"livetrain: drawing the plot's picture failed ({type(exc).__name__}: {exc}); it is left out.",
                      RuntimeWarning, stacklevel=2)
        return None
    finally:
        drawer.close()
