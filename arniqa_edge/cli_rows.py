"""Result rows of the image CLIs, written one by one as they are scored.

Formats: text (aligned columns), csv, jsonl (one JSON object a line) and json
(one array: its elements are written as they come and the array is closed by
`close()`, so an interrupted run still leaves a complete, valid document).
Every row is flushed at once, so what was scored is kept whatever happens next;
a SIGINT that arrives while a row is being written waits until it is out.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import sys
import threading
from collections.abc import Sequence
from contextlib import contextmanager
from typing import IO

#: Columns of every format; `warning` is set on rows that were scored from damaged data.
FIELDS = ("path", "score", "raw_score", "error", "warning")
FORMATS = ("text", "csv", "jsonl", "json")


def new_row(path: str) -> dict:
    """One result row of the image CLIs (text, --json, --jsonl, --csv)."""
    return {"path": path, "score": None, "raw_score": None, "error": None, "warning": None}


def set_prediction(row: dict, prediction) -> None:
    row.update(score=round(prediction.score, 6), raw_score=round(prediction.raw_score, 6))


def fail_row(row: dict, exc: Exception) -> None:
    """Mark the row failed with the error's message (led by the file's path) and say so on stderr."""
    message = str(exc)
    if not message.startswith(str(row["path"])):
        message = f"{row['path']}: {message}"
    row["error"] = message
    print(f"error: {message}", file=sys.stderr, flush=True)


def note_warnings(row: dict, messages: Sequence[str]) -> None:
    """Attach decoder warnings to the row and say them on stderr."""
    if messages:
        row["warning"] = "; ".join(messages)
        for message in messages:
            print(f"warning: {message}", file=sys.stderr, flush=True)


class RowWriter:
    """Writes rows to `stream` in `fmt` as they come; `close()` ends the document (json: the closing bracket)."""

    def __init__(self, fmt: str, stream: IO[str], paths: Sequence[str] = ()):
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
        self.fmt, self.stream = fmt, stream
        self.written = 0
        self.failed = 0
        self._width = max((len(str(p)) for p in paths), default=0)
        self._csv = (
            csv.DictWriter(stream, fieldnames=FIELDS, lineterminator="\n", extrasaction="ignore")
            if fmt == "csv"
            else None
        )
        self._closed = False
        with _sigint_deferred():
            if self._csv is not None:
                self._csv.writeheader()
            elif fmt == "json":
                stream.write("[")
            stream.flush()

    def write(self, row: dict) -> None:
        with _sigint_deferred():
            self.stream.write(self._render(row))
            self.stream.flush()
            self.written += 1
            self.failed += row["error"] is not None

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with _sigint_deferred():
            if self.fmt == "json":
                self.stream.write("\n]\n" if self.written else "]\n")
            self.stream.flush()

    def _render(self, row: dict) -> str:
        if self.fmt == "csv":
            self._csv.writerow(row)  # DictWriter writes through; nothing to return
            return ""
        if self.fmt == "jsonl":
            return json.dumps(row) + "\n"
        if self.fmt == "json":
            body = "\n".join("  " + line for line in json.dumps(row, indent=2).splitlines())
            return ("\n" if self.written == 0 else ",\n") + body
        value = f"{row['score']:.4f}" if row["error"] is None else "error"
        note = "  (warning: damaged data)" if row.get("warning") else ""
        return f"{row['path']:<{self._width}}  {value}{note}\n"


def print_rows(rows: list[dict], fmt: str) -> None:
    """Write finished rows to stdout in one go (the tools that do not stream)."""
    writer = RowWriter(fmt, sys.stdout, [row["path"] for row in rows])
    for row in rows:
        writer.write(row)
    writer.close()


@contextmanager
def _sigint_deferred():
    """Hold a SIGINT back until the block is done (a row is written whole or not at all), then raise it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []
    try:
        previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    except ValueError:  # not settable here (e.g. an embedded interpreter)
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received:
            if callable(previous):
                previous(signal.SIGINT, None)  # Python's default handler raises KeyboardInterrupt
            elif previous == signal.SIG_DFL:
                os.kill(os.getpid(), signal.SIGINT)
