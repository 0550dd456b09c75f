import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
# training/ and export/ run from the checkout, like the CLIs do.
sys.path.insert(0, str(ROOT))
from training.data_root import data_root  # noqa: E402

#: $ARNIQA_SHARED_DATA, else ../shared/data beside the checkout.
SHARED_DATA = data_root()


def has_torch() -> bool:
    try:
        import timm  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def distortion_kernels_built() -> bool:
    """Whether arniqa_edge._C was built with the batched distortion kernels (_C.distort)."""
    try:
        from arniqa_edge import _C
    except ImportError:
        return False
    return hasattr(_C, "distort")


def shared_labels(name: str = "KADID-10k.csv") -> Path:
    """A label file of the shared data; skips the test when it is absent."""
    path = SHARED_DATA / "labels" / name
    if not path.is_file():
        pytest.skip(f"needs {path} (the project's shared data beside the checkout)")
    return path


def pristine_images(split: str = "val", pattern: str = "bsds_*.jpg", count: int = 4) -> list[Path]:
    folder = SHARED_DATA / "pristine" / split
    files = sorted(folder.glob(pattern))[:count]
    if len(files) < count:
        pytest.skip(f"needs {count} images in {folder} (the project's shared data beside the checkout)")
    return files


@pytest.fixture(scope="session")
def lite0_imagenet_weights(tmp_path_factory) -> Path:
    """The ImageNet-initialised lite0 encoder in our weights format."""
    if not has_torch():
        pytest.skip("needs torch and timm")
    from arniqa_edge.models.encoder import save_encoder
    from training.pretraining.init_weights import initial_encoder

    path = tmp_path_factory.mktemp("weights") / "lite0-imagenet.safetensors"
    encoder, source = initial_encoder("arniqa-lite0", seed=0)
    save_encoder(encoder, path, init=source)
    return path


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    import cv2

    return image if sigma == 0 else cv2.GaussianBlur(image, (0, 0), sigma)


@pytest.fixture(scope="session")
def blur_regressor(lite0_imagenet_weights, tmp_path_factory) -> Path:
    """A regressor fitted on ImageNet lite0 features: label = 5 - blur level (sharp = 5)."""
    import cv2

    from arniqa_edge.features import FeatureExtractor
    from arniqa_edge.models import get_model_config
    from arniqa_edge.regressor import LinearRegressor, ScoreScale
    from training.evaluation.regression import fit_ridge

    extractor = FeatureExtractor(
        get_model_config("arniqa-lite0"), lite0_imagenet_weights, backend="torch", device="cpu"
    )
    images, labels, groups = [], [], []
    for index, path in enumerate(pristine_images("train", count=6)):
        base = cv2.resize(cv2.imread(str(path)), (160, 112), interpolation=cv2.INTER_AREA)
        for level, sigma in enumerate((0, 1, 2, 4)):
            images.append(gaussian_blur(base, sigma))
            labels.append(5.0 - level)
            groups.append(index)
    features = np.concatenate(extractor.embed_batch(images))
    fit = fit_ridge(features, np.array(labels), groups=groups, folds=3)
    path = tmp_path_factory.mktemp("weights") / "lite0-blur.regressor.safetensors"
    LinearRegressor(fit.weight, fit.bias, ScoreScale(1, 5), {"model": "arniqa-lite0"}).save(path)
    return path


@pytest.fixture
def without_shipped_weights(monkeypatch, tmp_path_factory) -> Path:
    """The package as if nothing shipped in arniqa_edge/weights/ (an empty folder in its place)."""
    import arniqa_edge.models.shipped as shipped

    empty = tmp_path_factory.mktemp("no-weights")
    monkeypatch.setattr(shipped, "WEIGHTS_DIR", empty)
    return empty
