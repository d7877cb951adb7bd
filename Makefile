# ferkit — `make demo` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
FERKIT := $(VENV)/bin/ferkit
STAMP  := $(VENV)/.installed

.PHONY: venv demo test lint bench clean

venv: $(STAMP)

# CPU torch first (2.13.0 lies on this disk); a bare `torch` requirement would pull a multi-GB CUDA build.
# Elsewhere on Linux, PyPI's torch is the CUDA build: `make venv TORCH_INDEX=https://download.pytorch.org/whl/cpu`.
TORCH_INDEX ?=
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0 $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

# The main job: the shipped model on a bundled public-domain photo (NASA, via scikit-image), annotated to demo_out/.
demo: venv
	$(FERKIT) predict src/ferkit/samples/astronaut.jpg --save demo_out --json demo_out/faces.json

test: venv
	$(PY) -m pytest -q $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check src tests benchmarks studies release
	$(VENV)/bin/ruff format --check src tests benchmarks studies release

bench: venv
	$(PY) -m benchmarks.data_load

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
