"""SummaryWriter: torch's methods record every kind in the history (steps, wall times), take numpy, torch and JAX
values, never raise into the training loop, and write event files that TensorBoard's own loader reads."""
import time
import warnings
from pathlib import Path

import jax.numpy as jnp
import matplotlib
import numpy as np
import pytest
import torch
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
from tensorboard.util import tensor_util

from livetrain.core.tbvalues import image_hwc
from livetrain.writer import SummaryWriter

matplotlib.use("Agg")
import matplotlib.pyplot as plt


@pytest.fixture
def live(tmp_path):
    """A writer with event files in tmp_path and no board."""
    with SummaryWriter(tmp_path / "run", show=False) as writer:
        yield writer


def events(folder: Path) -> list:
    """Every event TensorBoard's own loader reads from the event files directly in ``folder``."""
    files = sorted(folder.glob("events.out.tfevents.*"))
    assert files, f"no event file in {folder}"
    return [e for f in files for e in EventFileLoader(str(f)).Load()]


def values(folder: Path) -> dict[str, list]:
    """tag -> [(step, summary value)] in the event files of ``folder``."""
    out: dict[str, list] = {}
    for e in events(folder):
        for v in e.summary.value:
            out.setdefault(v.tag, []).append((e.step, v))
    return out


def number(value) -> float:
    """A scalar as the loader gives it (it migrates ``simple_value`` to a scalars-plugin tensor, as TensorBoard)."""
    return value.simple_value if value.WhichOneof("value") == "simple_value" else \
        tensor_util.make_ndarray(value.tensor).item()


def caught(call) -> list[str]:
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        call()
    return [str(w.message) for w in seen]


def test_every_kind_is_recorded_with_its_step_and_wall_time(live):
    before = time.time()
    live.add_scalar("train/loss", 0.5, 3)
    live.add_scalars("loss", {"train": 0.4, "test": 0.6}, 3)
    live.add_image("img", np.zeros((3, 4, 5)), 4)
    live.add_images("batch", np.zeros((2, 1, 4, 5)), 5)
    fig = plt.figure(figsize=(1, 1), dpi=20)
    live.add_figure("fig", fig, 6)
    live.add_text("notes", "lr = 0.1", 7)
    live.add_histogram("weights", np.arange(10.0), 8)
    live.add_pr_curve("pr", np.array([1, 0, 1]), np.array([0.9, 0.1, 0.6]), 9)
    live.add_embedding(np.zeros((4, 3)), metadata=list("abcd"), global_step=10)
    live.add_graph(torch.nn.Linear(2, 3), torch.zeros(1, 2))
    live.add_hparams({"lr": 0.1, "opt": "sgd"}, {"hparam/acc": 0.9})
    h = live.history
    assert h.steps["train/loss"].step.tolist() == [3] and h.steps["train/loss"].value.tolist() == [0.5]
    assert sorted(t for t in h.steps if t.startswith("loss/")) == ["loss/test", "loss/train"]
    kinds = {tag: r.kind for tag, r in h.records.items()}
    assert kinds == {"img": "image", "batch": "image", "fig": "image", "notes": "text", "weights": "histogram",
                     "pr": "pr_curve", "default": "embedding", "graph": "graph", "hparams": "hparams"}
    steps = {tag: r.entries[-1][0] for tag, r in h.records.items()}
    assert [steps[t] for t in ("img", "batch", "fig", "notes", "weights", "pr", "default")] == [4, 5, 6, 7, 8, 9, 10]
    for tag, r in h.records.items():
        assert before <= r.entries[-1][1] <= time.time(), tag
    assert h.records["img"].entries[-1][2].shape == (4, 5, 3)
    assert h.records["fig"].entries[-1][2].shape == (20, 20, 3)
    assert not plt.fignum_exists(fig.number)  # closed, as torch does
    assert h.records["notes"].entries[-1][2] == "lr = 0.1"
    hist = h.records["weights"].entries[-1][2]
    assert (hist["min"], hist["max"], hist["num"], hist["sum"]) == (0.0, 9.0, 10, 45.0)
    assert h.records["pr"].entries[-1][2]["precision"].shape == (127,)
    assert h.records["graph"].entries[-1][2]["parameters"] == 9
    assert h.records["hparams"].entries[-1][2] == {"hparams": {"lr": 0.1, "opt": "sgd"}, "metrics": {"hparam/acc": 0.9}}


def test_walltime_and_a_missing_step(live):
    live.add_scalar("a", 1.0, walltime=123.0)
    live.add_scalar("a", 2.0)
    live.add_scalar("b", 3.0, 10)
    live.add_scalar("b", 4.0)
    trace = live.history.steps["a"]
    assert trace.wall[0] == 123.0 and trace.step.tolist() == [0, 1]  # None: one past the last step logged
    assert live.history.steps["b"].step.tolist() == [10, 11]


@pytest.mark.parametrize("make", [float, np.float32, lambda v: np.array([v]), torch.tensor,
                                  lambda v: torch.tensor([v], requires_grad=True) * 1, jnp.float32,
                                  lambda v: jnp.asarray([v])])
def test_scalar_value_types(live, make):
    for i in range(3):
        live.add_scalar("x", make(0.25 * i), torch.tensor(i) if i == 2 else np.int64(i))
    assert live.history.steps["x"].value.tolist() == [0.0, 0.25, 0.5]
    assert live.history.steps["x"].step.tolist() == [0, 1, 2]


@pytest.mark.parametrize("make", [np.asarray, torch.tensor, jnp.asarray])
def test_image_value_types_and_dataformats(live, make):
    chw = np.random.default_rng(0).random((3, 4, 5), dtype=np.float32)
    expected = (chw.transpose(1, 2, 0) * 255).astype(np.uint8)  # torch's scaling: x * 255, clipped, truncated
    for i, (image, form) in enumerate([(chw, "CHW"), (chw.transpose(1, 2, 0), "HWC"), (chw.transpose(2, 1, 0), "WHC")]):
        live.add_image("rgb", make(image), i, dataformats=form)
        assert np.array_equal(live.history.records["rgb"].entries[-1][2], expected)
    live.add_image("gray", make(np.full((4, 5), 255, np.uint8)), 0, dataformats="HW")
    assert live.history.records["gray"].entries[-1][2].tolist() == np.full((4, 5, 3), 255).tolist()
    live.add_images("grid", make(np.ones((10, 2, 3, 1), np.float32)), 0, dataformats="NHWC")
    assert live.history.records["grid"].entries[-1][2].shape == (4, 24, 3)  # 8 per row, no padding, as torch


def test_images_match_torchs_event_pixels():
    from torch.utils.tensorboard.summary import image as torch_image

    batch = np.random.default_rng(1).random((11, 1, 5, 6), dtype=np.float32)
    ours = image_hwc(batch, "NCHW")
    theirs = torch_image("t", batch, dataformats="NCHW").value[0].image
    assert (theirs.height, theirs.width, theirs.colorspace) == (*ours.shape[:2], 3)
    import io

    from PIL import Image

    assert np.array_equal(np.asarray(Image.open(io.BytesIO(theirs.encoded_image_string))), ours)


def test_a_bad_value_warns_once_per_tag_and_never_raises(live):
    messages = caught(lambda: [live.add_scalar("loss", "high", i) for i in range(3)])
    assert len(messages) == 1 and "add_scalar('loss'" in messages[0] and "str" in messages[0]
    messages = caught(lambda: [live.add_image("img", np.zeros((2, 3)), i) for i in range(3)])  # CHW needs 3-D
    assert len(messages) == 1 and "CHW" in messages[0]
    assert len(caught(lambda: live.add_scalar("other", [1, 2], 0))) == 1  # another tag: its own warning
    assert caught(lambda: live.add_histogram("h", np.array([np.nan]), 0)) != []
    assert caught(lambda: live.add_pr_curve("pr", [1, 0], [2.0, 0.5], 0)) != []  # predictions outside [0, 1]
    assert caught(lambda: live.add_scalar("", 1.0)) != []
    assert caught(lambda: live.add_text("t", 3, 0)) != []
    assert "loss" not in live.history.steps
    live.add_scalar("loss", 0.5, 5)  # the tag still works
    assert live.history.steps["loss"].value.tolist() == [0.5]


def test_unsupported_methods_and_arguments_warn_once_naming_them(tmp_path):
    messages = caught(lambda: SummaryWriter(tmp_path, purge_step=10, show=False).close())
    assert len(messages) == 1 and "purge_step" in messages[0]
    writer = SummaryWriter(tmp_path, show=False)
    messages = caught(lambda: [writer.add_video("v", np.zeros((1, 2, 3, 4, 4)), i) for i in range(3)])
    assert len(messages) == 1 and "add_video" in messages[0]
    messages = caught(lambda: [writer.add_histogram("h", np.arange(3.0), i, max_bins=5) for i in range(3)])
    assert len(messages) == 1 and "max_bins" in messages[0]
    messages = caught(lambda: [writer.add_graph(object()) for _ in range(3)])  # only torch models are traced
    assert len(messages) == 1 and "add_graph" in messages[0] and "object" in messages[0]
    with pytest.raises(AttributeError):
        writer.no_such_thing  # noqa: B018 - only add_* methods are stood in for
    writer.close()


def test_the_warning_points_at_the_callers_line(live):
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        live.add_scalar("bad", object(), 0)
    assert seen[0].filename == __file__


def test_event_files_hold_what_torch_writes_and_tensorboard_reads(tmp_path):
    run = tmp_path / "run"
    writer = SummaryWriter(run, show=False)
    assert list(run.glob("events.out.tfevents.*"))  # created with the writer, as torch does
    for i in range(5):
        writer.add_scalar("train/loss", jnp.float32(1 / (i + 1)), i)
    writer.add_scalars("loss", {"train": 0.4, "test": 0.6}, 4)
    writer.add_image("img", np.ones((3, 4, 5)), 4)
    writer.add_text("notes", "<b>hi</b>", 4)
    writer.add_histogram("w", np.arange(10.0), 4)
    writer.add_pr_curve("pr", np.array([1, 0, 1]), np.array([0.9, 0.1, 0.6]), 4)
    writer.add_hparams({"lr": 0.1}, {"hparam/acc": 0.9}, run_name="hp")
    writer.flush()
    got = values(run)
    assert [(s, round(number(v), 4)) for s, v in got["train/loss"]] == [(0, 1.0), (1, 0.5), (2, 0.3333),
                                                                           (3, 0.25), (4, 0.2)]
    image = got["img"][0][1]  # the loader migrates images and histograms to their plugins' tensors
    assert image.metadata.plugin_data.plugin_name == "images"
    width, height, png = image.tensor.string_val
    assert (width, height, png[:4]) == (b"5", b"4", b"\x89PNG")
    assert tensor_util.make_ndarray(got["notes"][0][1].tensor).item() == b"<b>hi</b>"
    assert tensor_util.make_ndarray(got["w"][0][1].tensor)[:, 2].sum() == 10  # (left, right, count) buckets
    assert tensor_util.make_ndarray(got["pr"][0][1].tensor).shape == (6, 127)
    assert [number(v) for _, v in values(run / "loss_train")["loss"]] == [pytest.approx(0.4)]
    assert [number(v) for _, v in values(run / "loss_test")["loss"]] == [pytest.approx(0.6)]
    assert number(values(run / "hp")["hparam/acc"][0][1]) == pytest.approx(0.9)
    writer.close()


def test_files_are_flushed_without_flush_or_close(tmp_path):
    writer = SummaryWriter(tmp_path, show=False, interval=0.05)
    writer.add_scalar("loss", 0.5, 0)
    deadline = time.monotonic() + 10
    while "loss" not in values(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "loss" in values(tmp_path)  # within an interval (not torch's 120 s), by the throttle's helper
    writer.close()


def test_writing_goes_on_after_close_as_with_torch(tmp_path):
    writer = SummaryWriter(tmp_path, show=False)
    writer.add_scalar("a", 1.0, 0)
    writer.close()
    writer.add_scalar("a", 2.0, 1)
    writer.close()
    assert len(list(tmp_path.glob("events.out.tfevents.*"))) == 2
    assert [s for s, _ in values(tmp_path)["a"]] == [0, 1]
    assert writer.history.steps["a"].value.tolist() == [1.0, 2.0]


def test_an_unwritable_log_dir_warns_and_the_rest_goes_on(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.warns(RuntimeWarning, match="cannot write event files") as seen:
        writer = SummaryWriter(blocker / "run", show=False)
    assert len(seen) == 1
    writer.add_scalar("a", 1.0, 0)
    writer.close()
    assert writer.history.steps["a"].value.tolist() == [1.0]


def test_default_log_dir_is_torchs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    writer = SummaryWriter(comment="_exp", show=False)
    assert writer.log_dir.startswith("runs") and writer.log_dir.endswith("_exp")
    assert list(Path(writer.log_dir).glob("events.out.tfevents.*"))
    writer.close()
    SummaryWriter(write_to_disk=False, show=False).close()
    assert len(list(Path("runs").iterdir())) == 1  # write_to_disk=False made no folder
