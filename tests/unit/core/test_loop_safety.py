"""train_loop keeps the data whatever happens: Ctrl-C pressed again while the run ends, a full disk under
``history_path``, loaders that yield nothing; and its errors name what was expected and what was given.
The Ctrl-C and full-disk cases run ``train_loop`` in a real child process (real SIGINT, real RLIMIT_FSIZE)."""
import json
import signal
import subprocess
import sys
import textwrap
import warnings

import pytest

from livetrain import Callback, History, LinePlotsCallback, train_loop
from livetrain.core.callback import CallbackDisabledWarning

CHILD = textwrap.dedent("""
    import json, os, resource, signal, sys, time, warnings
    from livetrain import Callback, History, train_loop

    def say(what):
        print(what, flush=True)

    class Stall(Callback):
        '''Says when each epoch ends; its final hook (on_train_end or on_exception) is a minute-long drawing.'''
        def __init__(self, hook):
            self.hook = hook
        def on_epoch_end(self, epoch, phase, history):
            say(f"{phase} {epoch + 1}")
        def on_train_end(self, history):
            self.stall("on_train_end")
        def on_exception(self, exception, history):
            self.stall("on_exception")
        def stall(self, hook):
            if hook == self.hook:
                say("drawing")
                time.sleep(60)

    def step(batch, phase):
        if batch == "wait":
            say("waiting")
            time.sleep(60)
        if batch == "fail":
            raise ValueError("bad batch")
        return {"loss": 0.5, **{f"metric_{i}": 0.25 for i in range(30)}}

    def result(history, **extra):
        say("RESULT " + json.dumps({"epochs": {p: len(s["loss"]) for p, s in history.items()}, **extra}))
""")


def run_child(tmp_path, code, interrupt_on=()):
    """Run CHILD + ``code`` in a fresh Python; send SIGINT when it prints each line of ``interrupt_on``, in order.
    Returns the RESULT it printed, and its stderr."""
    proc = subprocess.Popen([sys.executable, "-B", "-c", CHILD + textwrap.dedent(code)], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pending, result = list(interrupt_on), None
    for line in proc.stdout:
        if pending and line.strip() == pending[0]:
            pending.pop(0)
            proc.send_signal(signal.SIGINT)
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT "):])
    err = proc.stderr.read()
    proc.wait(timeout=120)
    assert not pending, f"the child never printed {pending}; stderr:\n{err}"
    assert result is not None, f"train_loop gave no history back; stderr:\n{err}"
    return result, err


# Ctrl-C twice: the second lands in the callbacks' final drawing

def test_ctrl_c_while_the_final_plot_is_drawn_returns_the_whole_history(tmp_path):
    out, err = run_child(tmp_path, """
        h = train_loop(step, {"train": ["a"], "test": ["b"]}, epochs=3, callbacks=[Stall("on_train_end")],
                       history_path="h.json", progress=False)
        result(h, saved=History.load("h.json").epochs("test"))
    """, interrupt_on=["drawing"])
    assert out == {"epochs": {"train": 3, "test": 3}, "saved": 3}
    assert "interrupted while the run ended" in err


def test_ctrl_c_twice_returns_every_epoch_recorded(tmp_path):
    out, err = run_child(tmp_path, """
        batches = iter([["a"], ["a"], ["wait"]])
        class Loader:
            def __iter__(self):
                return iter(next(batches))
        h = train_loop(step, {"train": Loader(), "test": ["b"]}, epochs=5, callbacks=[Stall("on_exception")],
                       history_path="h.json", progress=False)
        result(h, saved=History.load("h.json").epochs("test"))
    """, interrupt_on=["waiting", "drawing"])
    assert out == {"epochs": {"train": 2, "test": 2}, "saved": 2}
    assert "interrupted; returning the history of 2 epoch(s) (Ctrl-C again cut the final drawing short)" in err


def test_ctrl_c_while_an_error_is_reported_keeps_the_error_and_its_history(tmp_path):
    out, _ = run_child(tmp_path, """
        batches = iter([["a"], ["a"], ["fail"]])
        class Loader:
            def __iter__(self):
                return iter(next(batches))
        try:
            train_loop(step, {"train": Loader()}, epochs=3, callbacks=[Stall("on_exception")], progress=False)
        except ValueError as exc:
            result(exc.history, error=str(exc))
    """, interrupt_on=["drawing"])
    assert out == {"epochs": {"train": 2}, "error": "bad batch"}


# A full disk: saving fails with OSError errno 27 (EFBIG) once a file would pass the limit (bytes)

FULL_DISK = """
    resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead of killing
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        {run}
    notes = [str(w.message) for w in caught]
    sidecar = (json.load(open("h.json"))["sidecar"] or {{}}).get("file") if os.path.exists("h.json") else None
    leftovers = sorted(f for f in os.listdir() if f not in ("h.json", sidecar))
"""


def test_a_full_disk_warns_once_and_training_goes_on(tmp_path):
    out, _ = run_child(tmp_path, FULL_DISK.format(limit=6000, run="""h = train_loop(step, {"train": ["a"], \
"test": ["b"]}, epochs=12, history_path="h.json", progress=False)""") + """
    result(h, saved=History.load("h.json").epochs("test"), notes=notes, leftovers=leftovers)
    """)
    assert out["epochs"] == {"train": 12, "test": 12}
    assert 1 <= out["saved"] < 12  # the last save that fit is intact
    assert out["leftovers"] == []  # no temporary file left behind
    assert len(out["notes"]) == 1
    assert "h.json" in out["notes"][0] and "File too large" in out["notes"][0]


def test_a_full_disk_then_an_error_still_attaches_the_history(tmp_path):
    out, _ = run_child(tmp_path, FULL_DISK.format(limit=3000, run="""batches = iter([["a"], ["fail"]])
        class Loader:
            def __iter__(self):
                return iter(next(batches))
        try:  # the resumed history alone is too large to save
            train_loop(step, {"train": Loader()}, epochs=2, history=History({"train": {"loss": [0.5] * 700}}),
                       history_path="h.json", progress=False)
        except ValueError as exc:
            h = exc.history""") + """
    result(h, notes=notes, leftovers=leftovers)
    """)
    assert out["epochs"] == {"train": 701}
    assert out["leftovers"] == [] and len(out["notes"]) == 1


# Loaders that yield no batches

def test_a_generator_loader_warns_naming_the_phase_and_why():
    batches = [[1.0], [3.0]]
    with pytest.warns(RuntimeWarning) as caught:
        h = train_loop(lambda b, p: {"loss": b[0]}, {"train": (b for b in batches)}, epochs=3, progress=False)
    assert h["train"]["loss"] == [2.0]
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "'train'" in message and "epoch 2" in message and "iterated only once" in message
    assert "list" in message


def test_a_phase_whose_batches_give_no_metrics_is_not_called_empty():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        h = train_loop(lambda b, p: {}, {"train": [[1]]}, epochs=2, progress=False)
    assert h == {"train": {}}


def test_an_empty_phase_is_skipped_and_the_other_phases_go_on(tmp_path):
    seen = []

    class Ends(Callback):
        def on_epoch_end(self, epoch, phase, history):
            seen.append((epoch, phase))

    cb = LinePlotsCallback(epochs=3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        h = train_loop(lambda b, p: {"loss": 1.0, "acc": 0.5}, {"train": [[1]], "test": []}, epochs=3,
                       callbacks=[cb, Ends()], history_path=tmp_path / "h.json", progress=False)
    assert h == {"train": {"loss": [1.0] * 3, "acc": [0.5] * 3}}
    assert History.load(tmp_path / "h.json") == h
    assert seen == [(0, "train"), (1, "train"), (2, "train")]
    assert not [w for w in caught if issubclass(w.category, CallbackDisabledWarning)]  # the plot goes on
    empty = [str(w.message) for w in caught if "no batches" in str(w.message)]
    assert len(empty) == 1 and "'test'" in empty[0] and "empty" in empty[0]


# history_path saves what the callbacks add

def test_history_path_holds_what_callbacks_add_up_to_the_end(tmp_path):
    class Adds(Callback):
        def on_epoch_end(self, epoch, phase, history):
            history[phase].setdefault("lr", []).append(0.1 / (epoch + 1))

        def on_train_end(self, history):
            history["best"] = {"loss": [min(history["test"]["loss"])]}

    losses = iter(range(10, 0, -1))
    h = train_loop(lambda b, p: {"loss": next(losses)}, {"train": [1], "test": [2]}, epochs=3, callbacks=[Adds()],
                   history_path=tmp_path / "h.json", progress=False)
    assert h["test"]["lr"] == [0.1, 0.05, pytest.approx(0.1 / 3)] and h["best"] == {"loss": [5.0]}
    assert History.load(tmp_path / "h.json") == h


# Clear errors

def test_a_metric_too_large_for_a_float_names_the_key():
    with pytest.raises(OverflowError, match=r"metric 'loss': expected a number up to about 1\.8e308 .*got an int"):
        train_loop(lambda b, p: {"loss": 10**400}, {"train": [[1]]}, epochs=1, progress=False)


@pytest.mark.parametrize("history, got", [({}, "got a dict"), (dict, "got the class dict"),
                                          ({"train": {"loss": [1.0]}}, "got a dict")])
def test_history_must_be_a_history(history, got):
    with pytest.raises(TypeError, match=rf"history must be a livetrain.History: History\(d\).*History.load\(path\)"
                                        rf".*{got}"):
        train_loop(lambda b, p: {"loss": 1.0}, {"train": [[1]]}, epochs=1, history=history, progress=False)


def test_a_view_interval_of_none_is_a_clear_error():
    with pytest.raises(ValueError, match="interval must be a number of seconds >= 0, got None"):
        LinePlotsCallback(interval=None)
