"""``serve(path)`` and ``livetrain serve DIR``: every run in a folder, live, on a page of Bokeh's own server.

For a run watched from another machine, by several people, or longer than a notebook stays open: the page survives
reloads (a new page gets the whole history so far, then the live updates), and each viewer gets a board of their
own. One thread reads the logs (a :class:`~livetrain.Watcher`) into one shared history; each browser session draws
it in its own Bokeh document, changed only in the session's own callbacks (``add_next_tick_callback``).

Example::

    from livetrain.serve import serve
    server = serve("runs/", port=5006)   # open http://localhost:5006 (through `ssh -L 5006:localhost:5006 host`)
    server.stop()
"""
from __future__ import annotations

import asyncio
import os
import threading
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bokeh.application import Application
from bokeh.application.handlers.function import FunctionHandler
from bokeh.document import Document
from bokeh.server.server import BaseServer
from bokeh.server.tornado import BokehTornado
from bokeh.server.util import bind_sockets, create_hosts_allowlist
from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop

from .core.callback import Callback
from .core.history import History
from .views.board import Board
from .views.compare import Compare, load_runs
from .watch import Watcher

Batch = list[tuple[int, Mapping[str, Any]]]  # (step, logs) records, in the order they were read


class SessionBoard(Board):
    """A :class:`~livetrain.Board` in one server session's document: it neither displays nor pushes itself (no
    throttle thread touches the session's models); the session's tick callback stages records with ``on_log`` and
    then applies them (:meth:`draw`).

    Example:
        >>> board = SessionBoard()
        >>> h = History(); _ = h.log({"loss": 0.5}, step=0)
        >>> board.draw([(0, {"loss": 0.5})], h); list(board.panels)
        ['loss']
    """

    def __init__(self, x: str = "step", compare: Compare = None) -> None:
        super().__init__(x=x, interval=0, compare=compare)
        self._out = None  # the session's document shows it, not a notebook output or page

    def _request(self) -> None:
        """Nothing: :meth:`draw`, in the session's callback, applies what ``on_log`` staged."""

    def draw(self, batch: Batch, history: History, runs: Mapping[str, tuple[str, str]] | None = None) -> None:
        """Stage ``batch``'s records and apply them to the models; ``runs`` maps a folder's tags (``loss · a``) to
        their plot and run (``("loss", "a")``), as :class:`~livetrain.Watcher` groups them. Call it where the
        document may change (its session's callback, or before it is served)."""
        for tag, (title, run) in (runs or {}).items():
            self.group(title, [tag], run=run)
        for step, logs in batch:
            self.on_log(step, logs, history)
        with self.throttle.lock:
            self.apply_pending()


@dataclass(eq=False)
class _Session:
    doc: Document
    board: SessionBoard
    queue: Batch = field(default_factory=list)  # records read since the session's last tick
    scheduled: bool = True  # a tick is pending (or the session is still being built): records only queue up


class LiveServer(Callback):
    """Bokeh's server (in a thread of its own) showing the runs of ``path`` live; see :func:`serve`.

    It is its watcher's one callback: ``on_log`` queues each record for every session and asks the session's
    document for one tick (``add_next_tick_callback``) that draws what queued up meanwhile.
    """

    def __init__(self, path: str | os.PathLike[str], *, port: int = 5006, host: str = "127.0.0.1",
                 poll: float = 0.1, x: str = "step", format: str | None = None,
                 allow_websocket_origin: Sequence[str] = (), compare: Compare = None) -> None:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port < 65536:
            raise ValueError(f"port must be an int in 0..65535 (0: a free one), got {port!r}")
        if x not in ("step", "wall", "relative"):
            raise ValueError(f"x must be one of 'step', 'wall', 'relative', got {x!r}")
        self.x = x
        self.compare = load_runs(compare)  #: the earlier runs under every page's live ones, read once
        self.watcher = Watcher(path, callbacks=[self], poll=poll, format=format)
        self.history = self.watcher.history  #: what every session draws
        self.runs: dict[str, tuple[str, str]] = {}  #: a folder's tag (``loss · a``) -> (its plot, its run)
        self._sessions: list[_Session] = []
        self._lock = threading.Lock()  # a poll, a session's snapshot of the history, the queues
        self._stop = threading.Event()
        sockets, self.port = bind_sockets(host, port)  #: the port listened on
        self.host = host
        local = {f"localhost:{self.port}", f"127.0.0.1:{self.port}", f"{_netloc(host)}:{self.port}"}
        origins = create_hosts_allowlist([*sorted(local), *allow_websocket_origin], self.port)
        self.io_loop: IOLoop | None = None
        self.server: BaseServer | None = None  #: Bokeh's server, once it runs
        started = threading.Event()
        failed: list[BaseException] = []
        self._loop_thread = threading.Thread(target=self._run, args=(sockets, origins, started, failed),
                                             name="livetrain-serve", daemon=True)
        self._loop_thread.start()
        started.wait()
        if failed:
            raise failed[0]
        self._reader = threading.Thread(target=self._follow, name="livetrain-serve-read", daemon=True)
        self._reader.start()

    @property
    def url(self) -> str:
        """The page's address, e.g. ``http://127.0.0.1:5006/``."""
        host = "localhost" if self.host in ("", "0.0.0.0", "::") else self.host
        return f"http://{_netloc(host)}:{self.port}/"

    def stop(self) -> None:
        """Stop reading and serving, and close the port."""
        self._stop.set()
        self._reader.join()
        if self.io_loop is not None and self._loop_thread.is_alive():
            self.io_loop.add_callback(self._shutdown)
            self._loop_thread.join()
        with self._lock:
            self._sessions.clear()

    def wait(self) -> None:
        """Block until :meth:`stop` (from another thread) or Ctrl-C, which stops the server.

        Example:
            >>> import tempfile
            >>> server = serve(tempfile.mkdtemp(), port=0); threading.Timer(0.2, server.stop).start(); server.wait()
        """
        try:
            while not self._stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            self.stop()

    def __enter__(self) -> LiveServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"LiveServer({str(self.watcher.path)!r}, url={self.url!r}, sessions={len(self._sessions)})"

    def on_log(self, step: int, logs: Mapping[str, Any], history: History) -> None:
        """Called by the watcher (in the reading thread, the lock held) for each record it reads."""
        if self.watcher.folder:
            for tag in logs:
                if tag not in self.runs and tag not in history.records:
                    run = max((r for r in self.watcher.readers if tag.endswith(f" · {r}")), key=len, default=None)
                    if run is not None:
                        self.runs[tag] = (tag[:-len(run) - 3], run)
        for session in list(self._sessions):
            session.queue.append((step, logs))
            if not session.scheduled:
                self._schedule(session)

    def _schedule(self, session: _Session) -> None:
        """Ask for ``session``'s tick (the lock held); a session whose document is gone is forgotten."""
        try:
            session.doc.add_next_tick_callback(lambda: self._tick(session))
            session.scheduled = True
        except RuntimeError:  # "Attempting to add session callback to already-destroyed Document"
            self._sessions.remove(session)

    def _tick(self, session: _Session) -> None:
        """In the session's callback (Bokeh's server thread, the document locked): draw what queued up."""
        with self._lock:
            batch, session.queue, session.scheduled = session.queue, [], False
            runs = {tag: self.runs[tag] for _, logs in batch for tag in logs if tag in self.runs}
        session.board.draw(batch, self.history, runs)

    def _open(self, doc: Document) -> None:
        """A new page: a board of the whole history so far, then the records read meanwhile, then live ones."""
        board = SessionBoard(x=self.x, compare=self.compare)
        session = _Session(doc, board)
        with self._lock:  # the history up to here is drawn now, the records after it queue up
            history = self.history
            batch: Batch = [(max((int(t.step[-1]) for t in history.steps.values() if len(t)), default=0),
                             dict.fromkeys(history.steps))] if history.steps else []
            batch += [(step, {tag: value}) for tag, records in history.records.items()
                      for step, _, value in records.entries]
            runs = dict(self.runs)  # in the order the tags arrived: each run gets the colour it has on older pages
            self._sessions.append(session)
        try:
            board.draw(batch, history, runs)
            doc.title = f"livetrain · {self.watcher.path.resolve().name}"
            doc.add_root(board.graph)
        except BaseException:  # no page: nothing queues up for it
            with self._lock:
                self._sessions.remove(session)
            raise

        def forget(session_context: Any) -> None:
            with self._lock:
                if session in self._sessions:
                    self._sessions.remove(session)

        doc.on_session_destroyed(forget)
        with self._lock:
            session.scheduled = False
            if session.queue:
                self._schedule(session)

    def _follow(self) -> None:
        """The reading thread: poll the logs until :meth:`stop`."""
        while not self._stop.is_set():
            try:
                with self._lock:
                    self.watcher.poll()
            except Exception as exc:  # noqa: BLE001 - the server goes on; the next poll retries
                warnings.warn(f"livetrain serve: reading {self.watcher.path} failed ({type(exc).__name__}: {exc})",
                              RuntimeWarning, stacklevel=2)
            self._stop.wait(self.watcher.interval)

    def _run(self, sockets: list[Any], origins: list[str], started: threading.Event,
             failed: list[BaseException]) -> None:
        """Bokeh's server thread: its own event loop, serving ``sockets`` until :meth:`_shutdown`."""
        try:
            asyncio.set_event_loop(asyncio.new_event_loop())
            self.io_loop = IOLoop.current()
            app = BokehTornado({"/": Application(FunctionHandler(self._open))}, extra_websocket_origins=origins)
            http = HTTPServer(app, xheaders=False)
            http.add_sockets(sockets)
            self.server = BaseServer(self.io_loop, app, http)
            self.server.start()
        except BaseException as exc:  # noqa: BLE001 - raised in the caller's thread
            failed.append(exc)
            for sock in sockets:
                sock.close()
            return
        finally:
            started.set()
        self.io_loop.start()
        self.io_loop.close(all_fds=True)

    def _shutdown(self) -> None:
        assert self.server is not None and self.io_loop is not None
        self.server.stop()
        self.server.unlisten()
        self.io_loop.add_callback(self.io_loop.stop)


def _netloc(host: str) -> str:
    """``host`` as it is written before ``:port`` (an IPv6 address in brackets)."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def serve(path: str | os.PathLike[str], *, port: int = 5006, host: str = "127.0.0.1", poll: float = 0.1,
          x: str = "step", format: str | None = None, allow_websocket_origin: Sequence[str] = (),
          compare: Compare = None) -> LiveServer:
    """Serve a live board of every run in the folder ``path`` (or of one log file) on Bokeh's server, in a
    background thread, until :meth:`LiveServer.stop`; a page opened or reloaded later shows the whole history so far.

    Args:
        path: a folder of runs (see :func:`~livetrain.sources.find_logs`; it may not exist yet), or one log file.
        port: the port (0: a free one; :attr:`LiveServer.port` says which).
        host: the address to listen on; the default, ``127.0.0.1``, serves this machine only (reach it from
            elsewhere through an SSH tunnel: ``ssh -L 5006:localhost:5006 host``).
        poll: seconds between two reads of the logs.
        x: the plots' x axis: ``"step"``, ``"wall"`` or ``"relative"``.
        format: the format of a file whose name does not tell (see :class:`~livetrain.Watcher`).
        allow_websocket_origin: more ``host[:port]`` the page may be opened from (as ``bokeh serve``'s option: a
            name the page is reached by, e.g. a proxy's); ``localhost`` and ``127.0.0.1`` at ``port`` always may.
        compare: earlier runs drawn under the live ones on every page, a faint dashed line each (as
            :class:`~livetrain.Board`'s ``compare``: paths of histories, logs or folders, or histories); read once.

    Example:
        >>> import tempfile
        >>> server = serve(tempfile.mkdtemp(), port=0)
        >>> server.url.startswith("http://127.0.0.1:")
        True
        >>> server.stop()
    """
    return LiveServer(path, port=port, host=host, poll=poll, x=x, format=format,
                      allow_websocket_origin=allow_websocket_origin, compare=compare)

