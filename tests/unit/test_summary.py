"""livetrain.summary, shaped like tf.summary: a default writer, a default step, and the same four functions."""
import warnings

import jax.numpy as jnp
import matplotlib
import numpy as np
import pytest
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

from livetrain import summary

matplotlib.use("Agg")
import matplotlib.pyplot as plt


@pytest.fixture(autouse=True)
def fresh():
    summary._reset()
    yield
    summary._reset()


def writer(**options) -> summary.FileWriter:
    return summary.create_file_writer("runs/unused", write_to_disk=False, show=False, **options)


def test_functions_record_into_the_default_writer_only():
    w = writer()
    assert summary.scalar("Loss", 1.0, step=1) is False  # no default writer: nothing, as in TensorFlow
    with w.as_default():
        assert summary.scalar("Loss", jnp.float32(0.5), step=2)
        assert summary.text("notes", "hello", step=2)
        assert summary.histogram("w", np.arange(100.0), step=2, buckets=5)
        assert summary.image("batch", np.zeros((5, 8, 8, 1)), step=2, max_outputs=2)
    assert summary.scalar("Loss", 0.25, step=3) is False
    h = w.writer.history
    assert h.steps["Loss"].step.tolist() == [2] and h.steps["Loss"].value.tolist() == [0.5]
    assert h.records["notes"].entries[-1][2] == "hello"
    assert len(h.records["w"].entries[-1][2]["bucket"]) == 6  # 5 buckets and the empty one before
    assert h.records["batch"].entries[-1][2].shape == (8, 16, 3)  # the first max_outputs, tiled


def test_seed_001s_three_cadences_share_one_axis(tmp_path):
    w = summary.create_file_writer(str(tmp_path / "run"), show=False)
    fig = plt.figure(figsize=(1, 1), dpi=30)
    with w.as_default():
        for i in range(30):
            summary.scalar("Loss", 1 / (i + 1), step=i + 1)
            if (i + 1) % 10 == 0 or i == 0:
                summary.scalar("Accuracy", i / 30, step=i + 1)
            if (i + 1) % 15 == 0 or i == 0:
                summary.image(f"Step {i + 1} Accuracy Testsheet", fig, step=i + 1)
    h = w.writer.history
    assert h.steps["Loss"].step.tolist() == list(range(1, 31))
    assert h.steps["Accuracy"].step.tolist() == [1, 10, 20, 30]
    assert sorted(h.records) == ["Step 1 Accuracy Testsheet", "Step 15 Accuracy Testsheet",
                                 "Step 30 Accuracy Testsheet"]
    assert h.records["Step 1 Accuracy Testsheet"].entries[-1][2].shape == (30, 30, 3)
    assert not plt.fignum_exists(fig.number)  # rendered, then closed, as the seed's plot_to_image does
    w.close()
    [file] = (tmp_path / "run").glob("events.out.tfevents.*")
    tags = {v.tag for e in EventFileLoader(str(file)).Load() for v in e.summary.value}
    assert tags == {"Loss", "Accuracy", "Step 1 Accuracy Testsheet", "Step 15 Accuracy Testsheet",
                    "Step 30 Accuracy Testsheet"}


def test_the_default_step():
    w = writer()
    with w.as_default(step=7):
        summary.scalar("a", 1.0)
        assert summary.experimental.get_step() == 7
    assert summary.experimental.get_step() is None
    summary.experimental.set_step(3)
    with w.as_default():
        summary.scalar("a", 2.0)
        summary.scalar("a", 3.0, step=10)  # step= wins
    assert w.writer.history.steps["a"].step.tolist() == [7, 3, 10]


def test_no_step_warns_once_where_tensorflow_raises():
    w = writer()
    with w.as_default(), warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        results = [summary.scalar("a", 1.0) for _ in range(3)]
    assert results == [False] * 3
    assert len(seen) == 1 and "no step" in str(seen[0].message) and seen[0].filename == __file__
    assert "a" not in w.writer.history.steps


def test_set_as_default_and_nesting():
    outer, inner = writer(), writer()
    outer.set_as_default(step=1)
    summary.scalar("x", 1.0)
    with inner.as_default():
        summary.scalar("x", 2.0)
    summary.scalar("x", 3.0, step=2)
    assert outer.writer.history.steps["x"].value.tolist() == [1.0, 3.0]
    assert inner.writer.history.steps["x"].value.tolist() == [2.0]


def test_bad_values_warn_and_training_goes_on():
    w = writer()
    with w.as_default(), warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        summary.scalar("a", "not a number", step=0)
        summary.image("img", np.zeros((2, 2, 2, 2)), step=0)  # two channels
        assert summary.scalar("b", 1.0, step="ten") is False
    assert len(seen) == 3 and "step" in str(seen[2].message)
    assert not w.writer.history.steps and not w.writer.history.records


def test_noop_writer_records_nothing():
    with summary.create_noop_writer().as_default():
        assert summary.scalar("x", 1.0, step=0) is False
