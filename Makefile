# Two entry points that work on a fresh machine (each sets itself up):
#   make demo   make a sample video and score it per frame with the shipped model
#   make test   the test suite (what CI runs)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO := demo_out
# Compile the CUDA kernels whenever nvcc exists, so a CUDA compile error fails the build
# even on machines without a GPU.
ARNIQA_EDGE_CUDA ?= $(if $(shell command -v nvcc 2>/dev/null),ON,auto)
export ARNIQA_EDGE_CUDA

.PHONY: demo test install bench carry clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml CMakeLists.txt $(shell find csrc -type f 2>/dev/null)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# A new venv's pip may be old and has no `wheel`: sdists built without isolation
	# (tensorrt-rtx) need setuptools' bdist_wheel, so bring the build tools up first.
	$(PY) -m pip install --quiet --upgrade pip setuptools wheel
	$(PY) -m pip install --quiet "scikit-build-core>=0.10" "pybind11>=2.12" ninja
	$(PY) -m pip install --quiet --no-build-isolation -e ".[dev]"
	touch $@

test: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest -q

# --- demo: a sample video (a pan with a blurred and a noisy stretch), scored with the shipped
# arniqa-lite0 (arniqa_edge/weights/, made by `python -m training.recipe --config configs/lite0_cpu.yaml --ship`)
demo: install
	$(PY) -m arniqa_edge.video --demo -o $(DEMO)/video --no-progress

# what a GPU training run carries to the device machine (< 64 MiB), from $ARNIQA_SHARED_DATA (default ../shared/data)
carry: install
	$(PY) -m training.pretraining.carry -o .carry

bench: install
	$(PY) -m benchmarks preprocess
	$(PY) -m benchmarks degradation
	$(PY) -m benchmarks video

clean:
	rm -rf build $(DEMO) arniqa_edge/_C*.so
