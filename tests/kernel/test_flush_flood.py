"""``flush()`` after every call, in a real kernel: the pushes keep a hard minimum time between them (Jupyter's
server drops a kernel's messages past 1,000 a second, and a page that missed one stayed wrong), and every row
still reaches the page."""
from kernel_session import announcements, pushes, streamed_rows

from livetrain.display.base import MIN_GAP

ROWS = 3000
FLOOD = """
from livetrain import LinePlotsCallback, set_transport
set_transport("push")
cb = LinePlotsCallback(keys=("loss",), phases=("train",))
cb
"""
LOOP = f"""
h = {{"train": {{"loss": []}}}}
for e in range({ROWS}):
    h["train"]["loss"].append(1 / (e + 1))
    cb.on_epoch_end(e, "train", h)
    cb.flush()
"""


def test_a_flush_after_every_call_is_paced_and_loses_no_row(kernel):
    kernel.run(FLOOD)
    during = kernel.run(LOOP)
    sent = pushes(during)
    times = [p.messages[0].sent_at for p in sent]
    span = times[-1] - times[0]
    assert len(sent) <= span / MIN_GAP + 2, (len(sent), span)  # not one push per flush
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert min(gaps[:-1]) >= MIN_GAP * 0.9, gaps  # the last: the run's end, sent at once
    source = kernel.run("print(cb.sources['train'].id)")
    source_id = next(m.content["text"].strip() for m in source if m.msg_type == "stream")
    assert streamed_rows(sent, source_id)["epoch"] == list(range(1, ROWS + 1))  # every row, in order
    final = [a for a in announcements(during) if a.content["data"].get("final")]  # the cell's end ends the run
    assert len(final) == 1 and final[0].content["data"]["seq"] == len(sent)  # announced once more, as it ends
