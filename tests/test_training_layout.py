"""training/'s layout: the old command paths forward to the new homes; one data root, one image-suffix set."""

import ast
import importlib
from pathlib import Path

import pytest

from arniqa_edge.imageio import IMAGE_SUFFIXES

ROOT = Path(__file__).resolve().parents[1]

#: `python -m` paths of before the split into pretraining/ and evaluation/ -> where the code lives now.
FORWARDS = {
    "training.pretrain": "training.pretraining.pretrain",
    "training.init_weights": "training.pretraining.init_weights",
    "training.carry": "training.pretraining.carry",
    "training.evaluate": "training.evaluation.evaluate",
    "training.fit_regressor": "training.evaluation.fit_regressor",
    "training.kadid_proxy": "training.evaluation.kadid_proxy",
}


@pytest.mark.parametrize("old, new", FORWARDS.items())
def test_old_command_paths_run_the_moved_tools(old, new):
    if new != "training.pretraining.carry":  # carry is torch-free
        pytest.importorskip("torch")
        pytest.importorskip("onnx")
    assert importlib.import_module(old).main is importlib.import_module(new).main


def test_forwards_are_only_forwards():
    for old in FORWARDS:
        path = ROOT / (old.replace(".", "/") + ".py")
        tree = ast.parse(path.read_text())
        imports = [node for node in tree.body if isinstance(node, ast.ImportFrom)]
        assert [(node.module, [a.name for a in node.names]) for node in imports] == [
            (FORWARDS[old].removeprefix("training."), ["main"])
        ], path


def test_the_runtime_does_not_import_training():
    for path in (ROOT / "arniqa_edge").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            assert not any(n == "training" or n.startswith("training.") for n in names), path


def test_data_root_follows_the_environment(monkeypatch, tmp_path):
    from training import data_root

    monkeypatch.delenv(data_root.DATA_ENV, raising=False)
    assert data_root.data_root() == ROOT.parent / "shared" / "data"
    monkeypatch.setenv(data_root.DATA_ENV, str(tmp_path))
    assert data_root.data_root() == tmp_path
    assert data_root.pristine_dir("val") == tmp_path / "pristine" / "val"
    assert data_root.labels_file() == tmp_path / "labels" / "KADID-10k.csv"


def test_from_checkout_keeps_machine_paths_out_of_metadata(tmp_path):
    from training import data_root

    assert data_root.from_checkout(ROOT.parent / "shared" / "data" / "pristine" / "train") == (
        "../shared/data/pristine/train"
    )
    outside = Path("/nonexistent-root/photos")
    assert data_root.from_checkout(outside) == str(outside)


def test_list_images_takes_the_runtime_suffixes(tmp_path):
    from training.data_root import list_images

    assert data_root_suffixes() is IMAGE_SUFFIXES
    for name in ("b.JPG", "a.png", "c.tiff", "d.webp", "notes.txt", ".hidden.jpg", "sub/e.jpg", ".cache/f.jpg"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in list_images(tmp_path)] == ["a.png", "b.JPG", "c.tiff", "d.webp"]
    assert [p.relative_to(tmp_path).as_posix() for p in list_images(tmp_path, recursive=True)] == [
        "a.png",
        "b.JPG",
        "c.tiff",
        "d.webp",
        "sub/e.jpg",
    ]
    with pytest.raises(FileNotFoundError, match="image folder not found"):
        list_images(tmp_path / "missing")


def data_root_suffixes():
    from training import data_root

    return data_root.IMAGE_SUFFIXES
