"""The camera's Prometheus endpoint: its default port, its content type and arniqa_build_info. No model."""

import urllib.request

import prometheus_client

from arniqa_edge import __version__
from arniqa_edge.camera.cli import build_parser
from arniqa_edge.camera.metrics import DEFAULT_PORT, MetricsServer, QaMetrics


def test_default_port_is_outside_the_prometheus_exporter_range():
    # 9100-9999 is allocated to exporters in full (9108/9109: the Graphite exporter's) and new allocations
    # continue from 10000: https://github.com/prometheus/prometheus/wiki/Default-port-allocations
    assert not 9090 <= DEFAULT_PORT <= 10200
    options = build_parser().parse_args(["--source", "0"])
    assert options.metrics_port == DEFAULT_PORT
    help_text = " ".join(build_parser().format_help().split())
    assert f"(default: {DEFAULT_PORT}: not in Prometheus's list of exporters' default ports" in help_text


def test_metrics_are_served_with_the_client_librarys_content_type_and_build_info():
    metrics = QaMetrics(["low_quality"], model="arniqa-lite0", backend="onnxruntime fp32 on cpu")
    server = MetricsServer(metrics, lambda: {"status": "ok"}, port=0)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=5) as response:
            content_type, body = response.headers["Content-Type"], response.read().decode()
    finally:
        server.close()
    assert content_type == prometheus_client.CONTENT_TYPE_LATEST
    assert "# TYPE arniqa_build_info gauge" in body
    assert (
        f'arniqa_build_info{{backend="onnxruntime fp32 on cpu",model="arniqa-lite0",version="{__version__}"}} 1.0'
    ) in body
