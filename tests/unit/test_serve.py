"""``serve``: Bokeh's own server shows every run of a folder another process writes, to several sessions at once, each
with the whole history so far and then the live records, all read by one thread; and ``livetrain serve`` until Ctrl-C.
"""
import http.client
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request

import pytest
from bokeh.client import pull_session
from bokeh.document.events import SessionCallbackAdded, SessionCallbackRemoved
from bokeh.models import ColumnDataSource

from livetrain.serve import serve

SOURCE = "livetrain:scalars:"  # + the tag, e.g. "loss · a"
WAIT = 60.0


def writer(root, runs, phases):
    """A process that appends ``phases[i]`` steps of ``loss`` to each run's JSONL, then waits for the file
    ``go<i+1>`` before the next phase; it ends with the file ``done``."""
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import json, os, time
        root, step = {str(root)!r}, 0
        for i, count in enumerate({phases!r}):
            while i and not os.path.exists(os.path.join(root, f"go{{i}}")):
                time.sleep(0.02)
            for _ in range(count):
                for k, run in enumerate({runs!r}):
                    with open(os.path.join(root, run + ".jsonl"), "a") as f:
                        f.write(json.dumps({{"step": step, "metrics": {{"loss": k + 1 / (step + 1)}}}}) + "\\n")
                step += 1
                time.sleep(0.02)
        open(os.path.join(root, "done"), "w").close()
    """)])


def pulled(url, session_id=None):
    """A session of the page (a new one, or the one ``session_id`` names) as the server has it now: its id, and
    each run's x values by tag."""
    session = pull_session(session_id=session_id, url=url)
    try:
        sources = session.document.select({"type": ColumnDataSource})
        return session.id, {s.name[len(SOURCE):]: list(s.data["x"]) for s in sources
                            if (s.name or "").startswith(SOURCE)}
    finally:
        session.close()


def until(check, what):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f"no {what} after {WAIT} s; last: {check()!r}")


def test_sessions_each_get_the_history_then_the_live_records_of_one_reading(tmp_path):
    proc = writer(tmp_path, ["a", "b"], [5, 5, 5])
    server = serve(tmp_path, port=0, poll=0.05)
    try:
        steps = [float(s) for s in range(15)]

        def five_steps():
            session, seen = pulled(server.url)
            return (session, seen) if seen.get("loss · b") == steps[:5] else None

        first, seen = until(five_steps, "a session with the first five steps of both runs")
        assert seen == {"loss · a": steps[:5], "loss · b": steps[:5]}  # one plot "loss", a line per run
        (tmp_path / "go1").touch()
        until(lambda: pulled(server.url, first)[1].get("loss · b") == steps[:10], "live records in the first session")
        second, seen = pulled(server.url)  # a new page (or a reload): the whole history so far
        assert second != first and seen == {"loss · a": steps[:10], "loss · b": steps[:10]}
        threads = set()  # where each session's models change: only in Bokeh's server thread, in the session's ticks

        def changed(event):
            if not isinstance(event, (SessionCallbackAdded, SessionCallbackRemoved)):  # a tick asked for or run
                threads.add(threading.current_thread())

        for session in server.server.get_sessions("/"):
            doc = session.document
            doc.add_next_tick_callback(lambda d=doc: d.on_change(changed))
        (tmp_path / "go2").touch()
        for session in (first, second):  # both sessions go on growing
            until(lambda s=session: pulled(server.url, s)[1] == {"loss · a": steps, "loss · b": steps},
                  f"all fifteen steps in session {session}")
        assert threads == {server._loop_thread}
        assert len(server.server.get_sessions("/")) >= 2
        readers = [t for t in threading.enumerate() if t.name == "livetrain-serve-read"]
        assert len(readers) == 1 and sorted(server.watcher.readers) == ["a", "b"]  # one reading for every session
    finally:
        server.stop()
        proc.wait(timeout=WAIT)
    assert not any(t.name.startswith("livetrain-serve") for t in threading.enumerate())
    with pytest.raises(OSError):
        pulled(server.url)


def test_the_command_serves_the_page_until_ctrl_c(tmp_path):
    root = tmp_path / "<i>runs"  # a user's name, shown as text
    root.mkdir()
    proc = writer(root, ["a"], [3])
    server = subprocess.Popen([sys.executable, "-m", "livetrain.cli", "serve", str(root), "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = server.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert url, line
        url = url[0]
        with urllib.request.urlopen(url, timeout=WAIT) as response:
            page = response.read().decode()
        assert "<title>livetrain · &lt;i&gt;runs</title>" in page and "<i>runs" not in page
        until(lambda: pulled(url)[1] == {"loss · a": [0.0, 1.0, 2.0]}, "the run's three steps")
    finally:
        proc.wait(timeout=WAIT)
        server.send_signal(signal.SIGINT)
        out, _ = server.communicate(timeout=WAIT)
    assert server.returncode == 0, out
    assert "livetrain serve: stopped (1 run(s))" in out and "Traceback" not in out, out


def test_the_command_draws_earlier_runs_under_the_live_ones_and_names_a_missing_one(tmp_path):
    from bokeh.models import GlyphRenderer

    root = tmp_path / "runs"
    root.mkdir()
    (root / "a.jsonl").write_text('{"step": 0, "metrics": {"loss": 0.5}}\n')
    old = tmp_path / "old.jsonl"
    old.write_text('{"step": 0, "metrics": {"loss": 0.9}}\n')
    command = [sys.executable, "-m", "livetrain.cli", "serve", str(root), "--port", "0", "--compare"]
    missing = subprocess.run([*command, str(tmp_path / "gone")], capture_output=True, text=True, timeout=WAIT)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    server = subprocess.Popen([*command, str(old)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = re.search(r"http://127\.0\.0\.1:\d+/", server.stdout.readline())[0]

        def both():
            session = pull_session(url=url)
            try:
                return {"loss · a", "loss · old"} <= {r.name for r in session.document.select({"type": GlyphRenderer})}
            finally:
                session.close()

        until(both, "the live run's line and the earlier run's")
    finally:
        server.send_signal(signal.SIGINT)
        out, _ = server.communicate(timeout=WAIT)
    assert server.returncode == 0, out


def test_pages_from_this_machine_and_the_names_allowed_may_connect(tmp_path):
    def handshake(port, origin):  # the browser's websocket upgrade, from a page at ``origin``
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
        try:
            connection.request("GET", "/ws", headers={
                "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
                "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Origin": origin})
            return connection.getresponse().status
        finally:
            connection.close()

    with serve(tmp_path, port=0, allow_websocket_origin=["proxy.example:8000"]) as server:
        port = server.port
        allowed = [f"http://127.0.0.1:{port}", f"http://localhost:{port}", "http://proxy.example:8000"]
        assert [handshake(port, origin) for origin in allowed] == [101, 101, 101]
        assert [handshake(port, origin) for origin in ("http://localhost:8000", "http://evil.example")] == [403, 403]


def test_bad_settings_say_what_was_expected(tmp_path):
    with pytest.raises(ValueError, match=r"port must be an int in 0\.\.65535 \(0: a free one\), got -1"):
        serve(tmp_path, port=-1)
    with pytest.raises(ValueError, match="x must be one of 'step', 'wall', 'relative', got 'epoch'"):
        serve(tmp_path, port=0, x="epoch")
    with serve(tmp_path, port=0) as server:
        taken = subprocess.run([sys.executable, "-m", "livetrain.cli", "serve", str(tmp_path), "--port",
                                str(server.port)], capture_output=True, text=True, timeout=WAIT)
    assert taken.returncode == 2 and taken.stderr.startswith("livetrain serve: "), taken.stderr
