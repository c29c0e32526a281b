"""``HistogramsCallback``: weight, gradient and activation histograms over time, one step×value heatmap per tensor.

A heatmap, not a ridgeline (TensorBoard's "offset" histograms): each logged step adds one column of shaded bins, so
an update streams only that column (a few hundred bytes per tensor, whatever the run's length), thousands of steps
stay readable without curves hiding each other, and the picture is TensorBoard's "distributions" at full
resolution (where the mass is, and how it spreads or drifts). It is drawn with plain bars (``vbar``), which the
browser and the matplotlib renderer both draw.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from bokeh.layouts import gridplot
from bokeh.models import ColumnDataSource
from bokeh.plotting import figure

from ..core.checks import names
from ..core.histograms import Histogram, histogram, read, uniform
from ..core.history import History
from .base import LiveView, Series, saved_keys

_COLUMNS = ("x", "width", "bottom", "top", "alpha")


class HistogramPanel:
    """One tensor's histograms over time: a column of ``bins`` bars per logged step, from the step's smallest value to
    its largest, each as opaque as the square root of its share of that step's fullest bin (so that tails show).

    ``stage(tag, step, value, history)`` takes one histogram in any form :func:`livetrain.core.histograms.read`
    takes (a ``SummaryWriter.add_histogram`` record, ``(counts, edges)``, raw values); ``apply()`` streams the
    staged columns (float32 binary buffers). It follows the board's panel protocol: a
    :class:`~livetrain.Board` can show ``add_histogram`` records with it.

    Example:
        >>> panel = HistogramPanel("fc.weight", bins=4)
        >>> panel.stage("fc.weight", 10, np.arange(8.0), History()); panel.apply()
        >>> panel.source.data["x"].tolist(), panel.source.data["top"].tolist()
        ([10.0, 10.0, 10.0, 10.0], [1.75, 3.5, 5.25, 7.0])
    """

    def __init__(self, title: str, bins: int = 64, *, x: str = "step", width: int = 300, height: int = 200,
                 color: str = "#1f77b4") -> None:
        if not isinstance(bins, int) or bins < 1:
            raise ValueError(f"bins must be an int >= 1; got {bins!r}")
        self.title, self.bins = title, bins
        self.source = ColumnDataSource({c: np.zeros(0, np.float32) for c in _COLUMNS},
                                       name=f"livetrain:histograms:{title}")
        self.root = figure(title=title, frame_width=width, frame_height=height, tools="pan,wheel_zoom,box_zoom,reset",
                           toolbar_location=None, x_axis_label=x, y_axis_label="value", min_border=4)
        self.root.vbar(x="x", width="width", bottom="bottom", top="top", fill_color=color, fill_alpha="alpha",
                       line_color=None, source=self.source)
        self._staged: list[np.ndarray] = []
        self._last: float | None = None

    def stage(self, tag: str, step: int, value: Any, history: History | None = None) -> None:
        """Add the column of ``value`` (one histogram) at ``step``."""
        hist = uniform(read(value, self.bins), self.bins)
        width = step - self._last if self._last is not None and step > self._last else 1.0
        self._last = float(step)
        counts, edges = hist
        keep = counts > 0
        rows = np.empty((len(_COLUMNS), int(keep.sum())), np.float32)
        rows[0], rows[1] = step, width
        rows[2], rows[3] = edges[:-1][keep], edges[1:][keep]
        rows[4] = np.sqrt(counts[keep] / counts.max())
        if rows[2].size and rows[2][0] == rows[3][-1]:  # all values equal: a thin bar around them
            rows[2] -= 0.5e-3 * max(abs(rows[2][0]), 1.0)
            rows[3] += 0.5e-3 * max(abs(rows[3][0]), 1.0)
        self._staged.append(rows)

    def apply(self) -> None:
        """Stream the staged columns into the source."""
        if not self._staged:
            return
        rows = np.concatenate(self._staged, axis=1)
        self._staged.clear()
        self.source.stream(dict(zip(_COLUMNS, rows)))


class HistogramsCallback(LiveView):
    """Live histograms over time: per tensor, a heatmap of its values (y) against the step or epoch (x), one column
    per logged histogram (see :class:`HistogramPanel`; why a heatmap: this module's docstring).

    Fed two ways:

    - per epoch, from the history: ``history[phase][key][-1]`` is the epoch's histogram of tensor ``key``: raw
      values (an array or tensor, binned here into ``bins`` bins), ``(counts, edges)``, ``{"counts", "edges"}``, or a
      TensorBoard summary mapping. One figure per (phase, key), x = epoch.
    - per step, from ``on_log`` (a :class:`~livetrain.SummaryWriter`'s ``add_histogram``, or
      :class:`livetrain.torch_tools.HistogramCollector`): the records of ``tags``, one figure per tag, x = step.

    Each update streams one column per tensor: bytes and time per update do not grow with the run.

    Args:
        keys: history keys holding one histogram per epoch.
        phases: the phases whose keys are shown (``train_loop``'s phases when not given).
        tags: step-level histogram tags (``on_log``) to show.
        bins: the bins each histogram is re-binned into, over its own min..max (TensorBoard's dashboard uses 30).
        ncols: figures per row.
        width, height: each figure's plot area, in pixels.
        interval: the minimum time between two pushes, in seconds.

    Example:
        >>> cb = HistogramsCallback(keys=("fc.weight",), phases=("train",), bins=8)
        >>> cb.on_epoch_end(0, "train", {"train": {"fc.weight": [np.random.default_rng(0).normal(size=100)]}})
        >>> cb.flush(); len(cb.panels["train", "fc.weight"].source.data["x"])
        8
    """

    def __init__(self, keys: Sequence[str] = ("fc.weight", "fc.weight.grad"), phases: Sequence[str] = ("train",), *,
                 tags: Sequence[str] = (), bins: int = 64, ncols: int = 2, width: int = 300, height: int = 200,
                 interval: float = 0.1) -> None:
        self.keys, self.tags = names("keys", keys) if keys else (), names("tags", tags) if tags else ()
        if not self.keys and not self.tags:
            raise ValueError("HistogramsCallback needs keys=(history keys) or tags=(logged histogram tags)")
        if not isinstance(ncols, int) or ncols < 1:
            raise ValueError(f"ncols must be an int >= 1; got {ncols!r}")
        self.bins, self.ncols, self.size = bins, ncols, (width, height)
        histogram(np.zeros(1), bins)  # a clear error now for bad bins
        super().__init__(interval)
        self.build_layout(names("phases", phases))

    def build_layout(self, phases: tuple[str, ...]) -> None:
        self.phases = phases
        w, h = self.size
        self.panels: dict[tuple[str, str], HistogramPanel] = {
            **{(p, k): HistogramPanel(f"{k} ({p})", self.bins, x="epoch", width=w, height=h)
               for p in phases for k in self.keys},
            **{("", t): HistogramPanel(t, self.bins, width=w, height=h) for t in self.tags}}
        self.figures = [panel.root for panel in self.panels.values()]
        self.graph = gridplot(self.figures, ncols=self.ncols, toolbar_location=None)
        self._staged: set[tuple[str, str]] = set()

    def on_epoch_end(self, epoch: int, phase: str, history: Series) -> None:
        series = self._series(phase, history)
        if series is None or not self.keys:
            return
        present = [k for k in self.keys if len(series.get(k, ()))]
        if not present:
            return
        if len(present) < len(self.keys):
            raise KeyError(f"history[{phase!r}] has no histograms for {sorted(set(self.keys) - set(present))}; it "
                           f"has {list(series)}. Pass keys=(...) to {type(self).__name__}")
        hists = {k: self._read(f"history[{phase!r}][{k!r}][-1]", series[k][-1]) for k in present}
        with self.throttle.lock:
            for key, hist in hists.items():
                self.panels[phase, key].stage(key, epoch + 1, hist)  # epochs count from 1, as on the line view
                self._staged.add((phase, key))
        self._request()

    def on_log(self, step: int, logs: Mapping[str, Any], history: History) -> None:
        hists = {t: self._read(f"the histogram logged as {t!r}", v) for t, v in logs.items() if t in self.tags}
        if not hists:
            return
        with self.throttle.lock:
            for tag, hist in hists.items():
                self.panels["", tag].stage(tag, step, hist)
                self._staged.add(("", tag))
        self._request()

    def _read(self, where: str, value: Any) -> Histogram:
        try:
            return read(value, self.bins)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None

    def apply_pending(self) -> None:
        self.apply_staged()

    @classmethod
    def from_history(cls, history: History, keys: Sequence[str] | None = None,
                     phases: Sequence[str] | None = None, **options: Any) -> HistogramsCallback:
        """Histograms of a saved ``history``: ``keys`` (default: those whose values are histograms, as
        ``(counts, edges)`` or mappings) of ``phases`` (default: all).

        Example:
            >>> HistogramsCallback.from_history(HistogramsCallback.demo_history()).keys
            ('fc.weight', 'fc.weight.grad')
        """
        def found(series: Mapping[str, list]) -> list[str]:
            return [k for k, v in series.items() if len(v) and (isinstance(v[-1], Mapping) or (
                isinstance(v[-1], tuple) and len(v[-1]) == 2))]

        _, keys, phases = saved_keys(history, keys, phases, found, "histograms")
        return cls(keys, phases, **options)

    @classmethod
    def demo_history(cls, epochs: int = 3, phases: Sequence[str] = ("train", "test")) -> History:
        """A layer's weights spreading out and its gradients shrinking, as ``{"counts", "edges"}`` per epoch.

        Example:
            >>> HistogramsCallback.demo_history(1, ("train",))["train"]["fc.weight"][0]["counts"].shape
            (64,)
        """
        def normal(mean: float, scale: float) -> dict[str, np.ndarray]:
            edges = np.linspace(mean - 3 * scale, mean + 3 * scale, 65)
            middle = (edges[:-1] + edges[1:]) / 2
            return {"counts": np.round(1000 * np.exp(-0.5 * ((middle - mean) / scale) ** 2)) + 1, "edges": edges}

        return History({p: {"fc.weight": [normal(0.02 * e, 0.1 + 0.02 * e) for e in range(epochs)],
                            "fc.weight.grad": [normal(0.0, 1 / (e + 1)) for e in range(epochs)]} for p in phases})

    def __repr__(self) -> str:
        return f"{type(self).__name__}(keys={list(self.keys)}, tags={list(self.tags)}, phases={list(self.phases)})"
