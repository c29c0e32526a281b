"""A real ipykernel driven over ZeroMQ, recording every IOPub message with its size on the wire."""
from __future__ import annotations

import base64
import gzip
import json
import os
import re
import time
from dataclasses import dataclass, field

from jupyter_client.manager import KernelManager


@dataclass
class IOPubMessage:
    """One IOPub message as the frontend receives it."""

    msg_type: str
    content: dict
    buffers: list[bytes]
    wire_bytes: int
    parent_id: str
    sent_at: float

    @property
    def comm_text(self) -> str | None:
        """The text payload of a comm message (Bokeh sends its PATCH-DOC parts as strings)."""
        data = self.content.get("data")
        return data if isinstance(data, str) else None


@dataclass
class Push:
    """One ``push_notebook``: a PATCH-DOC's header, metadata and content, plus its buffers."""

    messages: list[IOPubMessage] = field(default_factory=list)

    @property
    def events(self) -> list[dict]:
        return json.loads(self.messages[2].comm_text)["events"]

    @property
    def wire_bytes(self) -> int:
        return sum(m.wire_bytes for m in self.messages)

    @property
    def num_buffers(self) -> int:
        """How many buffers travel after the content, as its header says."""
        return json.loads(self.messages[0].comm_text).get("num_buffers", 0)

    def arrays(self) -> list[tuple[dict, bytes]]:
        """Every array of the events, with its bytes: inline in the content (base64 of gzip, as BokehJS reads
        small arrays) or in a buffer of its own after it. Checks that each is one or the other: bytes, never
        numbers as JSON text."""
        apart = {json.loads(h.comm_text)["id"]: m.buffers[0]
                 for h, m in zip(self.messages[3::2], self.messages[4::2], strict=True)}
        assert len(apart) == self.num_buffers
        found: list[tuple[dict, bytes]] = []

        def walk(rep):
            if isinstance(rep, dict):
                if rep.get("type") == "ndarray":
                    data = rep["array"]
                    assert data["type"] == "bytes", rep  # not a JSON list of numbers
                    raw = gzip.decompress(base64.b64decode(data["data"])) if isinstance(data["data"], str) \
                        else apart[data["data"]["id"]]
                    found.append((rep, raw))
                else:
                    for value in rep.values():
                        walk(value)
            elif isinstance(rep, list):
                for value in rep:
                    walk(value)

        walk(self.events)
        return found


class KernelSession:
    """Start a python3 kernel with ``BOKEH_RESOURCES=inline``; run code; return its IOPub traffic."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        env = {**os.environ, "BOKEH_RESOURCES": "inline", "PYDEVD_DISABLE_FILE_VALIDATION": "1", **(env or {})}
        self.km = KernelManager(kernel_name="python3")
        self.km.start_kernel(env=env)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)
        self.session = self.kc.session

    def _recv(self, timeout: float) -> IOPubMessage | None:
        sock = self.kc.iopub_channel.socket
        if not sock.poll(int(timeout * 1000)):
            return None
        frames = sock.recv_multipart(copy=True)
        _, parts = self.session.feed_identities(frames)
        msg = self.session.deserialize(parts, content=True)
        return IOPubMessage(msg["msg_type"], msg["content"], [bytes(b) for b in msg.get("buffers", [])],
                            sum(len(f) for f in frames), msg["parent_header"].get("msg_id", ""),
                            msg["header"]["date"].timestamp())

    def run(self, code: str, timeout: float = 120, settle: float = 0.5) -> list[IOPubMessage]:
        """Execute ``code``; return all IOPub messages until it is idle and ``settle`` s have passed quietly.

        Raises ``RuntimeError`` with the traceback if the code raised.
        """
        msg_id = self.kc.execute(code)
        out: list[IOPubMessage] = []
        deadline = time.monotonic() + timeout
        idle = False
        while time.monotonic() < deadline:
            msg = self._recv(settle if idle else 1.0)
            if msg is None:
                if idle:
                    break
                continue
            if msg.msg_type == "status" and msg.parent_id == msg_id and msg.content["execution_state"] == "idle":
                idle = True
            out.append(msg)
        else:
            raise TimeoutError(f"kernel did not finish in {timeout}s")
        errors = [m.content for m in out if m.msg_type == "error"]
        if errors:
            raise RuntimeError("\n".join(errors[0]["traceback"]))
        return out

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


def pushes(messages: list[IOPubMessage]) -> list[Push]:
    """Group Bokeh comm messages into pushes: each starts with a PATCH-DOC header."""
    out: list[Push] = []
    for m in messages:
        if m.msg_type != "comm_msg":
            continue
        text = m.comm_text
        if text is not None and '"msgtype":"PATCH-DOC"' in text.replace(" ", ""):
            out.append(Push())
        if out:
            out[-1].messages.append(m)
    return out


def announcements(messages: list[IOPubMessage]) -> list[IOPubMessage]:
    """Every comm livetrain opened to the page's ``livetrain`` target (see livetrain.display.announce)."""
    return [m for m in messages if m.msg_type == "comm_open" and m.content["target_name"] == "livetrain"]


def widget_opens(messages: list[IOPubMessage]) -> list[dict]:
    """The state of every widget opened (``jupyter.widget`` comms)."""
    return [m.content["data"]["state"] for m in messages
            if m.msg_type == "comm_open" and m.content["target_name"] == "jupyter.widget"]


def custom_messages(messages: list[IOPubMessage]) -> list[IOPubMessage]:
    """Widgets' custom messages (``model.send(...)``)."""
    return [m for m in messages if m.msg_type == "comm_msg" and isinstance(m.content["data"], dict)
            and m.content["data"].get("method") == "custom"]


def bokeh_displays(messages: list[IOPubMessage]) -> list[IOPubMessage]:
    """The display messages that carry a Bokeh document (``show_doc``'s script), i.e. a new plot output."""
    return [m for m in messages if m.msg_type in ("display_data", "update_display_data")
            and "application/vnd.bokehjs_exec.v0+json" in m.content.get("data", {})]


def streamed_rows(all_pushes: list[Push], model_id: str) -> dict[str, list]:
    """Concatenate every ``ColumnsStreamed`` event for ``model_id``: what the browser's source received."""
    out: dict[str, list] = {}
    for p in all_pushes:
        for ev in p.events:
            if ev["kind"] == "ColumnsStreamed" and ev["model"]["id"] == model_id:
                for col, vals in ev["data"]["entries"]:
                    out.setdefault(col, []).extend(vals)
    return out


def stdout(messages: list[IOPubMessage]) -> str:
    """Everything the code printed to stdout."""
    return "".join(m.content["text"] for m in messages if m.msg_type == "stream" and m.content["name"] == "stdout")


def bokeh_models(tree):
    """Every model (a dict with ``id`` and ``attributes``) in a Bokeh JSON tree, depth first."""
    if isinstance(tree, dict):
        if "id" in tree and "attributes" in tree:
            yield tree
        for value in tree.values():
            yield from bokeh_models(value)
    elif isinstance(tree, list):
        for value in tree:
            yield from bokeh_models(value)


def embedded_sources(script: str) -> dict[str, dict]:
    """name -> {column: values} of every ColumnDataSource in a Bokeh notebook script's embedded document."""
    doc = json.loads(re.search(r"const docs_json = (.*);\n", script).group(1))
    return {m["attributes"]["name"]: dict(m["attributes"]["data"]["entries"]) for m in bokeh_models(doc)
            if m.get("name") == "ColumnDataSource" and "name" in m["attributes"]}
