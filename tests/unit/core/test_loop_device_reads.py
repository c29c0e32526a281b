"""``train_loop`` never waits for the device per batch: device values returned by ``step`` are added up on the
device and read back at the display rate (the progress bar: one transfer of all its metrics; each live view: one per
metric) and once per epoch, not once per batch. Counted with a tensor subclass that records every ``.item()``,
``__float__`` and ``.cpu()``."""
import collections
import time

import pytest

torch = pytest.importorskip("torch")

from livetrain import Board, LinePlotsCallback, train_loop  # noqa: E402
from livetrain.core.loop import POSTFIX_S  # noqa: E402

pytestmark = pytest.mark.usefixtures("no_display")
READS = collections.Counter()
READERS = {"item", "__float__", "cpu"}


class Counted(torch.Tensor):
    """A tensor that counts the calls that copy its value to the host."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if name in READERS:
            READS[name] += 1
        return super().__torch_function__(func, types, args, kwargs or {})


def step(batch, phase):
    loss = (torch.full((), float(batch)) * 0.001).as_subclass(Counted)
    return {"loss": loss, "acc": (loss * 0 + 0.5), "batch_size": 1}


@pytest.mark.parametrize("views", [[], ["line", "board"]], ids=["bar", "bar+views"])
def test_a_thousand_batches_read_the_device_once_per_window_per_reader(views):
    callbacks = [{"line": lambda: LinePlotsCallback(keys=("loss", "acc"), batch_phases=("train",)),
                  "board": Board}[v]() for v in views]
    READS.clear()
    start = time.monotonic()
    history = train_loop(step, {"train": list(range(1000)), "test": list(range(10))}, epochs=2, callbacks=callbacks)
    for cb in callbacks:
        cb.flush()
    elapsed = time.monotonic() - start
    windows = elapsed / POSTFIX_S + 1
    per_window = 1 + 2 * len(views)  # the progress bar's one transfer, and each view's, of each of the 2 metrics
    epoch_reads = 2 * 2 * 2  # each epoch's sums: 2 epochs x 2 phases x 2 metrics
    forced = 2 * len(views) * (2 * 2 + 1)  # a view's push at once at each phase's end and at the flush, between windows
    reads = sum(READS.values())
    assert reads <= per_window * windows + epoch_reads + forced, (reads, dict(READS), f"{elapsed:.2f} s")
    assert reads < 200  # against 4,040 values returned: one read each would be 20 times more
    assert history["train"]["loss"] == pytest.approx([0.4995, 0.4995])
    assert history.steps["train/loss"].value[-1] == pytest.approx(0.999)  # the step traces hold every batch, read


def test_the_loss_graph_is_not_kept_across_batches():
    w = torch.ones((), requires_grad=True)

    def train(batch, phase):
        loss = w * batch
        loss.backward()
        return {"loss": loss}

    history = train_loop(train, {"train": [1.0, 2.0, 3.0]}, epochs=1, progress=False)
    assert history["train"]["loss"] == [2.0]
    assert history.steps["train/loss"].value.tolist() == [1.0, 2.0, 3.0]
