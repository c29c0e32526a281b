"""LinePlotsCallback reads per-batch values (JAX, torch, numpy) only when it pushes: no device sync per batch."""
import math
import warnings

import jax.numpy as jnp
import numpy as np
import pytest
import torch

from livetrain import LinePlotsCallback


class Counted:
    """A 0-d device value that counts how often it is read."""
    ndim = 0
    reads = 0

    def __init__(self, value):
        self.value = value

    def item(self):
        Counted.reads += 1
        return self.value


def test_batch_values_are_read_once_each_when_the_view_pushes_not_when_they_are_logged():
    Counted.reads = 0
    cb = LinePlotsCallback(phases=("train",), steps_per_epoch=100, interval=60)
    for b in range(100):
        cb.on_batch_end(b, "train", {"loss": Counted(1.0 / (b + 1))} | ({"acc": Counted(0.5)} if b % 10 == 9 else {}))
    assert Counted.reads == 1  # the first call pushes at once; the throttle holds the other 99 rows
    cb.flush()
    assert Counted.reads == 110  # every value read exactly once
    cb.flush()
    assert Counted.reads == 110
    loss = cb.batch_sources["train"].data[cb.columns["loss"]]
    acc = cb.batch_sources["train"].data[cb.columns["acc"]]
    assert loss == [1.0 / (b + 1) for b in range(100)]
    assert [a for a in acc if not math.isnan(a)] == [0.5] * 10 and math.isnan(acc[0])


def test_jax_torch_and_numpy_values_are_drawn_as_numbers():
    cb = LinePlotsCallback(phases=("train",), interval=60)
    values = [jnp.float32(0.5), torch.tensor(0.25, requires_grad=True) * 1, np.float32(0.125), 2,
              jnp.array([[4.0]])[0, 0]]
    for b, v in enumerate(values):
        cb.on_batch_end(b, "train", {"loss": v, "acc": v})
    cb.flush()
    data = cb.batch_sources["train"].data
    assert data[cb.columns["loss"]] == data[cb.columns["acc"]] == [0.5, 0.25, 0.125, 2.0, 4.0]
    assert all(type(x) is float for x in data[cb.columns["loss"]])


def test_a_value_that_is_not_a_number_is_a_gap_with_one_warning_naming_its_key():
    cb = LinePlotsCallback(phases=("train",), interval=60)
    logged = [{"loss": "high", "acc": 0.5}, {"loss": np.zeros(3), "acc": 0.75}, {"loss": 0.25, "acc": 1.0},
              {"loss": None}]
    with pytest.warns(RuntimeWarning) as caught:
        for b, logs in enumerate(logged):
            cb.on_batch_end(b, "train", logs)
        cb.flush()
    assert [str(w.message) for w in caught] == [
        "livetrain: on_batch_end: trace 'loss': the value logged at epoch 0.5 is not a number; expected a number or "
        "a 0-d (one-element) array/tensor, got str 'high'. It reads as NaN; LinePlotsCallback draws it as a gap"]
    data = cb.batch_sources["train"].data
    loss, acc = data[cb.columns["loss"]], data[cb.columns["acc"]]
    assert [math.isnan(x) for x in loss] == [True, True, False, True] and loss[2] == 0.25
    assert acc[:3] == [0.5, 0.75, 1.0] and math.isnan(acc[3])
    assert len(data["x"]) == 4
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per key
        cb.on_batch_end(4, "train", {"loss": "again"})
        cb.flush()
