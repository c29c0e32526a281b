"""``VBarPlotsCallback`` and ``HBarPlotsCallback``: one value per category and phase, bars patched in place."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from bokeh.core.property.vectorization import value
from bokeh.layouts import gridplot
from bokeh.models import ColumnDataSource, DataRange1d, FactorRange, HoverTool, Legend, LegendItem, Range1d
from bokeh.palettes import Category10_10
from bokeh.plotting import figure

from ..core.checks import names
from ..core.history import History
from ..core.metrics import to_array
from ..core.throttle import run_again
from .base import LatestValuesView, saved_keys

_KEY_COLORS = {"corrects": "#1f77b4", "counts": "#d62728"}


def _title(title: str) -> str:
    """``title``, checked as a ``str.format`` template whose only field is ``{phase}``.

    Example:
        >>> _title("{epoch}")
        Traceback (most recent call last):
        ValueError: title must be a str.format template whose only field is {phase} (write {{ and }} for braces); \
got '{epoch}' (KeyError: 'epoch')
    """
    if not isinstance(title, str):
        raise TypeError(f"title must be a str, a template with the field {{phase}}; got {type(title).__name__}")
    try:
        title.format(phase="train")
    except (KeyError, IndexError, AttributeError, ValueError, TypeError) as exc:
        raise ValueError(f"title must be a str.format template whose only field is {{phase}} (write {{{{ and }}}} "
                         f"for braces); got {title!r} ({type(exc).__name__}: {exc})") from None
    return title


class _BarPlotsCallback(LatestValuesView):
    """Bars of per-category values, one figure per phase. Subclasses set the orientation."""

    vertical: ClassVar[bool]
    colors: ClassVar[Mapping[str, str]] = _KEY_COLORS

    def __init__(self, categories: int | Sequence[str] = 10, keys: Sequence[str] = ("corrects", "counts"),
                 phases: Sequence[str] = ("train", "test"), *, value_range: tuple[float, float] | None = None,
                 title: str = "Category-wise correctness ({phase})", width: int = 350, height: int = 300,
                 interval: float = 0.1) -> None:
        if isinstance(categories, int) and not isinstance(categories, bool) and categories >= 1:
            self.categories = [str(i) for i in range(categories)]
        elif isinstance(categories, Sequence) and not isinstance(categories, str) and categories:
            self.categories = [str(c) for c in categories]
        else:
            raise ValueError(f"categories must be a count >= 1 or a list of labels, got {categories!r}")
        if len(set(self.categories)) != len(self.categories):
            raise ValueError(f"category labels must be unique, got {self.categories}")
        if value_range is not None and (len(value_range) != 2 or not value_range[0] < value_range[1]):
            raise ValueError(f"value_range must be (low, high) with low < high, got {value_range!r}")
        self.keys = names("keys", keys)
        #: each key's column in ``sources[phase]``: user strings never name columns (nor meet Bokeh's templates)
        self.columns = {k: f"value{i}" for i, k in enumerate(self.keys)}
        self.value_range = value_range
        self.title = _title(title)
        self._size = (width, height)
        super().__init__(interval)
        self.build_layout(names("phases", phases))

    def build_layout(self, phases: tuple[str, ...]) -> None:
        self.phases = phases
        zeros = [0.0] * len(self.categories)
        self.sources = {p: ColumnDataSource({"category": list(self.categories),
                                             **{c: list(zeros) for c in self.columns.values()}},
                                            name=f"livetrain:{'vbar' if self.vertical else 'hbar'}:{p}")
                        for p in phases}
        self.figures = [self._figure(p) for p in phases]
        self.graph = gridplot(self.figures, ncols=len(self.figures), toolbar_location="above",
                              toolbar_options={"logo": None})

    def _figure(self, phase: str):
        width, height = self._size
        factors = FactorRange(*self.categories)
        values = Range1d(*self.value_range) if self.value_range else DataRange1d(start=0)
        x_range, y_range = (factors, values) if self.vertical else (values, factors)
        p = figure(title=self.title.format(phase=phase), width=width, height=height, x_range=x_range,
                   y_range=y_range, tools="pan,wheel_zoom,box_zoom,reset,save")
        items, glyphs = [], []
        for i, (key, column) in enumerate(self.columns.items()):
            color = self.colors.get(key, Category10_10[i % 10])
            bar = (p.vbar(x="category", top=column, width=0.8, source=self.sources[phase], color=color, alpha=0.5)
                   if self.vertical else
                   p.hbar(y="category", right=column, height=0.8, source=self.sources[phase], color=color, alpha=0.5))
            glyphs.append(bar)
            items.append(LegendItem(label=value(key), renderers=[bar]))
        p.add_layout(Legend(items=items, click_policy="hide", orientation="horizontal", border_line_alpha=0,
                            padding=0, margin=4), "above")  # bars fill the frame: keep the legend out of it
        # tooltip labels are plain text; the values' templates name only livetrain's columns
        p.add_tools(HoverTool(renderers=glyphs, formatters={f"@{c}": "printf" for c in self.columns.values()},
                              tooltips=[("category", "@category"),
                                        *[(k, f"@{c}{{%.6g}}") for k, c in self.columns.items()]]))
        (p.xgrid if self.vertical else p.ygrid).grid_line_color = None
        return p

    def convert(self, phase: str, key: str, latest: Any) -> list[float]:
        arr = to_array(key, latest)
        n = len(self.categories)
        if arr.shape != (n,) or arr.dtype.kind not in "biuf":
            raise ValueError(f"{key!r}: expected {n} numbers, one per category, got "
                             f"{arr.dtype} values of shape {arr.shape}")
        return [v if math.isfinite(v) else math.nan for v in arr.astype(float).tolist()]

    def apply_pending(self) -> None:
        latest = self.take_latest()
        patches: dict[str, dict[str, list]] = {}
        for (phase, key), values in latest.items():  # one patch per source, all its keys
            patches.setdefault(phase, {})[self.columns[key]] = [(slice(0, len(values)), values)]
        try:
            for phase, patch in patches.items():
                self.sources[phase].patch(patch)
        except BaseException as exc:
            if not isinstance(exc, Exception):  # an interrupt (Ctrl-C): the next push sends them again
                self._latest = {**latest, **self._latest}
                run_again(0)
            raise

    @classmethod
    def from_history(cls, history: History, keys: Sequence[str] | None = None,
                     phases: Sequence[str] | None = None, **options: Any) -> _BarPlotsCallback:
        """Bars of a saved ``history``: ``keys`` (default: ``corrects`` and ``counts``) of ``phases`` (default:
        all), as many categories as the first epoch's values have.

        Example:
            >>> VBarPlotsCallback.from_history(VBarPlotsCallback.demo_history()).categories[:3]
            ['0', '1', '2']
        """
        first, keys, phases = saved_keys(history, keys, phases, lambda _: ("corrects", "counts"), "bar")
        return cls(len(first[keys[0]][0]), keys, phases, **options)

    @classmethod
    def demo_history(cls, epochs: int = 3, phases: Sequence[str] = ("train", "test")) -> History:
        """Ten classes' ``corrects`` growing towards their ``counts``, per phase.

        Example:
            >>> VBarPlotsCallback.demo_history(1, ("train",))["train"]["counts"][0][:3]
            [10, 11, 12]
        """
        counts = [10 + c for c in range(10)]
        return History({p: {"corrects": [[n * (e + 1) // (epochs + i) for n in counts] for e in range(epochs)],
                            "counts": [list(counts) for _ in range(epochs)]} for i, p in enumerate(phases)})

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(categories={len(self.categories)}, keys={list(self.keys)}, "
                f"phases={list(self.phases)})")


class VBarPlotsCallback(_BarPlotsCallback):
    """Live vertical bars: per phase, one bar per category for each key (the blog's ``corrects`` vs ``counts``).

    ``history[phase][key][-1]`` holds one number per category (a list, array or tensor).
    An update patches only the bar heights, so it costs the same at any epoch.

    Args:
        categories: their number (labelled ``0..n-1``) or their labels.
        keys: the per-category series, drawn over one another (alpha 0.5).
        phases: one figure each; ``train_loop``'s phases replace them before the plot is shown.
        value_range: fixed ``(low, high)`` for the values; automatic from 0 when ``None``.
        title: per figure, a ``str.format`` template whose only field is ``{phase}`` (``{{`` and ``}}`` are
            braces); the phase's name is put in as plain text.

    Example:
        >>> cb = VBarPlotsCallback(categories=3)
        >>> cb.on_epoch_end(0, "train", {"train": {"corrects": [[1, 2, 3]], "counts": [[2, 2, 4]]}})
        >>> cb.flush(); cb.sources["train"].data[cb.columns["corrects"]]
        [1.0, 2.0, 3.0]
    """

    vertical = True


class HBarPlotsCallback(_BarPlotsCallback):
    """Live horizontal bars: like :class:`VBarPlotsCallback`, with categories on the y axis.

    Example:
        >>> cb = HBarPlotsCallback(categories=["cat", "dog"], phases=("test",))
        >>> cb.on_epoch_end(0, "test", {"test": {"corrects": [[3, 4]], "counts": [[5, 5]]}})
        >>> cb.flush(); cb.sources["test"].data[cb.columns["counts"]]
        [5.0, 5.0]
    """

    vertical = False
    colors = {"corrects": "#1f77b4", "counts": "#2ca02c"}
