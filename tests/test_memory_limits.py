"""A real allocation failure in torch (the issue's `DefaultCPUAllocator: can't allocate memory`) costs one row.

The CLI runs in a child whose address space is capped once torch is imported:
the photos around a 12 MP one are scored, the 12 MP one gets its error row.
(onnxruntime's allocation failure: tests/test_cli_onnx_graphs.py.)
"""

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest
from conftest import ROOT, has_torch

pytestmark = pytest.mark.skipif(not has_torch(), reason="needs torch and timm")


def test_torch_allocation_failure_is_that_files_row(lite0_imagenet_weights, blur_regressor, tmp_path):
    rng = np.random.default_rng(0)
    small = []
    for index in range(2):
        small.append(str(tmp_path / f"small{index}.png"))
        cv2.imwrite(small[-1], rng.integers(0, 256, (120, 160, 3), dtype=np.uint8))
    big = str(tmp_path / "big.jpg")
    cv2.imwrite(big, np.full((3000, 4000, 3), 90, np.uint8))
    argv = [
        small[0],
        big,
        small[1],
        "--weights",
        str(lite0_imagenet_weights),
        "--regressor",
        str(blur_regressor),
        "--backend",
        "torch",
        "--device",
        "cpu",
        "--json",
        "--memory-budget",
        "64G",
    ]  # past the estimate: the allocator must fail, and be handled
    code = (
        "import resource, sys\n"
        "import torch, timm\n"
        "from arniqa_edge.cli import main\n"
        "size = next(int(l.split()[1]) * 1024 for l in open('/proc/self/status') if l.startswith('VmSize'))\n"
        "limit = size + 2 * 2 ** 30\n"  # the 12 MP pass needs about 3 GB
        "resource.setrlimit(resource.RLIMIT_AS, (limit, limit))\n"
        f"sys.exit(main({argv!r}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.stdout, result.stderr
    rows = json.loads(result.stdout)
    assert result.returncode == 1, result.stderr
    assert [row["path"] for row in rows] == [small[0], big, small[1]]
    assert rows[0]["error"] is None and rows[2]["error"] is None
    assert rows[1]["error"].startswith(f"{big}: out of memory while"), rows[1]
    assert "Traceback" not in result.stderr
