"""What happens when an alert flips: a JSON line, a snapshot, and optional notifications.

The JSON-lines log and the snapshot are written in the loop's thread and flushed
at once. Webhook POSTs and commands run in a background thread with timeouts:
a slow or broken receiver is logged and never stalls or stops the loop.
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
from pathlib import Path

import cv2
import numpy as np

from .alerts import AlertEvent

log = logging.getLogger(__name__)


class EventLog:
    """Appends one JSON object per event to a .jsonl file; saves a snapshot per raised alert."""

    def __init__(self, path: Path | None, snapshot_dir: Path | None = None, source: str = ""):
        self._file = open(path, "a", encoding="utf-8") if path else None
        self._snapshot_dir = snapshot_dir
        self._source = source
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


class Notifier:
    """Sends event records to a webhook (POST JSON) and/or a command (JSON on stdin), in the background.

    Holds at most `backlog` records; when a receiver cannot keep up, newer
    records are dropped with a log line rather than queued without bound.
    """

    def __init__(self, webhook: str | None = None, command: str | None = None, timeout: float = 5.0,
                 backlog: int = 100):
        self.webhook, self.command, self.timeout = webhook, shlex.split(command) if command else None, timeout
        self.failures = 0
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
        """Deliver what is queued (up to `timeout` seconds), then stop."""
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        while (record := self._queue.get()) is not None:
            if self.webhook:
                self._post(record)
            if self.command:
                self._run_command(record)

    def _post(self, record: dict) -> None:
        request = urllib.request.Request(self.webhook, data=json.dumps(record).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except (urllib.error.URLError, OSError, ValueError) as exc:
            self.failures += 1
            log.error("webhook %s failed: %s", self.webhook, exc)

    def _run_command(self, record: dict) -> None:
        try:
            result = subprocess.run(self.command, input=json.dumps(record), text=True, capture_output=True,
                                    timeout=self.timeout)
        except (OSError, subprocess.TimeoutExpired) as exc:
            self.failures += 1
            log.error("event command %s failed: %s", self.command[0], exc)
            return
        if result.returncode != 0:
            self.failures += 1
            log.error("event command %s exited with %d: %s", self.command[0], result.returncode,
                      result.stderr.strip()[-500:])
