"""SummaryWriter in a real ipykernel: the board appears in the writer's cell, each add_* kind travels as in-place
data events (a new tag adds its panel once), mixed cadences share one step axis, and the cell's end leaves the final
board."""
import json

import pytest
from kernel_session import KernelSession, bokeh_displays, bokeh_models, embedded_sources, pushes, stdout

DATA = {"ColumnsStreamed", "ColumnsPatched", "ColumnDataChanged", "ModelChanged"}


@pytest.fixture(scope="module")
def kernel():
    ks = KernelSession()
    ks.run("import json, time\nimport numpy as np\nfrom livetrain.writer import SummaryWriter")
    yield ks
    ks.close()


@pytest.fixture
def shown(kernel):
    """A writer whose board only pushes on flush(), kept live over the test's cells."""
    return kernel.run("w = SummaryWriter(write_to_disk=False, interval=60)\nw.board.end_with_cell = False")


@pytest.fixture
def status(kernel, shown) -> str:
    """The id of the board's status line (which every update changes)."""
    return stdout(kernel.run("print(w.board.status.id)")).strip()


def run(kernel, code: str) -> list:
    """``code`` then a flush: the pushes it made."""
    return pushes(kernel.run(f"{code}\nw.flush(); time.sleep(0.1)"))


def kinds(ps) -> set[str]:
    return {ev["kind"] for p in ps for ev in p.events}


def new_models(ps) -> int:
    """How many models the pushes define in full (a new panel's figure, glyphs, sources...)."""
    return sum(1 for p in ps for _ in bokeh_models(p.events))


def model_texts(ps) -> list[str]:
    return [ev["new"] for p in ps for ev in p.events if ev["kind"] == "ModelChanged" and ev["attr"] == "text"]


def test_the_board_appears_in_the_cell_that_makes_the_writer(kernel, shown):
    assert len(bokeh_displays(shown)) == 1
    assert not pushes(shown)


@pytest.mark.parametrize("first, again", [
    ("w.add_scalar('train/loss', 0.5, 0)", "w.add_scalar('train/loss', 0.25, 1)"),
    ("w.add_scalars('loss', {'train': 0.5, 'test': 0.6}, 0)", "w.add_scalars('loss', {'train': 0.4, 'test': 0.5}, 1)"),
    ("w.add_image('img', np.zeros((3, 8, 8)), 0)", "w.add_image('img', np.ones((3, 8, 8)), 1)"),
    ("w.add_images('imgs', np.zeros((4, 1, 8, 8)), 0)", "w.add_images('imgs', np.ones((4, 1, 8, 8)), 1)"),
    ("import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt\n"
     "w.add_figure('fig', plt.figure(figsize=(1, 1), dpi=20), 0)",
     "w.add_figure('fig', plt.figure(figsize=(1, 1), dpi=20), 1)"),
    ("w.add_text('notes', 'a', 0)", "w.add_text('notes', 'b', 1)"),
    ("w.add_histogram('h', np.arange(9.0), 0)", "w.add_histogram('h', np.arange(9.0), 1)"),
    ("w.add_pr_curve('pr', np.array([1, 0]), np.array([0.9, 0.2]), 0)",
     "w.add_pr_curve('pr', np.array([1, 0]), np.array([0.8, 0.3]), 1)"),
    ("w.add_embedding(np.zeros((4, 2)), global_step=0)", "w.add_embedding(np.ones((4, 2)), global_step=1)"),
    ("w.add_graph(object())", "w.add_graph(object())"),
    ("w.add_hparams({'lr': 0.1}, {'acc': 0.9})", "w.add_hparams({'lr': 0.2}, {'acc': 0.8})"),
])
def test_each_kind_adds_its_panel_once_then_updates_it_in_place(kernel, status, first, again):
    created = run(kernel, first)
    assert created and new_models(created) > 0, "the new tag's panel travels with its first values"
    assert kinds(created) <= DATA
    updated = run(kernel, again)
    assert updated, "the second value is pushed"
    assert new_models(updated) == 0 and kinds(updated) <= DATA, "later values change the panel in place"
    assert {ev["model"]["id"] for p in updated for ev in p.events} - {status}, "the panel itself changed"
    assert not bokeh_displays(kernel.run("pass"))


def test_an_image_travels_as_one_binary_buffer_of_its_rgba_bytes(kernel, shown):
    run(kernel, "w.add_image('pic', np.zeros((3, 30, 40)), 0)")
    [p] = run(kernel, "w.add_image('pic', np.ones((3, 30, 40)), 1)")
    patched = [ev for ev in p.events if ev["kind"] == "ColumnsPatched"]
    assert len(patched) == 1
    [(column, [(index, array)])] = patched[0]["patches"]["entries"]
    assert (column, index, array["dtype"], array["shape"]) == ("image", 0, "uint32", [30, 40])
    assert len(p.messages[2].comm_text) < 4000 + 30 * 40 * 4 * 4 // 3  # the pixels as bytes (base64), not as JSON
    assert [len(raw) for _, raw in p.arrays()] == [30 * 40 * 4]
    assert "pic (step 1)" in model_texts([p])  # the panel's title says which step it shows


def test_texts_travel_escaped(kernel, shown):
    ps = run(kernel, "w.add_text('evil', '</script><img src=x onerror=alert(1)>', 0)")
    texts = " ".join(model_texts(ps)) + " ".join(p.messages[2].comm_text for p in ps)
    assert "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in texts
    assert "<img src=x" not in texts


def test_mixed_cadences_share_one_step_axis(kernel, shown):
    kernel.run("for i in range(100):\n"
               "    w.add_scalar('mixed/loss', 1 / (i + 1), i)\n"
               "    if i % 10 == 0:\n"
               "        w.add_scalar('mixed/accuracy', i / 100, i)\n"
               "w.flush(); time.sleep(0.1)")
    steps = json.loads(stdout(kernel.run(
        "print(json.dumps({t: w.history.steps[t].step.tolist() for t in ('mixed/loss', 'mixed/accuracy')}))")))
    assert steps["mixed/loss"] == list(range(100)) and steps["mixed/accuracy"] == list(range(0, 100, 10))
    shown_x = json.loads(stdout(kernel.run(
        "from bokeh.models import ColumnDataSource\n"
        "panels = [w.board.panels[t].root for t in ('mixed/loss', 'mixed/accuracy')]\n"
        "xs = [{float(x) for s in p.select({'type': ColumnDataSource}) for x in s.data.get('x', [])} for p in panels]\n"
        "print(json.dumps([sorted(x) for x in xs]))")))
    assert set(shown_x[1]) <= set(map(float, range(0, 100, 10))) and 90.0 in shown_x[1]  # accuracy at its own steps
    assert 99.0 in shown_x[0]  # the last point is always kept


def test_the_cells_end_leaves_the_final_board(kernel):
    first = kernel.run("w2 = SummaryWriter(write_to_disk=False)")
    ids = [m.content["transient"]["display_id"] for m in first
           if m.msg_type == "display_data" and m.content.get("transient")]
    assert len(ids) == 2
    done = kernel.run("for i in range(20):\n    w2.add_scalar('final/loss', 1 / (i + 1), i)\n"
                      "w2.add_text('final/notes', 'done', 19)")
    updates = [m for m in done if m.msg_type == "update_display_data"]
    assert [u.content["transient"]["display_id"] for u in updates] == ids
    script = updates[1].content["data"]["application/javascript"]
    assert "done" in script and "notebook_comms_target" not in script
    assert embedded_sources(script)  # the data is in the stored output
