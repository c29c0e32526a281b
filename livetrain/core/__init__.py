"""The core layer: the history, the callback hooks, the loop, metric reduction, the throttle and atomic files.

It imports nothing else from livetrain and no display library: every other layer builds on it.
"""
