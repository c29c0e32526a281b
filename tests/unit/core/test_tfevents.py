"""EventFileWriter's files, read back by TensorBoard's own loader and accumulator (the ``tensorboard`` wheel)."""
import io
import math
import os
import re
import socket
import subprocess
import sys
import warnings

import numpy as np
import pytest
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c as tensorboard_masked_crc32c
from tensorboard.data_compat import migrate_value
from tensorboard.plugins.hparams import metadata as hparams_metadata
from tensorboard.plugins.pr_curve import metadata as pr_metadata
from tensorboard.util.tensor_util import make_ndarray

from livetrain.core.tfevents import EventFileWriter, crc32c, encode_png, masked_crc32c

KEEP_ALL = {"scalars": 0, "images": 0, "histograms": 0, "tensors": 0}


def accumulator(log_dir):
    acc = EventAccumulator(str(log_dir), size_guidance=KEEP_ALL)
    acc.Reload()
    return acc


def events(path):
    return list(EventFileLoader(str(path)).Load())


def test_the_file_is_named_and_opened_as_tensorboard_expects(tmp_path):
    with EventFileWriter(tmp_path / "run", filename_suffix=".v2") as w:
        pattern = rf"events\.out\.tfevents\.\d{{10}}\.{re.escape(socket.gethostname())}\.{os.getpid()}\.\d+\.v2"
        assert re.fullmatch(pattern, w.path.name) and w.path.parent == tmp_path / "run"
        first = events(w.path)  # readable before anything is flushed: the version record is written at once
    assert [e.file_version for e in first] == ["brain.Event:2"]
    assert EventFileWriter(tmp_path / "run").path != w.path  # a second writer in the same second gets its own file


def test_scalars_come_back_with_their_tags_steps_wall_times_and_float32_values(tmp_path):
    w = EventFileWriter(tmp_path)
    losses = [(i, 1000.5 + i, 1 / (i + 3)) for i in range(100)]
    accuracies = [(i, 2000.25 + i, 0.1 * i / 3) for i in range(0, 100, 10)]
    for i, wall, loss in losses:
        w.add_scalar("train/loss", loss, i, wall)
        if i % 10 == 0:
            w.add_scalar("test/accuracy", accuracies[i // 10][2], i, accuracies[i // 10][1])
    w.add_scalar("edge", 1e39, 2**40, 1.0)  # beyond float32: infinity, as numpy's float32 makes it
    w.add_scalar("edge", math.nan, -3, 2.0)
    w.add_scalar("edge", np.float32(0.1), 7)  # numpy values and the default wall time
    w.close()
    acc = accumulator(tmp_path)
    assert sorted(acc.Tags()["scalars"]) == ["edge", "test/accuracy", "train/loss"]
    for tag, expected in (("train/loss", losses), ("test/accuracy", accuracies)):
        got = [(e.step, e.wall_time, e.value) for e in acc.Scalars(tag)]
        assert got == [(step, wall, float(np.float32(v))) for step, wall, v in expected]
    edge = acc.Scalars("edge")
    assert [(e.step, e.wall_time) for e in edge[:2]] == [(2**40, 1.0), (-3, 2.0)]
    assert edge[0].value == math.inf and math.isnan(edge[1].value) and edge[2].value == float(np.float32(0.1))
    assert abs(edge[2].wall_time - w.path.stat().st_mtime) < 60


def test_images_decode_to_the_same_pixels(tmp_path):
    rng = np.random.default_rng(0)
    images = {"rgb": rng.integers(0, 256, (5, 7, 3), dtype=np.uint8),
              "grey": rng.integers(0, 256, (6, 4), dtype=np.uint8),
              "rgba": rng.integers(0, 256, (3, 3, 4), dtype=np.uint8),
              "sheet/one channel": rng.integers(0, 256, (2, 9, 1), dtype=np.uint8)}
    with EventFileWriter(tmp_path) as w:
        for step, (tag, image) in enumerate(images.items()):
            w.add_image(tag, image, step, wall=10.0 + step)
    acc = accumulator(tmp_path)
    assert sorted(acc.Tags()["images"]) == sorted(images)
    for step, (tag, image) in enumerate(images.items()):
        [event] = acc.Images(tag)
        assert (event.step, event.wall_time, event.height, event.width) == (step, 10.0 + step, *image.shape[:2])
        decoded = np.asarray(Image.open(io.BytesIO(event.encoded_image_string)))
        np.testing.assert_array_equal(decoded, image.reshape(decoded.shape))


def test_without_pillow_the_zlib_encoder_makes_the_same_pixels(monkeypatch):
    image = np.random.default_rng(1).integers(0, 256, (9, 5, 3), dtype=np.uint8)
    monkeypatch.setitem(sys.modules, "PIL", None)  # ``from PIL import Image`` now fails, as without Pillow
    png = encode_png(image)
    monkeypatch.undo()
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(png))), image)


def test_histograms_count_every_value_in_its_bucket(tmp_path):
    rng = np.random.default_rng(2)
    weights = rng.normal(0.5, 2.0, size=(40, 25))
    with_gaps = np.array([0.0, 0.0, -1.5, 3.0, np.nan, np.inf, 1e-13])
    with EventFileWriter(tmp_path) as w:
        w.add_histogram("layer/weights", weights, 3, wall=5.0)
        w.add_histogram("layer/weights", weights * 2, 4, wall=6.0)
        w.add_histogram("gaps", with_gaps, 0)
        w.add_histogram("ten bins", weights, 0, bins=10)
    acc = accumulator(tmp_path)
    assert [(e.step, e.wall_time) for e in acc.Histograms("layer/weights")] == [(3, 5.0), (4, 6.0)]
    for tag, data in (("layer/weights", weights), ("gaps", with_gaps), ("ten bins", weights)):
        values = data[np.isfinite(data)].reshape(-1)
        h = acc.Histograms(tag)[0].histogram_value
        assert (h.num, h.min, h.max) == (values.size, values.min(), values.max())
        assert h.sum == pytest.approx(values.sum()) and h.sum_squares == pytest.approx((values**2).sum())
        assert sum(h.bucket) == values.size
    # the new-style histogram TensorBoard draws: (left, right, count) rows that hold exactly their values
    raw = [v for e in events(w.path) if e.HasField("summary") for v in e.summary.value if v.tag == "layer/weights"]
    buckets = make_ndarray(migrate_value(raw[0]).tensor).astype(np.float64)
    values = np.sort(weights.reshape(-1))
    for i, (left, right, count) in enumerate(buckets):
        inside = (values >= left) & ((values < right) if i < len(buckets) - 1 else (values <= right))
        assert count == inside.sum(), (left, right)
    assert buckets[:, 2].sum() == values.size


def test_text_is_a_string_tensor_of_the_text_plugin(tmp_path):
    with EventFileWriter(tmp_path) as w:
        w.add_text("notes", "lr = **0.1**, ünïcode", 12, wall=3.0)
    acc = accumulator(tmp_path)
    [event] = acc.Tensors("notes")
    assert (event.step, event.wall_time) == (12, 3.0)
    assert make_ndarray(event.tensor_proto).item().decode() == "lr = **0.1**, ünïcode"
    assert acc.SummaryMetadata("notes").plugin_data.plugin_name == "text"


def test_pr_curves_hold_counts_precision_and_recall_at_each_threshold(tmp_path):
    rng = np.random.default_rng(3)
    labels = rng.random(500) < 0.4
    predictions = np.clip(labels * 0.3 + rng.random(500) * 0.7, 0, 1)
    with EventFileWriter(tmp_path) as w:
        w.add_pr_curve("pr/class 1", labels, predictions, 7, wall=9.0, num_thresholds=11)
    acc = accumulator(tmp_path)
    [event] = acc.Tensors("pr/class 1")
    assert (event.step, event.wall_time) == (7, 9.0)
    meta = acc.SummaryMetadata("pr/class 1").plugin_data
    assert meta.plugin_name == pr_metadata.PLUGIN_NAME
    assert pr_metadata.parse_plugin_metadata(meta.content).num_thresholds == 11
    data = make_ndarray(event.tensor_proto)
    assert data.shape == (6, 11) and data.dtype == np.float32
    for i, threshold in enumerate(np.arange(11) / 10):
        predicted = predictions >= threshold
        tp, fp = (labels & predicted).sum(), (~labels & predicted).sum()
        tn, fn = (~labels & ~predicted).sum(), (labels & ~predicted).sum()
        assert data[:4, i].tolist() == [tp, fp, tn, fn], threshold
        assert data[4, i] == pytest.approx(tp / max(tp + fp, 1e-7)) and data[5, i] == pytest.approx(tp / (tp + fn))


def test_hparams_are_one_session_the_hparams_plugin_reads(tmp_path):
    hparams = {"lr": 0.01, "optimizer": "adam", "batch norm": True, "layers": 3, "dropout": np.float32(0.5)}
    with EventFileWriter(tmp_path) as w:
        w.add_hparams(hparams, {"hparam/accuracy": 0.875}, wall=100.0,
                      domain_discrete={"optimizer": ["adam", "sgd"]})
    acc = accumulator(tmp_path)
    content = {tag: acc.SummaryMetadata(tag).plugin_data.content for tag in
               (hparams_metadata.EXPERIMENT_TAG, hparams_metadata.SESSION_START_INFO_TAG,
                hparams_metadata.SESSION_END_INFO_TAG)}
    assert {acc.SummaryMetadata(tag).plugin_data.plugin_name for tag in content} == {"hparams"}
    experiment = hparams_metadata.parse_experiment_plugin_data(content[hparams_metadata.EXPERIMENT_TAG])
    infos = {i.name: i for i in experiment.hparam_infos}
    assert list(infos) == list(hparams)
    assert {n: i.type for n, i in infos.items()} == {"lr": 3, "optimizer": 1, "batch norm": 2, "layers": 3,
                                                     "dropout": 3}
    assert [v.string_value for v in infos["optimizer"].domain_discrete.values] == ["adam", "sgd"]
    assert [m.name.tag for m in experiment.metric_infos] == ["hparam/accuracy"]
    start = hparams_metadata.parse_session_start_info_plugin_data(content[hparams_metadata.SESSION_START_INFO_TAG])
    assert start.start_time_secs == 100.0
    assert {k: v.WhichOneof("kind") for k, v in start.hparams.items()} == {
        "lr": "number_value", "optimizer": "string_value", "batch norm": "bool_value", "layers": "number_value",
        "dropout": "number_value"}
    assert (start.hparams["lr"].number_value, start.hparams["optimizer"].string_value,
            start.hparams["batch norm"].bool_value, start.hparams["layers"].number_value,
            start.hparams["dropout"].number_value) == (0.01, "adam", True, 3, 0.5)
    end = hparams_metadata.parse_session_end_info_plugin_data(content[hparams_metadata.SESSION_END_INFO_TAG])
    assert (end.status, end.end_time_secs) == (1, 100.0)  # STATUS_SUCCESS
    assert [(e.step, e.value) for e in acc.Scalars("hparam/accuracy")] == [(0, 0.875)]


def test_a_partial_last_record_is_skipped_and_read_once_it_is_whole(tmp_path):
    w = EventFileWriter(tmp_path)
    for i in range(10):
        w.add_scalar("loss", float(i), i, wall=float(i))
    w.close()
    whole = w.path.read_bytes()
    w.path.write_bytes(whole[:-7])  # a writer killed inside the last record
    loader = EventFileLoader(str(w.path))
    assert [e.step for e in loader.Load() if e.HasField("summary")] == list(range(9))
    w.path.write_bytes(whole)  # the rest arrives: a tailing reader picks it up where it stopped
    assert [e.step for e in loader.Load()] == [9]


def test_flush_makes_events_readable_during_the_run_and_close_twice_is_harmless(tmp_path):
    w = EventFileWriter(tmp_path)
    w.add_scalar("loss", 0.5, 0, wall=1.0)
    loader = EventFileLoader(str(w.path))
    assert [e.file_version for e in loader.Load()] == ["brain.Event:2"]  # buffered, not yet written
    w.flush()
    assert [e.step for e in loader.Load()] == [0]
    w.close(); w.close()
    size = w.path.stat().st_size
    with pytest.warns(RuntimeWarning, match="is closed") as caught:
        w.add_scalar("loss", 0.25, 1)
        w.add_text("t", "late", 1)
    assert len(caught) == 1 and w.path.stat().st_size == size
    w.flush()


@pytest.mark.parametrize("call, message", [
    (lambda w: w.add_image("im", np.zeros((4, 4, 5), np.uint8), 0), r"uint8 image .* got uint8 with shape \(4, 4, 5\)"),
    (lambda w: w.add_image("im", np.zeros((4, 4)), 0), r"got float64 with shape \(4, 4\)"),
    (lambda w: w.add_pr_curve("pr", [1, 0], [0.5, 2.0], 0), r"predictions must lie in \[0, 1\], got .* 2\.0"),
    (lambda w: w.add_pr_curve("pr", [1, 0, 1], [0.5, 0.2], 0), "as many elements, got 3 and 2"),
    (lambda w: w.add_histogram("h", [np.nan], 0), "'h': expected at least one finite value"),
])
def test_bad_input_is_a_clear_error_and_writes_nothing(tmp_path, call, message):
    with EventFileWriter(tmp_path) as w:
        with pytest.raises(ValueError, match=message):
            call(w)
    assert [e.file_version for e in events(w.path)] == ["brain.Event:2"]


def test_crc32c_matches_the_known_vectors_and_tensorboards_masked_crc():
    assert crc32c(b"123456789") == 0xE3069283  # the CRC catalogue's check value
    assert crc32c(bytes(32)) == 0x8A9136AA and crc32c(b"\xff" * 32) == 0x62A8AB43  # RFC 3720, B.4
    assert crc32c(bytes(range(32))) == 0x46DD794E
    rng = np.random.default_rng(4)
    for n in (0, 1, 8, 100, 4096):
        data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        assert masked_crc32c(data) == tensorboard_masked_crc32c(data)


def test_no_tensorboard_or_protobuf_is_imported_to_write(tmp_path):
    code = ("import sys, numpy as np; from livetrain.core.tfevents import EventFileWriter; "
            f"w = EventFileWriter({str(tmp_path)!r}); w.add_scalar('a', 1.0, 0); w.add_text('t', 'x', 0); "
            "w.add_pr_curve('p', [1], [0.5], 0); w.add_hparams({'lr': 0.1}, {}); w.add_histogram('h', [1.0], 0); "
            "w.close(); print(sorted({m.split('.')[0] for m in sys.modules} & {'tensorboard', 'google', 'torch', "
            "'tensorflow'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(events(next(tmp_path.iterdir()))) == 8  # the version, 4 values, hparams' 3
