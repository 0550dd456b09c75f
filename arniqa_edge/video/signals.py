"""Ctrl-C and SIGTERM as one clean interruption, for the tools' start-up and runs."""

from __future__ import annotations

import signal
import threading


class interrupt_guard:  # noqa: N801 - used as a statement: `with interrupt_guard() as guard:`
    """Within the block, SIGINT (Ctrl-C) and SIGTERM (a service manager) raise KeyboardInterrupt and are
    remembered in `interrupted`.

    The flag matters: Python drops an exception raised while it runs some internal callbacks (an import
    lock's, while a model's libraries load), so a Ctrl-C can vanish; the tool checks the flag after such
    a phase. Signal handlers belong to the main thread; elsewhere the block changes nothing.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.interrupted = False
        self._previous: dict = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = {sig: signal.signal(sig, self._raise) for sig in self.SIGNALS}
        return self

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _raise(self, signum, frame):
        self.interrupted = True
        raise KeyboardInterrupt
