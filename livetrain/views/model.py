"""``ModelSummaryCallback``: a model's layer table and diagram (seed 003's architecture figure, seed 004's graph); and
``ModelPanel``, that drawing, which the board shows for :meth:`livetrain.SummaryWriter.add_graph` records.

Drawn with plain glyphs (text, rectangles, lines, triangles), which the browser and the matplotlib renderer both draw.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from bokeh.layouts import row
from bokeh.models import ColumnDataSource, Range1d
from bokeh.palettes import Category10_10
from bokeh.plotting import figure

from ..core.checks import names
from ..core.history import History
from ..core.modelsummary import Summary, read_summary, shape_text, summarize
from .base import LiveView, Series

_HEADER = ("Layer", "Type", "Output shape", "Params", "Trainable")
_CHAR, _ROW, _BOX = 7.5, 20, 46  # pixels: a character of the table's font, a table row, a diagram box's slot
_FONT = "12px"


class ModelPanel:
    """A model summary drawn as a table (name, type, output shape, parameters, trainable parameters, totals in a
    caption) beside a diagram (one box per layer, top to bottom, with its output shape). Layer names are glyph
    text: never HTML, never math.

    It follows the board's panel protocol (``root``, ``stage``, ``apply``): a :class:`~livetrain.Board` shows
    ``add_graph`` records with it; :meth:`show` and :meth:`note` stage a summary and a caption directly (the caller
    holds its lock), :meth:`apply` draws what was staged.

    Example:
        >>> panel = ModelPanel()
        >>> panel.stage("graph", 0, {"model": "Net", "rows": [{"name": "fc", "type": "Linear", "shape": [1, 2],
        ...                                                     "params": 6, "trainable": 6}]}, History())
        >>> panel.apply(); panel.cells.data["text"], panel.caption.data["text"]
        (['fc', 'Linear', '1×2'], ['6 parameters, 6 trainable'])
    """

    def __init__(self, title: str | None = None) -> None:
        self.title = title  #: the table's title (default: the model's class name)
        self.summary: Summary | None = None  #: the summary shown, or staged to be
        self._pending: Summary | None = None
        self._caption: str | None = None
        self.cells = ColumnDataSource({"x": [], "y": [], "text": []}, name="livetrain:model:cells")
        self.numbers = ColumnDataSource({"x": [], "y": [], "text": []}, name="livetrain:model:numbers")
        self.caption = ColumnDataSource({"x": [4.0], "y": [-1.0], "text": ["no model summary yet"]},
                                        name="livetrain:model:caption")
        self.boxes = ColumnDataSource({"y": [], "label": [], "shape": [], "color": []}, name="livetrain:model:boxes")
        self.arrows = ColumnDataSource({"x": [], "y": []}, name="livetrain:model:arrows")
        self.heads = ColumnDataSource({"x": [], "y": []}, name="livetrain:model:heads")
        table = figure(title=title or "Model summary", frame_width=420, frame_height=3 * _ROW,
                       x_range=Range1d(0, 420), y_range=Range1d(-2.5, 0.5), tools="pan,wheel_zoom,reset", min_border=4,
                       toolbar_location=None)
        style = {"text_font_size": _FONT, "text_baseline": "middle"}
        table.text(x="x", y="y", text="text", text_font_style="bold", **style, source=ColumnDataSource(
            {"x": [4.0, 0.0, 0.0], "y": [0.0] * 3, "text": list(_HEADER[:3])}, name="livetrain:model:header"))
        table.text(x="x", y="y", text="text", text_font_style="bold", text_align="right", **style,
                   source=ColumnDataSource({"x": [0.0, 0.0], "y": [0.0] * 2, "text": list(_HEADER[3:])},
                                           name="livetrain:model:header-numbers"))
        table.text(x="x", y="y", text="text", **style, source=self.cells)
        table.text(x="x", y="y", text="text", text_align="right", **style, source=self.numbers)
        table.text(x="x", y="y", text="text", text_font_style="italic", **style, source=self.caption)
        diagram = figure(title="Layers", frame_width=240, frame_height=_BOX, x_range=Range1d(0, 1),
                         y_range=Range1d(-0.5, 0.5), tools="pan,wheel_zoom,reset", min_border=4, toolbar_location=None)
        diagram.line(x="x", y="y", line_color="#555555", line_width=1.5, source=self.arrows)
        diagram.scatter(x="x", y="y", marker="inverted_triangle", size=8, color="#555555", source=self.heads)
        diagram.rect(x=0.5, y="y", width=0.9, height=0.66, fill_color="color", fill_alpha=0.25, line_color="color",
                     source=self.boxes)
        diagram.text(x=0.5, y="y", text="label", text_align="center", text_baseline="bottom",
                     text_font_size=_FONT, source=self.boxes)
        diagram.text(x=0.5, y="y", text="shape", text_align="center", text_baseline="top", text_font_size=_FONT,
                     text_color="#444444", source=self.boxes)
        for fig in (table, diagram):
            fig.axis.visible = False
            fig.grid.visible = False
        self.figures = [table, diagram]
        self.root = row(table, diagram)

    def show(self, summary: Summary) -> None:
        """Stage ``summary`` (a :func:`~livetrain.core.modelsummary.read_summary` result) to be drawn."""
        self.summary = self._pending = summary

    def note(self, caption: str) -> None:
        """Stage ``caption`` (it replaces the totals under the table)."""
        self._caption = caption

    def stage(self, tag: str, step: int, value: Any, history: History | None = None) -> None:
        """Stage ``value`` if it is a summary other than the one shown (an ``add_graph`` record of a model that could
        not be summarised leaves the last summary shown)."""
        summary = read_summary(value)
        if summary is not None and summary != self.summary:
            self.show(summary)

    def apply(self) -> None:
        """Draw the staged summary and caption, if any."""
        summary, self._pending = self._pending, None
        if summary is not None:
            self._draw(summary)
        if self._caption is not None:
            self.caption.patch({"text": [(0, self._caption)]})
            self._caption = None

    def _draw(self, summary: Summary) -> None:
        rows = summary["rows"]
        n = len(rows)
        cells = [[r["name"], r["type"], shape_text(r["shape"])] for r in rows]
        counts = [[f"{r['params']:,}", f"{r['trainable']:,}"] for r in rows]
        wide = [max([len(h)] + [len(c[i]) for c in cells]) * _CHAR + 16 for i, h in enumerate(_HEADER[:3])]
        num = [max([len(h)] + [len(c[i]) for c in counts]) * _CHAR + 16 for i, h in enumerate(_HEADER[3:])]
        left = np.cumsum([4.0, *wide])  # each text column's left edge
        right = left[-1] + np.cumsum(num) - 8  # each number column's right edge
        y = -np.arange(1, n + 1, dtype=np.float64)
        table, diagram = self.figures
        header, header_numbers = (r.data_source for r in table.renderers[:2])
        header.data = {"x": left[:3].tolist(), "y": [0.0] * 3, "text": list(_HEADER[:3])}
        header_numbers.data = {"x": right.tolist(), "y": [0.0] * 2, "text": list(_HEADER[3:])}
        self.cells.data = {"x": np.repeat(left[:3][None], n, 0).ravel(), "y": np.repeat(y, 3),
                           "text": [t for c in cells for t in c]}
        self.numbers.data = {"x": np.repeat(right[None], n, 0).ravel(), "y": np.repeat(y, 2),
                             "text": [t for c in counts for t in c]}
        self.caption.data = {"x": [4.0], "y": [-(n + 1.2)], "text": [_totals(summary)]}
        width = float(right[-1] + 8)
        table.update(frame_width=round(max(width, 360)), frame_height=round((n + 2.4) * _ROW))
        table.x_range.update(start=0, end=max(width, 360), reset_start=0, reset_end=max(width, 360))
        table.y_range.update(start=-(n + 1.9), end=0.5, reset_start=-(n + 1.9), reset_end=0.5)
        table.title.text = self.title or f"{summary['model'] or 'Model'} summary"
        types = list(dict.fromkeys(r["type"] for r in rows))
        self.boxes.data = {"y": y, "label": [f"{r['name']}: {r['type']}" for r in rows],
                           "shape": [shape_text(r["shape"]) for r in rows],
                           "color": [Category10_10[types.index(r["type"]) % 10] for r in rows]}
        between = np.column_stack([y[:-1] - 0.33, y[1:] + 0.38, np.full(max(n - 1, 0), np.nan)]).ravel()
        self.arrows.data = {"x": np.where(np.isnan(between), np.nan, 0.5), "y": between}
        self.heads.data = {"x": np.full(max(n - 1, 0), 0.5), "y": y[1:] + 0.4}
        diagram.update(frame_height=max(1, n) * _BOX)
        diagram.y_range.update(start=-(max(n, 1) + 0.5), end=-0.5, reset_start=-(max(n, 1) + 0.5), reset_end=-0.5)


class ModelSummaryCallback(LiveView):
    """A model's layers as a table (name, type, output shape, parameters, trainable parameters, totals) beside a
    diagram (one box per layer, top to bottom, with its output shape), as torchinfo and seed 003 draw them: a
    :class:`ModelPanel` (``cb.panel``, which holds the sources: ``cells``, ``numbers``, ``boxes``, ``caption``).

    The summary (:func:`livetrain.core.modelsummary.summarize`) is made once, at ``on_train_begin``, from ``model``
    (a ``torch.nn.Module`` or a ``flax.nnx.Module``) and ``sample`` (an input batch), and recorded in the history
    (``history.records[key]``, kind ``"graph"``: saved with it). Without a model, it is read where it was stored:
    ``history.records[key]`` (as ``SummaryWriter.add_graph`` records it), a ``key`` record logged during the run
    (``on_log``), or an epoch value ``history[phase][key]``. After that only a caption changes at each epoch's
    end: the epoch, and the trainable parameters (recounted from the model, when it is given: layers frozen or
    unfrozen show).

    Args:
        model: the model, or ``None`` (the summary comes from the history).
        sample: an input the model is called on (torch: in eval mode, under ``no_grad``; nnx: traced only).
        key: where the summary is recorded and read.
        phases: the phases whose epoch ends update the caption (``train_loop``'s when not given).
        title: the table's title (default: the model's class name).
        interval: the minimum time between two pushes, in seconds.

    Example:
        >>> import torch
        >>> cb = ModelSummaryCallback(torch.nn.Sequential(torch.nn.Linear(4, 3)), torch.zeros(1, 4), phases=("train",))
        >>> cb.on_train_begin(History()); cb.flush()
        >>> cb.panel.cells.data["text"][:2], cb.panel.boxes.data["shape"]
        (['0', 'Linear'], ['1×3'])
    """

    def __init__(self, model: Any = None, sample: Any = None, *, key: str = "graph",
                 phases: Sequence[str] = ("train", "test"), title: str | None = None, interval: float = 0.1) -> None:
        (self.key,) = names("key", (key,))
        self.model, self.sample, self.title = model, sample, title
        self.summary: Summary | None = None
        super().__init__(interval)
        self.build_layout(names("phases", phases))

    def build_layout(self, phases: tuple[str, ...]) -> None:
        self.phases = phases
        self.panel = ModelPanel(self.title)  #: the drawing
        self.figures = self.panel.figures
        self.graph = self.panel.root
        if self.summary is not None:
            self.panel.show(self.summary)

    def set_summary(self, summary: Any) -> None:
        """Show ``summary`` (a :func:`~livetrain.core.modelsummary.summarize` result, or a saved one)."""
        read = read_summary(summary)
        if read is None:
            raise ValueError(f"a model summary is a mapping with a list of rows (see livetrain.core.modelsummary); "
                             f"got {type(summary).__name__}")
        if read == self.summary:
            return
        with self.throttle.lock:
            self.summary = read
            self.panel.show(read)
        self._request()

    def on_train_begin(self, history: History) -> None:
        if self.summary is None:
            if self.model is not None:
                summary = summarize(self.model, self.sample)
                if isinstance(history, History):
                    history.record(self.key, "graph", summary)
                self.set_summary(summary)
            else:
                found = _recorded(history, self.key)
                if found is not None:
                    self.set_summary(found)
        super().on_train_begin(history)

    def on_epoch_end(self, epoch: int, phase: str, history: Series) -> None:
        series = self._series(phase, history)
        if series is None:
            return
        values = series.get(self.key)
        latest = read_summary(values[-1]) if values else None
        if latest is not None:
            self.set_summary(latest)
        if self.summary is None:
            return
        with self.throttle.lock:
            self.panel.note(f"after epoch {epoch + 1} ({phase}): {_totals(self.summary, self._trainable())}")
        self._request()

    def on_log(self, step: int, logs: Mapping[str, Any], history: History) -> None:
        if read_summary(logs.get(self.key)) is not None:
            self.set_summary(logs[self.key])

    def _trainable(self) -> int | None:
        """The model's trainable parameters now (torch: read from the parameters' flags; no device sync)."""
        parameters = getattr(self.model, "parameters", None)
        if not callable(parameters):
            return None
        return sum(int(p.numel()) for p in parameters() if getattr(p, "requires_grad", False))

    def apply_pending(self) -> None:
        self.panel.apply()

    def replica(self) -> ModelSummaryCallback:
        copy = super().replica()
        assert isinstance(copy, ModelSummaryCallback)
        if self.summary is not None:  # drawn at once, not requested: a replica is never displayed
            copy.summary = self.summary
            copy.panel.show(self.summary)
            copy.panel.apply()
        return copy

    @classmethod
    def from_history(cls, history: History, keys: Sequence[str] | None = None,
                     phases: Sequence[str] | None = None, **options: Any) -> ModelSummaryCallback:
        """The summary saved in ``history``: ``history.records[key]`` (``key``: ``keys[0]``, default ``"graph"``),
        else the epoch values ``history[phase][key]``; the caption follows ``phases`` (default: all; a history of
        ``SummaryWriter`` records only has none: ``train`` and ``test``).

        Example:
            >>> ModelSummaryCallback.from_history(ModelSummaryCallback.demo_history()).summary["model"]
            'Net'
        """
        key = keys[0] if keys else options.pop("key", "graph")
        if phases is not None and (not phases or any(p not in history for p in phases)):
            raise ValueError(f"the history has phases {list(history)}; asked for {list(phases)}")
        found = _recorded(history, key)
        if found is None:
            found = next((read_summary(v[-1]) for s in history.values() if isinstance(s, Mapping)
                          for v in [s.get(key)] if v and read_summary(v[-1]) is not None), None)
        if found is None:
            raise ValueError(f"the history holds no model summary under {key!r} (records or epoch values); record "
                             f"one with ModelSummaryCallback(model, sample) or SummaryWriter.add_graph")
        view = cls(key=key, phases=tuple(phases or history) or ("train", "test"), **options)
        view.set_summary(found)
        return view

    @classmethod
    def demo_history(cls, epochs: int = 3, phases: Sequence[str] = ("train", "test")) -> History:
        """Seed 004's CNN (conv, pool, conv, three linear layers on 1×28×28 digits), its summary recorded under
        ``graph`` and given as the epoch values ``graph`` of each phase.

        Example:
            >>> ModelSummaryCallback.demo_history(1, ("train",)).records["graph"].entries[0][2]["params"]
            44426
        """
        shapes = [[1, 6, 24, 24], [1, 6, 12, 12], [1, 16, 8, 8], [1, 120], [1, 84], [1, 10]]
        params = [156, 0, 2416, 30840, 10164, 850]
        layers = zip(("conv1", "pool", "conv2", "fc1", "fc2", "fc3"),
                     ("Conv2d", "MaxPool2d", "Conv2d", "Linear", "Linear", "Linear"), shapes, params)
        rows = [{"name": n, "type": t, "shape": s, "params": p, "trainable": p} for n, t, s, p in layers]
        summary = {"framework": "torch", "model": "Net", "rows": rows, "params": sum(params),
                   "trainable": sum(params), "note": ""}
        history = History({p: {"graph": [summary] * epochs} for p in phases})
        history.record("graph", "graph", summary, 0)
        return history

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.summary['model'] if self.summary else None!r}, key={self.key!r})"


def _totals(summary: Summary, trainable: int | None = None) -> str:
    """``"44,426 parameters, 44,426 trainable"``: the caption's counts, and the summary's note if it has one."""
    note = summary.get("note") or ""
    return (f"{summary['params']:,} parameters, {summary['trainable'] if trainable is None else trainable:,} trainable"
            + (f"; {note[:100]}" if note else ""))


def _recorded(history: Any, key: str) -> Summary | None:
    """The latest summary recorded in ``history.records[key]``, if any."""
    records = getattr(history, "records", {}).get(key)
    for _, _, value in reversed(records.entries if records is not None else []):
        found = read_summary(value)
        if found is not None:
            return found
    return None
