"""Prometheus metrics and a health endpoint for the QA loop, on 127.0.0.1 unless told otherwise.

GET /metrics  Prometheus text format (prometheus_client's CONTENT_TYPE_LATEST)
GET /healthz  200 {"status": "ok", ...} while frames are being scored,
              503 with "starting" or "stale" otherwise
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .. import __version__
from ..errors import ArniqaEdgeError

#: The default metrics port. Prometheus keeps a list of exporters' default ports so that exporters on one
#: host do not collide (https://github.com/prometheus/prometheus/wiki/Default-port-allocations); its range
#: 9100-9999 is full (9108 and 9109, this tool's old defaults, are the Graphite exporter's) and new
#: allocations continue from 10000. 12108 is on no list, clear of that range and of other well-known
#: services (Zabbix 10050/10051, the kubelet 10250-10259, memcached 11211).
DEFAULT_PORT = 12108


def _prometheus():
    try:
        import prometheus_client
    except ImportError:
        raise ArniqaEdgeError(
            "the metrics endpoint needs prometheus_client: pip install prometheus_client (or run with --no-metrics)"
        ) from None
    return prometheus_client


class QaMetrics:
    """The loop's gauges, counters and latency histogram, in a registry of their own."""

    def __init__(self, alerts: list[str], reference: bool = False, model: str = "", backend: str = ""):
        """alerts: the names of the alerts to export; reference: export the score against golden references;
        model, backend: what scores the frames, for arniqa_build_info."""
        prometheus = _prometheus()
        self.registry = prometheus.CollectorRegistry()
        metric = dict(registry=self.registry, namespace="arniqa")
        # The usual *_build_info idiom: always 1, the facts in its labels, to join on or show in a dashboard.
        self.build_info = prometheus.Gauge(
            "build_info",
            "arniqa-edge version, model and inference backend; always 1",
            ["version", "model", "backend"],
            **metric,
        )
        self.build_info.labels(__version__, model, backend).set(1)
        self.score = prometheus.Gauge("score", "Quality of the last scored frame, 0..1", **metric)
        self.smoothed = prometheus.Gauge("score_smoothed", "Smoothed quality, 0..1 (what alerts watch)", **metric)
        self.scored = prometheus.Counter("frames_scored", "Frames scored", **metric)
        self.dropped = prometheus.Counter("frames_dropped", "Frames replaced by newer ones before scoring", **metric)
        self.stale = prometheus.Counter("frames_stale", "Frames skipped for being too old when taken", **metric)
        self.errors = prometheus.Counter("frame_errors", "Frames that could not be scored", **metric)
        self.reconnects = prometheus.Counter("source_reconnects", "Attempts to reopen the source", **metric)
        self.connected = prometheus.Gauge("source_connected", "1 while the source delivers frames", **metric)
        self.latency = prometheus.Histogram(
            "inference_seconds",
            "Time to score one frame (preprocess + inference + regressor)",
            buckets=(0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0),
            **metric,
        )
        self.alert = prometheus.Gauge("alert_active", "1 while the alert is raised", ["alert"], **metric)
        for name in alerts:
            self.alert.labels(name).set(0)
        self.reference = self.reference_smoothed = self.reference_latency = None
        if reference:
            self.reference = prometheus.Gauge(
                "reference_score", "Quality of the last scored frame against the golden references, 0..1", **metric
            )
            self.reference_smoothed = prometheus.Gauge(
                "reference_score_smoothed", "Smoothed quality against the golden references, 0..1", **metric
            )
            self.reference_latency = prometheus.Histogram(
                "reference_inference_seconds",
                "Time to score one frame against the golden references",
                buckets=(0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0),
                **metric,
            )
        self._counts = {"dropped": 0, "stale": 0, "errors": 0, "reconnects": 0}

    def observe_reference(self, score: float, smoothed: float, latency: float) -> None:
        if self.reference is None:
            raise ValueError("QaMetrics was made without reference=True; it exports no reference score")
        self.reference.set(score)
        self.reference_smoothed.set(smoothed)
        self.reference_latency.observe(latency)

    def sync_counts(self, **totals: int) -> None:
        """Bring the counters up to the loop's running totals (dropped=..., reconnects=..., ...)."""
        for name, total in totals.items():
            delta = total - self._counts[name]
            if delta > 0:
                getattr(self, name).inc(delta)
                self._counts[name] = total

    def exposition(self) -> bytes:
        return _prometheus().generate_latest(self.registry)

    @property
    def content_type(self) -> str:
        """The media type of `exposition()`: prometheus_client's, so the two always agree."""
        return _prometheus().CONTENT_TYPE_LATEST


class MetricsServer:
    """Serves /metrics and /healthz from a daemon thread; port 0 picks a free port (see `.port`)."""

    def __init__(
        self, metrics: QaMetrics, health: Callable[[], dict], host: str = "127.0.0.1", port: int = DEFAULT_PORT
    ):
        handler = _handler(metrics, health)
        try:
            self._server = ThreadingHTTPServer((host, port), handler)
        except OSError as exc:
            raise ArniqaEdgeError(
                f"cannot serve metrics on {host}:{port}: {exc.strerror or exc} "
                "(choose another --metrics-port, or --no-metrics)"
            ) from None
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="arniqa-metrics", daemon=True)
        self._thread.start()

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return host, port

    @property
    def port(self) -> int:
        return self.address[1]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(metrics: QaMetrics, health: Callable[[], dict]):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server API
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._reply(200, metrics.exposition(), metrics.content_type)
            elif path in ("/healthz", "/health"):
                state = health()
                code = 200 if state.get("status") == "ok" else 503
                self._reply(code, json.dumps(state).encode(), "application/json")
            else:
                self._reply(404, b"not found: try /metrics or /healthz\n", "text/plain")

        def _reply(self, code: int, body: bytes, content_type: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # scrapes every few seconds would flood the log
            pass

    return Handler


def health_state(last_scored: float | None, now: float, stale_after: float, connected: bool, started: float) -> dict:
    """The /healthz body: "ok" while a frame was scored in the last `stale_after` seconds."""
    if last_scored is None:
        status = "starting" if now - started < stale_after else "stale"
        age = None
    else:
        age = now - last_scored
        status = "ok" if age <= stale_after else "stale"
    return {
        "status": status,
        "last_frame_age_s": None if age is None else round(age, 3),
        "source_connected": connected,
        "time": time.time(),
    }
