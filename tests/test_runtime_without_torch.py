"""The runtime imports and preprocesses with torch absent (a Jetson/CPU install without PyTorch)."""

import subprocess
import sys

from conftest import ROOT

BLOCK_TORCH = "import sys; sys.modules['torch'] = None; sys.modules['timm'] = None; sys.modules['torchvision'] = None\n"


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", BLOCK_TORCH + code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )


def test_import_and_preprocess_without_torch():
    result = _run(
        "import numpy as np, arniqa_edge\n"
        "from arniqa_edge.preprocess import preprocess\n"
        "full, half = preprocess(np.zeros((64, 96, 3), np.uint8))\n"
        "assert full.shape == (1, 3, 64, 96) and half.shape == (1, 3, 32, 48)\n"
        "assert 'torch' not in [m for m in sys.modules if sys.modules[m] is not None]\n"
        "print('ok', arniqa_edge.__version__)\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok")


def test_scoring_without_any_backend_says_what_to_install(tmp_path):
    result = _run(
        "import numpy as np\n"
        "from arniqa_edge.regressor import LinearRegressor, ScoreScale\n"
        f"LinearRegressor(np.zeros(2560), 0.0, ScoreScale(1, 5)).save('{tmp_path}/r.safetensors')\n"
        "from arniqa_edge.cli import main\n"
        f"sys.exit(main(['x.png', '--weights', '{tmp_path}/w.safetensors', '--regressor', '{tmp_path}/r.safetensors']))\n"
    )
    assert result.returncode == 2, result.stderr
    assert "no inference backend is installed" in result.stderr
    assert "Traceback" not in result.stderr


def test_tensorrt_backend_imports_and_refuses_a_missing_gpu_without_torch(tmp_path):
    """The fastest Jetson path needs no torch: memory and streams are cuda-python's. Without a GPU (or without
    TensorRT or cuda-python) opening an engine fails with a message that says so."""
    result = _run(
        "import importlib.util\n"
        "from arniqa_edge.backends import create_backend, tensorrt_backend, tensorrt_graph, cuda_runtime\n"
        "from arniqa_edge.backends.engine_sidecar import EngineSidecar\n"
        "from arniqa_edge.backends.model_metadata import ExportedModelInfo, InputSpec\n"
        "from arniqa_edge.errors import BackendUnavailableError\n"
        "from arniqa_edge.models import get_model_config\n"
        "config = get_model_config('arniqa-lite0')\n"
        f"engine = __import__('pathlib').Path({str(tmp_path)!r}) / 'lite0.engine'\n"
        "engine.write_bytes(b'serialized engine')\n"
        "info = ExportedModelInfo('arniqa-lite0', 1280, ('features',), InputSpec.for_model(config))\n"
        "EngineSidecar('arniqa-lite0', 'fp16', 'tensorrt_rtx', '1.0', None, '0' * 64, {}, info.to_props()).write(engine)\n"
        "for open_it in (lambda: tensorrt_backend.TensorRTBackend(config, engine, device='cuda'),\n"
        "                lambda: create_backend('tensorrt', config, engine)):\n"
        "    try:\n"
        "        open_it()\n"
        "    except BackendUnavailableError as exc:\n"
        "        print('refused:', exc)\n"
        "assert not tensorrt_backend.tensorrt_usable()\n"
        "assert [m for m in sys.modules if m.split('.')[0] in ('torch', 'timm') and sys.modules[m]] == []\n"
    )
    assert result.returncode == 0, result.stderr
    refusals = result.stdout.splitlines()
    assert len(refusals) == 2 and all("refused: backend 'tensorrt'" in line for line in refusals), refusals
    assert all(("CUDA GPU" in line) or ("cuda-python" in line) for line in refusals)
