"""The page copy of a long series: within its budget, every bucket's extremes and the last point on it, the same
however the points arrived; and TensorBoard's smoothing of the whole series at the rows shown."""
import math

import numpy as np
import pytest

from livetrain.core.decimate import STOPS, Decimator, Smoother, Update


def apply(page: dict[str, list], update: Update) -> None:
    """What the view does with an update: patch the rows it has from ``start``, stream the rest."""
    for name, values in update.rows.items():
        column = page.setdefault(name, [])
        if update.reset:
            column.clear()
        del column[update.start:]
        column.extend(values.tolist())


def feed(values: np.ndarray, budget: int, chunks: list[int], limit: float = math.inf
         ) -> tuple[Decimator, dict[str, list]]:
    """Decimate ``values`` (x: their index) arriving in ``chunks``; the decimator and the page it keeps."""
    d, page, at = Decimator(budget, limit=limit), {}, 0
    for n in chunks:
        apply(page, d.add({"x": np.arange(at, at + n, dtype=float), "y": values[at:at + n]}))
        at += n
    assert at == len(values)
    return d, page


def random_chunks(n: int, rng: np.random.Generator) -> list[int]:
    chunks, left = [], n
    while left:
        chunks.append(min(left, int(rng.choice([1, 1, 2, 3, 7, 50, 333]))))
        left -= chunks[-1]
    return chunks


def ema(values: np.ndarray, weight: float) -> np.ndarray:
    """TensorBoard's debiased EMA, point by point: gaps are their own value and do not count; a constant series
    is not smoothed."""
    finite = values[np.isfinite(values)]
    if finite.size and (finite == finite[0]).all():
        return values.copy()
    out, last, n = [], 0.0, 0
    for v in values:
        if not math.isfinite(v):
            out.append(v)
            continue
        last, n = last * weight + (1 - weight) * v, n + 1
        out.append(last / (1 - weight ** n))
    return np.array(out)


@pytest.mark.parametrize("n", [1, 5, 600, 601, 1000, 4097, 100_000])
def test_the_page_stays_within_budget_and_keeps_each_buckets_extremes_and_the_last_point(n):
    rng = np.random.default_rng(n)
    values = np.cumsum(rng.normal(size=n))
    d, page = feed(values, 600, random_chunks(n, rng))
    assert len(page["x"]) <= 600
    assert page["x"][-1] == n - 1 and page["y"][-1] == values[-1]
    shown = set(page["x"])
    if d.level == 0:
        assert page["x"] == list(range(n))  # it fits: every point
        return
    size = 2 ** d.level
    for start in range(0, n, size):
        bucket = values[start:start + size]
        assert start + int(np.argmin(bucket)) in shown and start + int(np.argmax(bucket)) in shown
        assert min(start + size, n) - 1 in shown
    assert len(page["x"]) > 600 // 4  # merged only as far as needed
    assert page["x"] == sorted(page["x"])


@pytest.mark.parametrize("limit", [math.inf, 1e154])
@pytest.mark.parametrize("few", [False, True])
def test_appending_gives_the_same_page_as_one_call_with_all_points(limit, few):
    rng = np.random.default_rng(0)
    values = rng.normal(size=20_000)
    values[rng.integers(0, len(values), 300)] = np.nan
    values[5000:5100] = np.inf
    values[7000:7050:3] = -1e200  # a gap only beyond the limit
    values[9000:9200] = np.where(rng.random(200) < 0.5, np.nan, rng.normal(size=200))  # buckets of gaps and numbers
    chunks = [int(c) for c in rng.integers(1, 17, size=3000)] if few else random_chunks(len(values), rng)
    chunks = [*chunks[:np.searchsorted(np.cumsum(chunks), len(values))], 0]
    chunks[-1] = len(values) - sum(chunks[:-1])  # taken a few points at a time (one by one in Python) or mixed
    _, one = feed(values, 300, [len(values)], limit)
    d, many = feed(values, 300, chunks, limit)
    np.testing.assert_array_equal(np.array(many["y"]), np.array(one["y"]))
    assert many["x"] == one["x"]
    np.testing.assert_array_equal(d.page()["y"], np.array(many["y"]))
    assert d.page()["x"].tolist() == many["x"]


def test_gaps_are_never_an_extreme_but_a_bucket_of_gaps_is_a_gap():
    values = np.array([1.0, np.nan, 5.0, -2.0] * 4 + [np.nan] * 16 + [3.0] * 16)
    d, page = feed(values, 9, [len(values)])
    assert d.level == 4  # buckets of 16: the first holds values and NaN, the second only NaN, the third 3.0
    y = np.array(page["y"])
    assert y[:3].tolist() == [5.0, -2.0, -2.0] and np.isnan(y[3:6]).all() and y[6:].tolist() == [3.0] * 3


def test_a_sparse_series_keeps_all_its_points_beside_a_dense_one():
    dense, sparse = Decimator(400), Decimator(400)
    for step in range(0, 50_000, 500):
        dense.add({"x": np.arange(step, step + 500), "y": np.sin(np.arange(step, step + 500))})
        sparse.add({"x": [step], "y": [step / 1000]})
    assert len(sparse.page()["x"]) == 100 and sparse.page()["x"].tolist() == list(range(0, 50_000, 500))
    assert len(dense.page()["x"]) <= 400 and dense.page()["x"][-1] == 49_999


def test_updates_are_small_until_the_buckets_double():
    d, resets, sizes = Decimator(60), 0, []
    for step in range(20_000):
        u = d.add({"x": [float(step)], "y": [math.cos(step / 100)]})
        if u.reset:
            resets += 1
            assert u.start == 0 and u.length <= 60
        else:
            sizes.append(u.length)
            assert u.start >= d.buckets * d.rows_per_bucket - 3
    assert max(sizes) <= 3
    assert resets <= math.ceil(math.log2(20_000 / 60)) + 2


def test_smoothing_is_the_ema_of_the_whole_series_at_the_rows_shown():
    rng = np.random.default_rng(1)
    values = np.cumsum(rng.normal(size=30_000))
    values[rng.integers(0, len(values), 50)] = np.nan
    values[100] = np.inf
    smoother, d, page, at = Smoother(), Decimator(500), {}, 0
    for n in random_chunks(len(values), rng):
        chunk = values[at:at + n]
        smoothed = smoother.add(chunk)
        columns = {"x": np.arange(at, at + n, dtype=float), "y": chunk}
        columns |= {f"s{i}": smoothed[:, i] for i in range(smoothed.shape[1])}
        apply(page, d.add(columns))
        at += n
    rows = np.array(page["x"], dtype=int)
    assert len(rows) <= 500
    for i, weight in enumerate(STOPS[1:]):
        np.testing.assert_allclose(np.array(page[f"s{i}"]), ema(values, weight)[rows], rtol=1e-9, atol=1e-12)


def test_a_constant_series_is_not_smoothed_and_a_gap_does_not_count():
    s = Smoother()
    assert (s.add([0.1] * 5) == 0.1).all() and (s.add([0.1]) == 0.1).all()
    out = s.add([np.nan, 0.2])
    assert np.isnan(out[0]).all() and (out[1] < 0.2).all() and (out[1] > 0.1).all()
    np.testing.assert_allclose(out[1], [ema(np.array([0.1] * 6 + [np.nan, 0.2]), w)[-1] for w in STOPS[1:]])


def test_values_beyond_the_limit_are_gaps():
    s, d = Smoother(limit=1e154), Decimator(6, limit=1e154)
    assert (s.add([1e200]) == 1e200).all()  # its own value: drawn as a gap
    d.add({"y": np.array([1e200, 1.0, 2.0, 1e300] * 3)})
    assert d.page()["y"].tolist() == [1.0, 2.0, 1e300, 1.0, 2.0, 1e300]  # extremes within the limit; the last


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="budget must be an int >= 6"):
        Decimator(3)
    with pytest.raises(ValueError, match=r"smoothing weights must be in \[0, 1\)"):
        Smoother(stops=(1.0,))
    d = Decimator(10)
    with pytest.raises(KeyError, match="need a column 'y'"):
        d.add({"x": [1.0]})
    d.add({"x": [1.0], "y": [2.0]})
    with pytest.raises(KeyError, match=r"expected columns \['x', 'y'\]"):
        d.add({"y": [2.0]})
    with pytest.raises(ValueError, match="different lengths"):
        d.add({"x": [1.0], "y": [2.0, 3.0]})
