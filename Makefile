# The two commands a newcomer runs (see README): `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test venv clean bench bench-venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

## Build the demo corpus end to end on the DirectRunner into ./demo-output
demo: $(STAMP)
	$(PY) -m pipelines.demo --output demo-output

## Run the whole test suite
test: $(STAMP)
	$(PY) -m pytest -q $(PYTEST_ARGS)

## Benchmarks vs datatrove (see bench/README.md): datatrove gets its own venv under bench/work/
DT_VENV := bench/work/.venv-datatrove
DT_STAMP := $(DT_VENV)/.installed

bench-venv: $(DT_STAMP)

# lxml_html_clean: trafilatura imports lxml.html.clean, a separate package since lxml 5.2; without it
# datatrove's extractor subprocess dies on import (bench/vs_datatrove.py --timeout then fails the run)
$(DT_STAMP): $(STAMP)
	$(PYTHON) -m venv $(DT_VENV)
	$(DT_VENV)/bin/pip install --quiet "datatrove[processing]==0.10.1" warcio pyarrow python-magic faust-cchardet \
		orjson zstandard spacy jieba lxml_html_clean
	$(PY) -m pip install --quiet --target bench/work/micro-libs resiliparse rensa
	touch $(DT_STAMP)

bench: $(DT_STAMP)
	$(PY) bench/inputs.py --variant mix --shards 4
	$(PY) bench/vs_datatrove.py bench --variant mix-zh-en --runs 3 --workers 1 2 --our-args --no-card
	$(PY) bench/prefilter_loss.py --variant mix-zh-en
	$(PY) bench/micro_extract.py --runs 3 --limit 300
	$(DT_VENV)/bin/python bench/micro_extract.py --runs 3 --limit 300 --methods traf_datatrove
	$(PY) bench/micro_minhash.py --runs 3
	$(PY) bench/micro_lid.py --runs 3

clean:
	rm -rf demo-output demo-output.input demo-output.annotations .pytest_cache
