"""KerasCallback with real Keras 3 (torch backend) on the digits: fit()'s own numbers, the batch running means at
global steps, Keras's async batch dispatch kept, a broken view, and the example live in a real kernel."""
import json
import os
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from kernel_session import pushes, stdout
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import livetrain
from livetrain import Board, Callback, LinePlotsCallback

os.environ["KERAS_BACKEND"] = "torch"  # before keras is imported
import keras
from adapter_views import shown

from livetrain.adapters import keras as adapter
from livetrain.adapters.keras import KerasCallback

pytestmark = pytest.mark.usefixtures("no_display")

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "keras_digits.py"
BATCHES = 45  # 1437 training digits in batches of 32


def fit(callback: keras.callbacks.Callback, epochs: int = 2) -> dict[str, list[float]]:
    """A small dense model fitted on the digits with validation; fit()'s ``History.history``."""
    torch.set_num_threads(1)
    keras.utils.set_random_seed(0)
    data = load_digits()
    x_train, x_val, y_train, y_val = train_test_split((data.data / 16).astype("float32"), data.target,
                                                      test_size=0.2, random_state=0, stratify=data.target)
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(10)])
    model.compile(optimizer="adam", metrics=["accuracy"],
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=epochs, batch_size=32, verbose=0,
                     callbacks=[callback]).history


@pytest.fixture(scope="module")
def fitted():
    """One two-epoch fit drawn by a Board and a LinePlotsCallback: (callback, fit()'s history, line view)."""
    livetrain.set_transport("none")
    line = LinePlotsCallback(keys=("loss", "accuracy"))
    callback = KerasCallback(callbacks=[Board(), line])
    yield callback, fit(callback), line
    livetrain.set_transport(None)


def test_the_history_equals_what_fit_reports(fitted):
    callback, reported, _ = fitted
    assert callback.history == {"train": {k: v for k, v in reported.items() if not k.startswith("val_")},
                                "val": {k[4:]: v for k, v in reported.items() if k.startswith("val_")}}
    assert callback.history is callback.recorder.history


def test_epoch_values_are_drawn_at_the_global_step_and_by_epoch(fitted):
    callback, reported, line = fitted
    for tag in ("train/loss", "train/accuracy", "val/loss", "val/accuracy"):
        trace = callback.history.steps[tag]
        assert trace.step.tolist() == [BATCHES, 2 * BATCHES] and trace.epoch.tolist() == [1.0, 2.0]
    assert callback.history.steps["val/loss"].value.tolist() == reported["val_loss"]
    line.flush()
    assert line.sources["val"].data[line.columns["loss"]] == reported["val_loss"]  # LinePlotsCallback's epochs too


def test_batch_logs_are_traced_as_running_means_at_global_steps(fitted):
    callback, reported, _ = fitted
    trace = callback.history.steps["train/loss (running mean)"]
    assert trace.step.tolist() == list(range(1, 2 * BATCHES + 1))  # batches since training began
    assert trace.epoch[BATCHES - 1] == 1.0 and 0 < trace.epoch[0] < trace.epoch[1] < 1
    # the last running mean of an epoch is the epoch's mean: Keras's batch logs are not the batch's values
    assert trace.value[[BATCHES - 1, 2 * BATCHES - 1]].tolist() == reported["loss"]
    assert "running means" in adapter.__doc__ and "running mean" in KerasCallback.__doc__


def test_keras_keeps_dispatching_the_batch_hooks_asynchronously():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])

    class Plain(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            pass

    assert keras.callbacks.CallbackList([KerasCallback(callbacks=[])], model=model)._async_train
    assert not keras.callbacks.CallbackList([Plain()], model=model)._async_train  # what overriding alone does

    class Watched(KerasCallback):
        def on_train_batch_end(self, batch, logs=None):
            threads.add(threading.get_ident())
            super().on_train_batch_end(batch, logs)

    threads: set[int] = set()
    watched = Watched(callbacks=[])
    fit(watched, epochs=1)
    assert threads and threading.get_ident() not in threads  # Keras's worker threads ran the hook
    assert len(watched.history.steps["train/loss (running mean)"]) == BATCHES


def test_batch_ends_that_arrive_out_of_order_are_logged_in_order():
    callback = KerasCallback(callbacks=[])
    callback.set_params({"epochs": 1, "steps": 3})
    callback.on_train_begin()
    callback.on_epoch_begin(0)
    callback.on_train_batch_end(1, {"loss": 0.4})  # a worker thread got ahead of batch 0's
    assert "train/loss (running mean)" not in callback.history.steps
    callback.on_train_batch_end(0, {"loss": 0.5})
    callback.on_train_batch_end(2, {"loss": 0.3})
    trace = callback.history.steps["train/loss (running mean)"]
    assert trace.step.tolist() == [1, 2, 3] and trace.value.tolist() == [0.5, 0.4, 0.3]


def test_batch_ends_follow_steps_per_execution_and_an_end_held_too_long_is_logged_anyway():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse", steps_per_execution=4)  # Keras reports batches 3, 7 and 9 (short)
    callback = KerasCallback(callbacks=[])
    callback.set_model(model)
    callback.set_params({"epochs": 1, "steps": 10})
    callback.on_train_begin()
    callback.on_epoch_begin(0)
    callback.on_train_batch_end(3, {"loss": 0.5})
    callback.on_train_batch_end(9, {"loss": 0.3})  # ahead of batch 7's
    assert callback.history.steps["train/loss (running mean)"].step.tolist() == [4]
    callback.on_train_batch_end(7, {"loss": 0.4})
    assert callback.history.steps["train/loss (running mean)"].step.tolist() == [4, 8, 10]

    callback.on_epoch_end(0, {"loss": 0.3})
    callback.on_epoch_begin(1)
    callback.on_train_batch_end(7, {"loss": 0.2})  # batch 3's end never comes: not held past one hand-over
    assert callback.history.steps["train/loss (running mean)"].step.tolist() == [4, 8, 10]
    time.sleep(adapter.HAND_OVER)
    assert callback.history.steps["train/loss (running mean)"].step.tolist() == [4, 8, 10, 18]


def test_a_broken_view_does_not_stop_training():
    class Broken(Callback):
        def on_log(self, step, logs, history):
            raise ValueError("boom")

        def on_epoch_end(self, epoch, phase, history):
            raise ValueError("boom")

    callback = KerasCallback(callbacks=[Broken()])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reported = fit(callback)
    assert callback.history["val"]["loss"] == reported["val_loss"]
    assert any("boom" in str(w.message) for w in caught)


def test_the_example_draws_live_in_a_kernel(kernel):
    run = kernel.run(f"import json, runpy\nh = runpy.run_path({str(EXAMPLE)!r}, run_name='example')['main'](epochs=5)",
                     timeout=240)
    traces = json.loads(stdout(kernel.run(
        "print(json.dumps({t: [tr.step.tolist(), tr.value.tolist()] for t, tr in h.steps.items()}))")))
    page = shown(pushes(run))
    assert len(pushes(run)) >= 3  # updates during training (5 epochs: a first push of new panels may wait 1 s)
    assert set(page) == set(traces) and "val/loss" in page and "train/loss (running mean)" in page
    for tag, (steps, values) in traces.items():
        assert page[tag]["x"] == steps and np.allclose(page[tag]["y"], values), tag
