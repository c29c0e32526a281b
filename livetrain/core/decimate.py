"""Long series on a page of fixed size: TensorBoard's smoothing on the whole series (:class:`Smoother`), then min/max
buckets that keep the page's copy within a budget of rows (:class:`Decimator`). Both take points as they arrive, at a
cost that grows with the new points only (and a reset of the page's copy each time the buckets double)."""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

#: The smoothing weights the page offers (0: none; 0.6: TensorBoard's default). Each other stop is one more column.
STOPS = (0.0, 0.6, 0.8, 0.9, 0.95, 0.99)
#: :meth:`Decimator.add` takes this many points or fewer one at a time, in Python: a push's few new points
FEW = 16


def gaps(values: np.ndarray, limit: float = math.inf) -> np.ndarray:
    """Where ``values`` are gaps: NaN, infinite, or beyond ``limit`` in magnitude.

    Example:
        >>> gaps(np.array([1.0, float("nan"), float("inf"), 1e200]), limit=1e154).tolist()
        [False, True, True, True]
    """
    return ~(np.isfinite(values) & (np.abs(values) <= limit))


class Smoother:
    """TensorBoard's debiased exponential moving average of one series, for each weight of ``stops``, computed as
    points arrive: ``add`` returns the smoothed values of the new points, equal to smoothing the whole series at once.

    As in TensorBoard's line chart: ``s = w * s + (1 - w) * value`` from ``s = 0``, divided by ``1 - w ** n`` after
    ``n`` values; a gap (see :func:`gaps`) is its own smoothed value and does not count; while every value so far is
    the same, the smoothed values are the values (no rounding wobble on a constant).

    Example:
        >>> s = Smoother(stops=(0.5,))
        >>> s.add([1.0, 3.0]).ravel().tolist(), s.add([float("nan"), 3.0]).ravel().tolist()
        ([1.0, 2.3333333333333335], [nan, 2.7142857142857144])
    """

    CHUNK = 256  #: values smoothed at a time: ``w ** -CHUNK`` stays far from overflowing for every weight used

    def __init__(self, stops: tuple[float, ...] = STOPS[1:], limit: float = math.inf) -> None:
        if not all(0 <= w < 1 for w in stops):
            raise ValueError(f"smoothing weights must be in [0, 1), got {stops!r}")
        self.stops, self.limit = np.asarray(stops, dtype=float), limit
        self._state = np.zeros(len(stops))  # the EMA before debiasing
        self._count = 0  # values smoothed so far (gaps not counted)
        self._first = math.nan  # the first value, while all are equal to it

    def add(self, values: Any) -> np.ndarray:
        """The smoothed values of the new ``values``: an array of shape ``(len(values), len(stops))``."""
        v = np.asarray(values, dtype=float).ravel()
        if len(v) <= FEW // 2:  # a push's few points: one at a time, in Python (numpy's cost per call outweighs it)
            return self._add_each(v.tolist())
        out = np.repeat(v[:, None], len(self.stops), axis=1)
        ok = ~gaps(v, self.limit)
        f = v[ok]
        if f.size:
            out[ok] = np.concatenate([self._smooth(f[at:at + self.CHUNK]) for at in range(0, len(f), self.CHUNK)])
        return out

    def _smooth(self, f: np.ndarray) -> np.ndarray:
        """The smoothed values of ``f`` (no gaps), in closed form: ``s[k] = w ** k * (s[0] + (1 - w) * sum(f[j] *
        w ** -j for j <= k))``, one cumulative sum instead of a scan."""
        w, n = self.stops, len(f)
        power = w ** np.arange(1, n + 1, dtype=float)[:, None]  # w ** k, shape (n, stops)
        s = power * (self._state + (1 - w) * np.cumsum(f[:, None] / power, axis=0))
        smoothed = s / (1 - w ** self._count * power)
        self._state = s[-1].copy()
        if not self._count:
            self._first = f[0]
        self._count += n
        if not math.isnan(self._first):  # a constant stretch from the start stays exact
            differs = f != self._first
            same = int(np.argmax(differs)) if differs.any() else n
            smoothed[:same] = f[:same, None]
            self._first = self._first if same == n else math.nan
        return smoothed

    def _add_each(self, values: list[float]) -> np.ndarray:
        """:meth:`add` for a few values, one at a time."""
        weights, limit = self.stops.tolist(), self.limit
        state, count, first = self._state.tolist(), self._count, self._first
        rows = []
        for value in values:
            if not abs(value) <= limit:  # a gap (NaN fails every comparison): its own value, not counted
                rows.append([value] * len(weights))
                continue
            count += 1
            state = [w * s + (1 - w) * value for w, s in zip(weights, state)]
            first = value if count == 1 else first
            if value == first:  # a constant stretch from the start stays exact
                rows.append([value] * len(weights))
            else:
                first = math.nan
                rows.append([s / (1 - w ** count) for w, s in zip(weights, state)])
        self._state, self._count, self._first = np.array(state), count, first
        return np.array(rows, dtype=float).reshape(len(values), len(weights))


@dataclass(frozen=True)
class Update:
    """What changed in the page's copy: its rows from ``start`` on are now ``rows`` (each column an array); with
    ``reset``, ``start`` is 0 and ``rows`` is the whole copy (the buckets doubled). Apply it as: patch the rows the
    page has from ``start`` on, stream the rest.

    Example:
        >>> Update(0, {"y": np.array([1.0])}, reset=True).length
        1
    """

    start: int
    rows: dict[str, np.ndarray]
    reset: bool = False

    @property
    def length(self) -> int:
        """The number of rows in ``rows``."""
        return len(next(iter(self.rows.values()), ()))


class Decimator:
    """A page copy of one series of at most ``budget`` rows, kept as points arrive.

    While the series fits, every point is a row. Past that, points go in buckets of ``2 ** level`` consecutive
    points, each shown as three rows, its smallest, largest and last point (in the order they came); a gap (see
    :func:`gaps`) is never a bucket's smallest or largest unless all its points are gaps, but is drawn where it is
    a bucket's last point. New points change only the last bucket's rows (patched) and add buckets (streamed); when
    the buckets no longer fit, pairs merge (``level`` + 1) and the page gets the whole copy again: O(budget), about
    log2(n) times over n points. The result does not depend on how the points were split between calls.

    ``add`` takes the new points as columns of numbers of equal length (kept as floats); ``key`` names the one
    compared.

    Example:
        >>> d = Decimator(budget=6)
        >>> d.add({"x": np.arange(4.0), "y": np.array([3.0, 1.0, 2.0, 0.0])}).rows["y"].tolist()
        [3.0, 1.0, 2.0, 0.0]
        >>> u = d.add({"x": np.arange(4.0, 8.0), "y": np.array([5.0, 4.0, 9.0, 6.0])}); u.reset, u.rows["x"].tolist()
        (True, [0.0, 3.0, 3.0, 5.0, 6.0, 7.0])
    """

    CHUNK = 1 << 16  #: points reduced at a time: a million points added at once take no more memory than this many

    def __init__(self, budget: int, key: str = "y", limit: float = math.inf) -> None:
        if isinstance(budget, bool) or not isinstance(budget, int) or budget < 6:
            raise ValueError(f"budget must be an int >= 6 (rows on the page), got {budget!r}")
        self.budget, self.key, self.limit = budget, key, limit
        self.level = 0
        self.count = 0  #: points added so far
        self.columns: list[str] = []  #: the columns' names, ``key`` first (set by the first ``add``)
        # per bucket: its smallest, largest and last point, each a row (index, key, other columns...)
        self._buckets = np.empty((3, 0, 0))
        self.buckets = 0  #: the number of buckets (at level 0, of points)

    @property
    def rows_per_bucket(self) -> int:
        """Rows each bucket takes on the page: 1 at level 0, else 3."""
        return 1 if self.level == 0 else 3

    def add(self, columns: Mapping[str, Any]) -> Update:
        """Add points (``columns``: name -> values, all of one length, ``key`` among them); the page's change."""
        if self.key not in columns:
            raise KeyError(f"the points need a column {self.key!r} to decimate by; got columns {sorted(columns)}")
        names = [self.key, *sorted(set(columns) - {self.key})]
        if self.columns and names != self.columns:
            raise KeyError(f"expected columns {sorted(self.columns)}, got {sorted(names)}")
        new = [np.asarray(columns[name], dtype=float).ravel() for name in names]
        m = len(new[0])
        if any(len(v) != m for v in new):
            raise ValueError(f"columns of different lengths: { {n: len(v) for n, v in zip(names, new)} }")
        if not m:
            return Update(self.buckets * self.rows_per_bucket, self._rows(self.buckets, self.buckets))
        if not self.columns:
            self.columns, self._buckets = names, np.empty((3, 2 * self.budget + 2, 1 + len(names)))
        level, first = self.level, self.count >> self.level  # the bucket the first new point goes in
        if m <= FEW:  # a push's few points: one at a time, in Python (numpy's cost per call outweighs its speed)
            self._add_each(self.count, [column.tolist() for column in new])
        elif not level and self.count + m <= self.budget:  # every point is its own bucket: smallest, largest, last
            self._buckets[:, first:first + m] = np.column_stack([np.arange(self.count, self.count + m, dtype=float),
                                                                 *new])
            self.count = self.buckets = self.count + m
            return Update(first, self._rows(first, self.buckets))
        else:
            for at in range(0, m, self.CHUNK):
                self._add(np.column_stack([np.arange(self.count, self.count + min(m - at, self.CHUNK), dtype=float),
                                           *(v[at:at + self.CHUNK] for v in new)]))
        if self.level != level:
            return Update(0, self.page(), reset=True)
        return Update(first * self.rows_per_bucket, self._rows(first, self.buckets))

    def page(self) -> dict[str, np.ndarray]:
        """The whole page copy: each column's rows.

        Example:
            >>> d = Decimator(6); _ = d.add({"y": [1.0, 2.0]}); d.page()["y"].tolist()
            [1.0, 2.0]
        """
        return self._rows(0, self.buckets)

    def _add(self, points: np.ndarray) -> None:
        """Add ``points`` (rows of index, key, other columns), merging buckets first as far as they will need."""
        self.count += len(points)
        while -(-self.count >> self.level) * self.rows_per_bucket > self.budget:  # the buckets they will take
            self._merge()
        first = int(points[0, 0]) >> self.level
        bucket = points[:, 0].astype(np.int64) >> self.level
        starts = np.concatenate(([0], np.flatnonzero(bucket[1:] != bucket[:-1]) + 1))
        ends = np.append(starts[1:], len(bucket)) - 1
        where, key = np.arange(len(points)), points[:, 1]
        gap = gaps(key, self.limit)
        picks = []
        for sign in (1.0, -1.0):
            v = np.where(gap, math.inf, sign * key)  # as compared: a gap loses
            best = np.minimum.reduceat(v, starts)
            candidates = np.where(v == np.repeat(best, ends - starts + 1), where, len(where))
            picks.append(np.minimum.reduceat(candidates, starts))  # the first point holding the bucket's extreme
        reduced = np.stack([points[picks[0]], points[picks[1]], points[ends]])
        if self.buckets > first:  # the last bucket is partly filled: the first new one joins it
            old = self._buckets[:, first]
            for i, sign in ((0, 1.0), (1, -1.0)):  # the new extreme only if strictly beyond the old one
                if not self._compared_one(reduced[i, 0, 1], sign) < self._compared_one(old[i, 1], sign):
                    reduced[i, 0] = old[i]
        self._buckets[:, first:first + len(starts)] = reduced
        self.buckets = first + len(starts)

    def _add_each(self, index: int, columns: list[list[float]]) -> None:
        """:meth:`_add` for a few points (``columns``: the key's values first), the first of them point ``index``:
        each joins the last bucket or starts the next (a strictly smaller or larger key takes the bucket's extreme,
        so the first of equal ones keeps it; a gap never beats a number)."""
        self.count += len(columns[0])
        while -(-self.count >> self.level) * self.rows_per_bucket > self.budget:
            self._merge()
        buckets, compared = self._buckets, self._compared_one
        for row in zip(range(index, self.count), *columns):
            key, bucket = row[1], row[0] >> self.level
            if bucket >= self.buckets:
                buckets[:, bucket] = row
                self.buckets = bucket + 1
                continue
            for i, sign in ((0, 1.0), (1, -1.0)):  # the new extreme only if strictly beyond the old one
                if compared(key, sign) < compared(buckets[i, bucket, 1], sign):
                    buckets[i, bucket] = row
            buckets[2, bucket] = row

    def _rows(self, start: int, stop: int) -> dict[str, np.ndarray]:
        """The page rows of buckets ``start`` to ``stop``: one per bucket at level 0, else its three points in order."""
        if self.level == 0:
            rows = self._buckets[2, start:stop]
        else:
            three = self._buckets[:, start:stop].transpose(1, 0, 2)
            order = np.argsort(three[:, :, 0], axis=1, kind="stable")
            rows = np.take_along_axis(three, order[:, :, None], axis=1).reshape(-1, three.shape[2])
        return {name: rows[:, 1 + j] for j, name in enumerate(self.columns)}

    def _compared(self, rows: np.ndarray, sign: float) -> np.ndarray:
        """The key's values of ``rows`` as compared for a minimum (``sign`` 1) or maximum (-1): gaps lose."""
        v = rows[..., 1]
        return np.where(gaps(v, self.limit), math.inf, sign * v)

    def _compared_one(self, value: float, sign: float) -> float:
        """One key value as :meth:`_compared` compares it."""
        return sign * float(value) if abs(value) <= self.limit else math.inf

    def _combine(self, early: np.ndarray, late: np.ndarray) -> np.ndarray:
        """Buckets ``early`` followed by buckets ``late`` (each ``(3, ..., row)``) as one: the smaller of the two
        smallest points (the earlier on a tie), the larger of the largest, the later last."""
        out = late.copy()
        for i, sign in ((0, 1.0), (1, -1.0)):
            keep = ~(self._compared(late[i], sign) < self._compared(early[i], sign))
            out[i][keep] = early[i][keep]
        return out

    def _merge(self) -> None:
        """Merge the buckets in pairs: the level goes up by one."""
        n, b = self.buckets, self._buckets
        pairs = n // 2
        merged = self._combine(b[:, 0:2 * pairs:2], b[:, 1:2 * pairs:2])
        if n % 2:  # the last bucket has no partner yet
            merged = np.concatenate([merged, b[:, n - 1:n]], axis=1)
        b[:, :len(merged[0])] = merged
        self.buckets = len(merged[0])
        self.level += 1
