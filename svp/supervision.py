"""A child process kept alive by its parent (the bot child of `svp serve --workers N`)."""

from __future__ import annotations

import logging
import subprocess
import threading
import time
from collections.abc import Sequence

logger = logging.getLogger(__name__)

_FIRST_DELAY_SECONDS = 1.0
_MAX_DELAY_SECONDS = 30.0
_STOP_GRACE_SECONDS = 40.0  # the bot finishes the update it is processing (30 s at most)
_STABLE_SECONDS = 60.0  # a child that lived this long starts again without waiting


class ChildProcess:
    """Start a command, start it again when it exits on its own (with a growing delay)."""

    def __init__(self, command: Sequence[str], *, name: str) -> None:
        self.command = list(command)
        self.name = name
        self.starts = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._watcher: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        """The running child's process id."""
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def start(self) -> None:
        """Start the child and the thread that watches it."""
        self._spawn()
        self._watcher = threading.Thread(target=self._watch, name=f"svp-{self.name}-watch",
                                         daemon=True)
        self._watcher.start()

    def stop(self) -> None:
        """Stop the child (SIGTERM, then SIGKILL after a grace delay) and stop watching."""
        self._stopping.set()
        with self._lock:
            process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=_STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                logger.warning("%s process did not stop in time: killed", self.name)
                process.kill()
                process.wait()
        if self._watcher is not None:
            self._watcher.join(timeout=5)

    def _spawn(self) -> None:
        with self._lock:
            self._process = subprocess.Popen(self.command)
            self.starts += 1

    def _watch(self) -> None:
        delay = _FIRST_DELAY_SECONDS
        while not self._stopping.is_set():
            process = self._process
            assert process is not None
            started = time.monotonic()
            code = process.wait()
            if self._stopping.is_set():
                return
            if time.monotonic() - started >= _STABLE_SECONDS:
                delay = _FIRST_DELAY_SECONDS
            logger.error("%s process exited (code %s); starting it again in %.0f s", self.name,
                         code, delay)
            if self._stopping.wait(delay):
                return
            self._spawn()
            delay = min(delay * 2, _MAX_DELAY_SECONDS)
