"""ScalarsView in a real ipykernel: what each update puts on IOPub as a series grows to 100,000 points, mixed
cadences on one axis, and panels for new tags reaching the page."""
import json
import statistics

import pytest
from kernel_session import KernelSession, bokeh_displays, pushes, stdout

SHOW = """
import json, time
import numpy as np
from livetrain.views.scalars import ScalarsView
view = ScalarsView(width=400, interval=60)  # interval=60: only flush() pushes, one update each
view.end_with_cell = False  # one run over several cells
view
"""
# one point per update, each pushed on its own (flushes closer than display.base.MIN_GAP go out as one push)
UPDATES = """
rng = np.random.default_rng({start})
for step in range({start}, {start} + {n}):
    view.log({{"loss": float(rng.normal())}}, step); view.flush(); time.sleep(0.12)
"""
IDS = "print(json.dumps({t: p.sources[t].id for t, p in view.panels.items()}))"


@pytest.fixture(scope="module")
def kernel():
    ks = KernelSession()
    yield ks
    ks.close()


def resets(push) -> bool:
    return any(ev["kind"] == "ColumnDataChanged" for ev in push.events)


def test_bytes_per_update_stay_flat_from_ten_to_a_hundred_thousand_points(kernel):
    assert len(bokeh_displays(kernel.run(SHOW))) == 1
    early = pushes(kernel.run(UPDATES.format(start=0, n=13)))
    kernel.run("""
values = np.random.default_rng(0).normal(size=100_000)
for step in range(13, 100_000):
    view.history.log({"loss": values[step]}, step)
view.on_log(99_999, {"loss": None}, view.history); view.flush(); time.sleep(0.2)
""")
    late = pushes(kernel.run(UPDATES.format(start=100_000, n=24)))
    rows = json.loads(stdout(kernel.run("print(json.dumps(len(view.panels['loss'].sources['loss'].data['x'])))")))
    assert rows <= 800  # two rows per pixel of the 400-pixel panel, at 100,012 points
    early_bytes = statistics.median(p.wire_bytes for p in early if not resets(p))
    late_bytes = statistics.median(p.wire_bytes for p in late if not resets(p))
    assert len(early) >= 10 and len(late) >= 20
    assert late_bytes <= 1.25 * early_bytes, (early_bytes, late_bytes)  # O(new data), not O(points)
    assert max(p.wire_bytes for p in late) < 60_000  # even a reset (the buckets doubled) is only the page copy
    print(f"bytes per update: median {early_bytes} at ~10 points, {late_bytes} at ~100,000; page rows {rows}")


def test_mixed_cadences_share_the_step_axis_without_gaps(kernel):
    kernel.run(SHOW)
    run = kernel.run("""
for step in range(60):
    view.log({"train/loss": 1 / (step + 1)}, step)
    if step % 10 == 0:
        view.log({"test/accuracy": step / 100}, step)
    if step % 20 == 19:
        view.flush(); time.sleep(0.12)
""")
    ids = json.loads(stdout(kernel.run(IDS)))
    assert list(ids) == ["train/loss", "test/accuracy"]
    sent = {tag: received(pushes(run), source) for tag, source in ids.items()}
    assert sent["train/loss"]["x"] == list(range(60))
    assert sent["test/accuracy"]["x"] == list(range(0, 60, 10))  # its own points only: no NaN between them
    assert sent["test/accuracy"]["y"] == [s / 100 for s in range(0, 60, 10)]


def test_a_new_tag_reaches_the_page_as_a_panel_and_then_as_data(kernel):
    kernel.run(SHOW)
    kernel.run('view.log({"loss": 1.0}, 0); view.flush(); time.sleep(0.12)')
    run = kernel.run("""
view.log({"new/tag": 0.5}, 1); view.flush(); time.sleep(0.12)
for step in range(2, 6):
    view.log({"new/tag": step / 10, "loss": 1.0}, step); view.flush(); time.sleep(0.12)
""")
    ids = json.loads(stdout(kernel.run(IDS)))
    ps = pushes(run)
    added = [ev for p in ps for ev in p.events if ev["kind"] == "ModelChanged" and ev["attr"] == "children"]
    assert added and ids["new/tag"] in json.dumps(added[0]["new"])  # the figure and its source, in the patch
    assert '"name":"Figure"' in json.dumps(added[0]["new"], separators=(",", ":"))
    assert received(ps, ids["new/tag"])["y"] == [0.5, 0.2, 0.3, 0.4, 0.5]  # later points reach the new source
    assert received(ps, ids["loss"])["x"] == [2, 3, 4, 5]
    assert not bokeh_displays(run)  # in place: the output is not redrawn


def received(all_pushes, model_id: str) -> dict[str, list]:
    """The rows the page's source gets: in the model, when it joins the page (as a new panel), then from streams
    and patches."""
    rows: dict[str, list] = {}
    for p in all_pushes:
        for ev in p.events:
            if ev["kind"] == "ModelChanged" and not rows:
                rows = {c: list(v) for c, v in initial(ev["new"], model_id).items()}
            if ev.get("model", {}).get("id") != model_id:
                continue
            if ev["kind"] == "ColumnsStreamed":
                for col, vals in ev["data"]["entries"]:
                    rows.setdefault(col, []).extend(vals)
            elif ev["kind"] == "ColumnsPatched":
                for col, patches in ev["patches"]["entries"]:
                    for index, value in patches:
                        rows[col][index] = value
            elif ev["kind"] == "ColumnDataChanged":
                raise AssertionError("no reset expected below the page's budget")
    return rows


def initial(value, model_id: str) -> dict[str, list]:
    """The data of the source ``model_id`` where a serialised model (a new panel) defines it, else nothing."""
    if isinstance(value, dict):
        if value.get("id") == model_id and value.get("name") == "ColumnDataSource":
            return dict(value["attributes"]["data"]["entries"])
        value = list(value.values())
    for item in value if isinstance(value, list) else ():
        found = initial(item, model_id)
        if found:
            return found
    return {}
