"""The runtime imports and preprocesses with torch absent (a Jetson/CPU install without PyTorch)."""

import subprocess
import sys

from conftest import ROOT

BLOCK_TORCH = "import sys; sys.modules['torch'] = None; sys.modules['timm'] = None; sys.modules['torchvision'] = None\n"


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCK_TORCH + code], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)


def test_import_and_preprocess_without_torch():
    result = _run(
        "import numpy as np, arniqa_edge\n"
        "from arniqa_edge.preprocess import preprocess\n"
        "full, half = preprocess(np.zeros((64, 96, 3), np.uint8))\n"
        "assert full.shape == (1, 3, 64, 96) and half.shape == (1, 3, 32, 48)\n"
        "assert 'torch' not in [m for m in sys.modules if sys.modules[m] is not None]\n"
        "print('ok', arniqa_edge.__version__)\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok")


def test_scoring_without_any_backend_says_what_to_install(tmp_path):
    result = _run(
        "import numpy as np\n"
        "from arniqa_edge.regressor import LinearRegressor, ScoreScale\n"
        f"LinearRegressor(np.zeros(2560), 0.0, ScoreScale(1, 5)).save('{tmp_path}/r.safetensors')\n"
        "from arniqa_edge.cli import main\n"
        f"sys.exit(main(['x.png', '--weights', '{tmp_path}/w.safetensors', '--regressor', '{tmp_path}/r.safetensors']))\n")
    assert result.returncode == 2, result.stderr
    assert "no inference backend is installed" in result.stderr
    assert "Traceback" not in result.stderr
