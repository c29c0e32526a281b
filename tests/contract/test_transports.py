"""The transport contract: with each transport registered in ``livetrain.display.TRANSPORTS`` chosen by
``set_transport``, a ``LinePlotsCallback`` driven by ``train_loop`` (a few epochs, a short sleep per step)

- shows something when it is displayed,
- brings its reader up to date during the run (at least two different updates before the end),
- and leaves, after ``on_train_end``, a final state that holds every epoch: its embedded data where it has any,
  and a PNG equal to a picture of the view's final layout.

The notebook transports run in one real ipykernel; ``script``, the transport outside notebooks, runs as a real
``python train.py``. How each transport is observed is the one table here, :data:`OBSERVERS`; a transport
registered without an entry fails the contract.
"""
from __future__ import annotations

import base64
import io
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from kernel_session import (
    IOPubMessage,
    KernelSession,
    bokeh_displays,
    bokeh_models,
    custom_messages,
    pushes,
    stdout,
    widget_opens,
)
from PIL import Image

from livetrain.display import TRANSPORTS

EPOCHS, PAUSE = 8, 0.14  # 8 epochs of 3 steps: over 3 s of training, so the once-a-second transports update too
PHASES = ("train", "test")
SETUP = """
import base64, json, time
from livetrain import LinePlotsCallback, set_transport, train_loop
from livetrain.frames import picture

calls = 0
def step(batch, phase):
    global calls
    calls += 1
    time.sleep({pause})
    return {{"loss": 1 / calls, "acc": 1 - 1 / calls}}

set_transport({name!r})
cb = LinePlotsCallback()
"""
TRAIN = """
train_loop(step, {{"train": [0, 1], "test": [2]}}, epochs={epochs}, callbacks=[cb], progress=False)
print("REFERENCE", json.dumps({{"epochs": {{p: list(cb.sources[p].data["epoch"]) for p in cb.phases}},
                               "ids": {{p: cb.sources[p].id for p in cb.phases}},
                               "png": base64.b64encode(picture(cb.graph)).decode()}}))
"""


@dataclass
class Seen:
    """What the reader of one transport got."""

    shown: list[str]                           # what displaying the view showed, in words
    updates: list[bytes]                       # each update the reader got during the run, as it arrived
    final_epochs: dict[str, list] | None       # per phase, the epochs in the final state's data (None: a picture only)
    final_png: bytes | None                    # the final state's picture
    reference: dict[str, Any]                  # the view itself at the end: its epochs, source ids, and a picture


def reference(messages_or_text: list[IOPubMessage] | str) -> dict[str, Any]:
    text = messages_or_text if isinstance(messages_or_text, str) else stdout(messages_or_text)
    line = next((line for line in text.splitlines() if line.startswith("REFERENCE ")), None)
    assert line is not None, f"the run printed no reference: {text[-2000:]!r}"
    return json.loads(line.removeprefix("REFERENCE "))


def in_kernel(request: pytest.FixtureRequest, name: str
              ) -> tuple[list[IOPubMessage], list[IOPubMessage], dict[str, Any]]:
    """Display a view made with transport ``name`` in one cell of the module's kernel; train it in the next."""
    kernel: KernelSession = request.getfixturevalue("kernel")
    shown = kernel.run(SETUP.format(name=name, pause=PAUSE) + "cb")
    trained = kernel.run(TRAIN.format(epochs=EPOCHS))
    return shown, trained, reference(trained)


def column(value: Any, buffers: dict[str, bytes]) -> list:
    """A column as Bokeh sends it: a list, or an ndarray inline (base64) or in a buffer."""
    if isinstance(value, list):
        return value
    assert isinstance(value, dict) and value.get("type") == "ndarray", f"not a column: {str(value)[:200]}"
    array = value["array"]
    raw = base64.b64decode(array["data"]) if array.get("type") == "bytes" else buffers[array["id"]]
    return np.frombuffer(raw, dtype=value["dtype"]).tolist()


def streamed(patches: list[tuple[dict, dict[str, bytes]]], source_id: str) -> list:
    """The epochs PATCH-DOCs streamed into the source ``source_id``, in order."""
    out: list = []
    for patch, buffers in patches:
        for event in patch["events"]:
            if event["kind"] == "ColumnsStreamed" and event["model"]["id"] == source_id:
                out += column(dict(event["data"]["entries"]).get("epoch", []), buffers)
    return out


def document_epochs(docs_json: str) -> dict[str, list]:
    """Per phase, the epochs the line view's sources hold in a standalone document's JSON."""
    out = {}
    for model in bokeh_models(json.loads(docs_json)):
        attributes = model["attributes"]
        if model["name"] == "ColumnDataSource" and str(attributes.get("name", "")).startswith("livetrain:line:"):
            out[attributes["name"].rsplit(":", 1)[1]] = column(dict(attributes["data"]["entries"])["epoch"], {})
    return out


def notebook_final(messages: list[IOPubMessage]) -> tuple[dict[str, list], bytes | None]:
    """The data and the ``<img>`` PNG of the final plot that replaced a push or widget output."""
    updates = [m.content["data"] for m in messages if m.msg_type == "update_display_data"]
    html = next((d["text/html"] for d in updates if "<img" in d.get("text/html", "")), "")
    script = next((d["application/javascript"] for d in updates if "docs_json" in d.get("application/javascript", "")),
                  "")
    assert html and script, "the output was not replaced by the final plot (a div with an <img> and its script)"
    png = re.search(r'<img[^>]*src="data:image/png;base64,([^"]+)"', html)
    docs = re.search(r"const docs_json = (.*);\n", script)
    assert docs is not None, "the final plot's script embeds no document"
    return document_epochs(docs.group(1)), base64.b64decode(png.group(1)) if png else None


def observe_push(request: pytest.FixtureRequest, tmp_path: Path) -> Seen:
    shown, trained, ref = in_kernel(request, "push")
    patches = []
    for push in pushes(trained):  # content, then per buffer its header and its bytes
        buffers, texts = {}, [m.comm_text for m in push.messages[3:]]
        for i, text in enumerate(texts):
            if text is not None and i + 1 < len(texts) and push.messages[3 + i + 1].buffers:
                buffers[json.loads(text)["id"]] = push.messages[3 + i + 1].buffers[0]
        patches.append((json.loads(push.messages[2].comm_text), buffers))
    for phase in PHASES:
        assert streamed(patches, ref["ids"][phase]) == ref["epochs"][phase], f"push: {phase} epochs not all pushed"
    return Seen([m.msg_type for m in bokeh_displays(shown) if m.msg_type == "display_data"],
                [push.messages[2].comm_text.encode() for push in pushes(trained)], *notebook_final(trained), ref)


def observe_widget(request: pytest.FixtureRequest, tmp_path: Path) -> Seen:
    shown, trained, ref = in_kernel(request, "widget")
    channels = [s for s in widget_opens(shown) if s.get("_esm")]
    anchors = [m for m in shown if m.msg_type == "display_data" and "data-livetrain-plot" in
               m.content["data"].get("text/html", "")]
    messages = custom_messages(trained)
    patches = [(json.loads(m.buffers[0]), dict(zip(m.content["data"]["content"]["buffers"], m.buffers[1:])))
               for m in messages]
    for phase in PHASES:
        assert streamed(patches, ref["ids"][phase]) == ref["epochs"][phase], f"widget: {phase} epochs not all sent"
    return Seen([f"channel {s['plot']}" for s in channels if anchors],
                [m.buffers[0] for m in messages], *notebook_final(trained), ref)


def observe_static(request: pytest.FixtureRequest, tmp_path: Path) -> Seen:
    shown, trained, ref = in_kernel(request, "static")

    def pngs(messages: list[IOPubMessage], kind: str) -> list[bytes]:
        return [base64.b64decode(m.content["data"]["image/png"]) for m in messages
                if m.msg_type == kind and "image/png" in m.content.get("data", {})]

    redrawn = pngs(trained, "update_display_data")
    assert redrawn, "static: the picture was never redrawn"
    return Seen([f"a PNG of {len(p)} bytes" for p in pngs(shown, "display_data")], redrawn[:-1], None, redrawn[-1],
                ref)


def observe_script(request: pytest.FixtureRequest, tmp_path: Path) -> Seen:
    (tmp_path / "train.py").write_text(SETUP.format(name="script", pause=PAUSE) + TRAIN.format(epochs=EPOCHS))
    proc = subprocess.Popen([sys.executable, "train.py"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "LIVETRAIN_HTML_DIR": str(tmp_path)})
    versions: list[str] = []
    stamps: set[tuple[int, int]] = set()
    while proc.poll() is None:  # every version of the page the run wrote (each write replaces the file)
        for page in tmp_path.glob("*.html"):
            stat = page.stat()
            if (stat.st_mtime_ns, stat.st_ino) not in stamps:
                stamps.add((stat.st_mtime_ns, stat.st_ino))
                text = page.read_text()
                if not versions or versions[-1] != text:
                    versions.append(text)
        time.sleep(0.05)
    out, err = proc.communicate()
    assert proc.returncode == 0, f"python train.py failed: {err[-3000:]}"
    [page] = tmp_path.glob("*.html")
    final = page.read_text()
    assert 'http-equiv="refresh"' not in final, "script: the final page still reloads itself"
    live = [v for v in versions if 'http-equiv="refresh"' in v]
    docs = re.search(r'<script type="application/json" id="[^"]*">\s*(.*?)\s*</script>', final, re.S)
    assert docs is not None, "script: the final page embeds no document"
    png = page.with_suffix(".png")
    return Seen([line for line in out.splitlines() if "live plot is at" in line][:1] if live else [],
                [v.encode() for v in live[1:]], document_epochs(docs.group(1)),
                png.read_bytes() if png.exists() else None, reference(out))


#: How to observe each registered transport: the only place this module names them.
OBSERVERS: dict[str, Callable[[pytest.FixtureRequest, Path], Seen]] = {
    "push": observe_push,
    "widget": observe_widget,
    "static": observe_static,
    "script": observe_script,
}


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


@pytest.mark.parametrize("name", sorted(TRANSPORTS))
def test_the_transport_shows_updates_and_keeps_the_final_state(name: str, request: pytest.FixtureRequest,
                                                               tmp_path: Path) -> None:
    observe = OBSERVERS.get(name)
    assert observe is not None, (f"transport {name!r} is registered in livetrain.display.TRANSPORTS but "
                                 f"tests/contract/test_transports.py has no way to observe it: add it to OBSERVERS")
    seen = observe(request, tmp_path)
    every = list(range(1, EPOCHS + 1))
    assert seen.reference["epochs"] == dict.fromkeys(PHASES, every), f"{name}: the view itself missed epochs"
    assert seen.shown, f"{name}: displaying the view showed nothing"
    assert len(seen.updates) >= 2 and len(set(seen.updates)) >= 2, \
        f"{name}: the reader got {len(seen.updates)} updates during a {EPOCHS}-epoch run, not kept up to date"
    if seen.final_epochs is not None:
        assert seen.final_epochs == dict.fromkeys(PHASES, every), \
            f"{name}: the final state holds epochs {seen.final_epochs}, not every epoch"
    assert seen.final_png is not None, f"{name}: the final state has no picture"
    final, expected = pixels(seen.final_png), pixels(base64.b64decode(seen.reference["png"]))
    assert final.shape == expected.shape, f"{name}: the final picture is {final.shape}, the view {expected.shape}"
    changed = int((final != expected).any(axis=2).sum())
    assert not changed, f"{name}: the final picture differs from the view at the end of the run in {changed} pixels"
