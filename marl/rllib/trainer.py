"""The RLlib side of a run: start Ray, build or restore the algorithm, train, save."""

from __future__ import annotations

import logging
import os
import time
import warnings
from pathlib import Path
from typing import Any, cast

import ray
from ray.rllib.algorithms.algorithm import Algorithm

from marl.experiment import Experiment
from marl.policies import PolicyPlan
from marl.rllib.builder import build_config
from marl.rllib.env.creator import register
from marl.rllib.metrics import flatten_result
from marl.spec import Spec

__all__ = ["RLlibTrainer", "init_ray", "check_ray_resources"]


def init_ray(spec: Spec, address: str | None = None) -> None:
    """Start (or join) Ray with the dashboard off: it runs code for whoever reaches it."""
    if ray.is_initialized():
        return
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_DEDUP_LOGS", "1")
    verbose = os.environ.get("MARL_VERBOSE") == "1"
    level = logging.INFO if verbose else logging.ERROR
    if not verbose:
        warnings.filterwarnings("ignore", category=DeprecationWarning)
    address = address or os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address, logging_level=level)
    else:
        ray.init(num_cpus=spec.resources.num_cpus or os.cpu_count(), include_dashboard=False,
                 logging_level=level, log_to_driver=True)
    for name in ("ray.rllib", "ray.tune", "ray._private"):
        logging.getLogger(name).setLevel(level)


def check_ray_resources(spec: Spec) -> None:
    """Raise ``ClusterError`` unless the spec's actors fit this Ray's alive nodes.

    ``MARL_CHECK_RESOURCES=0`` skips it (``marl submit --no-check-resources``: an
    autoscaling cluster adds nodes when RLlib asks for them).
    """
    if os.environ.get("MARL_CHECK_RESOURCES", "1") == "0":
        return
    from marl.resources import Node, check_fits

    nodes = [Node(n.get("NodeManagerHostname", "node") + f" {n['NodeID'][:6]}",
                  dict(n.get("Resources", {}))) for n in ray.nodes() if n.get("Alive")]
    check_fits(spec.resources, nodes)


def _timer(result: dict[str, Any], name: str) -> float | None:
    """Seconds of one of RLlib's iteration timers (``result["timers"]``), if reported."""
    raw = (result.get("timers") or {}).get(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return value if value == value else None


class _SetBudgetProgress:
    """A picklable ``foreach_learner`` call: ``PPOLearner.set_budget_progress``."""

    def __init__(self, fraction: float):
        self.fraction = fraction

    def __call__(self, learner: Any) -> None:
        learner.set_budget_progress(self.fraction)


class RLlibTrainer:
    """Owns one RLlib ``Algorithm`` for a resolved experiment.

    Args:
        exp: the resolved experiment (``marl.experiment.resolve``).
        restore_from: a checkpoint dir to continue from (weights, optimizer, counters).
        callbacks: ``RLlibCallback`` classes to register.
    """

    def __init__(self, exp: Experiment, restore_from: Path | None = None,
                 callbacks: list[type] | None = None):
        self.exp = exp
        init_ray(exp.spec)
        check_ray_resources(exp.spec)  # RLlib would otherwise wait forever for unplaceable actors
        register()
        self.config = build_config(exp, callbacks=callbacks)
        self.plan = exp.plan
        if restore_from is not None:
            self.algo = Algorithm.from_checkpoint(str(Path(restore_from).resolve()))
        else:
            self.algo = self.config.build_algo()
        self._env_steps_at_start = self.env_steps

    @classmethod
    def from_spec(cls, spec: Spec, restore_from: Path | None = None,
                  callbacks: list[type] | None = None) -> RLlibTrainer:
        """Resolve ``spec`` (``marl.experiment.resolve``) and build the trainer for it."""
        from marl.experiment import resolve

        return cls(resolve(spec), restore_from=restore_from, callbacks=callbacks)

    @property
    def policy_plan(self) -> PolicyPlan:
        return self.plan

    @property
    def iteration(self) -> int:
        return int(self.algo.iteration)

    @property
    def env_steps(self) -> int:
        metrics = self.algo.metrics
        # Optional in RLlib's class annotation; Algorithm.__init__ always sets a MetricsLogger.
        assert metrics is not None, "an Algorithm has a MetricsLogger once built"
        try:
            return int(metrics.peek(("env_runners", "num_env_steps_sampled_lifetime"), default=0))
        except (KeyError, TypeError, ValueError):
            return 0

    def set_budget_progress(self, fraction: float) -> None:
        """Tell the learners the fraction of the stop budget spent: the clock of a linear
        lr / entropy schedule when the budget is time or iterations (no-op otherwise)."""
        config = self.algo.config  # a restored run's own (its learners were built from it)
        if config is None or not config.learner_config_dict.get("marl", {}).get("budget_progress"):
            return
        group = self.algo.learner_group
        assert group is not None, "an Algorithm on the new API stack has a learner group"
        group.foreach_learner(cast(Any, _SetBudgetProgress(fraction)))

    def train(self) -> tuple[dict[str, float], dict[str, Any]]:
        """One training iteration: returns our flat metrics and RLlib's raw result."""
        start = time.perf_counter()
        result = self.algo.train()
        wall = time.perf_counter() - start
        flat = flatten_result(result)
        steps = result.get("env_runners", {}).get("num_env_steps_sampled", 0)
        # No healthy env runner this iteration (a restart in progress) reports NaN steps.
        steps = int(steps) if steps == steps else 0
        flat["perf/env_steps_per_s"] = steps / wall if wall > 0 else 0.0
        flat["perf/iter_time_s"] = wall
        learner_s = _timer(result, "learner_update_timer")
        if learner_s is not None and wall > 0:
            flat["perf/learner_share"] = min(1.0, learner_s / wall)
        return flat, result

    def save(self, path: Path) -> None:
        self.algo.save_to_path(str(Path(path).resolve()))

    def stop(self) -> None:
        self.algo.stop()
