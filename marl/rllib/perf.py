"""Measurement helpers for benchmarks (kept here: only ``marl/rllib`` imports RLlib)."""

from __future__ import annotations

import copy
import time
from typing import Any, cast

__all__ = ["learner_update_seconds", "runner_cpu_rates", "settle_env_runners"]


def settle_env_runners(algo: Any) -> None:
    """Wait until no env runner samples in the background (overlap prefetch), so a
    measurement that follows does not share the CPUs with it."""
    def settle(er: Any) -> None:
        wait = getattr(er, "wait_for_prefetch", None)
        if wait is not None:
            wait()

    algo.env_runner_group.foreach_env_runner(settle, local_env_runner=True)


def learner_update_seconds(algo: Any, repeats: int = 3) -> tuple[int, list[float]]:
    """The learner's own speed: env steps of one training batch and the seconds of
    ``repeats`` PPO updates on (copies of) it, learner connectors (GAE) included.

    The updates change the weights: use a throw-away algorithm.
    """
    from ray.rllib.execution.rollout_ops import synchronous_parallel_sample
    from ray.rllib.utils.metrics import NUM_ENV_STEPS_SAMPLED_LIFETIME
    from ray.rllib.utils.typing import EpisodeType

    config = algo.config
    # RLlib annotates every return shape of the old and new stacks; with the new env
    # runners and concat=True (the default) it returns one flat list of episodes.
    episodes = cast(list[EpisodeType], synchronous_parallel_sample(
        worker_set=algo.env_runner_group, max_env_steps=config.total_train_batch_size,
        _uses_new_env_runners=True))
    steps = sum(len(e) for e in episodes)
    seconds = []
    for _ in range(repeats):
        batch = copy.deepcopy(episodes)  # the learner connectors extend episodes in place
        start = time.perf_counter()
        algo.learner_group.update(
            episodes=batch, timesteps={NUM_ENV_STEPS_SAMPLED_LIFETIME: steps},
            num_epochs=config.num_epochs, minibatch_size=config.minibatch_size,
            shuffle_batch_per_epoch=config.shuffle_batch_per_epoch)
        seconds.append(time.perf_counter() - start)
    return steps, seconds


def runner_cpu_rates(exp: Any, rounds: int = 5) -> dict[str, list[float]]:
    """Env steps per CPU-second of one ``sample()`` call (one training batch) of the stock
    and the lean runner, built side by side in this process from ``exp`` (a resolved
    experiment), alternated.

    CPU time (``time.process_time``) rather than wall-clock: on a shared machine it
    moves much less with the load. Both runners get one torch thread.
    """
    import torch
    from ray.rllib.env.multi_agent_env_runner import MultiAgentEnvRunner

    from marl.rllib.builder import build_config, with_resources
    from marl.rllib.env.creator import register
    from marl.rllib.sampling.runner import LeanEnvRunner

    register()
    torch.set_num_threads(1)
    config = build_config(with_resources(exp, num_env_runners=0, sampler="stock", overlap=False))
    runners = {"stock": MultiAgentEnvRunner(config=config, worker_index=0),
               "lean": LeanEnvRunner(config=config, worker_index=0)}
    rates: dict[str, list[float]] = {name: [] for name in runners}
    try:
        for runner in runners.values():
            runner.sample()  # warm-up: first reset, lazy imports
        for _ in range(rounds):
            for name, runner in runners.items():
                start = time.process_time()
                steps = sum(len(e) for e in runner.sample())
                rates[name].append(steps / (time.process_time() - start))
    finally:
        for runner in runners.values():
            runner.stop()
    return rates
