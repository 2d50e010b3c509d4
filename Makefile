# The README's two commands: `make demo` and `make test`. Each creates .venv when missing.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export WANDB_MODE ?= offline
export SDL_VIDEODRIVER ?= dummy
export RAY_USAGE_STATS_ENABLED ?= 0

.PHONY: demo test test-all test-cluster setup clean

$(BIN)/marl: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# The CPU wheel first: a bare `torch` pulls a multi-GB CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(BIN)/marl

setup: $(BIN)/marl

demo: setup
	$(BIN)/marl train experiments/quickstart.yaml

test: setup
	$(BIN)/python -m pytest -q

test-all: setup
	$(BIN)/python -m pytest -q -m ''

clean:
	rm -rf $(VENV) runs

# Real multi-node Ray on this machine (head + worker nodes, own ports and temp dirs) and
# `marl submit`; not part of `make test` / CI yet. The `ray up` test runs `ray stop`
# (host-wide): run it alone with MARL_ALLOW_RAY_STOP=1.
test-cluster: setup
	$(BIN)/python -m pytest -q -m cluster tests/cluster --ignore=tests/cluster/test_ray_up.py
