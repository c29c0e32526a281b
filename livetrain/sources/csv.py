"""CSV logs with a header row: Lightning's ``CSVLogger`` (``step``, ``epoch``, a column per metric, empty cells where
a metric was not logged), TensorBoard's export (``Wall time``, ``Step``, ``Value``: the metric is the file's name),
or any table with a step column."""
from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path

from .base import Point, Tail

_STEP = ("step", "global_step", "iteration", "iter", "Step")
_EPOCH = ("epoch", "Epoch")
_WALL = ("time", "wall", "wall_time", "Wall time", "timestamp")
_PHASE = ("phase", "split")


class CsvReader:
    """Follows a CSV log: each :meth:`read` returns the rows completed since the last one. Cells that are empty or not
    numbers are left out of their row; a ``phase`` column prefixes the row's tags (``phase/name``).

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "metrics.csv"
        >>> _ = path.write_text("epoch,step,train_loss,val_loss\\n0,9,0.5,\\n0,9,,0.6\\n1,19,0.4")
        >>> [(p.step, p.metrics) for p in CsvReader(path).read()]
        [(9, {'train_loss': 0.5}), (9, {'val_loss': 0.6})]
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.tail = Tail(path)
        self.header: list[str] | None = None

    def read(self) -> list[Point]:
        data = self.tail.read()
        if self.tail.restarted:
            self.header = None
        points = []
        for row in csv.reader(io.StringIO(data.decode("utf-8", errors="replace"))):
            if not row:
                continue
            if self.header is None:
                self.header = [name.strip() for name in row]
                continue
            point = self._point(row)
            if point is not None:
                points.append(point)
        return points

    def _point(self, row: list[str]) -> Point | None:
        assert self.header is not None
        if len(row) > len(self.header):
            self.tail.warn(f"a row has {len(row)} cells for {len(self.header)} columns; it is skipped")
            return None
        cells = dict(zip(self.header, row))
        step = _first(cells, _STEP)
        phase = next((cells[c].strip() for c in _PHASE if cells.get(c, "").strip()), "")
        if "Value" in cells and "Step" in self.header and len(self.header) <= 3:  # TensorBoard's export of one tag
            name = Path(self.tail.path).stem
            metrics = {name: v} if (v := _float(cells["Value"])) is not None else {}
        else:
            known = {*_STEP, *_EPOCH, *_WALL, *_PHASE}
            metrics = {f"{phase}/{k}" if phase else k: v for k, text in cells.items()
                       if k not in known and (v := _float(text)) is not None}
        if not metrics:
            return None
        return Point(metrics, None if step is None or not math.isfinite(step) else int(step), _first(cells, _WALL),
                     _first(cells, _EPOCH))


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _first(cells: dict[str, str], names: tuple[str, ...]) -> float | None:
    for name in names:
        if name in cells and (value := _float(cells[name])) is not None:
            return value
    return None
