"""Step-level traces and records: each tag at its own cadence, values read lazily and in one batch, clear errors."""
import math
import threading

import jax.numpy as jnp
import numpy as np
import pytest
import torch

from livetrain import History
from livetrain.core.steps import Records, Trace


class Lazy:
    """A user-defined number: counts how often it is read."""
    reads = 0

    def __init__(self, x):
        self.x = x

    def __float__(self):
        Lazy.reads += 1
        return float(self.x)


class CountingTensor(torch.Tensor):
    """A real torch tensor that counts the reads of one value at a time (each one a device sync on a GPU)."""
    reads = 0

    def item(self):
        CountingTensor.reads += 1
        return super().item()

    def __float__(self):
        CountingTensor.reads += 1
        return super().__float__()


def test_mixed_cadences_keep_their_own_steps_without_padding():
    h = History()
    for step in range(100):
        h.log({"train/loss": 1 / (step + 1)}, step)
        if step % 10 == 0:
            h.log({"test/accuracy": step / 100}, step)
    loss, acc = h.steps["train/loss"], h.steps["test/accuracy"]
    assert len(loss) == 100 and len(acc) == 10
    assert acc.step.tolist() == list(range(0, 100, 10)) and acc.value.tolist() == [s / 100 for s in range(0, 100, 10)]
    assert not np.isnan(acc.value).any() and not np.isnan(loss.value).any()


def test_step_none_is_one_past_the_largest_step_logged():
    h = History()
    assert h.log({"a": 1.0}) == 0 and h.log({"a": 2.0}, step=10) == 10 and h.log({"b": 3.0}) == 11
    assert h.log({"a": 4.0}, step=5) == 5 and h.log({"a": 5.0}) == 12
    assert h.steps["a"].step.tolist() == [0, 10, 5, 12]
    assert h.record("pic", "image", np.zeros((2, 2)), ) == 13


def test_columns_hold_wall_and_epoch_and_are_read_only():
    h = History()
    h.log({"loss": 0.5}, 3, wall=1000.0, epoch=0.25)
    h.log({"loss": 0.25}, 4, wall=1001.0)
    t = h.steps["loss"]
    assert t.wall.tolist() == [1000.0, 1001.0] and t.epoch[0] == 0.25 and math.isnan(t.epoch[1])
    assert h.steps.started == 1000.0
    assert (t.step.dtype, t.value.dtype, t.wall.dtype, t.epoch.dtype) == (np.int64, np.float64, np.float64,
                                                                          np.float64)
    with pytest.raises(ValueError, match="read-only"):
        t.value[0] = 1.0


def test_values_are_not_read_when_logged_only_in_one_batch_when_read():
    h = History()
    Lazy.reads = CountingTensor.reads = 0
    for i in range(1000):
        h.log({"user": Lazy(i), "torch": torch.tensor(float(i)).as_subclass(CountingTensor)})
    assert Lazy.reads == 0 and CountingTensor.reads == 0  # logging read nothing
    assert h.steps["torch"].value.tolist() == [float(i) for i in range(1000)]
    assert CountingTensor.reads == 0  # stacked and copied once, not read value by value
    assert h.steps["user"].value.tolist() == [float(i) for i in range(1000)]
    assert Lazy.reads == 1000
    h.steps["user"].value  # noqa: B018 - a second read converts nothing again
    assert Lazy.reads == 1000


def test_every_kind_of_scalar_reads_back_in_order():
    h = History()
    values = [0.5, 2, True, np.float32(0.25), np.array(1.5), np.array([2.5]), torch.tensor(3.5, requires_grad=True),
              torch.tensor([4.5], dtype=torch.bfloat16), jnp.float32(5.5), jnp.array([6.5]), Lazy(7.5), [8.5]]
    for v in values:
        h.log({"x": v})
    assert h.steps["x"].value.tolist() == [0.5, 2.0, 1.0, 0.25, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5]


def test_jax_values_read_in_one_batch():
    h = History()
    for i in range(200):
        h.log({"loss": jnp.float32(i) / 2})
    np.testing.assert_array_equal(h.steps["loss"].value, np.arange(200) / 2)


def test_reading_jax_values_compiles_nothing_whatever_the_batch_length():
    import jax.monitoring

    compiled = []

    def listen(name, secs, **kw):
        if "backend_compile" in name:
            compiled.append(name)

    h = History()
    values = [jnp.float32(i) * 3 for i in range(60)]  # computed before: their own compilation is not counted
    jax.monitoring.register_event_duration_secs_listener(listen)
    try:
        for n in (3, 7, 11, 19, 20):  # a read per push, each of another length
            for v in values[:n]:
                h.log({"loss": v})
            assert len(h.steps["loss"].value) == len(h.steps["loss"])
    finally:
        jax.monitoring.unregister_event_duration_listener(listen)
    assert compiled == []  # jnp.stack compiled once per length: 50 ms of CPU each, on the training's own cores
    assert len(h.steps["loss"]) == 60


@pytest.mark.parametrize("value, given", [
    ("high", "got str 'high'"), ({"a": 1}, "got dict of 1"), ([1.0, 2.0], "got list of 2"),
    (np.zeros(3), r"got ndarray with shape \(3,\)"), (torch.zeros(2, 2), r"got Tensor with shape \(2, 2\)"),
    (object(), "got object"),
])
def test_a_value_that_cannot_be_a_number_is_a_type_error_naming_the_tag(value, given):
    h = History()
    with pytest.raises(TypeError, match=rf"'train/acc': expected a number or a 0-d \(one-element\) array/tensor, "
                                        rf"{given}"):
        h.log({"train/loss": 1.0, "train/acc": value})
    assert not h.steps  # nothing was logged


def test_a_value_that_fails_when_read_names_the_tag_and_step_once():
    class Broken:
        def __float__(self):
            raise ValueError("device lost")

    h = History()
    h.log({"loss": 1.0}, 0)
    h.log({"loss": Broken()}, 7)
    with pytest.raises(TypeError, match=r"trace 'loss': the value logged at step 7 is not a number.*reads as NaN"):
        h.steps["loss"].value  # noqa: B018
    assert h.steps["loss"].value[0] == 1.0 and math.isnan(h.steps["loss"].value[1])


def test_bad_arguments_are_clear_errors():
    h = History()
    with pytest.raises(TypeError, match="tags must be str, got int 3"):
        h.log({3: 1.0})
    with pytest.raises(TypeError, match="step must be an int or None, got float 1.5"):
        h.log({"a": 1.0}, 1.5)
    with pytest.raises(ValueError, match="record kind must be one of image, histogram"):
        h.record("a", "movie", b"")
    h.record("a", "text", "hi")
    with pytest.raises(ValueError, match=r"records\['a'\] holds text values; got a 'image' value"):
        h.record("a", "image", np.zeros((2, 2)))


def test_one_thread_appends_while_another_reads():
    t, n = Trace("loss"), 200_000
    seen = []

    def read():
        while len(seen) < 1 or seen[-1] < n:
            seen.append(len(t.value))

    reader = threading.Thread(target=read)
    reader.start()
    for i in range(n):
        t.append(i, float(i), 0.0)
    reader.join(timeout=60)
    assert t.step.tolist() == list(range(n)) and t.value.tolist() == [float(i) for i in range(n)]
    assert seen == sorted(seen)


def test_a_million_points_are_held_in_full():
    t = Trace("loss")
    for i in range(1_000_000):
        t.append(i, 0.5, 1.0)
    assert len(t) == 1_000_000 and t.value.sum() == 500_000.0 and t.step[-1] == 999_999


def test_records_keep_the_last_images_and_every_other_kind():
    images, texts = Records("image"), Records("text")
    for step in range(25):
        images.append(step, 0.0, np.full((2, 2), step))
        texts.append(step, 0.0, str(step))
    assert images.total == 25 and [e[0] for e in images.entries] == list(range(15, 25))
    assert len(texts.entries) == 25
    held = Records("image", keep=2)
    held.saved = 0  # saved to a file: nothing leaves memory before it is saved
    for step in range(5):
        held.append(step, 0.0, step)
    assert [e[0] for e in held.entries] == [3, 4] and held.first == 0 and len(held.since(0)) == 5
    held.saved = 4
    held.trim()
    assert held.first == 3 and [e[0] for e in held.since(0)] == [3, 4]


def test_a_history_with_traces_and_records_pickles_and_copies():
    import copy
    import pickle

    h = History({"train": {"loss": [1.0]}})
    h.log({"loss": torch.tensor(0.5)}, 3, wall=7.0)
    h.record("notes", "text", "hi", 4)
    for back in (pickle.loads(pickle.dumps(h)), copy.deepcopy(h)):
        assert back == h and back.steps["loss"].value.tolist() == [0.5] and back.steps.started == 7.0
        assert back.records["notes"].entries[0][::2] == (4, "hi") and back.log({"loss": 1.0}) == 5
