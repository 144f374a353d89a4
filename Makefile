# evalclient — the commands README.md documents. Every target sets up what it needs by itself.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install lint format docker-engine llama-server test test-unit test-docker test-engine demo demo-real eval-all sim-image \
	suite-image doctor bench cleanup clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,ray]'
	@# the reference AlpacaEval metrics the tests check ours against (tests/reference_harness), never imported
	@# by evalclient; without its dependencies, which would pull an OpenAI client
	$(BIN)/python -m pip install -q --no-deps --upgrade --target $(VENV)/reference alpaca-eval==0.6.6
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install evalclient with its dev tools

lint: $(STAMP)  ## ruff check, ruff format --check, mypy --strict, actionlint on .github/workflows
	$(BIN)/ruff check evalclient tests
	$(BIN)/ruff format --check evalclient tests
	$(BIN)/mypy evalclient
	@VENV=$(VENV) bash .ci/actionlint

format: $(STAMP)
	$(BIN)/ruff format evalclient tests
	$(BIN)/ruff check --fix evalclient tests

docker-engine:  ## make a Docker engine reachable where that is safe (see compose/ensure-docker.sh)
	@bash compose/ensure-docker.sh

llama-server: $(STAMP)  ## build llama.cpp's llama-server for CPU from a pinned sdist (cached in .cache/llama.cpp)
	@bash compose/llamacpp/build.sh $(BIN)/python

test: lint docker-engine llama-server  ## lint, then the unit, docker, engine and gpu tiers (tiers that cannot run say why)
	$(BIN)/pytest -q -rs tests

test-unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

test-docker: $(STAMP) docker-engine
	$(BIN)/pytest -q -rs tests/docker

test-engine: $(STAMP) llama-server  ## the real llama-server on CPU with a tiny model built at test time
	$(BIN)/pytest -q -rs tests/engine

demo: $(STAMP) docker-engine  ## 2 models x 3 presets x 4 datasets against the TGI simulator
	$(BIN)/evalclient demo

demo-real: $(STAMP) llama-server  ## the demo's small sweep against a real engine on CPU (llama-server, tiny model)
	@bash compose/llamacpp/demo.sh $(BIN)/python

eval-all: $(STAMP)  ## the whole default sweep; needs a GPU host with nvidia-container-toolkit
	$(BIN)/evalclient eval-all

sim-image: $(STAMP) docker-engine  ## build the simulator image offline (idempotent)
	$(BIN)/python -m evalclient.host.sim_image

suite-image: $(STAMP) docker-engine  ## build the suite's own image offline (idempotent; compose/Dockerfile online)
	$(BIN)/python -m evalclient.host.suite_image

doctor: $(STAMP)  ## what this GPU host lacks for eval-all, each with its fix
	$(BIN)/evalclient doctor

bench: $(STAMP) docker-engine  ## client speed and CPU; load vs the simulator's maximum; scoring; sandboxes; NVML sampler CPU; Ray 1 vs 2 nodes
	@test -d .bench/deps/text_generation || $(BIN)/python -m pip install -q --target .bench/deps --no-deps text-generation==0.7.0 \
	  || echo "bench: text-generation could not be installed; its rows will say so"
	$(BIN)/python tests/bench/bench_client.py
	$(BIN)/python tests/bench/bench_scoring.py
	$(BIN)/python tests/bench/bench_sandbox.py
	$(BIN)/python tests/bench/bench_cluster.py
	$(BIN)/python tests/bench/bench_monitor.py

cleanup: $(STAMP)  ## remove containers and volumes labelled evalclient.managed
	$(BIN)/evalclient cleanup

clean:
	rm -rf $(VENV) demo_results .pytest_cache .mypy_cache .ruff_cache
