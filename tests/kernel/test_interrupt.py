"""Ctrl-C in a notebook (a kernel interrupt: SIGINT to a real ipykernel) never loses the history: pressed again
while the run ends and the callbacks draw their final plots, it cuts the drawing short and ``train_loop`` still
returns every epoch recorded."""
import json
import time

import pytest
from kernel_session import KernelSession, stdout

SETUP = """
import json, time
from livetrain import *

def say(what):
    print(what, flush=True)

def step(batch, phase):
    if batch == "wait":
        say("waiting")
        time.sleep(60)
    return {"loss": 0.5, "acc": 0.25}

class Epochs:
    '''A loader whose epochs hold the given batches, in turn.'''
    def __init__(self, *epochs):
        self.epochs = iter(epochs)
    def __iter__(self):
        return iter(next(self.epochs))

class Stall(Callback):
    '''Its final hook (on_train_end or on_exception) says "drawing", then draws for a minute unless told not to.'''
    def __init__(self, hook, seconds=60):
        self.hook, self.seconds = hook, seconds
    def on_train_end(self, history):
        self.stall("on_train_end")
    def on_exception(self, exception, history):
        self.stall("on_exception")
    def stall(self, hook):
        if hook == self.hook:
            say("drawing")
            time.sleep(self.seconds)

def epochs(h):
    return json.dumps({p: len(s["loss"]) for p, s in h.items()})
"""


@pytest.fixture(scope="module")
def kernel():
    ks = KernelSession()
    ks.run(SETUP)
    yield ks
    ks.close()


def run_interrupted(ks, code, interrupt_on, timeout=120):
    """Execute ``code``; interrupt the kernel (as Jupyter's stop button does) when it prints each line of
    ``interrupt_on``, in order. Returns the cell's IOPub messages once it is idle."""
    msg_id, pending, out = ks.kc.execute(code), list(interrupt_on), []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = ks._recv(1.0)
        if msg is None:
            continue
        out.append(msg)
        if msg.msg_type == "stream" and pending and pending[0] in msg.content["text"].split():
            pending.pop(0)
            ks.km.interrupt_kernel()
        if msg.msg_type == "status" and msg.parent_id == msg_id and msg.content["execution_state"] == "idle":
            break
    else:
        raise TimeoutError(f"the cell did not end in {timeout}s")
    assert not pending, f"the cell never printed {pending}"
    return out


def stderr(messages):
    return "".join(m.content["text"] for m in messages if m.msg_type == "stream" and m.content["name"] == "stderr")


def recorded(ks):
    """How many epochs of each phase the kernel's ``h`` holds."""
    return json.loads(stdout(ks.run("print(epochs(h))")))


def test_ctrl_c_twice_with_a_live_plot_returns_every_epoch_and_stores_the_final_plot(kernel):
    kernel.run("h = None\ncb = LinePlotsCallback(epochs=5)\ncb")
    run = run_interrupted(kernel, "h = train_loop(step, {'train': Epochs(['a'], ['a'], ['wait']), 'test': ['b']}, "
                                  "epochs=5, callbacks=[cb, Stall('on_exception')], progress=False)",
                          interrupt_on=["waiting", "drawing"])
    assert recorded(kernel) == {"train": 2, "test": 2}
    assert "(Ctrl-C again cut the final drawing short)" in stderr(run)
    assert [m for m in run if m.msg_type == "update_display_data"]  # the plot's final state, drawn before


def test_ctrl_c_in_on_train_end_returns_the_whole_history_and_saves_it(kernel, tmp_path):
    kernel.run("h = None\ncb = LinePlotsCallback(epochs=3)\ncb")
    run = run_interrupted(kernel, f"h = train_loop(step, {{'train': ['a'], 'test': ['b']}}, epochs=3, "
                                  f"callbacks=[cb, Stall('on_train_end')], history_path={str(tmp_path / 'h.json')!r}, "
                                  f"progress=False)", interrupt_on=["drawing"])
    assert recorded(kernel) == {"train": 3, "test": 3}
    assert "interrupted while the run ended" in stderr(run)
    assert json.loads((tmp_path / "h.json").read_text())["history"]["test"]["loss"] == [0.5] * 3


def test_ctrl_c_again_while_the_live_plot_draws_its_final_png(kernel):
    """The second interrupt lands in LinePlotsCallback's own final drawing (its PNG takes a second or more)."""
    kernel.run("h = None\ncb = LinePlotsCallback(epochs=5)\ncb")
    run = run_interrupted(kernel, "h = train_loop(step, {'train': Epochs(['a'], ['wait']), 'test': ['b']}, "
                                  "epochs=5, callbacks=[Stall('on_exception', seconds=0), cb], progress=False)",
                          interrupt_on=["waiting", "drawing"])
    assert recorded(kernel) == {"train": 1, "test": 1}
    assert "(Ctrl-C again cut the final drawing short)" in stderr(run)
