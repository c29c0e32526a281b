"""The adapters' Recorder: a framework step only notes its values; they reach the history and the views in order,
in batches, and nothing noted is lost when the run ends or the history is read."""
import threading
import time
import warnings

import pytest

from livetrain import Callback
from livetrain.adapters.base import HAND_OVER, Recorder


class Seen(Callback):
    def __init__(self) -> None:
        self.logs: list[tuple[int, dict]] = []
        self.ended_with: list[int] = []

    def on_log(self, step, logs, history):
        self.logs.append((step, dict(logs)))

    def on_train_end(self, history):
        self.ended_with.append(len(history.steps["train/loss"]))


def test_a_step_only_notes_its_values_and_the_views_get_them_in_order_within_the_hand_over():
    seen = Seen()
    rec = Recorder([seen])
    rec.log({"train/loss": 1.0}, step=1)  # the first is handed over at once
    for step in range(2, 6):
        rec.log({"train/loss": 1.0 / step}, step=step)
    assert [s for s, _ in seen.logs] == [1]  # the others are only noted
    time.sleep(HAND_OVER * 1.5)
    rec.log({"train/loss": 0.1}, step=6)
    assert [s for s, _ in seen.logs] == [1, 2, 3, 4, 5, 6]
    assert seen.logs[3] == (4, {"train/loss": 0.25})


def test_a_view_that_reads_steps_hears_of_the_last_of_each_run_of_steps_with_the_same_tags():
    class Reads(Seen):
        reads_steps = True

        def on_log(self, step, logs, history):  # the whole series is there already
            super().on_log(step, logs, history)
            self.lengths.append(len(history.steps["train/loss"]))

    every, last = Seen(), Reads()
    last.lengths = []
    rec = Recorder([every, last])
    rec.log({"train/loss": 1.0}, step=0)  # handed over at once
    for step in range(1, 5):
        rec.log({"train/loss": 1.0 / step}, step=step)
    rec.log({"val/loss": 0.5}, step=4)
    rec.log({"train/loss": 0.1}, step=5)
    rec.end()
    assert [s for s, _ in every.logs] == [0, 1, 2, 3, 4, 4, 5]  # every step, in order
    assert last.logs == [(0, {"train/loss": 1.0}), (4, {"train/loss": 0.25}), (4, {"val/loss": 0.5}),
                         (5, {"train/loss": 0.1})]
    assert last.lengths == [1, 5, 6, 6]  # told after the history has the step, maybe later ones too


def test_a_view_whose_on_log_raises_is_switched_off_and_the_others_go_on():
    class Broken(Callback):
        def on_log(self, step, logs, history):
            raise ValueError("boom")

    seen, broken = Seen(), Broken()
    rec = Recorder([broken, seen])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for step in range(3):
            rec.log({"train/loss": float(step)}, step=step)
        rec.end()
    assert [s for s, _ in seen.logs] == [0, 1, 2] and rec.callbacks.active == [seen]
    assert len([w for w in caught if "Broken.on_log raised ValueError: boom" in str(w.message)]) == 1


def test_reading_the_history_or_ending_hands_over_everything_noted():
    seen = Seen()
    rec = Recorder([seen])
    for step in range(10):
        rec.log({"train/loss": float(step)}, step=step)
    assert rec.history.steps["train/loss"].value.tolist() == [float(s) for s in range(10)]
    rec.log({"train/loss": 10.0}, step=10)
    rec.end()
    assert seen.ended_with == [11] and len(seen.logs) == 11


def test_values_are_copied_when_noted_so_a_framework_reusing_its_dict_changes_nothing():
    rec = Recorder([])
    logs = {"train/loss": 1.0}
    rec.log(logs, step=0)
    logs["train/loss"] = 2.0
    rec.log(logs, step=1)
    logs["train/loss"] = 3.0
    assert rec.history.steps["train/loss"].value.tolist() == [1.0, 2.0]


def test_a_value_that_is_not_a_number_is_left_out_with_one_warning_and_the_others_go_on():
    rec = Recorder([])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rec.log({"train/loss": 1.0}, step=0)
        rec.log({"train/loss": "nan?"}, step=1)
        rec.log({"train/loss": [1, 2]}, step=2)
        rec.log({"train/loss": 0.5}, step=3)
        h = rec.history
    assert h.steps["train/loss"].step.tolist() == [0, 3]
    messages = [str(w.message) for w in caught if "livetrain" in str(w.message)]
    assert len(messages) == 1 and "train/loss" in messages[0]


def test_convert_runs_at_the_hand_over_and_its_error_is_a_warning():
    calls = []

    def tagged(logs):
        calls.append(dict(logs))
        if "bad" in logs:
            raise ValueError("no number in it")
        return {f"train/{k}": v for k, v in logs.items()}

    rec = Recorder([])
    rec.log({"loss": 1.0}, step=0, convert=tagged)
    rec.log({"loss": 0.5}, step=1, convert=tagged)
    assert len(calls) == 1  # the second is converted later, off the step's path
    with pytest.warns(RuntimeWarning, match="no number in it"):
        rec.log({"bad": 1}, step=2, convert=tagged)
        h = rec.history
    assert h.steps["train/loss"].value.tolist() == [1.0, 0.5]


def test_a_view_that_reads_the_history_during_a_hand_over_neither_waits_nor_reorders():
    class Reader(Callback):
        def __init__(self):
            self.lengths = []

        def on_log(self, step, logs, history):
            self.lengths.append(len(rec.history.steps["train/loss"]))

    reader = Reader()
    rec = Recorder([reader])
    for step in range(5):
        rec.log({"train/loss": float(step)}, step=step)
    done = threading.Event()
    threading.Thread(target=lambda: (rec.hand_over(), done.set()), daemon=True).start()
    assert done.wait(5)
    assert reader.lengths == [1, 2, 3, 4, 5]


def test_logs_from_several_threads_are_all_kept():
    rec = Recorder([])

    def work(offset):
        for i in range(500):
            rec.log({f"t{offset}": float(i)}, step=offset * 1000 + i)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    h = rec.history
    assert all(h.steps[f"t{k}"].value.tolist() == [float(i) for i in range(500)] for k in range(4))
