"""The log readers follow files another process writes: complete records once each, a half-written one when it is
finished, a writer killed mid-record, and the values TensorBoard's own reader finds."""
import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from livetrain.sources import find_logs, open_reader
from livetrain.sources.base import as_points
from livetrain.sources.csv import CsvReader
from livetrain.sources.events import EventsReader
from livetrain.sources.jsonl import JsonlReader


def record(step, loss, **more):
    return json.dumps({"step": step, "phase": "train", "metrics": {"loss": loss}, **more}) + "\n"


def test_jsonl_reads_each_record_once_and_a_half_written_line_when_it_is_finished(tmp_path):
    path = tmp_path / "run.jsonl"
    path.write_text(record(1, 0.5) + record(2, 0.4)[:10])
    reader = JsonlReader(path)
    assert [(p.step, p.metrics) for p in reader.read()] == [(1, {"train/loss": 0.5})]
    assert reader.read() == []
    with open(path, "a") as f:
        f.write(record(2, 0.4)[10:] + record(3, 0.3))
    assert [(p.step, p.metrics["train/loss"]) for p in reader.read()] == [(2, 0.4), (3, 0.3)]


def test_jsonl_fields_flat_records_and_non_finite_values(tmp_path):
    path = tmp_path / "run.jsonl"
    path.write_text('{"step": 5, "epoch": 1.5, "time": 100.0, "metrics": {"loss": "NaN", "acc": null}}\n'
                    '{"loss": 0.25, "acc": "Infinity"}\n')
    first, second = JsonlReader(path).read()
    assert (first.step, first.epoch, first.wall) == (5, 1.5, 100.0)
    assert np.isnan(first.metrics["loss"]) and np.isnan(first.metrics["acc"])
    assert second.step is None and second.metrics == {"loss": 0.25, "acc": float("inf")}


def test_a_writer_killed_mid_line_costs_only_that_line(tmp_path):
    path = tmp_path / "run.jsonl"
    code = textwrap.dedent(f"""
        import json, os, signal
        with open({str(path)!r}, "a") as f:
            for step in range(5):
                f.write(json.dumps({{"step": step, "metrics": {{"loss": 1 / (step + 1)}}}}) + "\\n"); f.flush()
            f.write('{{"step": 5, "metrics": {{"lo'); f.flush()
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    done = subprocess.run([sys.executable, "-c", code])
    assert done.returncode == -signal.SIGKILL
    reader = JsonlReader(path)
    assert [p.step for p in reader.read()] == [0, 1, 2, 3, 4]
    with open(path, "a") as f:  # the job restarts and appends: the torn line joins its first record
        f.write(record(6, 0.1) + record(7, 0.05))
    with pytest.warns(RuntimeWarning, match=r"line 6 is not a record"):
        assert [p.step for p in reader.read()] == [7]


def test_a_bad_record_names_what_is_wrong(tmp_path):
    path = tmp_path / "run.jsonl"
    path.write_text('{"step": "one", "metrics": {"loss": 1}}\n{"step": 2, "metrics": {"loss": 2}}\n')
    with pytest.warns(RuntimeWarning, match=r"run.jsonl: line 1 is not a record \('step' must be an integer"):
        assert [p.step for p in JsonlReader(path).read()] == [2]


def test_csv_as_lightning_writes_it_with_empty_cells(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text("epoch,step,train_loss,val_loss,val_acc\n0,49,0.9,,\n0,99,,0.8,0.7\n1,1")
    reader = CsvReader(path)
    assert [(p.step, p.epoch, p.metrics) for p in reader.read()] == [
        (49, 0.0, {"train_loss": 0.9}), (99, 0.0, {"val_loss": 0.8, "val_acc": 0.7})]
    with open(path, "a") as f:
        f.write("49,0.5,,\n")
    assert [(p.step, p.metrics) for p in reader.read()] == [(149, {"train_loss": 0.5})]


def test_csv_of_tensorboards_export_is_named_after_its_file(tmp_path):
    path = tmp_path / "train_loss.csv"
    path.write_text("Wall time,Step,Value\n1700000000.5,10,0.75\n")
    (point,) = CsvReader(path).read()
    assert (point.step, point.wall, point.metrics) == (10, 1700000000.5, {"train_loss": 0.75})


def test_event_files_give_the_values_tensorboards_own_loader_gives(tmp_path):
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
    from tensorboard.util.tensor_util import make_ndarray
    from tensorboardX import SummaryWriter

    with SummaryWriter(str(tmp_path)) as w:
        for step in range(50):
            w.add_scalar("train/loss", 1 / (step + 1), step)
            if step % 10 == 0:
                w.add_scalar("test/acc", step / 100, step)
        w.add_image("sample", np.full((3, 4, 5), 0.5), 3)
        w.add_histogram("weights", np.arange(100.0), 3)
    (path,) = tmp_path.glob("events.out.tfevents.*")
    theirs = [(e.step, v.tag, float(make_ndarray(v.tensor))) for e in EventFileLoader(str(path)).Load()
              for v in e.summary.value if v.metadata.plugin_data.plugin_name == "scalars"]
    points = as_points(EventsReader(path).read())
    ours = [(p.step, tag, value) for p in points for tag, value in p.metrics.items()]
    by_tag = lambda rows: sorted(rows, key=lambda row: row[1])  # noqa: E731 - each tag's values, in file order
    assert by_tag(ours) == by_tag(theirs) and len(ours) == 55
    records = {tag: value for p in points for tag, value in (p.records or {}).items()}
    assert records["sample"][0] == "image" and records["sample"][1].shape == (4, 5, 3)
    kind, histogram = records["weights"]
    assert kind == "histogram" and histogram["num"] == 100 and histogram["max"] == 99.0


def test_event_files_of_tf2_scalar_tensors(tmp_path):
    from tensorboard.summary import Writer

    writer = Writer(str(tmp_path))
    for step in range(3):
        writer.add_scalar("loss", 0.5 / (step + 1), step=step)
    writer.flush(); writer.close()
    (path,) = tmp_path.glob("events.out.tfevents.*")
    assert [(p.step, round(p.metrics["loss"], 6)) for p in as_points(EventsReader(path).read())] == [
        (0, 0.5), (1, 0.25), (2, 0.166667)]


def test_an_event_record_cut_short_is_read_once_complete(tmp_path):
    from livetrain.core.tfevents import EventFileWriter

    with EventFileWriter(tmp_path) as w:
        for step in range(3):
            w.add_scalar("loss", float(step), step)
    whole = w.path.read_bytes()
    w.path.write_bytes(whole[:-7])
    reader = EventsReader(w.path)
    assert [p.step for p in as_points(reader.read())] == [0, 1]
    w.path.write_bytes(whole)
    assert [p.step for p in as_points(reader.read())] == [2]


def test_runs_of_a_folder_and_the_format_by_name(tmp_path):
    (tmp_path / "a").mkdir(); (tmp_path / "b").mkdir()
    (tmp_path / "a" / "events.out.tfevents.1.h.1.0").write_bytes(b"")
    (tmp_path / "a" / "events.out.tfevents.2.h.1.0").write_bytes(b"")
    (tmp_path / "b" / "metrics.csv").write_text("step,loss\n")
    (tmp_path / "c.jsonl").write_text("")
    runs = find_logs(tmp_path)
    assert sorted(runs) == ["a", "b/metrics", "c"] and runs["a"].name.startswith("events.out.tfevents.2")
    assert type(open_reader(runs["c"])).__name__ == "JsonlReader"
    with pytest.raises(ValueError, match=r"cannot tell the format of .*notes.txt.*expected a name ending .jsonl"):
        open_reader(tmp_path / "notes.txt")
    assert os.path.basename(open_reader(tmp_path / "notes.txt", format="csv").tail.path) == "notes.txt"
