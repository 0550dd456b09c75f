"""Moved: `python -m export.cvrkd`, beside the encoder export. This forwarder keeps the old command working."""

from export.cvrkd import build_parser, export_cvrkd_onnx, main, onnx_score

__all__ = ["build_parser", "export_cvrkd_onnx", "main", "onnx_score"]

if __name__ == "__main__":
    raise SystemExit(main())
