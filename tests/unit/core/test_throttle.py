import threading
import time

import pytest

from livetrain.core.throttle import Throttle


def test_coalesces_a_burst_into_few_runs():
    runs = []
    t = Throttle(lambda: runs.append(time.monotonic()), interval=0.1)
    start = time.monotonic()
    while time.monotonic() - start < 0.5:
        t.request()
    t.close()
    assert 5 <= len(runs) <= 8  # about one run per 0.1 s, plus the final one
    gaps = [b - a for a, b in zip(runs, runs[1:-1])]
    assert all(g >= 0.099 for g in gaps)


def test_a_lone_request_is_served_by_the_timer_within_the_interval():
    done = threading.Event()
    t = Throttle(done.set, interval=0.2)
    t.request()          # runs at once
    done.clear()
    t0 = time.monotonic()
    t.request()          # within the interval: deferred, nobody calls again
    assert done.wait(1.0)
    assert 0.1 <= time.monotonic() - t0 <= 0.45


def test_flush_runs_only_when_pending():
    runs = []
    t = Throttle(lambda: runs.append(1), interval=60)
    t.flush()
    assert runs == []
    t.request(); t.request()
    t.flush(); t.flush()
    assert runs == [1, 1]
    t.close()


def test_rejects_negative_interval():
    with pytest.raises(ValueError, match="interval"):
        Throttle(lambda: None, interval=-1)


def test_deferred_requests_reuse_one_helper_thread():
    t = Throttle(lambda: None, interval=0.05)
    t.request()
    threads = set()
    for _ in range(20):
        t.request()               # deferred: served by the helper
        threads.add(t._helper)
        time.sleep(0.06)
    t.close()
    assert len(threads - {None}) == 1


def test_a_request_right_after_close_is_still_served():
    done = threading.Event()
    t = Throttle(done.set, interval=0.1)
    t.request(); t.request()
    t.close()                     # flushes, and tells the helper to stop
    done.clear()
    t.request()                   # within the interval again: deferred
    assert done.wait(1.0)
