"""In a real ipykernel: what a LinePlotsCallback puts on IOPub, message by message."""
import json
import statistics

import pytest
from kernel_session import announcements, bokeh_displays, pushes, stdout, streamed_rows

SETUP = """
import json, time
from livetrain import LinePlotsCallback
cb = LinePlotsCallback(epochs={epochs}, phases={phases!r})
cb.end_with_cell = {end_with_cell}
cb
"""
IDS = ("print(json.dumps({p: s.id for p, s in cb.sources.items()}"
       " | {'batch_' + p: s.id for p, s in cb.batch_sources.items()}))")


def show(kernel, epochs=2000, phases=("train", "test"), end_with_cell=False):
    """Display a line view; unless ``end_with_cell``, it stays live over the test's cells, as one run would."""
    first = kernel.run(SETUP.format(epochs=epochs, phases=phases, end_with_cell=end_with_cell))
    ids = json.loads(stdout(kernel.run(IDS)))
    return first, ids


def test_cb_as_last_expression_displays_the_plot_once_with_a_comm(kernel):
    first, _ = show(kernel)
    [display] = bokeh_displays(first)
    opened = [m.content["target_name"] for m in first if m.msg_type == "comm_open"]
    assert len(opened) == 2 and "livetrain" in opened  # Bokeh's comm for pushes, and the page told it is live
    [live] = [m.content["data"] for m in announcements(first)]
    assert live == {"plot": live["plot"], "mode": "push"}
    div = [m for m in first if m.msg_type == "display_data" and "text/html" in m.content["data"]][-1]
    assert f'data-livetrain-plot="{live["plot"]}"' in div.content["data"]["text/html"]  # where a reload redraws it
    assert 'globalThis.__livetrain.listen(' in display.content["data"]["application/javascript"]


def test_each_update_streams_only_the_new_rows_and_never_redisplays(kernel):
    _, ids = show(kernel, end_with_cell=True)
    run = kernel.run("""
h = {'train': {'loss': [], 'acc': []}, 'test': {'loss': [], 'acc': []}}
for e in range(8):
    for ph in ('train', 'test'):
        h[ph]['loss'].append(1 / (e + 1)); h[ph]['acc'].append(e / 10)
        cb.on_epoch_end(e, ph, h)
    print('epoch', e, 'done')
    time.sleep(0.15)
""")
    kinds = [m.msg_type for m in run]
    assert not {"display_data", "clear_output"} & set(kinds)
    final = [m for m in run if m.msg_type == "update_display_data"]  # the cell's end: the final plot replaces it
    assert len(final) == 2 and '<img class="livetrain-final-' in final[0].content["data"]["text/html"]
    assert stdout(run).count("done") == 8  # the user's own output in the same cell stays
    ps = pushes(run)
    assert len(ps) >= 3  # about one an epoch (0.15 s apart), less once the views spent their 10 ms of CPU credit
    for i, p in enumerate(ps):
        other = [ev for ev in p.events if ev["kind"] != "ColumnsStreamed"]
        # only the first push also hides the empty plot's placeholder range, once per figure
        assert other == ([{"kind": "ModelChanged", "model": ev["model"], "attr": "visible", "new": False}
                          for ev in other] if i == 0 else [])
        assert len(other) == (2 if i == 0 else 0)
    for phase in ("train", "test"):
        rows = streamed_rows(ps, ids[phase])
        assert rows["epoch"] == list(range(1, 9))  # every row exactly once: only new rows travel
        assert rows["y0"] == pytest.approx([1 / (e + 1) for e in range(8)])  # y0: the first key, loss


def test_bytes_per_update_do_not_grow_with_the_history(kernel):
    show(kernel, epochs=2000)
    update = """
for e in range({start}, {start} + 10):
    for ph in ('train', 'test'):
        h[ph]['loss'].append(0.5 + 1e-4 / (e + 1)); h[ph]['acc'].append(0.5 - 1e-4 / (e + 1))
        cb.on_epoch_end(e, ph, h)
    cb.flush(); time.sleep(0.2)  # flushes closer than display.base.MIN_GAP go out as one push
"""
    kernel.run("h = {'train': {'loss': [], 'acc': []}, 'test': {'loss': [], 'acc': []}}")
    early = pushes(kernel.run(update.format(start=0)))[-5:]
    kernel.run("""
for e in range(10, 1000):
    for ph in ('train', 'test'):
        h[ph]['loss'].append(0.5 + 1e-4 / (e + 1)); h[ph]['acc'].append(0.5 - 1e-4 / (e + 1))
cb.on_epoch_end(999, 'train', h); cb.on_epoch_end(999, 'test', h); cb.flush()
""")
    late = pushes(kernel.run(update.format(start=1000)))[-5:]
    early_bytes = statistics.median(p.wire_bytes for p in early)
    late_bytes = statistics.median(p.wire_bytes for p in late)
    assert len(early) == len(late) == 5
    assert 0.9 <= late_bytes / early_bytes <= 1.1, (early_bytes, late_bytes)
    assert late_bytes <= 2500


def test_ten_thousand_calls_in_two_seconds_are_throttled_and_lose_nothing(kernel):
    _, ids = show(kernel, epochs=100, phases=("train",))
    run = kernel.run("""
h = {'train': {'loss': [], 'acc': []}}
t0 = time.perf_counter()
for i in range(10000):
    while time.perf_counter() < t0 + i * 0.0002:  # spread the calls over 2 s
        pass
    cb.on_batch_end(i % 100, 'train', {'loss': float(i), 'acc': 0.5})
    if i % 100 == 99:
        h['train']['loss'].append(float(i)); h['train']['acc'].append(0.5)
        cb.on_epoch_end(i // 100, 'train', h)
print('elapsed', time.perf_counter() - t0)
cb.on_train_end(h)
""")
    elapsed = float(stdout(run).split()[-1])
    assert 1.9 <= elapsed <= 3.0
    ps = pushes(run)
    assert 3 <= len(ps) <= 30, len(ps)  # 5,000 rows a second: each push is large, so about one a second
    sent = [p.messages[0].sent_at for p in ps]
    gaps = sorted(b - a for a, b in zip(sent, sent[1:]))
    # pushes come every 0.1 s, less often if they would take over 0.3 % of a CPU, and at least once a second; a
    # loaded machine, as CI's two test workers make it, may stall the kernel once: the worst gap may reach 1.6 s,
    # every other stays within 1.25 s (with 3 gaps, a 90th percentile would be the worst one: CI saw 1.38 s)
    assert gaps[-2] <= 1.25 and gaps[-1] <= 1.6, gaps
    assert streamed_rows(ps, ids["batch_train"])["y0"] == [float(i) for i in range(10000)]
    assert streamed_rows(ps, ids["train"])["y0"] == [float(i) for i in range(99, 10000, 100)]
    assert not [m for m in run if m.msg_type == "stream" and "IOPub" in m.content["text"]]


def test_a_lone_update_is_pushed_by_the_timer_without_further_calls(kernel):
    _, ids = show(kernel, phases=("train",))
    run = kernel.run("""
h = {'train': {'loss': [1.0], 'acc': [0.1]}}
cb.on_epoch_end(0, 'train', h)
h['train']['loss'].append(0.5); h['train']['acc'].append(0.2)
cb.on_epoch_end(1, 'train', h)   # within the throttle interval: deferred
t_recorded = time.time()
print(t_recorded)
time.sleep(1.0)                  # a long step: nobody calls the callback
""")
    t_recorded = float(stdout(run))
    ps = pushes(run)
    last = [p for p in ps if 0.5 in streamed_rows([p], ids["train"]).get("y0", [])]
    assert len(last) == 1
    assert last[0].messages[0].sent_at - t_recorded <= 0.25


def test_train_loop_in_a_kernel_keeps_bars_and_prints_and_marks_an_interrupt(kernel):
    run = kernel.run("""
from livetrain import train_loop
cb = LinePlotsCallback(epochs=5)
def step(batch, phase):
    if batch == 'stop':
        raise KeyboardInterrupt
    return {'loss': 1.0, 'acc': 0.5}
print('before')
h = train_loop(step, {'train': ['a', 'b'], 'test': ['c', 'stop']}, epochs=5, callbacks=[cb])
print('after', dict(h), cb.figures[0].title.text)
""")
    shown = bokeh_displays(run)  # shown once by the loop, then its final state stored in the same output
    assert [m.msg_type for m in shown] == ["display_data", "update_display_data"]
    assert "clear_output" not in [m.msg_type for m in run]
    out = stdout(run)
    assert "before" in out and "after {'train': {'loss': [1.0], 'acc': [0.5]}}" in out and "interrupted" in out
    title_changes = [ev for p in pushes(run) for ev in p.events if ev["kind"] == "ModelChanged"
                     and ev["attr"] == "text" and "interrupted" in ev["new"]]
    assert len(title_changes) == 2  # both figures' titles, pushed at once
    widgets = [m for m in run if m.msg_type == "comm_open"
               and m.content.get("target_name") == "jupyter.widget"]
    assert widgets  # tqdm.auto progress bars are real widgets in the same cell
