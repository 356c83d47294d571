"""The child process `svp serve --workers N` keeps alive (the bot): restarted when it dies."""

from __future__ import annotations

import os
import signal
import sys
import time

from svp.supervision import ChildProcess


def _wait_for(condition: object, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not callable(condition) or not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_a_killed_child_is_started_again_and_stop_ends_it() -> None:
    child = ChildProcess([sys.executable, "-c", "import time; time.sleep(120)"], name="test")
    child.start()
    try:
        first = child.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        _wait_for(lambda: child.pid not in (None, first))
        assert child.starts == 2
    finally:
        child.stop()
    assert child.pid is None


def test_a_stopped_child_is_not_started_again() -> None:
    child = ChildProcess([sys.executable, "-c", "import time; time.sleep(120)"], name="test")
    child.start()
    child.stop()
    time.sleep(1.5)  # longer than the first restart delay
    assert child.starts == 1 and child.pid is None
