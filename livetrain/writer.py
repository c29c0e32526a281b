"""``SummaryWriter``: ``torch.utils.tensorboard.SummaryWriter``'s methods, drawn live in the notebook cell, recorded
in a :class:`~livetrain.History`, and written to TensorBoard event files as torch writes them.

Swap the import and keep the code::

    from livetrain import SummaryWriter      # was: from torch.utils.tensorboard import SummaryWriter
    writer = SummaryWriter("runs/exp1")      # in a notebook: the live board appears in this cell
    writer.add_scalar("train/loss", loss, step)

What differs from torch's writer, on purpose:

- Event files are written and flushed within ``interval`` seconds of each call (about ten times a second), not
  every ``flush_secs=120``: TensorBoard and ``livetrain`` readers see the run as it goes. ``max_queue`` and
  ``flush_secs`` are accepted and have no effect. ``write_to_disk=False`` (tensorboardX's name) writes no files.
- ``log_dir=None`` writes to ``runs/<date>_<host><comment>``, as torch does.
- ``global_step=None`` is one past the largest step logged so far (torch writes step 0).
- A call never raises into the training loop: a bad value, an unsupported argument or method (``add_video``,
  ``add_audio``, ...) and a failing disk each give one ``RuntimeWarning`` naming them, and the call returns.
- Scalars (Python, numpy, torch or JAX) are not read when logged: they are read, at most once per ``interval``, when
  the board or the event file needs them, so JAX's asynchronous dispatch goes on.
- ``add_embedding`` and ``add_graph`` write what TensorBoard's projector and graph dashboard read, as torch does;
  the board draws the embedding's scatter and the model's layer table and diagram (a placeholder for a model that
  could not be summarised). A model that cannot be traced gets one warning and no graph.
"""
from __future__ import annotations

import atexit
import functools
import os
import socket
import sys
import time
import warnings
import weakref
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from .core.callback import Callback, CallbackList
from .core.distributed import is_rank_zero
from .core.eventfiles import EventFiles
from .core.history import History
from .core.metrics import to_float, to_numpy
from .core.modelsummary import summarize
from .core.projector import Projector, embedding_files
from .core.tbvalues import figure_pixels, image_hwc, scalar_of, step_of
from .core.tfevents import histogram_buckets, pr_curve_data
from .core.tfgraph import trace_graph
from .views.board import Board
from .views.compare import Compare

_PACKAGE = str(Path(__file__).resolve().parent) + os.sep
F = TypeVar("F", bound=Callable[..., Any])


def warn_user(message: str) -> None:
    """Warn ``message`` (a ``RuntimeWarning``, prefixed ``livetrain:``) at the first caller outside livetrain: the
    line of the user's code that made the call.

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always"); warn_user("add_video is not supported")
        >>> str(caught[0].message)
        'livetrain: add_video is not supported'
    """
    frame, level = sys._getframe(1), 2
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    warnings.warn(f"livetrain: {message}", RuntimeWarning, stacklevel=level)


def _guarded(method: F) -> F:
    """A ``SummaryWriter`` method that never raises an ``Exception``: it warns once per method and tag instead."""

    @functools.wraps(method)
    def call(self: SummaryWriter, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - logging must never stop training
            tag = args[0] if args and isinstance(args[0], str) else kwargs.get("tag", kwargs.get("main_tag", ""))
            self._warn((method.__name__, tag), f"SummaryWriter.{method.__name__}({tag!r}, ...) failed "
                       f"({type(exc).__name__}: {exc}); it is skipped and training goes on")
            return None

    return call  # type: ignore[return-value]


def default_log_dir(comment: str = "") -> str:
    """torch's default: ``runs/<Mon><DD>_<HH-MM-SS>_<host><comment>``.

    Example:
        >>> default_log_dir("_lr0.1").startswith("runs" + os.sep) and default_log_dir("_x").endswith("_x")
        True
    """
    return os.path.join("runs", datetime.now().strftime("%b%d_%H-%M-%S") + "_" + socket.gethostname() + comment)


class SummaryWriter:
    """``torch.utils.tensorboard.SummaryWriter``, live: the same methods, arguments and value types; every call is
    recorded in :attr:`history`, drawn by a live :class:`~livetrain.views.board.Board` (one panel per tag, grouped by
    the part of the tag before ``/``), and written to TensorBoard event files in ``log_dir``.

    Args:
        log_dir: where the event files go; default ``runs/<date>_<host><comment>``, as torch.
        comment: appended to the default ``log_dir``.
        purge_step, max_queue, flush_secs, filename_suffix: torch's. Files are flushed within ``interval`` seconds of
            each call, so ``max_queue`` and ``flush_secs`` change nothing; ``purge_step`` is not supported (a warning).
        logdir: tensorboardX's name for ``log_dir``.
        write_to_disk: ``False``: no event files, only the live board and the history (tensorboardX's name). In a
            distributed run, only global rank 0 writes files and shows the board.
        show: ``False``: no live board (the history and the files still get everything).
        x: the scalar panels' x axis: ``"step"``, ``"wall"`` (time of day) or ``"relative"`` (seconds since the start).
        history: a :class:`~livetrain.History` to record into (default: a new one, :attr:`history`).
        callbacks: more callbacks, called ``on_log(step, logs, history)`` after each call.
        interval: the least time between two updates of the board and of the event files, in seconds.
        compare: earlier runs the board draws under this one, a faint dashed line each (see
            :func:`~livetrain.views.compare.load_runs`: histories, JSONL, CSV or event files, or folders of them).

    Example:
        >>> writer = SummaryWriter(write_to_disk=False)
        >>> for step in range(3):
        ...     writer.add_scalar("train/loss", 1 / (step + 1), step)
        >>> writer.add_text("notes", "lr = 0.1")
        >>> writer.close()
        >>> writer.history.steps["train/loss"].value.tolist(), writer.history.records["notes"].kind
        ([1.0, 0.5, 0.3333333333333333], 'text')
    """

    def __init__(self, log_dir: str | os.PathLike[str] | None = None, comment: str = "", purge_step: int | None = None,
                 max_queue: int = 10, flush_secs: int = 120, filename_suffix: str = "", *,
                 logdir: str | os.PathLike[str] | None = None, write_to_disk: bool = True, show: bool = True,
                 x: str = "step", history: History | None = None, callbacks: Sequence[Callback] = (),
                 interval: float = 0.1, compare: Compare = None) -> None:
        self._warned: set[Any] = set()
        self.log_dir = str(log_dir or logdir or default_log_dir(comment))
        self.purge_step, self.max_queue, self.flush_secs = purge_step, max_queue, flush_secs
        self.filename_suffix = filename_suffix
        self.history = History() if history is None else history
        #: the live dashboard (``show=False``: none)
        self.board = Board(x=x, interval=interval, compare=compare) if show else None
        self._hooks = CallbackList([*([self.board] if self.board is not None else []), *callbacks])
        self._events = EventFiles(self.log_dir, filename_suffix, interval, self._warn) \
            if write_to_disk and is_rank_zero() else None  # a distributed run: rank 0 alone writes
        self._projector = Projector(self.log_dir)  # add_embedding's files and their projector_config.pbtxt
        if purge_step is not None:
            self._warn("purge_step", "SummaryWriter(purge_step=...) is not supported; no events are purged")
        if self._events is not None:
            self._events.open()  # the folder and its first event file exist from the start, as with torch
        if self.board is not None:
            self.board.show()  # in a notebook, the board appears in the cell that makes the writer
        atexit.register(_close_at_exit, weakref.ref(self))

    # -- torch's methods -------------------------------------------------------------------------------------------

    @property
    def write_to_disk(self) -> bool:
        """Whether event files are written: ``False`` if asked, on ranks other than 0, and once the disk failed."""
        return self._events is not None and self._events.enabled

    def get_logdir(self) -> str:
        """The directory the event files go to.

        Example:
            >>> SummaryWriter("runs/a", write_to_disk=False, show=False).get_logdir()
            'runs/a'
        """
        return self.log_dir

    @_guarded
    def add_scalar(self, tag: str, scalar_value: Any, global_step: Any = None, walltime: float | None = None,
                   new_style: bool = False, double_precision: bool = False) -> None:
        """Log one number (Python, numpy, torch or JAX; a one-element array too) at ``global_step``. It is not read
        now: a device value is read when it is drawn or written, at most once per ``interval``. ``new_style`` and
        ``double_precision`` only change how torch encodes the event; they are accepted and ignored.

        Example:
            >>> w = SummaryWriter(write_to_disk=False, show=False); w.add_scalar("acc", np.float32(0.5), 10)
            >>> w.history.steps["acc"].step.tolist()
            [10]
        """
        tag = _tag(tag)
        self._log({tag: scalar_of(scalar_value)}, global_step, walltime, {tag: ("", tag)})

    @_guarded
    def add_scalars(self, main_tag: str, tag_scalar_dict: Mapping[str, Any], global_step: Any = None,
                    walltime: float | None = None) -> None:
        """Log several numbers as one panel with a line each: ``main_tag/<key>`` in the history; in the event files,
        as torch writes them, tag ``main_tag`` in one sub-run per key (``log_dir/<main_tag>_<key>``).

        Example:
            >>> w = SummaryWriter(write_to_disk=False, show=False)
            >>> w.add_scalars("loss", {"train": 0.5, "test": 0.7}, 0); sorted(w.history.steps)
            ['loss/test', 'loss/train']
        """
        main_tag = _tag(main_tag)
        if not isinstance(tag_scalar_dict, Mapping) or not tag_scalar_dict:
            raise TypeError(f"tag_scalar_dict must be a non-empty dict of name -> number, got "
                            f"{type(tag_scalar_dict).__name__}")
        metrics = {f"{main_tag}/{_tag(k)}": scalar_of(v) for k, v in tag_scalar_dict.items()}
        where = {f"{main_tag}/{k}": (f"{main_tag.replace('/', '_')}_{k}", main_tag) for k in tag_scalar_dict}
        if self.board is not None:
            self.board.group(main_tag, list(metrics))
        self._log(metrics, global_step, walltime, where)

    @_guarded
    def add_image(self, tag: str, img_tensor: Any, global_step: Any = None, walltime: float | None = None,
                  dataformats: str = "CHW") -> None:
        """Log one image: ``(C, H, W)`` by default, or as ``dataformats`` says (``"HWC"``, ``"HW"``, ...); floats in
        0..1, uint8 in 0..255. The board shows the latest; the history keeps the last few (see ``Records``).

        Example:
            >>> w = SummaryWriter(write_to_disk=False, show=False)
            >>> w.add_image("digits", np.zeros((28, 28)), 0, dataformats="HW")
            >>> w.history.records["digits"].kind
            'image'
        """
        self._image(_tag(tag), image_hwc(img_tensor, dataformats), global_step, walltime)

    @_guarded
    def add_images(self, tag: str, img_tensor: Any, global_step: Any = None, walltime: float | None = None,
                   dataformats: str = "NCHW") -> None:
        """Log a batch of images, tiled 8 per row as torch does; ``(N, C, H, W)`` by default.

        Example:
            >>> w = SummaryWriter(write_to_disk=False, show=False)
            >>> w.add_images("batch", np.zeros((16, 1, 28, 28)), 0)
            >>> w.history.records["batch"].kind
            'image'
        """
        self._image(_tag(tag), image_hwc(img_tensor, dataformats), global_step, walltime)

    @_guarded
    def add_figure(self, tag: str, figure: Any, global_step: Any = None, close: bool = True,
                   walltime: float | None = None) -> None:
        """Log a matplotlib figure (or a list of them, tiled) as an image, rendered with Agg; ``close`` closes it.

        Example:
            >>> import matplotlib.figure
            >>> w = SummaryWriter(write_to_disk=False, show=False)
            >>> w.add_figure("plot", matplotlib.figure.Figure(figsize=(2, 1), dpi=50), 0)
            >>> w.history.records["plot"].kind
            'image'
        """
        if isinstance(figure, list):
            picture = image_hwc(np.stack([figure_pixels(f, close) for f in figure]), "NHWC")
        else:
            picture = figure_pixels(figure, close)
        self._image(_tag(tag), picture, global_step, walltime)

    @_guarded
    def add_text(self, tag: str, text_string: str, global_step: Any = None, walltime: float | None = None) -> None:
        """Log a text; the board shows the latest, as text (never as HTML).

        Example:
            >>> w = SummaryWriter(write_to_disk=False, show=False); w.add_text("notes", "lr = 0.1", 0)
            >>> w.history.records["notes"].kind
            'text'
        """
        if isinstance(text_string, bytes):
            text_string = text_string.decode("utf-8", "replace")
        if not isinstance(text_string, str):
            raise TypeError(f"text_string must be a str, got {type(text_string).__name__}")
        tag = _tag(tag)
        self._record(tag, "text", text_string, global_step, walltime,
                     lambda step, wall: ("", "add_text", (tag, text_string, step, wall)))

    @_guarded
    def add_histogram(self, tag: str, values: Any, global_step: Any = None, bins: Any = "tensorflow",
                      walltime: float | None = None, max_bins: int | None = None) -> None:
        """Log the histogram of ``values`` (any shape; NaN and infinities left out). The history keeps its summary
        (``min``, ``max``, ``num``, ``sum``, ``sum_squares``, ``bucket_limit``, ``bucket``), as TensorBoard does.

        Example:
            >>> w = SummaryWriter(write_to_disk=False, show=False); w.add_histogram("w", np.arange(4.0), 0, bins=2)
            >>> w.history.records["w"].kind
            'histogram'
        """
        array = np.asarray(to_numpy(values), dtype=np.float64).reshape(-1)
        finite = array[np.isfinite(array)]
        if not finite.size:
            raise ValueError(f"expected at least one finite value; got {array.size} values and none finite")
        if max_bins is not None:
            self._warn("max_bins", "SummaryWriter.add_histogram(max_bins=...) is not supported; all buckets are kept")
        limits, counts = histogram_buckets(finite, bins)
        summary = {"min": float(finite.min()), "max": float(finite.max()), "num": int(finite.size),
                   "sum": float(finite.sum()), "sum_squares": float(finite.dot(finite)), "bucket_limit": limits,
                   "bucket": counts}
        tag = _tag(tag)
        self._record(tag, "histogram", summary, global_step, walltime,
                     lambda step, wall: ("", "add_histogram", (tag, finite, step, wall, bins)))

    @_guarded
    def add_histogram_raw(self, tag: str, min: float, max: float, num: int, sum: float, sum_squares: float,
                          bucket_limits: Any, bucket_counts: Any, global_step: Any = None,
                          walltime: float | None = None) -> None:
        """Log a histogram already binned, as torch's ``add_histogram_raw``: ``bucket_limits`` are the buckets'
        right edges (the first bucket starts at ``min``), ``bucket_counts`` their counts. The history keeps it as
        ``add_histogram`` does (:class:`livetrain.torch_tools.HistogramCollector` logs this way).

        Example:
            >>> w = SummaryWriter(write_to_disk=False, show=False)
            >>> w.add_histogram_raw("w", 0.0, 2.0, 3, 3.0, 5.0, [1.0, 2.0], [1, 2], 0)
            >>> w.history.records["w"].entries[-1][2]["bucket"].tolist()
            [0.0, 1.0, 2.0]
        """
        limits = np.asarray(to_numpy(bucket_limits), dtype=np.float64).reshape(-1)
        counts = np.asarray(to_numpy(bucket_counts), dtype=np.float64).reshape(-1)
        if len(limits) != len(counts) or not len(limits):
            raise ValueError(f"expected as many bucket_limits as bucket_counts, at least one; got {len(limits)} and "
                             f"{len(counts)}")
        summary = {"min": float(min), "max": float(max), "num": int(num), "sum": float(sum),
                   "sum_squares": float(sum_squares), "bucket_limit": np.concatenate([[float(min)], limits]),
                   "bucket": np.concatenate([[0.0], counts])}  # a leading empty bucket, as add_histogram records
        tag = _tag(tag)
        self._record(tag, "histogram", summary, global_step, walltime,
                     lambda step, wall: ("", "add_histogram_raw", (tag, summary, step, wall)))

    @_guarded
    def add_pr_curve(self, tag: str, labels: Any, predictions: Any, global_step: Any = None, num_thresholds: int = 127,
                     weights: Any = None, walltime: float | None = None) -> None:
        """Log a precision-recall curve of ``predictions`` (in [0, 1]) against binary ``labels``. The history keeps
        the counts and rates at ``num_thresholds`` thresholds, as TensorBoard does.

        Example:
            >>> w = SummaryWriter(write_to_disk=False, show=False)
            >>> w.add_pr_curve("cat", np.array([1, 0]), np.array([0.9, 0.2]), 0, num_thresholds=3)
            >>> w.history.records["cat"].kind
            'pr_curve'
        """
        labels, predictions = np.asarray(to_numpy(labels)), np.asarray(to_numpy(predictions))
        weights = None if weights is None else np.asarray(to_numpy(weights))
        data = pr_curve_data(labels, predictions, num_thresholds, weights)
        curve = dict(zip(("tp", "fp", "tn", "fn", "precision", "recall"), data))
        curve["thresholds"] = np.linspace(0, 1, num_thresholds)
        tag = _tag(tag)
        self._record(tag, "pr_curve", curve, global_step, walltime, lambda step, wall: (
            "", "add_pr_curve", (tag, labels, predictions, step, wall, num_thresholds, weights)))

    @_guarded
    def add_embedding(self, mat: Any, metadata: Sequence[Any] | None = None, label_img: Any = None,
                      global_step: Any = None, tag: str = "default", metadata_header: Sequence[str] | None = None
                      ) -> None:
        """Log an embedding for TensorBoard's projector: ``mat`` (``(N, D)``: a row per point; numpy, torch or JAX),
        optional ``metadata`` (a label per point; with ``metadata_header``, a list of columns per point) and optional
        ``label_img`` thumbnails (``(N, C, H, W)`` as torch, or ``(N, H, W, C)``). Recorded in the history (the board
        draws it: :class:`~livetrain.views.embedding.EmbeddingPanel`; ``writer.add_callback(EmbeddingCallback(tags=
        (tag,), phases=()))`` draws it in a view of its own) and written as torch writes it: ``log_dir/<step, 5
        digits>/<tag>/`` gets ``tensors.tsv``, ``metadata.tsv`` and ``sprite.png`` (the thumbnails in a square grid),
        and ``log_dir/projector_config.pbtxt`` lists this writer's embeddings. The files are written in the calling
        thread, as torch does.

        Example:
            >>> w = SummaryWriter(write_to_disk=False, show=False); w.add_embedding(np.zeros((5, 3)), list("abcde"))
            >>> w.history.records["default"].entries[-1][2]["mat"].shape
            (5, 3)
        """
        mat = np.asarray(to_numpy(mat))
        if mat.ndim != 2:
            raise ValueError(f"mat must be 2-D, one row per point; got shape {mat.shape}")
        for name, extra in (("metadata", metadata), ("label_img", label_img)):
            if extra is not None and len(extra) != len(mat):
                raise ValueError(f"{name} must have one entry per row of mat ({len(mat)}); got {len(extra)}")
        value = {"mat": mat, "metadata": None if metadata is None else list(metadata),
                 "label_img": None if label_img is None else np.asarray(to_numpy(label_img)),
                 "metadata_header": None if metadata_header is None else list(metadata_header)}
        tag = _tag(tag)
        files = embedding_files(mat, value["metadata"], value["label_img"], metadata_header) \
            if self.write_to_disk else None
        step = self._record(tag, "embedding", value, global_step, None, None)
        if files is not None:
            try:
                self._projector.add(files, step, tag)
            except OSError as exc:
                self._warn(("projector", "disk"), f"SummaryWriter cannot write the projector files in "
                           f"{self.log_dir!r} ({exc}); the board and the history still get the embedding")

    @_guarded
    def add_graph(self, model: Any, input_to_model: Any = None, verbose: bool = False,
                  use_strict_trace: bool = True) -> None:
        """Log a torch model's graph for TensorBoard's graph dashboard: ``model`` (a ``torch.nn.Module``) is traced on
        ``input_to_model`` (a tensor, or a tuple of them) with ``torch.jit.trace`` (``strict=use_strict_trace``), in
        eval mode, and its ``GraphDef`` written as torch writes it (nodes scoped by module; ``verbose`` prints the
        traced graph). The history records the model's class, ``repr`` and parameter count under ``graph``, and with
        ``input_to_model`` its layer table (:func:`~livetrain.core.modelsummary.summarize`), which the board draws as
        a table and diagram (:class:`~livetrain.views.model.ModelPanel`; without one, a placeholder). A model that is
        not a ``torch.nn.Module``, no ``input_to_model``, or a failed trace gets one warning saying why, and no graph
        is written.

        Example:
            >>> w = SummaryWriter(write_to_disk=False, show=False); w.add_graph(object())
            >>> w.history.records["graph"].entries[-1][2]["model"]
            'object'
        """
        parameters = getattr(model, "parameters", None)
        count = sum(int(p.numel()) for p in parameters()) if callable(parameters) else None
        value = {"model": type(model).__name__, "repr": repr(model), "parameters": count}
        if input_to_model is not None and count is not None:
            try:
                value.update(summarize(model, input_to_model))
            except Exception as exc:  # noqa: BLE001 - a model that cannot be summarised must not stop training
                self._warn(("add_graph summary", type(model).__name__), f"SummaryWriter.add_graph could not "
                           f"summarise {type(model).__name__} ({type(exc).__name__}: {exc}); the history records "
                           f"its class, repr and parameter count")
        graph = None
        if self.write_to_disk:
            try:
                graph = trace_graph(model, input_to_model, use_strict_trace, verbose)
            except Exception as exc:  # noqa: BLE001 - a model that does not trace must not stop training
                self._warn(("add_graph", type(model).__name__), f"SummaryWriter.add_graph could not trace "
                           f"{type(model).__name__} ({type(exc).__name__}: {exc}); no graph is written, the history "
                           f"still records the model")
        self._record("graph", "graph", value, None, None,
                     None if graph is None else lambda step, wall: ("", "add_graph", (graph, wall)))

    @_guarded
    def add_hparams(self, hparam_dict: Mapping[str, Any], metric_dict: Mapping[str, Any],
                    hparam_domain_discrete: Mapping[str, Sequence[Any]] | None = None, run_name: str | None = None,
                    global_step: Any = None) -> None:
        """Record hyperparameters and their metrics under ``hparams``; written as torch does, to a sub-run
        ``log_dir/<run_name or time>`` that TensorBoard's HParams dashboard lists.

        Example:
            >>> w = SummaryWriter(write_to_disk=False, show=False); w.add_hparams({"lr": 0.1}, {"hparam/acc": 0.9})
            >>> w.history.records["hparams"].entries[-1][2]["hparams"]
            {'lr': 0.1}
        """
        if not isinstance(hparam_dict, Mapping) or not isinstance(metric_dict, Mapping):
            raise TypeError(f"hparam_dict and metric_dict must be dicts; got {type(hparam_dict).__name__} and "
                            f"{type(metric_dict).__name__}")
        hparams = {str(k): v if isinstance(v, (bool, int, float, str)) else str(v) for k, v in hparam_dict.items()}
        metrics = {str(k): to_float(str(k), scalar_of(v)) for k, v in metric_dict.items()}
        value = {"hparams": hparams, "metrics": metrics}
        run = run_name or str(time.time())
        self._record("hparams", "hparams", value, global_step, None, lambda step, wall: (
            run, "add_hparams", (hparams, metrics, step, wall, hparam_domain_discrete)))

    def add_callback(self, callback: Callback) -> None:
        """Call ``callback.on_log(step, logs, history)`` after each call from now on, as ``callbacks=`` does, and its
        ``on_train_end(history)`` at :meth:`close` (a :class:`~livetrain.FrameExporter` given the writer adds itself).

        Example:
            >>> w = SummaryWriter(write_to_disk=False, show=False); w.add_callback(Callback())
        """
        self._hooks.active.extend(CallbackList([callback]).active)  # checked as callbacks= are

    def flush(self) -> None:
        """Write what is pending to the event files and the board now.

        Example:
            >>> SummaryWriter(write_to_disk=False, show=False).flush()
        """
        if self._events is not None:
            self._events.flush()
        if self.board is not None:
            self.board.flush()

    def close(self) -> None:
        """Flush and close the event files, push the board, and call the other callbacks' ``on_train_end`` (a
        :class:`~livetrain.FrameExporter` writes its GIF). Logging after ``close`` goes on, to new event files (as with
        torch), so ``close`` may come often: the board's final state is left in the notebook when the cell ends, and in
        a script when it exits.

        Example:
            >>> with SummaryWriter(write_to_disk=False, show=False) as w: w.add_scalar("x", 1.0, 0)
        """
        if self._events is not None:
            self._events.close()
        if self.board is not None:
            self.board.flush()
        self._hooks.each("on_train_end", lambda cb: cb is self.board or cb.on_train_end(self.history))

    def __enter__(self) -> SummaryWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getattr__(self, name: str) -> Any:
        """torch's other ``add_*`` methods (``add_video``, ``add_audio``, ``add_mesh``, ...): one warning, then
        nothing."""
        if not name.startswith("add_"):
            raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

        def unsupported(*args: Any, **kwargs: Any) -> None:
            self._warn(name, f"SummaryWriter.{name} is not supported by livetrain; its calls are ignored")

        return unsupported

    def __repr__(self) -> str:
        files = repr(self.log_dir) if self.write_to_disk else "no event files"
        return f"SummaryWriter({files}, tags={len(self.history.steps) + len(self.history.records)})"

    # -- recording ---------------------------------------------------------------------------------------------------

    def _log(self, metrics: dict[str, Any], global_step: Any, walltime: float | None,
             where: Mapping[str, tuple[str, str]]) -> None:
        wall = time.time() if walltime is None else float(walltime)
        step = self.history.log(metrics, step_of(global_step), wall=wall)
        if self._events is not None:
            self._events.put(*((where[tag][0], "add_scalar", (where[tag][1], value, step, wall))
                               for tag, value in metrics.items()))
        self._hooks.on_log(step, metrics, self.history)

    def _record(self, tag: str, kind: str, value: Any, global_step: Any, walltime: float | None,
                event: Callable[[int, float], tuple[str, str, tuple]] | None) -> int:
        """Record ``value`` in the history, queue its event (``event(step, wall)`` gives the sub-run, the event file's
        method and its arguments), and tell the callbacks; returns the step used."""
        wall = time.time() if walltime is None else float(walltime)
        step = self.history.record(tag, kind, value, step_of(global_step), wall=wall)
        if self._events is not None and event is not None:
            self._events.put(event(step, wall))
        self._hooks.on_log(step, {tag: value}, self.history)
        return step

    def _image(self, tag: str, picture: np.ndarray, global_step: Any, walltime: float | None) -> None:
        self._record(tag, "image", picture, global_step, walltime,
                     lambda step, wall: ("", "add_image", (tag, picture, step, wall)))

    def _warn(self, topic: Any, message: str) -> None:
        if topic not in self._warned:
            self._warned.add(topic)
            warn_user(message)


def _tag(tag: Any) -> str:
    if not isinstance(tag, str) or not tag:
        raise TypeError(f"tag must be a non-empty str, got {type(tag).__name__} {tag!r:.40}")
    return tag


def _close_at_exit(ref: weakref.ref[SummaryWriter]) -> None:
    """At exit: write what is pending, and leave the board's final state (a script's page stops reloading)."""
    writer = ref()
    if writer is None:
        return
    try:
        if writer._events is not None:
            writer._events.close()
        if writer.board is not None:
            writer.board.end()
    except Exception as exc:  # noqa: BLE001 - the interpreter is exiting: say so, and let it exit
        warnings.warn(f"livetrain: closing the SummaryWriter at exit failed ({type(exc).__name__}: {exc})",
                      RuntimeWarning, stacklevel=1)
