"""What every transport is (:class:`Output`), and what the notebook ones share: BokehJS loaded once, a plot
published as Bokeh's two outputs under display ids, and the final state that replaces it at the end."""
from __future__ import annotations

import base64
import re
import time
from abc import ABC, abstractmethod

from bokeh.core.json_encoder import serialize_json
from bokeh.core.templates import DOC_NB_JS
from bokeh.document import Document
from bokeh.embed.elements import div_for_render_item
from bokeh.embed.notebook import notebook_content
from bokeh.embed.util import RenderItem
from bokeh.io import curdoc
from bokeh.io.notebook import EXEC_MIME_TYPE, HTML_MIME_TYPE, JS_MIME_TYPE, load_notebook
from bokeh.io.state import curstate
from bokeh.model import Model
from bokeh.resources import Resources
from bokeh.util.serialization import make_id

from ..core.throttle import run_again
from ..frames import picture
from ..wire import document_json, forget_dead_curdocs

_bokehjs_loaded = False


class Output(ABC):
    """How one view's layout reaches its reader. Registered in :data:`livetrain.display.TRANSPORTS`; the contract
    tests (``tests/contract/test_transports.py``) run every registered one in a real kernel.

    A view calls :meth:`show` when it is displayed, :meth:`push` after its models changed (at most about ten
    times a second, and on each ``flush()``), and :meth:`finish` when the run or the cell ends; :meth:`close`
    stops the updates. The notebook outputs keep a hard minimum time between two updates (see :class:`Pace`).
    ``name`` names the output's files, where it writes any (``line``, ``dashboard``, ...).

    Example, in a notebook, with any registered transport::

        out = output_class("push")("line")   # livetrain.display.output_class
        out.show(fig)
        src.stream({"x": [1], "y": [2.0]})
        out.push()
        out.finish()
    """

    #: device pixels per CSS pixel of the final state's PNG (a view sets it from its ``picture_scale``)
    scale: float = 1.0

    def __init__(self, name: str = "plot") -> None:
        self.name = name

    @abstractmethod
    def show(self, layout: Model) -> None:
        """Display ``layout`` (again, if it was shown before)."""

    @abstractmethod
    def push(self) -> None:
        """Bring the reader up to date with the layout's changes."""

    @abstractmethod
    def finish(self) -> None:
        """Leave the final state where the reader will find it after the run (a saved notebook, a file)."""

    def close(self) -> None:  # noqa: B027 - optional: most outputs hold nothing to free
        """Stop updating; the reader keeps what it has."""


#: The least time, in seconds, between two updates a notebook output sends (see :class:`Pace`).
MIN_GAP = 0.05


class Pace:
    """A hard minimum time (``gap`` seconds) between an output's updates to the page, however often they are
    asked for (``flush()`` after every call included): Jupyter's server drops a kernel's messages past 1,000
    a second, and a page that missed one stays wrong until the next full state reaches it. An update asked
    for sooner is left to the view's throttle, which serves it when the gap ends (see
    :func:`~livetrain.core.throttle.run_again`); one asked for outside a throttle goes at once.

    Example:
        >>> pace = Pace(gap=60)
        >>> pace.ready(); pace.sent()
        True
        >>> pace.ready()  # too soon, but outside a throttle nobody would send it later: now
        True
    """

    def __init__(self, gap: float = MIN_GAP) -> None:
        self.gap = gap
        self._next = 0.0

    def ready(self) -> bool:
        """Whether to send an update now; if not, the view's throttle asks again when the gap ends."""
        wait = self._next - time.monotonic()
        return not (wait > 0 and run_again(wait))

    def sent(self) -> None:
        """Note that an update has just been sent: the next waits ``gap`` seconds from now."""
        self._next = time.monotonic() + self.gap


def resources() -> Resources:
    """Where BokehJS comes from: Bokeh's own ``BOKEH_RESOURCES`` setting (``cdn`` by default, ``inline`` offline).

    Example:
        >>> resources().mode in ("cdn", "inline", "server", "relative", "absolute")
        True
    """
    return Resources()


def ensure_bokehjs() -> None:
    """Load BokehJS into the page once per kernel, unless ``bokeh.io.output_notebook()`` already did."""
    global _bokehjs_loaded
    if not (_bokehjs_loaded or curstate().notebook):
        load_notebook(resources(), hide_banner=True)
    _bokehjs_loaded = True


def own_document(layout: Model) -> Document:
    """A new document holding ``layout``, taken out of any document it was in: each showing gets its own.

    Example:
        >>> from bokeh.plotting import figure
        >>> p = figure(); first = own_document(p); second = own_document(p)
        >>> first.roots, second.roots == [p]
        ([], True)
    """
    if layout.document is not None:
        layout.document.remove_root(layout)
    doc = Document()
    doc.add_root(layout)
    return doc


#: Characters a JSON text must not carry raw inside an HTML ``<script>`` (``</script>``, ``<!--``, entities) or a
#: JavaScript source (line separators), each as its JSON escape: the same value once parsed.
SCRIPT_UNSAFE = {ord(c): f"\\u{ord(c):04x}" for c in "<>&\u2028\u2029"}
_EMBEDDED_JSON = re.compile(r"^(\s*const (?:docs_json|render_items) = )(.*);$", re.MULTILINE)


def script_json(text: str) -> str:
    r"""JSON ``text`` safe to embed in a ``<script>``, where nbconvert and nbviewer place a notebook's scripts:
    ``<``, ``>``, ``&`` and U+2028/U+2029 as ``\u`` escapes (in valid JSON they occur only inside strings).

    Example:
        >>> print(script_json('{"key": "</script>&"}'))
        {"key": "\u003c/script\u003e\u0026"}
    """
    return text.translate(SCRIPT_UNSAFE)


def safe_notebook_script(script: str) -> str:
    r"""Bokeh's notebook ``script`` (from ``notebook_content``) with the JSON it embeds made safe by
    :func:`script_json`: user strings (metric keys, phases, titles, labels) cannot end the ``<script>``.

    Example:
        >>> print(safe_notebook_script('  const docs_json = {"a": "</script>"};'))
          const docs_json = {"a": "\u003c/script\u003e"};
    """
    safe, found = _EMBEDDED_JSON.subn(lambda m: f"{m[1]}{script_json(m[2])};", script)
    if not found:  # never publish a script whose JSON could not be made safe
        raise RuntimeError("livetrain: Bokeh's notebook script has no 'const docs_json = ...;' line to escape; "
                           "this Bokeh version writes its scripts differently")
    return safe


def notebook_parts(doc: Document, target: str) -> tuple[str, str, str]:
    """The script and div that show ``doc``'s root in a notebook cell, updated over comm ``target`` (what Bokeh's
    ``notebook_content`` gives, its JSON made safe by :func:`script_json`), and the document's JSON: serialised once,
    from ``doc`` itself (Bokeh copies the layout into a new document and serialises twice), so that an
    :class:`~livetrain.display.announce.Announcer` can start from the same JSON.

    Example:
        >>> from bokeh.plotting import figure
        >>> script, div, doc_json = notebook_parts(own_document(figure(title="</script>")), "t1")
        >>> "embed_items_notebook" in script and "</script>" not in script, "data-root-id" in div
        (True, True)
    """
    doc.theme = curdoc().theme  # as Bokeh's show() does; a no-op for the default theme
    doc_json = document_json(doc)
    item = RenderItem(docid=make_id(), elementid=None, roots={doc.roots[0]: make_id()})
    render = {**item.to_json(), "notebook_comms_target": target}
    script = DOC_NB_JS.render(docs_json=script_json(f"{{{serialize_json(item.docid)}: {doc_json}}}"),
                              render_items=script_json(serialize_json([render])))
    return script, div_for_render_item(item), doc_json


def publish_plot(ids: tuple[str, str], key: str, div: str, script: str, update: bool = False) -> None:
    """Publish (or with ``update``, replace) a plot as Bokeh's two notebook outputs, the div then the script,
    under display ids ``ids``; ``key`` is the script's id for jupyter_bokeh."""
    from IPython.display import publish_display_data

    publish_display_data({HTML_MIME_TYPE: div}, transient={"display_id": ids[0]}, update=update)
    publish_display_data({JS_MIME_TYPE: script, EXEC_MIME_TYPE: ""}, metadata={EXEC_MIME_TYPE: {"id": key}},
                         transient={"display_id": ids[1]}, update=update)


def display_ids() -> tuple[str, str]:
    """Two fresh display ids, for a plot's div and its script."""
    return f"livetrain-{make_id()}", f"livetrain-{make_id()}"


def final_output(layout: Model, scale: float = 1.0) -> tuple[str, str]:
    """``layout`` standalone (no comm) as a notebook output's div and script, plus a PNG of it inside the div
    for renderers without JavaScript, drawn at ``scale`` device pixels per CSS pixel and shown at the layout's size;
    the script removes the PNG where it runs.

    Example:
        >>> from livetrain import LinePlotsCallback
        >>> div, script = final_output(LinePlotsCallback().graph)
        >>> "data-root-id" in div and "embed_items_notebook" in script
        True
    """
    forget_dead_curdocs()  # a Ctrl-C in an earlier push may have left one
    script, div, _ = notebook_content(layout)
    script = safe_notebook_script(script)
    png = picture(layout, scale)
    if png is not None:
        marker = f"livetrain-final-{make_id()}"
        width = round(int.from_bytes(png[16:20], "big") / scale)  # the PNG header's width, in CSS pixels
        div += (f'<img class="{marker}" alt="the plot at the end of the run" width="{width}" '
                f'src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">')
        script += f'\ndocument.querySelectorAll("img.{marker}").forEach(img => img.remove());\n'
    return div, script
