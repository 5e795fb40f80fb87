# Two commands do all the set-up: `make quickstart` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: quickstart test test-slow bench venv clean notebooks wheel

$(STAMP): setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,notebooks]'
	touch $(STAMP)

venv: $(STAMP)

quickstart: $(STAMP)
	$(VENV)/bin/transfer-scaling quickstart --workdir runs/quickstart

test: $(STAMP)
	$(VENV)/bin/ruff check
	$(PY) -m pytest -q -n 2 --dist loadgroup

test-slow: $(STAMP)
	$(PY) -m pip install -q -e '.[gcs]'
	$(PY) -m pytest -q -m slow

bench: $(STAMP)
	$(PY) -m pip install -q -e '.[bench]'
	$(PY) -m benchmarks.run_all

# The three notebooks, top to bottom, on copies in runs/notebooks/ (colab/ stays without outputs).
# TS_NOTEBOOK_SMOKE=1 runs them at the small settings CI uses (a toy study instead of the quickstart's).
notebooks: $(STAMP)
	rm -rf runs/notebooks && mkdir -p runs/notebooks && cp colab/*.ipynb runs/notebooks/
	$(VENV)/bin/jupyter execute --inplace --timeout=3600 --kernel_name=python3 runs/notebooks/*.ipynb

# A wheel in dist/: put it next to a notebook (or upload it in Colab) and the install cell uses it.
wheel: $(STAMP)
	$(PY) -m pip wheel -q --no-deps --no-build-isolation . -w dist

clean:
	rm -rf $(VENV) *.egg-info
