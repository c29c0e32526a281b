import math
import re

import numpy as np
import pytest
import torch

from livetrain.core.metrics import EpochMeans, EpochReducer, batch_size, to_float


@pytest.mark.parametrize("value, expected", [
    (1, 1.0), (0.5, 0.5), (True, 1.0), (np.float32(0.25), 0.25), (np.array(3.0), 3.0),
    (np.int64(7), 7.0), (torch.tensor(0.5), 0.5), (torch.tensor(2.0, requires_grad=True) * 1, 2.0),
    (float("nan"), math.nan),
])
def test_to_float_accepts_scalars(value, expected):
    got = to_float("loss", value)
    assert type(got) is float
    assert got == expected or (math.isnan(got) and math.isnan(expected))


@pytest.mark.parametrize("value, shown", [
    ("0.5", "str"), (None, "NoneType"), ([1.0], "list"), (np.zeros(3), "shape (3,)"),
    (torch.zeros(2, 2), "shape (2, 2)"),
])
def test_to_float_rejects_non_scalars_naming_the_key(value, shown):
    expected = rf"metric 'acc': expected a number or a 0-d array/tensor, got .*{re.escape(shown)}"
    with pytest.raises(TypeError, match=expected):
        to_float("acc", value)


def test_epoch_means_are_weighted_by_batch_size():
    m = EpochMeans()
    m.add({"loss": 1.0, "acc": 1.0}, weight=30)
    m.add({"loss": 4.0}, weight=10)
    assert m.means() == {"loss": pytest.approx(1.75), "acc": 1.0}
    m.add({"acc": 0.0}, weight=0)
    assert m.means()["acc"] == 1.0
    with pytest.raises(ValueError, match="batch weight"):
        m.add({"loss": 1.0}, weight=-1)


def test_epoch_means_nan_when_no_weight():
    m = EpochMeans()
    m.add({"loss": 2.0}, weight=0)
    assert math.isnan(m.means()["loss"])


@pytest.mark.parametrize("batch, n", [
    ((np.zeros((32, 1, 8, 8)), np.zeros(32)), 32), ([torch.zeros(16, 3), torch.zeros(16)], 16),
    ({"x": np.zeros((8, 2))}, 8), (np.zeros((5, 2)), 5), ([1.0, 2.0, 3.0], 3), (7, None), (np.float64(1), None),
])
def test_batch_size(batch, n):
    assert batch_size(batch) == n


def test_epoch_reducer_sums_arrays_and_keeps_first_or_last():
    r = EpochReducer({"counts": "sum", "image": "first", "seen": "last"})
    logs = r.add({"loss": torch.tensor(1.0), "counts": torch.tensor([1, 0]), "image": np.zeros((2, 2)),
                  "seen": np.array([1])}, weight=3)
    assert logs == {"loss": 1.0}  # a batch's logs hold the averaged scalars
    r.add({"loss": 3.0, "counts": np.array([2, 5]), "image": np.ones((2, 2)), "seen": [2]}, weight=1)
    out = r.result()
    assert out["loss"] == 1.5 and out["counts"].tolist() == [3, 5]
    assert out["image"].sum() == 0 and out["seen"].tolist() == [2]


def test_epoch_reducer_concat_joins_an_epochs_batches_in_order():
    r = EpochReducer({"y_true": "concat", "y_score": "concat"})
    r.add({"y_true": torch.tensor([3, 1]), "y_score": np.eye(3)[:2], "loss": 1.0}, weight=2)
    r.add({"y_true": np.array([2]), "y_score": np.eye(3)[2:], "loss": 2.0}, weight=1)
    out = r.result()
    assert out["y_true"].tolist() == [3, 1, 2] and out["y_score"].tolist() == np.eye(3).tolist()
    bad = EpochReducer({"y_score": "concat"})
    bad.add({"y_score": np.zeros((2, 10))})
    bad.add({"y_score": np.zeros((2, 9))})
    with pytest.raises(ValueError, match=r"'y_score' \(reduce 'concat'\).*\(9,\), \(10,\)"):
        bad.result()


def test_train_loop_concat_gives_the_whole_epochs_predictions():
    from livetrain import train_loop

    def step(batch, phase):
        return {"loss": 0.0, "y_true": batch, "y_score": np.eye(4)[batch]}

    h = train_loop(step, {"test": [np.array([0, 1]), np.array([2, 3]), np.array([1])]}, epochs=2,
                   reduce={"y_true": "concat", "y_score": "concat"}, progress=False)
    assert [v.tolist() for v in h["test"]["y_true"]] == [[0, 1, 2, 3, 1]] * 2
    assert h["test"]["y_score"][1].shape == (5, 4)


def test_epoch_reducer_rejects_unknown_reductions_and_non_scalar_means():
    with pytest.raises(ValueError, match="reduce must map metric names to one of"):
        EpochReducer({"counts": "total"})
    with pytest.raises(TypeError, match="metric 'counts': expected a number") as info:
        EpochReducer().add({"counts": np.array([1, 2])})
    assert "reduce={key: 'sum'}" in info.value.__notes__[0]
