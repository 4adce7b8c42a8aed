# The two set-up-and-go commands: `make run` and `make test`. Both create .venv when needed.
.PHONY: run test test-slow test-all test-fast env bench bench-compare docs clean

PY := .venv/bin/python
PORT ?= 8888

env:
	@bash scripts/bootstrap.sh

run: env
	@bash scripts/check_system.sh notebook
	$(PY) -m jupyter lab notebooks/ --ip=127.0.0.1 --port=$(PORT) --no-browser $(if $(filter 0,$(shell id -u)),--allow-root,)

# `make test` is the everyday suite (under 15 minutes on 2 cores); the tests marked slow (the
# tutorials in JupyterLab, the binder environment, the docs build, multi-node Ray, interrupt storms)
# run in `make test-slow`. CI runs both (.ci/run); `make test-all` is the same locally.
test: env
	@bash scripts/check_system.sh test
	$(PY) -m pytest -q -p no:cacheprovider -m "not slow" --durations=40

test-slow: env
	@bash scripts/check_system.sh test
	$(PY) -m pytest -q -p no:cacheprovider -m slow --durations=20

test-all: test test-slow

test-fast: env
	$(PY) -m pytest -q -m "not slow and not browser"

bench: env
	$(PY) -m benchmarks.run --engines streamscope --size small

bench-compare: env
	$(PY) -m benchmarks.run --compare --size full --repeat 3 --max-minutes 27

# The documentation site, offline: Sphinx with warnings as errors and nitpicky references (the
# tutorials and the user guide's examples are executed while it builds), then a check that every
# internal link and #anchor of the built pages resolves. Incremental; rm -rf docs/_build to start over.
docs: env
	PATH="$(CURDIR)/.venv/bin:$$PATH" $(PY) -m sphinx -b html -W --keep-going -n -j auto -d docs/_build/doctrees docs docs/_build/html
	$(PY) scripts/check_doc_links.py docs/_build/html

clean:
	rm -rf .venv .bench-venv
