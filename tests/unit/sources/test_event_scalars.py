"""The one-scalar events decoded at once with numpy read exactly what protobuf's parser reads; every other event is
left to that parser; a step's scalars, one event each, become one point."""
import math
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livetrain.core.tfevents import EventFileWriter, frame
from livetrain.sources.base import as_points
from livetrain.sources.event_scalars import decode_scalars
from livetrain.sources.events import EventsReader, event_class, frames

Event = event_class()
from tensorboard.compat.proto.summary_pb2 import Summary  # noqa: E402 - after event_class's clear ImportError

tags = st.text(min_size=0, max_size=200)
values = st.floats(width=32, allow_nan=True, allow_infinity=True)
steps = st.one_of(st.just(0), st.integers(-2**63, 2**63 - 1), st.integers(0, 300))
walls = st.one_of(st.just(0.0), st.floats(allow_nan=False, allow_infinity=False))


@st.composite
def events(draw):
    """An event as a writer may make it: mostly one simple scalar, sometimes more values, a tensor, an image, no
    summary at all, or an unknown field."""
    event = Event(wall_time=draw(walls), step=draw(steps))
    kind = draw(st.sampled_from(["scalar"] * 4 + ["two", "tensor", "image", "version", "unknown"]))
    if kind in ("scalar", "two", "unknown"):
        for _ in range(2 if kind == "two" else 1):
            event.summary.value.add(tag=draw(tags), simple_value=draw(values))
    elif kind == "tensor":
        event.summary.value.add(tag=draw(tags)).tensor.float_val.append(draw(values))
    elif kind == "image":
        event.summary.value.add(tag=draw(tags), image=Summary.Image(encoded_image_string=b"\x89PNG"))
    else:
        event.file_version = "brain.Event:2"
    payload = event.SerializeToString()
    return payload + (b"\x50\x01" if kind == "unknown" else b"")  # field 10, a varint: not an Event field


def same(a, b):
    return a == b or (math.isnan(a) and math.isnan(b))


@settings(max_examples=300, deadline=None)
@given(st.lists(events(), min_size=1, max_size=12))
def test_numpy_takes_the_common_scalars_and_reads_what_protobuf_reads(payloads):
    data = b"".join(frame(p) for p in payloads)
    starts, ends, used = frames(data)
    assert used == len(data) and len(starts) == len(payloads)
    decoded = decode_scalars(data, np.array(starts), np.array(ends))
    taken = iter(zip(decoded.tags, decoded.values, decoded.steps, decoded.walls))
    for common, payload in zip(decoded.common.tolist(), payloads):
        event = Event.FromString(payload)
        event.DiscardUnknownFields()
        (value, *more) = event.summary.value or [None]
        simple = (value is not None and not more and value.WhichOneof("value") == "simple_value" and value.tag
                  and struct.pack("<d", event.wall_time) != bytes(8) and event.SerializeToString() == payload)
        assert common == bool(simple)  # every canonical one-scalar event with a tag and a wall time, nothing else
        if common:
            tag, number, step, wall = next(taken)
            assert (tag, step, wall) == (value.tag, event.step, event.wall_time)
            assert same(number, value.simple_value)
    assert next(taken, None) is None


def test_a_tag_protobuf_rejects_is_not_taken_and_is_skipped_with_one_warning(tmp_path):
    good = Event(wall_time=1.0, step=1)
    good.summary.value.add(tag="loss", simple_value=0.5)
    bad = good.SerializeToString().replace(b"loss", b"l\xffss")  # not UTF-8: protobuf's parser raises
    path = tmp_path / "events.out.tfevents.1.host"
    path.write_bytes(frame(bad) + frame(good.SerializeToString()))
    data = path.read_bytes()
    starts, ends, _ = frames(data)
    assert decode_scalars(data, np.array(starts), np.array(ends)).common.tolist() == [False, True]
    with pytest.warns(RuntimeWarning, match="not a TensorBoard Event"):
        points = as_points(EventsReader(path).read())
    assert [(p.step, p.metrics) for p in points] == [(1, {"loss": 0.5})]


def test_the_scalars_between_two_other_records_come_as_one_series_per_tag_in_file_order(tmp_path):
    with EventFileWriter(tmp_path) as w:
        w.add_scalar("loss", 0.5, step=1, wall=10.0)
        w.add_scalar("acc", 0.25, step=1, wall=10.5)
        w.add_scalar("loss", 0.75, step=1, wall=11.0)  # logged twice at step 1: both are kept, in order
        w.add_image("sample", np.zeros((2, 2, 3), np.uint8), step=1)
        w.add_scalar("loss", 0.125, step=2, wall=12.0)
    items = EventsReader(w.path).read()
    assert [type(i).__name__ for i in items] == ["Series", "Series", "Point", "Series"]  # the image, in file order
    loss, acc, image, later = items
    assert (loss.tag, loss.step.tolist(), loss.value.tolist(), loss.wall.tolist()) == (
        "loss", [1, 1], [0.5, 0.75], [10.0, 11.0])
    assert (acc.tag, acc.step.tolist(), acc.value.tolist()) == ("acc", [1], [0.25])
    assert image.step == 1 and image.records["sample"][0] == "image"
    assert (later.tag, later.step.tolist(), later.value.tolist()) == ("loss", [2], [0.125])
    assert loss.step.dtype == np.int64 and loss.value.dtype == np.float64
