"""An ``RLlibCallback`` that keeps a run healthy on a cluster and says what happened.

- ``on_algorithm_init``: with >= 2 learners, installs the multi-learner fixes
  (``marl.rllib.learners.multi_learner``); records where env runners and learners run.
- after each iteration: records when fewer env runners are healthy than configured
  (a runner or its whole node died; RLlib samples with the rest meanwhile).
- ``on_env_runners_recreated``: RLlib restarted runners (``restart_failed_env_runners``)
  and synced their weights; a restarted runner is built from the config of the group's
  creation, so we push the *current* mapping fn and ``policies_to_train`` (the
  league's matches, after ``add_module``), then record the event and the new placement.

Events go through ``marl.events`` (``<run>/events.jsonl`` and the job's stdout).
"""

from __future__ import annotations

import os
import platform
from typing import Any

from ray.rllib.callbacks.callbacks import RLlibCallback

from marl import events
from marl.rllib.learners import multi_learner

__all__ = ["ClusterHooks", "where", "placement"]


def where(actor: Any = None) -> dict[str, Any]:
    """Node id, host name and pid of the calling process (runs inside an actor)."""
    import ray

    info = {"node_id": ray.get_runtime_context().get_node_id(), "host": platform.node(),
            "pid": os.getpid()}
    index = getattr(actor, "worker_index", None)
    if index is not None:
        info["index"] = int(index)
    return info


class _PushMatches:
    """Install a mapping fn and trainable set on an env runner (picklable, no closure)."""

    def __init__(self, mapping_fn: Any, policies_to_train: Any):
        self.mapping_fn = mapping_fn
        self.policies_to_train = policies_to_train

    def __call__(self, env_runner: Any) -> None:
        env_runner.config.multi_agent(policy_mapping_fn=self.mapping_fn,
                                      policies_to_train=self.policies_to_train)


def placement(algorithm: Any, indices: list[int] | None = None) -> dict[str, list[dict[str, Any]]]:
    """Where the (healthy) remote env runners and learners of ``algorithm`` run."""
    group = algorithm.env_runner_group
    runners = []
    if group is not None and group.num_remote_env_runners() > 0:
        runners = group.foreach_env_runner(where, local_env_runner=False,
                                           remote_worker_ids=indices, timeout_seconds=30)
    learners = []
    lg = getattr(algorithm, "learner_group", None)
    if lg is not None and not lg.is_local:
        results = lg.foreach_learner(lambda learner: where())
        learners = [r.get() for r in results.ignore_errors()]
    return {"env_runners": sorted(runners, key=lambda r: r.get("index", 0)), "learners": learners}


class ClusterHooks(RLlibCallback):
    """Multi-learner fixes, placement and fault events, restored matches (module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self._healthy: int | None = None

    def on_algorithm_init(self, *, algorithm: Any, **kwargs: Any) -> None:
        if multi_learner.install(algorithm):
            events.emit("multi_learner", learners=len(algorithm.learner_group),
                        fix="covering shards + sorted module order")
        events.emit("placement", iteration=int(algorithm.iteration), **placement(algorithm))

    def on_train_result(self, *, algorithm: Any, result: dict, **kwargs: Any) -> None:
        group = algorithm.env_runner_group
        expected = group.num_remote_env_runners() if group is not None else 0
        if expected == 0:
            return
        healthy = group.num_healthy_remote_env_runners()
        if healthy < expected and healthy != self._healthy:
            events.emit("env_runners_lost", healthy=healthy, expected=expected,
                        iteration=int(algorithm.iteration))
        self._healthy = healthy

    def on_env_runners_recreated(self, *, algorithm: Any, env_runner_group: Any,
                                 env_runner_indices: list[int], is_evaluation: bool = False,
                                 **kwargs: Any) -> None:
        config = algorithm.config
        env_runner_group.foreach_env_runner(
            _PushMatches(config.policy_mapping_fn, config.policies_to_train),
            remote_worker_ids=list(env_runner_indices), local_env_runner=False)
        where_now = placement(algorithm, list(env_runner_indices))["env_runners"]
        events.emit("env_runners_restarted", indices=sorted(int(i) for i in env_runner_indices),
                    evaluation=bool(is_evaluation), iteration=int(algorithm.iteration),
                    env_runners=where_now)
