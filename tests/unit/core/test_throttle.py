import threading
import time

import pytest

from livetrain.core.throttle import MOST_DEFERRED, Throttle, one_off


def test_coalesces_a_burst_into_few_runs():
    runs = []
    t = Throttle(lambda: runs.append(time.monotonic()), interval=0.1)
    start = time.monotonic()
    while time.monotonic() - start < 0.5:
        t.request()
    t.close()
    assert 3 <= len(runs) <= 8  # about one run per 0.1 s, plus the final one (a loaded machine serves late)
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


def test_a_request_while_the_helper_runs_the_action_does_not_wait_for_it():
    started, release, runs = threading.Event(), threading.Event(), []

    def slow():
        runs.append(1)
        if len(runs) == 2:  # the helper's run: hold the lock, as a push does
            started.set()
            release.wait(5)

    t = Throttle(slow, interval=0.05)
    t.request(); t.request()  # the first runs here, the second on the helper
    assert started.wait(5)
    t0 = time.monotonic()
    t.request()  # a training step meanwhile
    waited = time.monotonic() - t0
    release.set()
    deadline = time.monotonic() + 5
    while len(runs) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    t.close()
    assert waited < 1, f"request() waited {waited:.2f} s for the helper's run"
    assert len(runs) == 3  # and it was still served


def test_a_costly_action_runs_less_often_within_its_cpu_budget():
    runs = []  # (wall-clock start, CPU seconds spent) of each run

    def busy():
        start, cpu = time.monotonic(), time.thread_time()
        while time.thread_time() < cpu + 0.02:
            pass
        runs.append((start, time.thread_time() - cpu))

    created = time.monotonic()
    t = Throttle(busy, interval=0.01, budget=0.1, burst=0.02)  # 20 ms of CPU a run: one run per 0.2 s, after one more
    while time.monotonic() - created < 1.0:
        t.request()
        time.sleep(0.001)
    t.close()
    # a token bucket: before each run, the CPU spent so far is within the burst plus 10 % of the time elapsed.
    # A run that starts late (a loaded machine) lets the next start that much sooner, so single gaps may be short.
    for k, (start, _) in enumerate(runs):
        assert sum(spent for _, spent in runs[:k]) <= 0.02 + 0.1 * (start - created) + 0.005, (k, runs)
    assert 3 <= len(runs) <= 8  # 100 requests a second, about 6 runs
    starts = [start for start, _ in runs[:-1]]  # the last is close()'s flush
    assert (starts[-1] - starts[1]) / (len(starts) - 2) >= 0.17  # once the burst is spent: about one run per 0.2 s


@pytest.mark.parametrize("seed", range(3))
def test_no_request_is_lost_whatever_the_helper_is_doing(monkeypatch, seed):
    import random

    import livetrain.core.throttle as throttle

    monkeypatch.setattr(throttle, "IDLE_EXIT", 0.003)  # the helper idles and ends all the time
    rng, made, seen = random.Random(seed), [0], []
    t = Throttle(lambda: seen.append(made[0]), interval=0.002)
    for _ in range(300):
        made[0] += 1
        t.request()
        time.sleep(rng.choice((0, 0.0005, 0.002, 0.004)))
        if rng.random() < 0.05:
            t.close()
    deadline = time.monotonic() + 5
    while seen[-1] != made[0] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert seen[-1] == made[0]  # the last request was served after it was made


def test_rejects_a_budget_outside_zero_to_one():
    with pytest.raises(ValueError, match="budget must be a fraction of one CPU in \\(0, 1\\], got 0"):
        Throttle(lambda: None, budget=0)


def test_the_cpu_budget_never_defers_a_run_by_more_than_most_deferred():
    runs = []

    def costly():
        runs.append(time.monotonic())
        end = time.thread_time() + 0.05
        while time.thread_time() < end:
            pass

    t = Throttle(costly, interval=0.01, budget=0.001, burst=0.0)  # 50 ms a run would mean one run per 50 s
    start = time.monotonic()
    while time.monotonic() - start < 2.5 * MOST_DEFERRED:
        t.request()
        time.sleep(0.005)
    t.close()
    gaps = [b - a for a, b in zip(runs, runs[1:-1])]
    assert len(gaps) >= 1 and MOST_DEFERRED * 0.9 <= min(gaps) and max(gaps) <= MOST_DEFERRED + 0.3


def test_a_one_off_cost_does_not_hold_the_next_runs_back():
    runs = []

    def costly_once():
        runs.append(time.monotonic())
        if len(runs) == 1:
            with one_off():  # a new panel: 100 ms, which would defer the next runs by MOST_DEFERRED
                end = time.thread_time() + 0.1
                while time.thread_time() < end:
                    pass

    t = Throttle(costly_once, interval=0.02, budget=0.005)
    start = time.monotonic()
    while time.monotonic() - start < 0.6:
        t.request()
        time.sleep(0.005)
    t.close()
    assert len(runs) >= 5 and runs[1] - runs[0] < 0.5


def test_interval_zero_runs_every_request_at_once_whatever_it_costs():
    runs = []

    def costly():
        runs.append(1)
        end = time.thread_time() + 0.01
        while time.thread_time() < end:
            pass

    t = Throttle(costly, interval=0, budget=0.01, burst=0)
    for i in range(10):
        t.request()
        assert len(runs) == i + 1
