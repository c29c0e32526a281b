import json
import math
import os

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from livetrain import History


def test_blog_shape_and_helpers():
    h = History()
    h.append("train", {"loss": 0.9, "acc": 0.5})
    h.append("train", {"loss": 0.7, "acc": 0.6})
    h.append("test", {"loss": 1.0})
    assert h == {"train": {"loss": [0.9, 0.7], "acc": [0.5, 0.6]}, "test": {"loss": [1.0]}}
    assert h.last("train", "acc") == 0.6
    assert h.epochs("train") == 2 and h.epochs("test") == 1 and h.epochs("val") == 0


def test_append_rejects_bad_input():
    with pytest.raises(TypeError, match="phase must be a str"):
        History().append(3, {"loss": 1.0})
    with pytest.raises(TypeError, match="mapping of metric name"):
        History().append("train", [1.0])


def test_round_trip_keeps_nonfinite_arrays_and_tensors(tmp_path):
    h = History()
    h.append("train", {"loss": math.nan, "acc": math.inf, "counts": np.arange(3), "t": torch.tensor(2.5)})
    h.append("train", {"loss": -math.inf, "acc": np.float32(0.25), "counts": [1, 2, 3], "t": 1})
    path = h.save(tmp_path / "run" / "history.json")
    text = path.read_text()
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    back = History.load(path)
    assert isinstance(back, History)
    assert math.isnan(back["train"]["loss"][0]) and back["train"]["loss"][1] == -math.inf
    assert back["train"]["acc"] == [math.inf, 0.25]
    assert back["train"]["counts"] == [[0, 1, 2], [1, 2, 3]]
    assert back["train"]["t"] == [2.5, 1]


def test_save_is_atomic_old_file_survives_a_failed_write(tmp_path):
    path = tmp_path / "h.json"
    History({"train": {"loss": [1.0]}}).save(path)
    with pytest.raises(TypeError, match="cannot save a object"):
        History({"train": {"loss": [object()]}}).save(path)
    assert History.load(path) == {"train": {"loss": [1.0]}}
    assert os.listdir(tmp_path) == ["h.json"]  # no temporary file left behind
    assert path.stat().st_mode & 0o644 == 0o644  # readable like any other file, not private


def test_load_plain_dict_and_reject_garbage(tmp_path):
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps({"train": {"loss": [1, 2]}}))
    assert History.load(plain) == {"train": {"loss": [1, 2]}}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([1, 2]))
    with pytest.raises(ValueError, match="expected a livetrain history"):
        History.load(bad)


values = st.one_of(st.floats(allow_nan=False), st.integers(-10**6, 10**6), st.just(math.inf), st.just(-math.inf))


@settings(deadline=None)  # each example writes and fsyncs a file: slow on a loaded machine
@given(st.dictionaries(st.sampled_from(["train", "test", "val"]),
                       st.dictionaries(st.text(min_size=1, max_size=8), st.lists(values, max_size=5)), max_size=3))
def test_round_trip_property(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("h") / "h.json"
    assert History.load(History(data).save(path)) == data


def test_append_at_an_epoch_pads_the_gaps_so_epochs_stay_aligned():
    h = History()
    h.append("train", {"loss": 1.0}, epoch=0)
    h.append("train", {"loss": 0.9, "lr": 0.1, "recon": np.zeros((2, 2))}, epoch=2)  # epoch 1 lost, lr and recon new
    assert h["train"]["loss"][::2] == [1.0, 0.9] and math.isnan(h["train"]["loss"][1])
    assert [math.isnan(v) for v in h["train"]["lr"]] == [True, True, False]
    assert h["train"]["recon"][:2] == [None, None]  # not a number: None
    h.append("train", {"loss": 0.8}, epoch=3)  # lr missing this epoch: padded when it comes back
    h.append("train", {"loss": 0.7, "lr": np.float32(0.05)}, epoch=4)
    assert len(h["train"]["lr"]) == 5 and math.isnan(h["train"]["lr"][3])
    h.append("train", {"loss": 0.5}, epoch=4)  # the same epoch again: replaced
    assert h["train"]["loss"][4] == 0.5 and h.epochs("train") == 5
    with pytest.raises(ValueError, match="epoch must be an int >= 0 or None, got -1"):
        h.append("train", {"loss": 1.0}, epoch=-1)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10**6), st.floats(allow_nan=True, allow_infinity=True, width=32)),
                max_size=40), st.integers(0, 40))
def test_extend_adds_what_as_many_logs_would(rows, cut):
    walls = [1000.0 + i for i in range(len(rows))]
    logged, extended = History(), History()
    for (step, value), wall in zip(rows, walls):
        logged.log({"loss": value}, step, wall=wall)
    cut = min(cut, len(rows))
    for part in (slice(0, cut), slice(cut, None)):
        steps = np.array([s for s, _ in rows[part]], np.int64)
        extended.extend("loss", steps, [v for _, v in rows[part]], walls[part])
    if not rows:
        assert "loss" not in extended.steps
        return
    a, b = logged.steps["loss"], extended.steps["loss"]
    assert a.step.tolist() == b.step.tolist() and a.wall.tolist() == b.wall.tolist()
    np.testing.assert_array_equal(a.value, b.value)
    assert logged.log({"loss": 0.0}) == extended.log({"loss": 0.0})  # the next step without one: one past the last


def test_extend_rejects_bad_input_naming_it():
    h = History()
    with pytest.raises(TypeError, match="tags must be str"):
        h.extend(3, [1], [0.5])
    with pytest.raises(TypeError, match="1-d array of ints"):
        h.extend("loss", [1.5], [0.5])
    with pytest.raises(ValueError, match="one length"):
        h.extend("loss", [1, 2], [0.5])
    assert not h.steps
