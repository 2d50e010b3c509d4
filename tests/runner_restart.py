"""League runs with one remote env runner: start one and train an iteration; kill the
runner and train until Ray has restarted it."""

from __future__ import annotations

import os
import time
from typing import Any


def kill_runner_and_train_until_back(algo: Any, timeout_s: float = 300) -> tuple[int, list]:
    """Returns the pid before and, per remote runner after the restart, its
    ``(pid, policy_mapping_fn.iteration)`` (empty when none came back in ``timeout_s``;
    a restart takes a while on a loaded machine)."""
    [pid_before] = algo.env_runner_group.foreach_env_runner(lambda er: os.getpid(),
                                                            local_env_runner=False)
    try:  # the runner dies; the failed call marks it unhealthy
        algo.env_runner_group.foreach_env_runner(lambda er: os._exit(1),
                                                 local_env_runner=False)
    except Exception:  # noqa: BLE001 - the call fails with its actor
        pass
    after: list = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:  # Ray restarts the actor; train() restores it first
        algo.train()
        after = algo.env_runner_group.foreach_env_runner(
            lambda er: (os.getpid(), er.config.policy_mapping_fn.iteration),
            local_env_runner=False)
        if after:
            break
        time.sleep(1.0)
    return pid_before, after


def league_after_one_iteration(spec: Any) -> tuple[Any, Any, Any]:
    """``(trainer, algo, league runtime)`` of a league spec after one iteration; the
    driver's mapping fn is then the league's of iteration 1. The caller stops the
    trainer."""
    from marl.rllib.league.runtime import LeagueRuntime
    from marl.rllib.trainer import RLlibTrainer

    trainer = RLlibTrainer.from_spec(spec)
    algo = trainer.algo
    rt = LeagueRuntime.start(trainer.exp, algo)
    _, result = trainer.train()
    rt.after_iteration(result)
    assert algo.config.policy_mapping_fn.iteration == 1
    return trainer, algo, rt
