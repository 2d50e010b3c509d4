"""Ray Tune, in one place (as RLlib: only ``marl.rllib`` imports ``ray.tune``).

``marl sweep`` (``marl/sweep.py``) describes a sweep in plain data: a search space of
``(kind, args)`` per spec path, per-trial resource bundles, the metric and a scheduler
name. This module turns that into a ``Tuner`` over a function trainable, runs or
restores it, and hands back plain ``TrialResult`` rows. The trainable itself (a normal
marl run per trial) lives in ``marl.sweep``; it calls ``report`` and ``trial_id`` here.

Tune's experiment state lives in ``<sweep dir>/tune`` (no Tune checkpoints: every
trial resumes from its own marl run dir, ``<sweep dir>/trials/<run id>``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ray import tune

from marl.resources import Node

__all__ = ["TrialResult", "can_restore", "cluster_nodes", "domain", "report", "run_sweep",
           "trial_id", "trial_node", "TUNE_DIR"]

TUNE_DIR = "tune"  # <sweep dir>/tune: Tune's experiment state and per-trial result files


@dataclass(frozen=True)
class TrialResult:
    """One trial as the sweep ended: its config, last reported metrics, any error."""

    trial_id: str
    config: dict[str, Any]
    metrics: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def domain(kind: str, args: list[Any]) -> Any:
    """A Tune search-space domain: ``loguniform|uniform`` (low, high), ``randint`` (low,
    high, both included), ``choice`` / ``grid`` (values)."""
    if kind == "loguniform":
        return tune.loguniform(float(args[0]), float(args[1]))
    if kind == "uniform":
        return tune.uniform(float(args[0]), float(args[1]))
    if kind == "randint":
        return tune.randint(int(args[0]), int(args[1]) + 1)  # Tune's upper bound is exclusive
    if kind == "choice":
        return tune.choice(list(args))
    if kind == "grid":
        return tune.grid_search(list(args))
    raise ValueError(f"unknown search-space kind {kind!r}")


def report(metrics: dict[str, Any]) -> None:
    """Report one iteration's metrics of the running trial to Tune."""
    tune.report(metrics)


def trial_id() -> str:
    """The running trial's id (stable across ``Tuner.restore``)."""
    return str(tune.get_context().get_trial_id())


def trial_node() -> str:
    """The Ray node id the running trial's process is on."""
    import ray

    return str(ray.get_runtime_context().get_node_id())


def cluster_nodes() -> list[Node]:
    """The connected Ray's alive nodes with their total resources."""
    import ray

    return [Node(n.get("NodeManagerHostname", "node") + f" {n['NodeID'][:6]}",
                 dict(n.get("Resources", {}))) for n in ray.nodes() if n.get("Alive")]


def _trial_dirname(trial: Any) -> str:
    return str(trial.trial_id)


def _trainable(fn: Callable[..., None], bundles: list[dict[str, float]], **params: Any) -> Any:
    wrapped = tune.with_parameters(fn, **params)
    return tune.with_resources(wrapped, tune.PlacementGroupFactory(bundles))


def can_restore(sweep_dir: Path) -> bool:
    """Whether Tune saved an experiment state for this sweep that it can resume."""
    return bool(tune.Tuner.can_restore(str(Path(sweep_dir).resolve() / TUNE_DIR)))


def run_sweep(fn: Callable[..., None], params: dict[str, Any], *, sweep_dir: Path,
              bundles: list[dict[str, float]], metric: str, mode: str, samples: int,
              scheduler: str, max_concurrent: int, max_t: int, restore: bool = False,
              fn_kwargs: dict[str, Any] | None = None) -> list[TrialResult]:
    """Run (or, with ``restore``, resume) a sweep; ``fn(config, **fn_kwargs)`` is a trial.

    Args:
        params: spec path -> ``(kind, args)`` (see ``domain``).
        bundles: one trial's placement group (its driver first, then its actors).
        scheduler: ``fifo`` or ``asha`` (ASHA over the trials' ``iteration``, up to
            ``max_t``).
        max_concurrent: at most this many trials at once; 0: as resources allow.
        restore: ``Tuner.restore`` the sweep in ``sweep_dir``: finished trials stay,
            unfinished ones continue, errored ones are resumed (their run dirs continue
            from their last checkpoint).
    """
    sweep_dir = Path(sweep_dir).resolve()
    trainable = _trainable(fn, bundles, **(fn_kwargs or {}))
    if restore:
        tuner = tune.Tuner.restore(str(sweep_dir / TUNE_DIR), trainable,
                                   resume_unfinished=True, resume_errored=True)
    else:
        sched = None
        if scheduler == "asha":
            from ray.tune.schedulers import ASHAScheduler

            sched = ASHAScheduler(time_attr="iteration", max_t=max_t, grace_period=1,
                                  reduction_factor=3)
        tuner = tune.Tuner(
            trainable,
            param_space={path: domain(kind, args) for path, (kind, args) in params.items()},
            tune_config=tune.TuneConfig(metric=metric, mode=mode, num_samples=samples,
                                        scheduler=sched, max_concurrent_trials=max_concurrent or None,
                                        trial_dirname_creator=_trial_dirname,
                                        trial_name_creator=_trial_dirname),
            run_config=tune.RunConfig(name=TUNE_DIR, storage_path=str(sweep_dir), verbose=1,
                                      failure_config=tune.FailureConfig(max_failures=0)),
        )
    grid = tuner.fit()
    out = []
    for i in range(len(grid)):
        result = grid[i]
        config = dict(result.config or {})
        tid = str((result.metrics or {}).get("trial_id") or Path(result.path).name)
        error = None
        if result.error is not None:
            lines = [ln for ln in str(result.error).strip().splitlines() if ln.strip()]
            error = lines[-1] if lines else type(result.error).__name__
        out.append(TrialResult(tid, config, dict(result.metrics or {}), error))
    return out
