"""Earlier runs under the live ones: :func:`load_runs` reads them (saved histories, JSONL, CSV or event logs, or
folders of them), :func:`tag_points` and :func:`epoch_points` place a run's values on a view's x axis, and the views
draw each run once, as a faint dashed line named after it in the legend; their updates never send it again.

Example::

    board = livetrain.Board(compare=["runs/baseline.json", "runs/sweep/"])   # every run of the folder too
"""
from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from bokeh.models import CustomJS

from ..core.decimate import Decimator
from ..core.history import History
from ..core.steps import Trace
from ..frames.base import PLOTTABLE
from ..sources import Series, find_logs, format_of, open_reader

ALPHA = 0.5  #: an earlier run's line, faint under the live ones
WIDTH = 1.5  #: its width in pixels (the live smoothed lines are 2, the epoch lines 3)
DASHES = ("dashed", "dotted", "dotdash", "dashdot")  #: the earlier runs' dash patterns, in turn
RUN_TAG = "livetrain-run:"  #: the tag (then the run's name) of a live run's renderers: the legend toggles them all
COMPARE_TAG = "livetrain-compare:"  #: the same for an earlier run's renderers
#: What ``compare=`` takes: a path, a :class:`~livetrain.History`, a list of them, or a dict naming them.
Compare = str | os.PathLike | History | Mapping[str, Any] | Iterable[Any] | None

# A renderer of a run was shown or hidden (its legend entry clicked): do the same to the renderers of that run in
# every panel of ``group``. The run's name is compared as data, never made into code.
TOGGLE = """
const key = cb_obj.tags.find((t) => typeof t == "string" && prefixes.some((p) => t.startsWith(p)));
if (key === undefined || cb_obj.document == null) return;
for (const m of cb_obj.document.all_models)
  if (m !== cb_obj && m.visible !== undefined && m.visible !== cb_obj.visible && Array.isArray(m.tags)
      && m.tags.includes(key) && m.tags.includes(group))
    m.visible = cb_obj.visible;"""


def load_runs(compare: Compare) -> dict[str, History]:
    """The earlier runs ``compare`` names, by run name, each a :class:`~livetrain.History` of its values.

    ``compare`` is a path, a history, or a list of them, or a dict of name to either. A path is a history saved by
    :meth:`History.save <livetrain.History.save>` (``.json``), a ``.jsonl`` / ``.ndjson`` / ``.csv`` log or a
    TensorBoard event file (read whole, its complete records), or a folder: each run in it
    (:func:`~livetrain.sources.find_logs`, and each ``.json`` history under it). A run is named after its file
    (an event file after its folder), a folder's runs after their path in it (under the dict's name, if given);
    a name taken already gets `` (2)``, `` (3)``...

    Example:
        >>> import tempfile, pathlib
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (root / "a.jsonl").write_text('{"step": 1, "phase": "train", "metrics": {"loss": 0.5}}\\n')
        >>> path = History({"train": {"loss": [0.9, 0.7]}}).save(root / "a.json")
        >>> runs = load_runs([root / "a.jsonl", path]); list(runs), runs["a"].steps["train/loss"].value.tolist()
        (['a', 'a (2)'], [0.5])
        >>> list(load_runs({"base": root}))  # the folder's log, then its saved history
        ['base/a', 'base/a (2)']
    """
    if compare is None:
        return {}
    if isinstance(compare, (str, os.PathLike, History)):
        items: Iterable[tuple[str | None, Any]] = [(None, compare)]
    elif isinstance(compare, Mapping):
        items = compare.items()
    elif isinstance(compare, Iterable):
        items = [(None, item) for item in compare]
    else:
        raise TypeError(f"compare must be a path, a History, a list of them or a dict naming them; got "
                        f"{type(compare).__name__}")
    runs: dict[str, History] = {}
    for given, item in items:
        if given is not None and not isinstance(given, str):
            raise TypeError(f"compare's run names must be str, got {type(given).__name__} {given!r}")
        for name, history in _read(item, given):
            runs[_unique(name, runs)] = history
    return runs


def _read(item: Any, given: str | None) -> list[tuple[str, History]]:
    """The runs of one item of ``compare``: (name, history) pairs."""
    if isinstance(item, History):
        return [(given or (item.path.stem if item.path is not None else "run"), item)]
    if not isinstance(item, (str, os.PathLike)):
        raise TypeError(f"compare takes paths and Histories; got {type(item).__name__} {item!r:.60}")
    path = Path(item)
    if path.is_file():
        return [(given or _file_name(path), _load_file(path))]
    if not path.is_dir():
        raise FileNotFoundError(f"compare: {str(path)!r} does not exist; expected a saved history (.json), a .jsonl, "
                                f".csv or event file, or a folder of them")
    found = [(_folder_name(path, run, given), _load_file(log)) for run, log in find_logs(path).items()]
    for saved in sorted(p for p in path.rglob("*.json") if p.is_file()):
        try:
            history = History.load(saved)
        except ValueError as exc:  # another JSON file (a config): not a run
            warnings.warn(f"livetrain: compare leaves out {str(saved)!r}, not a history ({exc})", RuntimeWarning,
                          stacklevel=4)
            continue
        found.append((_folder_name(path, saved.relative_to(path).with_suffix("").as_posix(), given), history))
    if not found:
        raise ValueError(f"compare: no run in the folder {str(path)!r}; expected saved histories (.json), .jsonl, "
                         f".csv or event files under it")
    return found


def _load_file(path: Path) -> History:
    """A history of the file's values: a saved history as it is, a log's records at their steps."""
    if format_of(path) is None:
        if path.suffix.lower() != ".json":
            raise ValueError(f"compare: cannot tell what {str(path)!r} is; expected a saved history (.json), a "
                             f".jsonl, .ndjson or .csv log, or an event file (events.out.tfevents.*)")
        return History.load(path)
    history = History()
    for item in open_reader(path).read():
        if isinstance(item, Series):
            history.extend(item.tag, item.step, item.value, item.wall)
        elif item.metrics:
            history.log(item.metrics, item.step, wall=item.wall, epoch=item.epoch)
    return history


def _file_name(path: Path) -> str:
    return path.resolve().parent.name if format_of(path) == "tfevents" else path.stem


def _folder_name(folder: Path, run: str, given: str | None) -> str:
    if run == ".":
        return given or folder.resolve().name
    return f"{given}/{run}" if given else run


def _unique(name: str, taken: Mapping[str, Any]) -> str:
    count, unique = 1, name
    while unique in taken:
        count += 1
        unique = f"{name} ({count})"
    return unique


def tag_points(run: History, tag: str, x: str) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``tag``'s values in ``run`` as the scalar views draw them: (x, value, step) arrays, points without an x
    left out. From its trace: x is the step, the epoch, the wall time in milliseconds (``"wall"``) or the seconds
    since the run's first point (``"relative"``). Without a trace, a tag ``phase/key``'s epoch values, at step and
    epoch ``e + 1`` as the board draws them (they have no time). ``None`` when the run has nothing to draw.

    Example:
        >>> h = History({"test": {"acc": [0.5, 0.75]}}); _ = h.log({"loss": 1.0}, step=4, epoch=0.5)
        >>> [a.tolist() for a in tag_points(h, "loss", "epoch")], tag_points(h, "test/acc", "step")[0].tolist()
        ([[0.5], [1.0], [4.0]], [1.0, 2.0])
    """
    trace = run.steps.get(tag)
    if trace is not None and len(trace):
        step = trace.step.astype(float)
        xs = _axis(trace, x, run.steps.started)
        values = np.asarray(trace.value, dtype=float)
    else:
        phase, _, key = tag.partition("/")
        values = _numbers(run.get(phase, {}).get(key)) if key and isinstance(run.get(phase), Mapping) else None
        if values is None or x in ("wall", "relative"):
            return None
        xs = step = np.arange(1.0, len(values) + 1)
    return _drawn(xs, values, step)


def epoch_points(run: History, phase: str, key: str, x: str, trained: str) -> tuple[np.ndarray, np.ndarray] | None:
    """``key``'s epoch values for ``phase`` in ``run`` as the line view draws them: (x, value) arrays. Epoch ``e``
    (from 0) is at ``e + 1`` on the epoch axis; on the others where the run's training phase (``trained``) ended it:
    the step, or the time, of its last trace point within epoch ``e + 1``. A run without epoch values (a log) gives
    its trace ``phase/key`` instead (see :func:`tag_points`). ``None`` when the run has nothing to draw.

    Example:
        >>> h = History({"train": {"loss": [0.9, 0.7]}})
        >>> for b in range(4): _ = h.log({"train/loss": 1.0}, step=b + 1, epoch=(b + 1) / 2)
        >>> [a.tolist() for a in epoch_points(h, "train", "loss", "step", "train")]
        [[2.0, 4.0], [0.9, 0.7]]
    """
    series = run.get(phase)
    values = _numbers(series.get(key)) if isinstance(series, Mapping) else None
    if values is None:
        points = tag_points(run, f"{phase}/{key}", x)
        return None if points is None else points[:2]
    if x == "epoch":
        xs = np.arange(1.0, len(values) + 1)
    else:
        xs = _epoch_ends(run, trained, x, len(values))
    drawn = _drawn(xs, values, xs)
    return None if drawn is None else drawn[:2]


def _epoch_ends(run: History, trained: str, x: str, count: int) -> np.ndarray:
    """Where each of ``count`` epochs ended on axis ``x``: the last point of the longest ``trained/...`` trace with
    epochs, within that epoch (NaN for an epoch it has no point in)."""
    traces = [t for tag, t in run.steps.items() if tag.startswith(f"{trained}/") and len(t)]
    ends = np.full(count, math.nan)
    for trace in sorted(traces, key=len, reverse=True):
        epoch = trace.epoch
        known = ~np.isnan(epoch)
        if not known.any():
            continue
        epoch, at = epoch[known], _axis(trace, x, run.steps.started)[known]
        number = np.arange(1.0, count + 1)
        last = np.searchsorted(epoch, number + 1e-9, side="right") - 1
        inside = (last >= 0) & (epoch[np.maximum(last, 0)] > number - 1)
        ends[inside] = at[last[inside]]
        break
    return ends


def _axis(trace: Trace, x: str, started: float | None) -> np.ndarray:
    if x == "step":
        return trace.step.astype(float)
    if x == "epoch":
        return trace.epoch.copy()
    wall = trace.wall
    return wall * 1000.0 if x == "wall" else wall - (wall[0] if started is None else started)


def _numbers(column: Any) -> np.ndarray | None:
    """A column of epoch values as floats (NaN for a missing one); ``None`` unless they are numbers."""
    if not isinstance(column, list) or not column:
        return None
    out = np.full(len(column), math.nan)
    for i, value in enumerate(column):
        if value is None:
            continue
        if isinstance(value, (list, tuple, dict, str)) or np.ndim(value) != 0:
            return None  # images, histograms, class scores: not a line
        try:
            out[i] = float(value)
        except (TypeError, ValueError):
            return None
    return out


def _drawn(xs: np.ndarray, values: np.ndarray, step: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The points with an x, values past what a plot can draw as NaN (as the live lines); ``None`` if none."""
    keep = ~np.isnan(xs)
    if not keep.any():
        return None
    values = np.where(np.isinf(values) | (np.abs(values) <= PLOTTABLE), values, math.nan)
    return xs[keep], values[keep], step[keep]


def page(columns: Mapping[str, np.ndarray], budget: int) -> dict[str, list[float]]:
    """``columns`` (``"y"`` among them) decimated to at most ``budget`` rows, as the live lines are, as lists.

    Example:
        >>> rows = page({"x": np.arange(1000.0), "y": np.sin(np.arange(1000.0))}, 100); len(rows["x"]) <= 100
        True
    """
    decimator = Decimator(budget, key="y", limit=PLOTTABLE)
    decimator.add(columns)
    return {name: values.tolist() for name, values in decimator.page().items()}


def toggle(group: str) -> CustomJS:
    """The callback of a run's renderers (``js_on_change("visible", ...)``, tagged ``group`` and :data:`RUN_TAG` or
    :data:`COMPARE_TAG` + the run): hiding one from the legend hides that run in every panel of ``group``.

    Example:
        >>> toggle("g").args["group"]
        'g'
    """
    return CustomJS(args={"group": group, "prefixes": [RUN_TAG, COMPARE_TAG]}, code=TOGGLE)
