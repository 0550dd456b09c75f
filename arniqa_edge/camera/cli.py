"""`python -m arniqa_edge.camera SOURCE`: watch a camera's picture quality and raise alerts.

Scores the newest frame --fps times per second (never a backlog), smooths the
scores, raises and clears alerts (low quality with hysteresis and minimum
durations; frozen and blank pictures), records each event as a JSON line in
-o/--output with a snapshot, and optionally POSTs it to a webhook (retried with backoff when it
fails) or pipes it to a command. Prometheus metrics and /healthz are served on
127.0.0.1:--metrics-port. A source that fails is reopened with backoff and
jitter, forever unless --max-reconnects or --give-up-after says otherwise; a
video file is replayed at its own frame rate, from the start when it ends. No
frame for --lost-after seconds (also a source that never comes up) is an event
too: source_lost, then source_restored once frames flow again for
--restored-after seconds. Credentials in a URL (user:password@) are never
shown, logged or sent.

With --reference-dir DIR --reference-model CVRKD each frame is also scored
against the known-good images in DIR (golden frames of this camera, encoded once
at the start): that score is smoothed like the other, exported as
arniqa_reference_score(_smoothed), added to every event as reference_score, and
with --reference-low drives a low_reference_quality alert (same hysteresis and
durations as low_quality, thresholds of its own).

Stops on SIGINT/SIGTERM, after --max-frames or --duration, or when it gives up
on the source. Exit status: 0 on a clean stop; 1 when it gave up on a source
that had delivered frames; 2 when nothing could start (bad options, weights,
metrics port) or the source never delivered a frame; 130 on Ctrl-C or SIGTERM
while the model loads.
"""

from __future__ import annotations

import argparse
import logging
import math
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from .. import __version__
from ..cli_conventions import (
    DeprecatedAlias,
    HelpFormatter,
    add_output_argument,
    add_verbosity_arguments,
    configure_logging,
)
from ..cli_options import (
    add_batching_arguments,
    add_model_arguments,
    add_reference_arguments,
    open_golden_references,
    positive_int,
    scorer_options,
)
from ..errors import ArniqaEdgeError
from ..redact import redact
from ..scorer import Scorer
from ..sources import Backoff, ReconnectingSource, open_capture, source_info, source_kind
from ..video.signals import interrupt_guard
from .alerts import SOURCE_LOST, AlertConfig, AlertSet, SourceWatch
from .events import EventLog, Notifier
from .feed import LatestFrameGrabber
from .loop import QaLoop
from .metrics import DEFAULT_PORT, MetricsServer, QaMetrics
from .smoothing import make_smoother

log = logging.getLogger("arniqa_edge.camera")


def build_parser() -> argparse.ArgumentParser:
    defaults = AlertConfig()
    parser = argparse.ArgumentParser(
        prog="python -m arniqa_edge.camera",
        description="Watch the picture quality of a camera or stream with ARNIQA and raise alerts.",
        epilog="examples:\n"
        "  %(prog)s rtsp://cam1/stream --fps 1 --low 0.35 -o cam1.jsonl --snapshot-dir cam1/ \\\n"
        "      --webhook http://127.0.0.1:8080/alerts\n"
        "  %(prog)s 0 --reference-dir golden/ --reference-model STUDENT.safetensors --reference-low 0.4\n",
        formatter_class=HelpFormatter,
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "source",
        nargs="?",
        metavar="SOURCE",
        # an absent SOURCE leaves the value of --source alone (both fill args.source)
        default=argparse.SUPPRESS,
        help="camera index (0), rtsp:// or http(s):// URL, video file, or GStreamer pipeline",
    )
    source.add_argument(
        "--source",
        dest="source",
        action=DeprecatedAlias,
        replacement="the positional SOURCE",
        default=None,
        help=argparse.SUPPRESS,
    )
    rate = parser.add_mutually_exclusive_group()
    rate.add_argument("--fps", type=_positive_number, default=2.0, help="frames scored per second")
    rate.add_argument(
        "--rate",
        dest="fps",
        type=_positive_number,
        action=DeprecatedAlias,
        replacement="--fps",
        default=2.0,
        help=argparse.SUPPRESS,
    )
    parser.add_argument(
        "--max-frame-age",
        type=_positive_seconds,
        default=2.0,
        metavar="SECONDS",
        help="skip a frame older than this many seconds when its turn comes",
    )
    parser.add_argument(
        "--max-frames",
        type=positive_int,
        metavar="N",
        help="stop after scoring this many frames (default: no limit)",
    )
    parser.add_argument(
        "--duration",
        type=_positive_seconds,
        metavar="SECONDS",
        help="stop after this many seconds (default: run until stopped)",
    )

    alerts = parser.add_argument_group("smoothing and alerts")
    alerts.add_argument(
        "--smoothing",
        choices=("ema", "median", "none"),
        default="ema",
        help="how the scores are smoothed before the thresholds: ema (exponential moving average, "
        "--ema-alpha), median (of the last --window scores) or none",
    )
    alerts.add_argument(
        "--ema-alpha",
        type=_alpha,
        default=0.3,
        metavar="ALPHA",
        help="weight of the newest score in the EMA, in (0, 1]",
    )
    alerts.add_argument("--window", type=positive_int, default=5, metavar="N", help="scores in the median window")
    alerts.add_argument(
        "--low",
        type=_score,
        default=defaults.low,
        metavar="SCORE",
        help="raise low_quality when the smoothed score stays below this",
    )
    alerts.add_argument(
        "--high",
        type=_score,
        metavar="SCORE",
        help="clear it when the smoothed score is back at or above this (default: low + 0.05)",
    )
    alerts.add_argument(
        "--raise-after",
        type=_seconds,
        default=defaults.raise_after,
        metavar="SECONDS",
        help="seconds below --low before raising",
    )
    alerts.add_argument(
        "--clear-after",
        type=_seconds,
        default=defaults.clear_after,
        metavar="SECONDS",
        help="seconds at or above --high before clearing",
    )
    alerts.add_argument(
        "--frozen-after",
        type=_seconds,
        default=defaults.frozen_after,
        metavar="SECONDS",
        help="seconds of an unchanging picture before a frozen alert; 0 = off",
    )
    alerts.add_argument(
        "--blank-after",
        type=_seconds,
        default=defaults.blank_after,
        metavar="SECONDS",
        help="seconds of a uniform picture before a blank alert; 0 = off",
    )
    alerts.add_argument(
        "--reference-low",
        type=_score,
        metavar="SCORE",
        help="raise low_reference_quality when the smoothed score against --reference-dir stays "
        "below this (default: no such alert; the score still goes to the metrics and events)",
    )
    alerts.add_argument(
        "--reference-high",
        type=_score,
        metavar="SCORE",
        help="clear it when that score is back at or above this (default: reference-low + 0.05)",
    )

    events = parser.add_argument_group("events")
    add_output_argument(
        events,
        "append the events here as JSON lines",
        aliases=("--events",),
        dest="events",
        type=Path,
        default=Path("arniqa-camera-events.jsonl"),
        metavar="FILE",
    )
    events.add_argument(
        "--snapshot-dir",
        type=Path,
        metavar="DIR",
        help="save the frame that raised each alert here, as JPEG (default: no snapshots)",
    )
    events.add_argument("--webhook", metavar="URL", help="POST each event as JSON to this URL (default: none)")
    events.add_argument(
        "--on-event",
        metavar="COMMAND",
        help="run this command per event, the event JSON on stdin (default: none)",
    )
    events.add_argument(
        "--notify-timeout",
        type=_positive_seconds,
        default=5.0,
        metavar="SECONDS",
        help="seconds a webhook or command may take",
    )
    events.add_argument(
        "--webhook-retries",
        type=_count,
        default=3,
        metavar="N",
        help="retry a failed webhook POST (no connection, timeout, HTTP 5xx/408/429) up to N times, "
        "waiting 1 s, 2 s, 4 s, ... with jitter; 0 = no retry (default: %(default)s)",
    )

    service = parser.add_argument_group("metrics and reconnects")
    service.add_argument(
        "--metrics-host",
        default="127.0.0.1",
        metavar="HOST",
        help="address the metrics endpoint listens on (default: 127.0.0.1, this machine only)",
    )
    service.add_argument(
        "--metrics-port",
        type=_port,
        default=DEFAULT_PORT,
        metavar="PORT",
        help="0 picks a free port (default: %(default)s: not in Prometheus's list of exporters' "
        "default ports, whose 9100-9999 range is full, so it collides with no known "
        "exporter)",
    )
    service.add_argument("--no-metrics", dest="metrics", action="store_false", help="no metrics endpoint")
    service.add_argument(
        "--reconnect-delay",
        type=_positive_seconds,
        default=0.5,
        metavar="SECONDS",
        help="first delay before reopening a failed source; doubles up to "
        "--reconnect-max-delay, each delay shortened by a random 0-50%% so that many "
        "cameras do not reconnect in lockstep",
    )
    service.add_argument(
        "--reconnect-max-delay",
        type=_positive_seconds,
        default=30.0,
        metavar="SECONDS",
        help="longest delay between two attempts to reopen the source",
    )
    service.add_argument(
        "--max-reconnects",
        type=_count,
        metavar="N",
        help="give up on the source after N reconnect attempts in a row without a frame, and exit "
        "(default: retry forever)",
    )
    service.add_argument(
        "--give-up-after",
        type=_positive_seconds,
        metavar="SECONDS",
        help="give up on the source after this long without a frame, and exit (default: never)",
    )
    service.add_argument(
        "--lost-after",
        type=_positive_seconds,
        default=10.0,
        metavar="SECONDS",
        help="raise a source_lost event after this long without a frame, also when the source "
        "never comes up (default: %(default)s)",
    )
    service.add_argument(
        "--restored-after",
        type=_seconds,
        default=2.0,
        metavar="SECONDS",
        help="send source_restored once frames have come again for this long (default: %(default)s)",
    )

    model = parser.add_argument_group("model")
    add_model_arguments(model, protocol=False)
    add_batching_arguments(model)
    add_reference_arguments(parser.add_argument_group("against golden frames of this camera (CVRKD)"))

    add_verbosity_arguments(parser, default="warning")
    # -v: the former way to log reconnects, each event and a summary (= --log-level info)
    parser.add_argument("-v", "--verbose", dest="log_level", action="store_const", const="info", help=argparse.SUPPRESS)
    parser.add_argument("--version", action="version", version=f"arniqa-edge {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.source is None:
        parser.error(
            "a SOURCE to watch is required: a camera index (0), an rtsp:// or http(s):// URL, a video file "
            "or a GStreamer pipeline"
        )
    configure_logging(args, fmt="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    resources = []
    try:
        with interrupt_guard() as guard:
            loop = _build(args, stop, resources)
            if guard.interrupted:  # a Ctrl-C that Python dropped while loading the model
                raise KeyboardInterrupt
    except KeyboardInterrupt:  # Ctrl-C while the model loads
        _close(resources)
        print("error: interrupted while starting (loading the model)", file=sys.stderr)
        return 130
    except (ArniqaEdgeError, ValueError, OSError) as exc:
        _close(resources)
        print(f"error: {redact(str(exc))}", file=sys.stderr)
        return 2

    previous = {sig: signal.signal(sig, lambda signum, frame: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    status = 0
    try:
        stats = loop.run()
    except ArniqaEdgeError as exc:  # the source was given up on
        stats = loop.stats
        never = " (it never delivered a frame)" if not stats.received else ""
        print(f"error: {redact(str(exc))}{never}", file=sys.stderr)
        status = 2 if not stats.received else 1
    else:
        if not stats.received:
            print(
                f"error: {redact(args.source)}: no frame in {loop.clock() - loop.started_at:.0f} s; the source "
                "never came up",
                file=sys.stderr,
            )
            status = 2
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _close(resources)
    print(
        f"stopped: {stats.scored} frames scored, {loop.feed.dropped} dropped, {stats.stale} stale, "
        f"{stats.errors} errors, {loop.feed.source.reconnects} reconnects, {stats.events} events"
    )
    logging.shutdown()
    return status


def _build(args, stop: threading.Event, resources: list) -> QaLoop:
    """The loop and what it needs; each thing opened goes into `resources`, in the order to close them."""
    alerts = AlertSet(_alert_config(args))

    def new_smoother():  # one per score: each keeps its own state
        return make_smoother(args.smoothing, alpha=args.ema_alpha, window=args.window)

    smoother = new_smoother()  # bad options fail before any model is loaded
    golden = open_golden_references(args)
    scorer = Scorer(**scorer_options(args), batch_size=1)
    metrics = None
    if args.metrics:
        metrics = QaMetrics(
            [*alerts.switches, SOURCE_LOST],
            reference=golden is not None,
            model=scorer.config.name,
            backend=scorer.backend.describe(),
        )

    pace_fps = 0.0
    if source_kind(args.source) == "file":
        probe = open_capture(args.source)  # a missing or unreadable file is a setup error, not a reconnect loop
        pace_fps = source_info(probe).fps
        probe.release()
    # The name (logs, errors) and the records carry the source without its credentials; only
    # open_capture gets the original.
    source = ReconnectingSource(
        lambda: open_capture(args.source),
        name=redact(args.source),
        backoff=Backoff(args.reconnect_delay, args.reconnect_max_delay),
        max_reconnects=args.max_reconnects,
    )
    feed = LatestFrameGrabber(source, pace_fps=pace_fps)
    resources.append(feed)  # first to close: no new frames while the rest shuts down
    notifier = None
    if args.webhook or args.on_event:
        notifier = Notifier(args.webhook, args.on_event, timeout=args.notify_timeout, retries=args.webhook_retries)
        resources.append(notifier)
    event_log = EventLog(args.events, args.snapshot_dir, source=redact(args.source))
    resources.append(event_log)

    def on_event(event, image):
        record = event_log.record(event, image)
        if notifier:
            notifier.send(record)

    loop = QaLoop(
        feed,
        scorer.score,
        smoother,
        alerts,
        on_event=on_event,
        rate_hz=args.fps,
        max_frames=args.max_frames,
        duration=args.duration,
        max_frame_age=args.max_frame_age,
        metrics=metrics,
        reconnects=lambda: source.reconnects,
        stop=stop,
        reference=golden.score if golden else None,
        reference_smoother=new_smoother() if golden else None,
        source_watch=SourceWatch(args.lost_after, args.restored_after),
        give_up_after=args.give_up_after,
    )
    if metrics:
        server = MetricsServer(metrics, loop.health, host=args.metrics_host, port=args.metrics_port)
        resources.append(server)
        log.info("metrics on http://%s:%d/metrics, health on /healthz", *server.address)
    return loop


def _alert_config(args) -> AlertConfig:
    if args.reference_dir is None and args.reference_low is not None:
        raise ArniqaEdgeError("--reference-low needs --reference-dir DIR (the golden frames it compares with)")
    if args.reference_low is None and args.reference_high is not None:
        raise ArniqaEdgeError("--reference-high needs --reference-low (the threshold that raises the alert)")
    reference_high = args.reference_high
    if args.reference_low is not None and reference_high is None:
        reference_high = args.reference_low + 0.05
    return AlertConfig(
        low=args.low,
        high=args.high if args.high is not None else args.low + 0.05,
        raise_after=args.raise_after,
        clear_after=args.clear_after,
        frozen_after=args.frozen_after,
        blank_after=args.blank_after,
        reference_low=args.reference_low,
        reference_high=reference_high,
    )


def _close(resources: list) -> None:
    for resource in resources:
        try:
            resource.close()
        except Exception as exc:  # noqa: BLE001 - shutting down: log and close the rest
            log.error("while closing %s: %s", type(resource).__name__, exc)


def _finite(text: str, accept, condition: str, what: str = "a number") -> float:
    """`text` as a finite float that `accept`s, else an argparse error (exit status 2) saying `condition`."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not {what}: {text!r}") from None
    if not (math.isfinite(value) and accept(value)):
        raise argparse.ArgumentTypeError(f"must be a finite number {condition}, got {text}")
    return value


def _seconds(text: str) -> float:
    """A finite number of seconds >= 0."""
    return _finite(text, lambda value: value >= 0, ">= 0", "a number of seconds")


def _positive_seconds(text: str) -> float:
    """A finite number of seconds > 0."""
    return _finite(text, lambda value: value > 0, "> 0", "a number of seconds")


def _positive_number(text: str) -> float:
    return _finite(text, lambda value: value > 0, "> 0")


def _score(text: str) -> float:
    return _finite(text, lambda value: 0 <= value <= 1, "in 0..1 (scores are)")


def _alpha(text: str) -> float:
    return _finite(text, lambda value: 0 < value <= 1, "in (0, 1]")


def _port(text: str) -> int:
    """A TCP port, 0-65535 (0: a free one)."""
    value = _count(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"must be a port number in 0..65535, got {value}")
    return value


def _count(text: str) -> int:
    """An integer >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value
