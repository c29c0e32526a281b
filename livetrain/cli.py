"""The ``livetrain`` command: ``livetrain gif HISTORY.json --view line --out fig/line.gif`` re-draws a saved run;
``livetrain watch PATH`` follows a log as it grows, as a live HTML page; ``livetrain serve DIR`` serves a folder's
runs live to browsers."""
from __future__ import annotations

import argparse
import inspect
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .core.history import History
from .display import set_transport
from .export import FrameExporter
from .frames import RENDERERS
from .sources import FORMATS
from .views import VIEWS
from .views.base import LiveView
from .watch import watch


def make_view(kind: str, history: History, keys: Sequence[str] | None = None, phases: Sequence[str] | None = None,
              **options: Any) -> LiveView:
    """The registered view ``kind`` (see :data:`livetrain.views.VIEWS`) set up for a saved ``history``;
    ``options`` left at ``None`` are not passed, and one the view does not take is a ``ValueError``.

    Example:
        >>> make_view("line", History({"train": {"loss": [0.5], "acc": [0.9], "recon": [[[0.0]]]}})).keys
        ('loss', 'acc')
    """
    if kind not in VIEWS:
        raise ValueError(f"view must be one of {', '.join(VIEWS)}; got {kind!r}")
    view = VIEWS[kind]
    options = {k: v for k, v in options.items() if v is not None}
    accepted = inspect.signature(view).parameters
    wrong = [k for k in options if k not in accepted]
    if wrong:
        raise ValueError(f"--{wrong[0]} does not apply to the {kind} view")
    return view.from_history(history, keys, phases, **options)


def replay(history: History, exporter: FrameExporter) -> None:
    """Show ``exporter`` the saved ``history`` epoch by epoch, as ``train_loop`` would have.

    Example:
        >>> view = VIEWS["line"]()
        >>> exporter = FrameExporter(view)
        >>> replay(History({"train": {"loss": [0.5, 0.4], "acc": [0.8, 0.9]}}), exporter)
        >>> exporter.recorded
        2
    """
    grown = History({p: {k: [] for k in series} for p, series in history.items()})
    for epoch in range(max((len(v) for s in history.values() for v in s.values()), default=0)):
        for phase, series in history.items():
            if any(len(v) > epoch for v in series.values()):
                for key, values in series.items():
                    grown[phase][key].extend(values[epoch:epoch + 1])
                exporter.on_epoch_end(epoch, phase, grown)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``livetrain`` command."""
    parser = argparse.ArgumentParser(prog="livetrain", description="livetrain's command line")
    commands = parser.add_subparsers(dest="command", required=True)
    gif = commands.add_parser("gif", help="draw a saved history (History.save / train_loop(history_path=...)) "
                                          "as a GIF of the training's progress, one frame per epoch")
    gif.add_argument("history", type=Path, help="the history's JSON file")
    gif.add_argument("--view", choices=list(VIEWS), default="line", help="which live view to draw (default: line)")
    gif.add_argument("--out", type=Path, required=True, help="the GIF to write, e.g. fig/line.gif")
    gif.add_argument("--keys", nargs="+", help="history keys to draw (default: loss and metrics for line, "
                                               "corrects and counts for bars, recon and target for image)")
    gif.add_argument("--phases", nargs="+", help="phases to draw (default: all in the history)")
    gif.add_argument("--cmap", help="colour map of single-channel images (default: gray)")
    gif.add_argument("--renderer", choices=["auto", *RENDERERS], default="auto", help="browser (Chromium: Bokeh's own "
                     "pixels), matplotlib (no browser) or auto (the browser when there is one)")
    gif.add_argument("--frames-dir", type=Path, help="also write one PNG per epoch here")
    gif.add_argument("--every", type=int, default=1, help="draw every N-th epoch (and the last)")
    gif.add_argument("--scale", type=float, default=1.0, help="device pixels per CSS pixel of the frames: 2 draws "
                     "twice the pixels each way, the same layout (default: 1)")
    gif.add_argument("--duration-ms", type=int, default=200, help="time per frame (default: 200)")
    gif.add_argument("--last-ms", type=int, default=1500, help="time the last frame stays (default: 1500)")
    follow = commands.add_parser("watch", help="follow a log written by anything (a JSONL, CSV or TensorBoard event "
                                 "file, or a folder of runs) and keep a live HTML page of it, until Ctrl-C")
    follow.add_argument("path", type=Path, help="the log file, or a folder whose runs are all drawn")
    follow.add_argument("--html-dir", type=Path, default=Path("."), help="where the page (livetrain-board.html) and, "
                        "at the end, its PNG go (default: here)")
    follow.add_argument("--idle", type=float, help="stop once no record arrived for this many seconds")
    follow.add_argument("--poll", type=float, default=0.1, help="seconds between two reads of the files")
    follow.add_argument("--x", choices=["step", "wall", "relative"], default="step", help="the x axis")
    follow.add_argument("--format", choices=list(FORMATS), help="the file's format when its name does not tell")
    follow.add_argument("--compare", nargs="+", type=Path, help="earlier runs (histories, logs or folders) drawn "
                        "under the watched ones, a faint dashed line each")
    served = commands.add_parser("serve", help="show every run in a folder live on a web page of Bokeh's own server "
                                 "(several viewers at once; a reloaded page keeps the history), until Ctrl-C")
    served.add_argument("path", type=Path, help="the folder of runs (or one log file)")
    served.add_argument("--host", default="127.0.0.1", help="the address to listen on (default: 127.0.0.1, this "
                        "machine only: from elsewhere, through an SSH tunnel)")
    served.add_argument("--port", type=int, default=5006, help="the port (default: 5006; 0: a free one)")
    served.add_argument("--allow-websocket-origin", action="append", default=[], metavar="HOST[:PORT]",
                        help="another name the page is opened by (a proxy's), as bokeh serve's option; repeatable")
    served.add_argument("--poll", type=float, default=0.1, help="seconds between two reads of the files")
    served.add_argument("--x", choices=["step", "wall", "relative"], default="step", help="the x axis")
    served.add_argument("--format", choices=list(FORMATS), help="the file's format when its name does not tell")
    served.add_argument("--compare", nargs="+", type=Path, help="earlier runs (histories, logs or folders) drawn "
                        "under the served ones on every page, a faint dashed line each")
    args = parser.parse_args(argv)
    if args.command == "watch":
        return _watch(args)
    if args.command == "serve":
        return _serve(args)
    try:
        history = History.load(args.history, keep_images=None)  # every epoch's image batch: one frame each
        exporter = FrameExporter(make_view(args.view, history, args.keys, args.phases, cmap=args.cmap),
                                 renderer=args.renderer, every=args.every, scale=args.scale)
        replay(history, exporter)
        out = exporter.save_gif(args.out, duration_ms=args.duration_ms, last_ms=args.last_ms)
        if args.frames_dir is not None:
            exporter.save_frames(args.frames_dir)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, ImportError) as exc:
        print(f"livetrain gif: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {out} ({len(exporter.frames())} frames)")
    return 0


def _watch(args: argparse.Namespace) -> int:
    """``livetrain watch``: the board as an HTML page rewritten as the log grows (the script transport)."""
    os.environ["LIVETRAIN_HTML_DIR"] = str(args.html_dir)
    set_transport("script")
    try:
        watcher = watch(args.path, poll=args.poll, x=args.x, format=args.format, compare=args.compare)
    except (OSError, ValueError, ImportError) as exc:
        print(f"livetrain watch: {exc}", file=sys.stderr)
        return 2
    watcher.wait(idle=args.idle)
    watcher.stop()
    print(f"livetrain watch: {len(watcher.readers)} run(s), {sum(len(t) for t in watcher.history.steps.values())} "
          f"values")
    return 0


def _serve(args: argparse.Namespace) -> int:
    """``livetrain serve``: Bokeh's server with a live board of the folder's runs, until Ctrl-C (or SIGTERM)."""
    from .serve import serve  # Bokeh's server and tornado: only for this command

    set_transport("none")
    try:
        server = serve(args.path, port=args.port, host=args.host, poll=args.poll, x=args.x, format=args.format,
                       allow_websocket_origin=args.allow_websocket_origin, compare=args.compare)
    except (OSError, ValueError) as exc:
        print(f"livetrain serve: {exc}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stops as Ctrl-C does
    print(f"livetrain serve: {args.path} at {server.url} (Ctrl-C stops)", flush=True)
    server.wait()  # until Ctrl-C, which stops it
    print(f"livetrain serve: stopped ({len(server.watcher.readers)} run(s))")
    return 0


if __name__ == "__main__":
    sys.exit(main())
