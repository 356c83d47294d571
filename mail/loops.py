"""What the channel's background loops share: a thread, a stop flag, a clean stop."""

from __future__ import annotations

import threading


class BackgroundLoop:
    """A loop run in its own thread until stopped; subclasses write `run`."""

    thread_name = "svp-mail"

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        """Cut the current pause short: there is work now (another loop's hook)."""
        self._wake.set()

    def pause(self, seconds: float) -> None:
        """Wait until the next pass: `seconds`, or less when woken or stopped."""
        self._wake.wait(seconds)
        self._wake.clear()

    def run(self) -> None:  # pragma: no cover - every loop has its own
        """Loop until `self._stop` is set (the caller's thread)."""
        raise NotImplementedError

    def start(self) -> None:
        """Run in a background thread."""
        self._thread = threading.Thread(target=self.run, name=self.thread_name, daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        """Ask the loop to stop after the pass in progress (safe from a signal handler)."""
        self._stop.set()
        self._wake.set()

    def stop(self, timeout: float = 15.0) -> None:
        """Ask the loop to stop, and wait for the pass in progress to end."""
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout=timeout)

    @property
    def running(self) -> bool:
        """Whether the background thread is alive."""
        return self._thread is not None and self._thread.is_alive()
