import warnings

import pytest

from livetrain import Callback, CallbackDisabledWarning, CallbackList


class Recorder(Callback):
    def __init__(self):
        self.calls = []

    def on_epoch_end(self, epoch, phase, history):
        self.calls.append((epoch, phase))


class Broken(Callback):
    def __init__(self):
        self.calls = 0

    def on_epoch_end(self, epoch, phase, history):
        self.calls += 1
        raise ZeroDivisionError("plot exploded")


def test_a_raising_callback_is_switched_off_with_one_warning_and_others_go_on():
    rec, broken = Recorder(), Broken()
    cbs = CallbackList([broken, rec])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for e in range(3):
            cbs.on_epoch_end(e, "train", {})
    assert broken.calls == 1
    assert rec.calls == [(0, "train"), (1, "train"), (2, "train")]
    assert len(caught) == 1 and caught[0].category is CallbackDisabledWarning
    msg = str(caught[0].message)
    assert "Broken.on_epoch_end" in msg and "ZeroDivisionError: plot exploded" in msg


def test_keyboard_interrupt_in_a_callback_is_not_swallowed():
    class Stop(Callback):
        def on_epoch_end(self, epoch, phase, history):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        CallbackList([Stop()]).on_epoch_end(0, "train", {})


def test_non_callbacks_are_rejected_with_what_they_lack():
    with pytest.raises(TypeError, match="object lacks set_params, on_train_begin"):
        CallbackList([object()])


def test_duck_typed_callbacks_are_accepted():
    class Duck:
        def __getattr__(self, name):
            return lambda *a: None

    CallbackList([Duck()]).on_train_end({})
