"""A hung Chromium holds nothing up: each step of the browser renderer (starting, a frame, closing) has a time limit;
past it, the renderer kills the Chromium it started (its whole process group, stopped processes included), warns
once, and matplotlib draws the frames from then on. Hangs made for real: Chromium stopped with SIGSTOP mid-run,
a Chromium that stops itself as it starts, and a page whose script never ends. Each runs under a rescue timer that
kills the hung processes after RESCUE_S, so an old renderer that would wait for ever fails instead."""
from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from bokeh.models import CDSView, ColumnDataSource, CustomJSFilter
from bokeh.plotting import figure

from livetrain import LinePlotsCallback
from livetrain.frames.browser import BrowserRenderer, find_chromium
from livetrain.frames.png import to_image

pytestmark = [pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc (Linux)"),
              pytest.mark.usefixtures("no_display")]

LIMIT_S = 3.0  # the step time limit these tests set
RESCUE_S = 90.0  # far past the limit: when the rescue has to kill Chromium, the renderer waited for ever




def processes() -> dict[int, tuple[int, int, str, str]]:
    """Every process: pid -> (parent pid, process group, state, name)."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError):
            text = stat.read_text()
            state, ppid, pgid = text[text.rindex(")") + 2:].split()[:3]
            found[int(stat.parent.name)] = (int(ppid), int(pgid), state, text[text.index("(") + 1:text.rindex(")")])
    return found


def my_chromium_groups() -> set[int]:
    """The process groups of the live (not zombie) Chromium browsers this test process started, through Playwright's
    driver: process group leaders named chromium among its descendants."""
    table, mine = processes(), {os.getpid()}
    while grown := {pid for pid, (ppid, *_) in table.items() if ppid in mine} - mine:
        mine |= grown
    return {pid for pid in mine if table[pid][1] == pid and table[pid][2] != "Z" and "chrom" in table[pid][3]}


def alive(group: int) -> list[int]:
    """The processes of ``group`` that are not zombies."""
    return [pid for pid, (_, pgid, state, _) in processes().items() if pgid == group and state != "Z"]


def kill_groups(groups: set[int]) -> None:
    for group in groups:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)


@contextlib.contextmanager
def rescue(kill: Callable[[], None]) -> Iterator[threading.Event]:
    """Runs ``kill`` if the block has not ended after RESCUE_S; the event tells whether it had to."""
    fired = threading.Event()
    timer = threading.Timer(RESCUE_S, lambda: (fired.set(), kill()))
    timer.start()
    try:
        yield fired
    finally:
        timer.cancel()


def assert_all_gone(groups: set[int]) -> None:
    """Every process of ``groups`` ends (a killed one is reaped by Playwright's driver within moments)."""
    deadline = time.monotonic() + 30
    while any(alive(g) for g in groups) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for g in groups for pid in alive(g)], "Chromium processes were left running or stopped"


def assert_drawn_by_matplotlib(renderer: BrowserRenderer, frame, caught: list) -> None:
    hung = [w for w in caught if issubclass(w.category, RuntimeWarning) and "Chromium hung" in str(w.message)]
    assert len(hung) == 1 and "matplotlib draws the frames" in str(hung[0].message), [str(w.message) for w in caught]
    assert "\n" not in str(hung[0].message)  # one line
    assert renderer.name == "matplotlib" and "matplotlib" in renderer.notice
    pixels = np.asarray(to_image(frame))
    assert pixels.shape[0] > 100 and pixels.shape[1] > 100 and len(np.unique(pixels.reshape(-1, 3), axis=0)) > 2


def line_view() -> tuple[LinePlotsCallback, dict]:
    view = LinePlotsCallback(epochs=5).replica()
    history = {"train": {"loss": [0.9], "acc": [0.5]}}
    view.on_epoch_end(0, "train", history)
    return view, history


def test_chromium_stopped_mid_run_is_killed_and_matplotlib_draws_on():
    view, history = line_view()
    before = my_chromium_groups()
    renderer = BrowserRenderer(view.graph)  # the default limit for starting: a busy machine may take seconds
    try:
        (group,) = my_chromium_groups() - before
        renderer.capture()
        assert renderer.name == "browser"
        renderer.timeout = LIMIT_S
        os.killpg(group, signal.SIGSTOP)  # Chromium hangs: no reply ever comes
        history["train"]["loss"].append(0.7)
        history["train"]["acc"].append(0.6)
        view.on_epoch_end(1, "train", history)
        with rescue(lambda: kill_groups({group})) as rescued, pytest.warns(RuntimeWarning) as caught:
            frame = renderer.capture()
            later = renderer.capture()  # matplotlib goes on drawing, without a second warning
        assert not rescued.is_set(), "the renderer waited for the stopped Chromium until the test killed it"
        assert_drawn_by_matplotlib(renderer, frame, caught.list)
        assert to_image(later).size == to_image(frame).size
        renderer.close()
        assert_all_gone({group})
    finally:
        kill_groups(my_chromium_groups() - before)
        renderer.close()


def test_a_chromium_that_hangs_as_it_starts_is_killed_and_matplotlib_draws(tmp_path):
    view, _ = line_view()
    pid_file = tmp_path / "pid"
    stopping = tmp_path / "chromium"  # a Chromium that stops itself before it starts
    stopping.write_text(f'#!/bin/sh\necho $$ > "{pid_file}"\nkill -STOP $$\nexec "{find_chromium()}" "$@"\n')
    stopping.chmod(0o755)

    def kill_stopped() -> None:
        with contextlib.suppress(OSError, ValueError):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)

    renderer = None
    try:
        with rescue(kill_stopped) as rescued, pytest.warns(RuntimeWarning) as caught:
            renderer = BrowserRenderer(view.graph, executable=str(stopping), timeout=LIMIT_S)
            frame = renderer.capture()
        assert not rescued.is_set(), "starting waited for the stopped Chromium until the test killed it"
        assert_drawn_by_matplotlib(renderer, frame, caught.list)
        renderer.close()
        assert_all_gone({int(pid_file.read_text())})  # Chromium is a group leader, as Playwright starts it
    finally:
        kill_stopped()
        if renderer is not None:
            renderer.close()


def test_a_page_whose_script_never_ends_is_killed_and_matplotlib_draws():
    plot = figure(width=300, height=220, toolbar_location=None)
    plot.line([1, 2, 3], [3, 1, 2], line_width=3)
    never = CustomJSFilter(code="while (true) {}")  # BokehJS runs it as it lays the page out: the page never loads
    plot.scatter("x", "y", source=ColumnDataSource({"x": [1], "y": [1]}), view=CDSView(filter=never))
    before = my_chromium_groups()
    renderer = None
    try:
        with rescue(lambda: kill_groups(my_chromium_groups() - before)) as rescued, \
                pytest.warns(RuntimeWarning) as caught:
            renderer = BrowserRenderer(plot, timeout=LIMIT_S)
            frame = renderer.capture()
        assert not rescued.is_set(), "starting waited for the hung page until the test killed Chromium"
        assert_drawn_by_matplotlib(renderer, frame, caught.list)
        renderer.close()
        deadline = time.monotonic() + 30
        while my_chromium_groups() - before and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not my_chromium_groups() - before, "Chromium was left running"
    finally:
        kill_groups(my_chromium_groups() - before)
        if renderer is not None:
            renderer.close()


def test_the_time_limit_is_30_s_unless_set(monkeypatch):
    from livetrain.frames.browser import step_timeout

    monkeypatch.delenv("LIVETRAIN_RENDER_TIMEOUT", raising=False)
    assert step_timeout() == 30.0
    monkeypatch.setenv("LIVETRAIN_RENDER_TIMEOUT", "7.5")
    assert step_timeout() == 7.5
    monkeypatch.setenv("LIVETRAIN_RENDER_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="LIVETRAIN_RENDER_TIMEOUT must be a number of seconds > 0; got 'soon'"):
        step_timeout()
