# The README's two commands: `make demo` and `make test`. Each creates .venv when missing.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export WANDB_MODE ?= offline
export SDL_VIDEODRIVER ?= dummy
export RAY_USAGE_STATS_ENABLED ?= 0

.PHONY: demo test lint test-slow test-all test-cluster test-ray-up setup clean

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

# Lint (ruff: pyflakes rules, bare except, debugger imports) and a type check (mypy over
# all of marl/ and envs/; see pyproject.toml). .ci/run runs it first.
lint: setup
	$(BIN)/ruff check marl envs tests benchmarks
	$(BIN)/mypy marl envs

# Heavier real trainings kept out of the default lane (two-learner MAPPO, per-seat modules).
test-slow: setup
	$(BIN)/python -m pytest -q -m slow

test-all: setup
	$(BIN)/python -m pytest -q -m ''

clean:
	rm -rf $(VENV) runs

# Real multi-node Ray on this machine (head + worker nodes, own ports and temp dirs) and
# `marl submit`. .ci/run runs it after `make test`.
test-cluster: setup
	$(BIN)/python -m pytest -q -rs -m cluster tests/cluster --ignore=tests/cluster/test_ray_up.py

# `ray up` -> `marl submit` -> `ray down` against a private sshd on 127.0.0.1. It runs
# `ray stop`, which is host-wide (kills every Ray on this machine): run it alone.
# Needs openssh-server rsync netcat-openbsd (.ci/run installs them); skips with the
# reason printed when sshd cannot run here.
test-ray-up: setup
	MARL_ALLOW_RAY_STOP=1 $(BIN)/python -m pytest -q -rs -m cluster tests/cluster/test_ray_up.py
