"""``on_batch_end`` takes no lock: rows logged while a push applies others are neither lost nor streamed unread."""
import threading

import numpy as np

from livetrain import LinePlotsCallback


def test_rows_logged_during_pushes_all_arrive_read_and_in_order():
    cb = LinePlotsCallback(epochs=1, keys=("loss",), phases=("train",), steps_per_epoch=20_000)
    cb.end_with_cell = False
    done = threading.Event()

    def pushes():  # a push every few hundred microseconds, racing with the training loop
        while not done.is_set():
            cb.flush()

    pusher = threading.Thread(target=pushes)
    pusher.start()
    try:
        for i in range(20_000):
            cb.on_batch_end(i, "train", {"loss": np.float32(i)})  # a raw value: read only when applied
    finally:
        done.set()
        pusher.join()
    cb.flush()
    data = cb.batch_sources["train"].data
    assert len(data["x"]) == 20_000
    assert all(type(v) is float for v in data["y0"])
    assert data["y0"] == [float(i) for i in range(20_000)]
