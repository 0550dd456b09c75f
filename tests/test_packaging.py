"""Packaging: one version, licence files, py.typed, metadata, the weights in the wheel, onnxruntime extras."""

import importlib.metadata
import logging
import re
import shutil
import zipfile
from pathlib import Path

import pytest
import tomllib
from conftest import ROOT

import arniqa_edge
from arniqa_edge.backends import onnxruntime_session
from arniqa_edge.models.shipped import WEIGHTS_DIR

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]
SKBUILD = PYPROJECT["tool"]["scikit-build"]


def test_version_has_one_source(monkeypatch):
    assert "version" not in PROJECT and "version" in PROJECT["dynamic"]
    assert SKBUILD["metadata"]["version"] == {
        "provider": "scikit_build_core.metadata.regex",
        "input": "arniqa_edge/_version.py",
    }
    assert arniqa_edge.__version__ == importlib.metadata.version("arniqa-edge")
    regex = pytest.importorskip("scikit_build_core.metadata.regex")
    monkeypatch.chdir(ROOT)  # what the build backend reads, as it reads it
    settings = {k: v for k, v in SKBUILD["metadata"]["version"].items() if k != "provider"}
    assert regex.dynamic_metadata("version", settings) == arniqa_edge.__version__


def test_license_notice_and_py_typed():
    license_text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in license_text and "Version 2.0, January 2004" in license_text
    assert PROJECT["license"] == {"text": "Apache-2.0"}
    notice = (ROOT / "NOTICE").read_text()
    for source in ("IQA-Dataset", "MIT", "BSDS500", "Sun-Hays 80", "Urban100", "arniqa_edge/weights/"):
        assert source in notice, source
    assert (ROOT / "arniqa_edge" / "py.typed").is_file()


def test_urls_and_classifiers():
    assert PROJECT["urls"] and all(url.startswith("https://") for url in PROJECT["urls"].values())
    classifiers = PROJECT["classifiers"]
    for wanted in (
        "License :: OSI Approved :: Apache Software License",
        "Typing :: Typed",
        "Programming Language :: Python :: 3.10",
    ):
        assert wanted in classifiers
    minimum = int(re.fullmatch(r">=3\.(\d+)", PROJECT["requires-python"]).group(1))
    python_minors = [int(c.rsplit(".", 1)[1]) for c in classifiers if re.fullmatch(r".*Python :: 3\.\d+", c)]
    assert python_minors and min(python_minors) == minimum


def _requirements(names):
    from packaging.requirements import Requirement

    return {r.name: r for r in map(Requirement, names)}


def test_onnxruntime_is_an_extra_and_floors_fit_numpy_2():
    base = _requirements(PROJECT["dependencies"])
    extras = PROJECT["optional-dependencies"]
    assert not any(name.startswith("onnxruntime") for name in base), "onnxruntime must come from [cpu] or [gpu]"
    cpu, gpu = _requirements(extras["cpu"]), _requirements(extras["gpu"])
    assert set(cpu) == {"onnxruntime"} and set(gpu) == {"onnxruntime-gpu"}
    dev_extras = _requirements(extras["dev"])["arniqa-edge"].extras
    assert "cpu" in dev_extras and "gpu" not in dev_extras  # the test environment runs on the CPU
    # numpy is not capped below 2, so no binary dependency may resolve to a wheel built for NumPy 1 only.
    assert not any(v.operator in ("<", "<=", "~=") for v in base["numpy"].specifier)
    for requirement, last_numpy1_only, first_numpy2 in (
        (cpu["onnxruntime"], "1.18.1", "1.19.0"),
        (gpu["onnxruntime-gpu"], "1.18.1", "1.19.0"),
        (base["opencv-python-headless"], "4.10.0.82", "4.10.0.84"),
    ):
        assert not requirement.specifier.contains(last_numpy1_only), requirement
        assert requirement.specifier.contains(first_numpy2), requirement


def test_cuda_architectures_cover_turing_to_hopper():
    defines = SKBUILD["cmake"]["define"]
    assert defines["ARNIQA_EDGE_CUDA_ARCHITECTURES"]["default"] == "default"
    cmake = (ROOT / "CMakeLists.txt").read_text()
    listed = re.search(r"set\(ARNIQA_EDGE_DEFAULT_CUDA_ARCHITECTURES ([\d ]+)\)", cmake).group(1).split()
    assert {"72", "75", "80", "86", "87", "89", "90"} <= set(listed)


def test_distortion_kernels_are_an_option_of_the_build():
    """ARNIQA_EDGE_DISTORTIONS=OFF builds a runtime _C without the training-only distortion kernels."""
    assert SKBUILD["cmake"]["define"]["ARNIQA_EDGE_DISTORTIONS"] == {"env": "ARNIQA_EDGE_DISTORTIONS", "default": "ON"}
    cmake = (ROOT / "CMakeLists.txt").read_text()
    assert re.search(r"option\(ARNIQA_EDGE_DISTORTIONS .*\bON\)", cmake)
    bindings = (ROOT / "csrc" / "bindings.cpp").read_text()
    for guarded in ('#include "distort_py.h"', "register_distortion_ops(m);"):
        assert re.search(r"#if defined\(ARNIQA_EDGE_WITH_DISTORTIONS\)\n\s*" + re.escape(guarded), bindings), guarded


def test_wheel_includes_every_weights_file(tmp_path, monkeypatch):
    """Build the Python part of a wheel (no CMake) from a copy with dummy weights that .gitignore ignores."""
    build = pytest.importorskip("scikit_build_core.build")
    assert WEIGHTS_DIR == ROOT / "arniqa_edge" / "weights"
    assert "arniqa_edge/weights/**" in SKBUILD["sdist"]["include"]
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE", "NOTICE", ".gitignore"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "arniqa_edge", source / "arniqa_edge", ignore=shutil.ignore_patterns("__pycache__", "*.so", "weights")
    )
    weights = source / "arniqa_edge" / "weights"
    files = ["arniqa-lite0.safetensors", "arniqa-lite0.onnx", "arniqa-lite0.regressor.safetensors", "sub/x.bin"]
    for name in files:
        (weights / name).parent.mkdir(parents=True, exist_ok=True)
        (weights / name).write_bytes(b"dummy")
    with (source / ".gitignore").open("a") as ignore:
        ignore.write("\n*.onnx\n*.safetensors\n*.bin\n")
    monkeypatch.chdir(source)
    wheel_name = build.build_wheel(str(tmp_path / "dist"), {"wheel.cmake": "false"})
    names = zipfile.ZipFile(tmp_path / "dist" / wheel_name).namelist()
    for name in files:
        assert f"arniqa_edge/weights/{name}" in names, name
    assert "arniqa_edge/py.typed" in names and "arniqa_edge/metric.py" in names
    dist_info = f"arniqa_edge-{arniqa_edge.__version__}.dist-info"
    assert f"{dist_info}/licenses/LICENSE" in names and f"{dist_info}/licenses/NOTICE" in names


# -- which onnxruntime runs: logged, and warned about when a GPU machine ends up on the CPU ----------


class _Session:
    def __init__(self, providers):
        self.providers = providers

    def get_providers(self):
        return self.providers


def test_the_provider_in_use_is_logged_and_a_cpu_fallback_is_a_warning(caplog):
    with caplog.at_level(logging.INFO, logger=onnxruntime_session.__name__):
        assert onnxruntime_session.report_providers(_Session(["CPUExecutionProvider"]), "cpu", Path("a.onnx")) == "cpu"
        assert [r.levelno for r in caplog.records] == [logging.INFO]
        assert "a.onnx runs on cpu with CPUExecutionProvider" in caplog.text
        caplog.clear()
        # onnxruntime-gpu without its CUDA libraries starts a CPU session: the device is "cpu", with a warning.
        device = onnxruntime_session.report_providers(_Session(["CPUExecutionProvider"]), "cuda:0", Path("a.onnx"))
        assert device == "cpu"
        assert [r.levelno for r in caplog.records] == [logging.WARNING, logging.INFO]
        caplog.clear()
        used = ["CUDAExecutionProvider", "CPUExecutionProvider"]
        assert onnxruntime_session.report_providers(_Session(used), "cuda:0", Path("a.onnx")) == "cuda:0"
        assert "with CUDAExecutionProvider, CPUExecutionProvider" in caplog.text


@pytest.mark.parametrize(
    "installed, gpu_present, expected",
    [
        (("onnxruntime 1.20.0", "onnxruntime-gpu 1.20.0"), False, "several packages provide the module onnxruntime"),
        (("onnxruntime 1.20.0",), True, "pip install onnxruntime-gpu"),
        (("onnxruntime 1.20.0",), False, None),
    ],
)
def test_installation_checks(monkeypatch, caplog, installed, gpu_present, expected):
    pytest.importorskip("onnxruntime")
    monkeypatch.setattr(onnxruntime_session, "installed_distributions", lambda: installed)
    monkeypatch.setattr(onnxruntime_session, "nvidia_gpu_present", lambda: gpu_present)
    monkeypatch.setattr(onnxruntime_session, "_warned", set())
    monkeypatch.setattr("onnxruntime.get_available_providers", lambda: ["CPUExecutionProvider"])
    with caplog.at_level(logging.WARNING, logger=onnxruntime_session.__name__):
        onnxruntime_session.check_installation()
        onnxruntime_session.check_installation()  # once per process
    if expected is None:
        assert not caplog.records
    else:
        assert len(caplog.records) == 1 and expected in caplog.text


def test_the_environment_builds_without_isolation():
    """`make install` builds with --no-build-isolation, and sdists among the extras (tensorrt-rtx) run
    `setup.py bdist_wheel` in this environment: a fresh venv's pip lacked it once, hidden by a pip cache."""
    import importlib.util

    for module in ("scikit_build_core", "pybind11", "setuptools"):
        assert importlib.util.find_spec(module) is not None, f"{module} missing: run make install"
    from setuptools import Distribution

    assert Distribution().get_command_class("bdist_wheel") is not None
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install --quiet --upgrade pip setuptools wheel" in makefile
