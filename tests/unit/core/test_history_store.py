"""History files: the JSON document and its binary sidecar. Round trips, appends of only what is new, kills at any
moment (real SIGKILL of a forked child), orphan cleanup, validation, and a million points."""
import json
import math
import os
import random
import signal
import time

import numpy as np
import pytest
import torch

from livetrain import History
from livetrain.core.history import VERSION


def sidecar(path):
    """The sidecar the JSON document at ``path`` names, or None."""
    info = json.loads(path.read_text())["sidecar"]
    return None if info is None else path.parent / info["file"]


def images(epoch, n=64):
    return np.full((n, 28, 28), epoch, np.float32)


def test_traces_records_images_and_nonfinite_values_round_trip(tmp_path):
    h = History()
    h.append("train", {"loss": math.nan, "recon": images(1), "counts": np.arange(3)})
    h.append("train", {"loss": math.inf, "recon": torch.full((64, 28, 28), 2.0), "counts": [1, 2, 3]})
    h.log({"train/loss": math.nan, "lr": 1e-3}, 0, wall=10.0, epoch=0.5)
    h.log({"train/loss": -math.inf}, 7, wall=11.0)
    h.log({"train/loss": torch.tensor(0.25)}, 8, wall=12.0)
    values = {"image": np.arange(12, dtype=np.uint8).reshape(2, 2, 3), "text": "NaN is a word",
              "histogram": {"counts": np.array([1, 5, 2]), "edges": np.linspace(0, 1, 4)},
              "pr_curve": {"precision": torch.rand(5), "recall": [1.0, 0.5], "thresholds": 127},
              "embedding": {"mat": np.eye(3), "metadata": ["a", "b", "c"]}, "graph": b"\x00graph",
              "hparams": {"lr": 0.1, "bad": math.nan, "best": -math.inf, "name": "run", "layers": (2, 3), "x": None}}
    for step, (kind, value) in enumerate(values.items()):
        h.record(f"r/{kind}", kind, value, step * 10, wall=float(step))
    back = History.load(h.save(tmp_path / "h.json"))
    assert math.isnan(back["train"]["loss"][0]) and back["train"]["loss"][1] == math.inf
    assert back["train"]["counts"][0] == [0, 1, 2] and back["train"]["counts"][1] == [1, 2, 3]
    np.testing.assert_array_equal(back["train"]["recon"][0], images(1))
    np.testing.assert_array_equal(back["train"]["recon"][1], np.full((64, 28, 28), 2.0, np.float32))
    loss = back.steps["train/loss"]
    np.testing.assert_array_equal(loss.value, [math.nan, -math.inf, 0.25])
    assert loss.step.tolist() == [0, 7, 8] and loss.wall.tolist() == [10.0, 11.0, 12.0]
    np.testing.assert_array_equal(loss.epoch, [0.5, math.nan, math.nan])
    assert back.steps["lr"].value.tolist() == [1e-3] and back.steps.started == 10.0
    assert back.log({"lr": 0.5}) == 61  # resumes after the largest step logged (records included)
    got = {tag.split("/")[1]: rec.entries[0] for tag, rec in back.records.items()}
    assert [(s, w) for s, w, _ in got.values()] == [(i * 10, float(i)) for i in range(len(values))]
    assert {tag: rec.kind for tag, rec in back.records.items()} == {f"r/{k}": k for k in values}
    np.testing.assert_array_equal(got["image"][2], values["image"])
    assert got["text"][2] == "NaN is a word" and got["graph"][2] == b"\x00graph"
    np.testing.assert_array_equal(got["histogram"][2]["edges"], values["histogram"]["edges"])
    np.testing.assert_array_equal(got["pr_curve"][2]["precision"], values["pr_curve"]["precision"].numpy())
    assert got["pr_curve"][2]["recall"] == [1.0, 0.5] and got["embedding"][2]["metadata"] == ["a", "b", "c"]
    hp = got["hparams"][2]
    assert math.isnan(hp.pop("bad")) and hp == {"lr": 0.1, "best": -math.inf, "name": "run", "layers": [2, 3],
                                                "x": None}
    text = (tmp_path / "h.json").read_text()
    doc = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    assert doc["version"] == VERSION == 2 and list(doc["history"]["train"]["recon"][0]) == ["$sidecar"]
    assert len(text) < 1000  # the arrays, traces and records are in the sidecar


def test_each_save_appends_only_what_is_new(tmp_path):
    path = tmp_path / "h.json"
    h = History()
    h.path = path  # image batches leave memory once saved there
    for step in range(10_000):
        h.log({"train/loss": 1.0, "train/acc": 0.5}, step)
    for epoch in range(5):
        h.append("train", {"loss": 1.0, "recon": images(epoch)}, epoch=epoch)
    h.record("sheet", "image", np.zeros((100, 100, 3), np.uint8))
    h.save(path)
    bin_size, json_size = sidecar(path).stat().st_size, path.stat().st_size
    h.log({"train/loss": 0.5})
    h.save(path)
    assert sidecar(path).stat().st_size - bin_size < 200  # one point, not the 20,000 before it
    assert path.stat().st_size - json_size < 10
    h.append("train", {"loss": 0.5, "recon": images(5)}, epoch=5)
    h.save(path)
    grown = sidecar(path).stat().st_size - bin_size
    assert images(5).nbytes < grown < images(5).nbytes + 1000  # one image batch
    assert len(list(tmp_path.iterdir())) == 2
    back = History.load(path, keep_images=None)
    assert len(back.steps["train/loss"]) == 10_001 and back.epochs("train") == 6
    assert [float(b[0, 0, 0]) for b in back["train"]["recon"]] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]


def test_a_resumed_history_appends_to_the_same_files(tmp_path):
    path = tmp_path / "h.json"
    h = History()
    h.log({"loss": 1.0})
    h.append("train", {"recon": images(0)})
    h.save(path)
    first = sidecar(path)
    size = first.stat().st_size
    back = History.load(path)
    back.log({"loss": 2.0})
    back.save(path)
    assert sidecar(path) == first and first.stat().st_size - size < 200
    assert History.load(path).steps["loss"].value.tolist() == [1.0, 2.0]


def test_only_the_last_image_batches_stay_in_memory(tmp_path):
    h = History()
    for epoch in range(10):
        h.append("train", {"loss": 1.0, "recon": images(epoch)}, epoch=epoch)
    assert [b is None for b in h["train"]["recon"]] == [True] * 6 + [False] * 4  # no path: dropped at once
    assert h["train"]["loss"] == [1.0] * 10
    h = History(keep_images=2)
    h.path = tmp_path / "h.json"  # they leave memory only once saved there
    for epoch in range(5):
        h.append("train", {"recon": images(epoch)}, epoch=epoch)
    assert all(b is not None for b in h["train"]["recon"])
    h.save(h.path)
    assert [b is None for b in h["train"]["recon"]] == [True, True, True, False, False]
    h.append("train", {"recon": images(5)}, epoch=5)
    h.save(h.path)
    assert [b is None for b in h["train"]["recon"]] == [True] * 4 + [False] * 2
    assert [b is None for b in History.load(h.path)["train"]["recon"]] == [True] * 2 + [False] * 4  # default: 4
    assert [b is None for b in History.load(h.path, keep_images=1)["train"]["recon"]] == [True] * 5 + [False]
    everything = History.load(h.path, keep_images=None)["train"]["recon"]
    assert [float(b[0, 0, 0]) for b in everything] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert History(keep_images=None).keep_images is None
    with pytest.raises(ValueError, match="keep_images must be an int >= 0 or None"):
        History(keep_images=-1)


def test_saving_to_another_path_copies_what_left_memory(tmp_path):
    h = History(keep_images=1)
    h.path = tmp_path / "a.json"
    for epoch in range(3):
        h.append("train", {"recon": images(epoch)}, epoch=epoch)
        for step in range(12):
            h.record("pic", "image", np.full((2, 2), step), step=epoch * 12 + step)
        h.save(tmp_path / "a.json")
    assert h["train"]["recon"][0] is None and h.records["pic"].first == 26
    h.save(tmp_path / "b.json")
    back = History.load(tmp_path / "b.json", keep_images=None)
    assert [float(b[0, 0, 0]) for b in back["train"]["recon"]] == [0.0, 1.0, 2.0]
    assert back.records["pic"].total == 36 and [e[0] for e in back.records["pic"].entries] == list(range(26, 36))


def test_epochs_of_500_image_batches_save_in_time_and_memory_stays_flat(tmp_path):
    path, h, took = tmp_path / "h.json", History(), []
    for epoch in range(500):
        h.append("train", {"loss": 1.0, "recon": images(epoch)}, epoch=epoch)
        start = time.perf_counter()
        h.save(path)
        took.append(time.perf_counter() - start)
    assert sum(b is not None for b in h["train"]["recon"]) == 4
    assert sidecar(path).stat().st_size < 500 * (images(0).nbytes + 1000)  # raw float32, no JSON lists
    assert path.stat().st_size < 30_000
    assert np.median(took[-50:]) < 20 * np.median(took[:50]) + 0.5  # generous: appends, not rewrites
    assert float(History.load(path)["train"]["recon"][-1][0, 0, 0]) == 499.0


def test_a_million_points_log_save_and_load(tmp_path):
    path, h = tmp_path / "h.json", History()
    start = time.perf_counter()
    for step in range(1_000_000):
        h.log({"train/loss": 0.5}, step)
    h.save(path)
    back = History.load(path)
    took = time.perf_counter() - start
    assert len(back.steps["train/loss"]) == 1_000_000 and back.steps["train/loss"].step[-1] == 999_999
    assert 32_000_000 <= sidecar(path).stat().st_size < 33_000_000  # 32 bytes a point
    assert took < 300  # generous: a loaded CI machine; benchmarks/ has the real figures


def test_a_failed_save_keeps_the_previous_one_and_the_next_save_works(tmp_path):
    path = tmp_path / "h.json"
    h = History()
    h.log({"loss": 1.0})
    h.save(path)
    h.log({"loss": 2.0})
    h["train"] = {"bad": [object()]}
    with pytest.raises(TypeError, match="cannot save a object"):
        h.save(path)
    assert History.load(path).steps["loss"].value.tolist() == [1.0]
    h.record("notes", "text", object())
    del h["train"]
    with pytest.raises(TypeError, match=r"cannot save records\['notes'\] at step 2: a object"):
        h.save(path)
    del h.records["notes"]
    h.save(path)
    assert History.load(path).steps["loss"].value.tolist() == [1.0, 2.0]
    assert len(list(tmp_path.iterdir())) == 2
    with pytest.raises(TypeError, match=r"cannot save history\['x'\]\['y'\]\[0\]: a ndarray of Python objects"):
        History({"x": {"y": [np.array([object()] * 100)]}}).save(tmp_path / "o.json")


def saves_forever(path):
    """A child's work: resume from ``path``, then epoch after epoch add an image batch, traces and a record, and
    save."""
    h = History.load(path) if path.exists() else History()
    epoch = h.epochs("train")
    while True:
        h.append("train", {"loss": float(epoch), "recon": np.full((8, 9, 9), epoch, np.float32)}, epoch=epoch)
        for i in range(50):
            h.log({"train/loss": float(epoch)}, step=epoch * 50 + i)
        h.record("note", "text", f"epoch {epoch}", step=epoch * 50)
        h.save(path)
        epoch += 1


@pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")  # JAX, if loaded, warns; the child runs no JAX
def test_a_kill_at_any_moment_leaves_a_loadable_history(tmp_path):
    path, rng, epochs = tmp_path / "h.json", random.Random(0), []
    for _ in range(40):
        pid = os.fork()
        if pid == 0:
            try:
                saves_forever(path)
            finally:
                os._exit(1)
        time.sleep(rng.uniform(0.0, 0.08))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        if not path.exists():
            continue
        h = History.load(path)  # never raises
        n = h.epochs("train")
        assert h["train"]["loss"] == [float(e) for e in range(n)]
        assert float(h["train"]["recon"][-1][0, 0, 0]) == n - 1
        assert h.steps["train/loss"].step.tolist() == list(range(50 * n))
        assert h.records["note"].total == n and h.records["note"].entries[-1][2] == f"epoch {n - 1}"
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["h.json", sidecar(path).name])  # cleaned
        epochs.append(n)
    assert epochs == sorted(epochs) and len(epochs) > 30 and epochs[-1] > 0


def test_orphans_of_killed_saves_are_cleaned_and_nothing_else(tmp_path):
    path = tmp_path / "h.json"
    History({"train": {"loss": [1.0]}}).save(path)
    dead = 2 ** 22 + 12345  # above any pid Linux gives
    orphans = [f".h.json.{dead}.x1y2z3_a.tmp", f"h.json.{dead}.0123abcd.bin"]
    kept = [f".h.json.{os.getpid()}.inuse.tmp", "h.json.backup.bin", f"h.json.{dead}.notatoken.bin", "other.json"]
    for name in orphans + kept:
        (tmp_path / name).write_text("")
    History.load(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(kept + ["h.json"])
    (tmp_path / orphans[0]).write_text("")
    History({"train": {"loss": [2.0]}}).save(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(kept + ["h.json"])


@pytest.mark.parametrize("doc, message", [
    ({"train": {"loss": "abc"}}, r"history\['train'\]\['loss'\]: expected a list of values \(one per epoch\), "
                                 r"got str 'abc'"),
    ({"train": [1.0, 2.0]}, r"history\['train'\]: expected an object \{key: \[values\]\}, got list"),
    ([1, 2], r"expected a livetrain history or a \{phase: \{key: \[values\]\}\} JSON object, got list"),
    ({"format": "livetrain.history", "version": 3, "history": {}},
     "format version 3, written by a newer livetrain; this one reads versions 1 to 2: upgrade livetrain"),
    ({"format": "livetrain.history", "version": "2", "history": {}}, r"\"version\": expected an int >= 1, got '2'"),
    ({"format": "tensorboard", "history": {}}, "\"format\": expected 'livetrain.history', got 'tensorboard'"),
    ({"format": "livetrain.history", "version": 2, "history": {}, "sidecar": {"file": "../x.bin", "bytes": 1}},
     "\"sidecar\": expected"),
    ({"format": "livetrain.history", "version": 2, "history": {}, "sidecar": {"file": "x.bin", "bytes": 9,
                                                                              "token": "00000000"}},
     "its sidecar x.bin .* is missing"),
])
def test_load_rejects_what_is_not_a_history_naming_file_place_and_expectation(tmp_path, doc, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=rf"bad.json: {message}" if "sidecar" not in message else message) as info:
        History.load(path)
    assert str(path) in str(info.value)


def test_load_rejects_a_sidecar_that_is_not_this_history_s(tmp_path):
    a = History()
    a.log({"loss": 1.0})
    a.save(tmp_path / "a.json")
    b = History()
    b.log({"loss": 2.0})
    b.save(tmp_path / "b.json")
    doc = json.loads((tmp_path / "a.json").read_text())
    doc["sidecar"]["file"] = sidecar(tmp_path / "b.json").name
    (tmp_path / "a.json").write_text(json.dumps(doc))
    opened = len(os.listdir("/proc/self/fd"))
    with pytest.raises(ValueError, match=r"expected the sidecar of a.json \(token") as error:
        History.load(tmp_path / "a.json")
    assert len(os.listdir("/proc/self/fd")) == opened, error  # closed, even while the error is kept
    (tmp_path / "c.json").write_text("{not json")
    with pytest.raises(ValueError, match="c.json: expected a livetrain history .JSON., but it is not JSON"):
        History.load(tmp_path / "c.json")


def test_version_1_files_and_plain_dicts_still_load(tmp_path):
    batch = np.arange(100.0).reshape(4, 5, 5)
    v1 = {"format": "livetrain.history", "version": 1,
          "history": {"train": {"loss": [1.0, "NaN"], "recon": [batch.tolist(), batch.tolist()], "counts": [[1, 2]]}}}
    (tmp_path / "v1.json").write_text(json.dumps(v1))
    h = History.load(tmp_path / "v1.json")
    assert h["train"]["loss"][0] == 1.0 and math.isnan(h["train"]["loss"][1]) and h["train"]["counts"] == [[1, 2]]
    np.testing.assert_array_equal(h["train"]["recon"][1], batch)  # a large nested list comes back as an array
    h.save(tmp_path / "v1.json")
    assert json.loads((tmp_path / "v1.json").read_text())["version"] == 2
    np.testing.assert_array_equal(History.load(tmp_path / "v1.json")["train"]["recon"][0], batch)
    (tmp_path / "plain.json").write_text(json.dumps({"train": {"loss": [1, 2]}}))
    assert History.load(tmp_path / "plain.json") == {"train": {"loss": [1, 2]}}
