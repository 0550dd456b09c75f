"""What happens when an alert flips: a JSON line, a snapshot, and optional notifications.

The JSON-lines log and the snapshot are written in the loop's thread and flushed
at once. Webhook POSTs and commands run in a background thread with timeouts:
a slow or broken receiver is logged and never stalls or stops the loop. A POST
that fails for a reason that may pass (no connection, a timeout, HTTP 5xx, 408,
429) is retried a few times with exponential backoff and jitter before the event
is given up on. Records carry the source with its credentials hidden.
"""

from __future__ import annotations

import json
import logging
import queue
import shlex
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from ..redact import redact
from ..sources import Backoff
from .alerts import AlertEvent

log = logging.getLogger(__name__)


class EventLog:
    """Appends one JSON object per event to a .jsonl file; saves a snapshot per raised alert."""

    def __init__(self, path: Path | None, snapshot_dir: Path | None = None, source: str = ""):
        self._file = open(path, "a", encoding="utf-8") if path else None
        self._snapshot_dir = snapshot_dir
        self._source = redact(source)  # records go to files, webhooks and commands
        if snapshot_dir:
            snapshot_dir.mkdir(parents=True, exist_ok=True)

    def record(self, event: AlertEvent, image: np.ndarray | None) -> dict:
        """Write the event; returns the record that notifications carry."""
        record = {"wall_time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "source": self._source, **event.to_dict()}
        if event.state == "raised" and image is not None and self._snapshot_dir:
            path = self._snapshot_dir / f"{time.strftime('%Y%m%d-%H%M%S')}-{event.frame:07d}-{event.alert}.jpg"
            if cv2.imwrite(str(path), image):
                record["snapshot"] = str(path)
            else:
                log.error("could not save the snapshot %s", path)
        if self._file:
            self._file.write(json.dumps(record) + "\n")
            self._file.flush()
        return record

    def close(self) -> None:
        if self._file:
            self._file.close()


#: HTTP statuses worth another try: the receiver is busy, restarting or rate-limiting.
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class Notifier:
    """Sends event records to a webhook (POST JSON) and/or a command (JSON on stdin), in the background.

    Holds at most `backlog` records; when a receiver cannot keep up, newer
    records are dropped with a log line rather than queued without bound. A
    webhook POST that fails for a passing reason is retried up to `retries`
    times, waiting `backoff` delays (default: 1 s doubling, with jitter), also
    while `close()` waits for the last records to go out.
    """

    def __init__(
        self,
        webhook: str | None = None,
        command: str | None = None,
        timeout: float = 5.0,
        backlog: int = 100,
        retries: int = 3,
        backoff: Backoff | None = None,
        sleep: Callable[[float], object] | None = None,
    ):
        if retries < 0:
            raise ValueError(f"retries must be >= 0, got {retries}")
        self.webhook, self.command, self.timeout = webhook, shlex.split(command) if command else None, timeout
        self.retries, self._backoff = retries, backoff or Backoff(initial=1.0, maximum=30.0)
        self._shown_webhook = redact(webhook or "")
        self.failures = 0
        self.delivered = 0
        self._abandoned = threading.Event()  # set when close() runs out of time: no more waits, no more tries
        self._sleep = sleep or self._abandoned.wait
        self._queue: queue.Queue = queue.Queue(maxsize=backlog)
        self._thread = threading.Thread(target=self._run, name="arniqa-notifier", daemon=True)
        self._thread.start()

    def send(self, record: dict) -> None:
        try:
            self._queue.put_nowait(record)
        except queue.Full:
            self.failures += 1
            log.error("notification backlog full: dropped the %s %s event", record["alert"], record["state"])

    def close(self, timeout: float = 10.0) -> None:
        """Deliver what is queued, retries included, for up to `timeout` seconds; then give up and stop."""
        self._queue.put(None)
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._abandoned.set()
            self._thread.join(self.timeout + 1.0)
            log.error("notifications still pending %g s after the stop were given up", timeout)

    def _run(self) -> None:
        while (record := self._queue.get()) is not None:
            if self.webhook:
                self._post(record)
            if self.command:
                self._run_command(record)

    def _post(self, record: dict) -> None:
        body = json.dumps(record).encode()
        delays = self._backoff.delays()
        for attempt in range(1, self.retries + 2):
            problem, worth_retrying = self._post_once(body)
            if problem is None:
                self.delivered += 1
                return
            if not worth_retrying or attempt > self.retries or self._abandoned.is_set():
                break
            delay = next(delays)
            log.warning(
                "webhook %s: %s; retrying in %.1f s (attempt %d of %d)",
                self._shown_webhook,
                problem,
                delay,
                attempt,
                self.retries + 1,
            )
            self._sleep(delay)
        self.failures += 1
        log.error(
            "webhook %s failed after %d attempt(s): %s; the %s event was not delivered",
            self._shown_webhook,
            attempt,
            problem,
            record.get("event") or f"{record.get('alert')} {record.get('state')}",
        )

    def _post_once(self, body: bytes) -> tuple[str | None, bool]:
        """(None, _) when delivered, else (what went wrong, whether another try may succeed)."""
        request = urllib.request.Request(
            self.webhook, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            return f"HTTP {exc.code} {exc.reason}", exc.code in RETRY_STATUSES
        except ValueError as exc:  # not a URL urllib can POST to: no retry will change that
            return redact(str(exc)), False
        except (urllib.error.URLError, OSError) as exc:  # refused, unreachable, timed out
            return redact(str(getattr(exc, "reason", exc))), True
        return None, True

    def _run_command(self, record: dict) -> None:
        try:
            result = subprocess.run(
                self.command, input=json.dumps(record), text=True, capture_output=True, timeout=self.timeout
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            self.failures += 1
            log.error("event command %s failed: %s", self.command[0], exc)
            return
        if result.returncode != 0:
            self.failures += 1
            log.error(
                "event command %s exited with %d: %s", self.command[0], result.returncode, result.stderr.strip()[-500:]
            )
