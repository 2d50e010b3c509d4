"""Hyperparameter sweeps (``marl sweep``): every trial is a normal marl run, on Ray Tune.

A sweep dir (``<storage>/<sweep name>``; run as a Ray Job, ``marl sweep --address``,
``<storage>/<job id>`` on the head) holds::

    sweep.json         the base spec (plain data, --set applied), the params, the metric
    tune/              Ray Tune's experiment state (``marl sweep --resume`` restores it)
    trials/<run id>/   one marl run dir per trial (spec.yaml, metrics.jsonl, checkpoints,
                       W&B in the sweep's W&B group); `marl eval` / `marl runs` read them
    results.csv        one row per trial: params, the metric's last value, iterations
    results.png        the metric against the params (scatter; parallel coordinates
                       when 2+ params vary)

A param is ``PATH=FORM``, PATH a dotted spec key and FORM one of::

    loguniform:LOW:HIGH   uniform:LOW:HIGH   randint:LOW:HIGH (both included)
    choice:A,B,C          grid:A,B,C         (values as YAML; choice:[[64],[64,64]] for lists)

Each param is checked against the spec before anything starts: the spec is built with
each bound or value of the param (an unknown key or an out-of-range value exits 2 with
one line), and once with the first value of every param, resolved against its env.

A trial (``run_trial``) builds the spec with its values, creates (or, after an
interrupted sweep, resumes) its run dir and calls ``marl.run.train``, reporting the
metric to Tune after every iteration; the run dir, not Tune, holds its checkpoints.
"""

from __future__ import annotations

import copy
import csv
import json
import math
import os
import secrets
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from marl.errors import ClusterError, RunError, SpecError
from marl.resources import Node, check_fits, demand, describe_nodes
from marl.spec import Spec, spec_from_dict

__all__ = ["Param", "SweepPlan", "TrialRow", "parse_param", "run_trial", "execute",
           "trial_bundles", "check_trial_fits", "results_table", "FORMS"]

FORMS = ("loguniform:LOW:HIGH, uniform:LOW:HIGH, randint:LOW:HIGH, choice:A,B,C, grid:A,B,C "
         "(e.g. --param algorithm.lr=loguniform:1e-4:3e-3)")
# Set by the sweep itself, or the same for every trial (one placement group per trial).
_RESERVED = ("name", "storage", "tracking.wandb.group", "resources")
# Keys logged only now and then (probes) or once games were played: not required at once.
_PERIODIC = ("eval/", "league/")


def _scalar(text: str) -> Any:
    """A YAML scalar, with ``1e-4`` read as a float (YAML 1.1 reads it as a string)."""
    value = yaml.safe_load(text) if text.strip() else ""
    if isinstance(value, str):
        for cast in (int, float):
            try:
                return cast(value)
            except ValueError:
                pass
    return value


@dataclass(frozen=True)
class Param:
    """One swept spec key: ``path``, the form's ``kind`` and its ``args``."""

    path: str
    kind: str
    args: list[Any]
    text: str

    def probes(self) -> list[Any]:
        """Values the spec is checked with: both bounds, or every value."""
        if self.kind in ("choice", "grid"):
            return list(self.args)
        return [self.args[0], self.args[1]]


def parse_param(text: str) -> Param:
    """``algorithm.lr=loguniform:1e-4:3e-3`` -> ``Param``.

    Raises:
        SpecError: one line naming the param and the valid forms.
    """
    def bad(problem: str) -> SpecError:
        return SpecError(f"--param {text}: {problem}; write PATH=FORM with FORM one of {FORMS}")

    path, sep, form = text.partition("=")
    path = path.strip()
    if not sep or not path or not form.strip():
        raise bad("expected PATH=FORM")
    kind, _, rest = form.strip().partition(":")
    if kind in ("loguniform", "uniform", "randint"):
        parts = rest.split(":")
        if len(parts) != 2:
            raise bad(f"{kind} takes two bounds, {kind}:LOW:HIGH")
        bounds = [_scalar(b) for b in parts]
        want = (int,) if kind == "randint" else (int, float)
        try:
            if not all(isinstance(b, want) and not isinstance(b, bool) for b in bounds):
                raise ValueError
            low, high = (int(b) if kind == "randint" else float(b) for b in bounds)
        except (TypeError, ValueError):
            raise bad(f"{kind} bounds must be {'integers' if kind == 'randint' else 'numbers'}") \
                from None
        if low > high or (low == high and kind != "randint"):
            raise bad(f"{kind} needs LOW < HIGH")
        if kind == "loguniform" and low <= 0:
            raise bad("loguniform needs 0 < LOW")
        return Param(path, kind, [low, high], text)
    if kind in ("choice", "grid"):
        if rest.strip().startswith("["):
            try:
                values = yaml.safe_load(rest)
            except yaml.YAMLError:
                values = None
            if not isinstance(values, list):
                raise bad(f"{kind}:[...] must be a YAML list")
        else:
            values = [_scalar(v) for v in rest.split(",") if v.strip()]
        if not values:
            raise bad(f"{kind} needs at least one value")
        return Param(path, kind, values, text)
    raise bad(f"unknown form {kind!r}")


def _set_path(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(data)
    node = out
    parts = path.split(".")
    for part in parts[:-1]:
        nxt = node.get(part)
        if not isinstance(nxt, dict):
            nxt = node[part] = {}
        node = nxt
    node[parts[-1]] = value
    return out


def _plain(value: Any) -> Any:
    """numpy scalars (Tune's samples) -> Python ones, for YAML and JSON."""
    return value.item() if hasattr(value, "item") and not isinstance(value, (list, dict)) \
        else value


@dataclass
class SweepPlan:
    """What a sweep is, as saved in ``<sweep dir>/sweep.json``."""

    name: str
    dir: Path
    base: dict[str, Any]
    params: list[Param]
    metric: str
    mode: str = "max"
    samples: int = 1
    scheduler: str = "fifo"
    max_concurrent: int = 0
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat())

    @property
    def trials_dir(self) -> Path:
        return self.dir / "trials"

    def trial_spec(self, values: dict[str, Any], source: str | None = None) -> Spec:
        """The base spec with a trial's values, its run dir under ``trials/``, its W&B
        run in the sweep's group."""
        data = _set_path(self.base, "storage", str(self.trials_dir))
        data = _set_path(data, "tracking.wandb.group", self.name)
        for path, value in values.items():
            data = _set_path(data, path, _plain(value))
        return spec_from_dict(data, source=source or f"trial {values}")

    def first_values(self) -> dict[str, Any]:
        return {p.path: p.probes()[0] for p in self.params}

    def save(self) -> None:
        from marl.run import atomic_write_text

        payload = {"name": self.name, "created": self.created, "base": self.base,
                   "params": [p.text for p in self.params], "metric": self.metric,
                   "mode": self.mode, "samples": self.samples, "scheduler": self.scheduler,
                   "max_concurrent": self.max_concurrent}
        atomic_write_text(self.dir / "sweep.json", json.dumps(payload, indent=2))

    @classmethod
    def load(cls, sweep_dir: Path) -> SweepPlan:
        """Raises ``RunError`` if ``sweep_dir`` is no sweep dir."""
        sweep_dir = Path(sweep_dir).resolve()
        try:
            raw = json.loads((sweep_dir / "sweep.json").read_text())
        except (OSError, ValueError):
            raise RunError(f"{sweep_dir} is not a sweep directory (no readable sweep.json); "
                           f"pass a dir made by `marl sweep`, e.g. runs/<name>-sweep-...") from None
        return cls(raw["name"], sweep_dir, raw["base"], [parse_param(t) for t in raw["params"]],
                   raw["metric"], raw["mode"], raw["samples"], raw["scheduler"],
                   raw["max_concurrent"], raw["created"])

    @staticmethod
    def validate(base: dict[str, Any], param_texts: list[str], metric: str,
                 mode: str = "max", scheduler: str = "fifo",
                 source: str = "spec") -> tuple[list[Param], Spec]:
        """Check a sweep before anything starts: the options, every param against the
        spec (each bound or value), and the spec with every param's first value resolved
        against its env. Returns the params and the base spec.

        Raises:
            SpecError: one line naming the param (or option) and the fix; ``EnvError``
                from the env.
        """
        from marl.experiment import resolve

        if not param_texts:
            raise SpecError(f"no --param: sweep at least one spec key, e.g. --param "
                            f"algorithm.lr=loguniform:1e-4:3e-3 (forms: {FORMS})")
        if mode not in ("max", "min"):
            raise SpecError(f"--mode {mode}: choose max or min")
        if scheduler not in ("fifo", "asha"):
            raise SpecError(f"--scheduler {scheduler}: choose fifo or asha")
        if not metric or not metric.strip():
            raise SpecError("--metric: name a metrics.jsonl key to rank the trials by, e.g. "
                            "--metric rollout/episode_return_mean (see docs/sweeps.md)")
        params = [parse_param(t) for t in param_texts]
        seen: set[str] = set()
        first = base
        for p in params:
            if p.path in seen:
                raise SpecError(f"--param {p.text}: {p.path} is swept twice; give it once")
            seen.add(p.path)
            if any(p.path == r or p.path.startswith(r + ".") for r in _RESERVED):
                raise SpecError(f"--param {p.text}: {p.path} is the same for every trial of a "
                                f"sweep (name, storage, W&B group, resources); set it with --set")
            for value in p.probes():
                spec_from_dict(_set_path(base, p.path, value), source=f"--param {p.path}={value}")
            first = _set_path(first, p.path, p.probes()[0])
        base_spec = spec_from_dict(base, source=source)
        if "://" in base_spec.storage:
            raise SpecError(f"storage: {base_spec.storage}: marl sweep writes its trials to a "
                            f"local or shared path (cloud URIs are not supported by sweeps yet); "
                            f"give an absolute path")
        resolve(spec_from_dict(first, source=source))  # builds the env once (no Ray)
        return params, base_spec

    @classmethod
    def create(cls, base: dict[str, Any], param_texts: list[str], metric: str, *,
               mode: str = "max", samples: int = 1, scheduler: str = "fifo",
               max_concurrent: int = 0, name: str | None = None,
               source: str = "spec") -> SweepPlan:
        """``validate``, then make the sweep dir (``<storage>/<name>``) and its sweep.json."""
        params, base_spec = cls.validate(base, param_texts, metric, mode, scheduler, source)
        sweep_name = name or (f"{base_spec.name}-sweep-"
                              f"{datetime.now(timezone.utc).strftime('%Y%m%d-%H%M%S')}-"
                              f"{secrets.token_hex(3)}")
        plan = cls(sweep_name, (Path(base_spec.storage) / sweep_name).resolve(), base, params,
                   metric.strip(), mode, samples, scheduler, max_concurrent)
        if plan.dir.exists():
            raise RunError(f"{plan.dir} exists; resume it with `marl sweep --resume {plan.dir}` "
                           f"or pick another --name")
        plan.trials_dir.mkdir(parents=True)
        plan.save()
        return plan


# -- resources ------------------------------------------------------------------------

def trial_bundles(resources: Any) -> list[dict[str, float]]:
    """One trial's placement group: its driver (1 CPU, plus the learner's GPU when it
    learns in the driver), then its env runners and learners (``marl.resources``)."""
    driver: dict[str, float] = {"CPU": 1.0}
    actors = []
    for b in demand(resources):
        if b.role == "driver learner":
            driver.update(b.amounts)
        elif b.amounts:
            actors.append(dict(b.amounts))
    return [driver, *actors]


def check_trial_fits(resources: Any, nodes: list[Node]) -> None:
    """Raise ``ClusterError`` unless one trial (driver + actors) fits the alive nodes."""
    check_fits(resources, nodes)  # the actors, as `marl submit` checks them
    bundles = trial_bundles(resources)
    for key in ("CPU", "GPU"):
        need = sum(b.get(key, 0.0) for b in bundles)
        have = sum(n.total.get(key, 0.0) for n in nodes)
        if need > have + 1e-9:
            raise ClusterError(
                f"resources: one trial needs {need:g} {key} (1 CPU for its driver, the rest "
                f"for its env runners and learners) but Ray has {have:g} ({describe_nodes(nodes)}); "
                f"lower resources.num_env_runners / num_cpus_per_env_runner, or give Ray more "
                f"(resources.num_cpus, or more nodes)")


# -- a trial --------------------------------------------------------------------------

def _last_metrics(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "metrics.jsonl"
    if not path.is_file():
        return {}
    lines = [ln for ln in path.read_text().splitlines() if ln.strip()]
    return json.loads(lines[-1]) if lines else {}


def _finished(run_dir: Path) -> bool:
    try:
        return not json.loads((run_dir / "summary.json").read_text())["interrupted"]
    except (OSError, ValueError, KeyError):
        return False


def _missing_metric(metric: str, keys: list[str]) -> RunError:
    import difflib

    close = difflib.get_close_matches(metric, keys, n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}?" if close else f"logged keys include " \
        f"{', '.join(sorted(keys)[:6])}"
    return RunError(f"--metric {metric}: the trial never logged it; {hint} (see docs/sweeps.md)")


def run_trial(config: dict[str, Any], sweep_dir: str) -> None:
    """Tune's trainable: one trial = one marl run in ``<sweep dir>/trials/<run id>``.

    A run dir left by an interrupted sweep continues from its last checkpoint (one
    without a checkpoint starts over); a finished one only reports its last metrics.
    Its ``summary.json`` also names the sweep, the trial's values and the Ray node the
    trial ran on (``node_id``).
    """
    from marl.experiment import resolve
    from marl.rllib.tune import report, trial_id, trial_node
    from marl.run import atomic_write_text, create_run_dir, latest_checkpoint, train

    plan = SweepPlan.load(Path(sweep_dir))
    values = {k: _plain(v) for k, v in config.items()}
    spec = plan.trial_spec(values)
    run_id = f"{spec.name}-{trial_id()}"
    run_dir = plan.trials_dir / run_id
    metric = plan.metric
    if _finished(run_dir):
        last = _last_metrics(run_dir)
        report({metric: float(last.get(metric, math.nan)), "iteration": last.get("iteration", 0),
                "env_steps": last.get("perf/env_steps_total", 0), "run_id": run_id})
        return
    resume = run_dir.is_dir() and latest_checkpoint(run_dir) is not None
    if run_dir.is_dir() and not resume:
        shutil.rmtree(run_dir)  # died before its first checkpoint: start over
    if not resume:
        create_run_dir(spec, run_id=run_id)
    exp = resolve(spec)
    seen: dict[str, float] = {}
    keys: list[str] = []

    def on_iteration(iteration: int, env_steps: int, metrics: dict[str, float]) -> None:
        keys[:] = list(metrics)
        if metric in metrics:
            seen["value"] = float(metrics[metric])
        elif not metric.startswith(_PERIODIC):
            raise _missing_metric(metric, keys)
        report({metric: seen.get("value", math.nan), "iteration": iteration,
                "env_steps": env_steps, "run_id": run_id})

    outcome = train(exp, run_dir, run_id, resume=resume, on_iteration=on_iteration)
    summary: dict[str, Any] = {"run_id": run_id, "iteration": outcome.iteration,
                               "env_steps": outcome.env_steps, "checkpoint": str(outcome.checkpoint),
                               "metrics": outcome.metrics, "interrupted": outcome.interrupted,
                               "sweep": plan.name, "params": values, "node_id": trial_node()}
    if spec.evaluation.at_end and not outcome.interrupted:
        from marl.evaluate import evaluate_run

        summary["evaluation"] = [r.to_dict() for r in evaluate_run(run_dir, exp=exp)]
    atomic_write_text(run_dir / "summary.json", json.dumps(summary, indent=2, default=float))
    if "value" not in seen and keys:
        raise _missing_metric(metric, keys)


# -- the sweep ------------------------------------------------------------------------

@dataclass(frozen=True)
class TrialRow:
    """One trial in the results: its run, status, values and the metric's last value."""

    run_id: str
    status: str  # done | stopped (by ASHA, or an interrupted sweep) | error
    params: dict[str, Any]
    value: float
    iteration: int
    env_steps: int
    error: str | None = None


def _rows(plan: SweepPlan, results: list[Any]) -> list[TrialRow]:
    rows = []
    for r in results:
        run_id = str(r.metrics.get("run_id") or f"{plan.base.get('name')}-{r.trial_id}")
        run_dir = plan.trials_dir / run_id
        last = _last_metrics(run_dir)  # the run dir is the record; Tune's copy may lag
        value = last.get(plan.metric, r.metrics.get(plan.metric, math.nan))
        # Done: the run dir says so, or (its run dir on another node) Tune saw the last
        # iteration.
        target = plan.base.get("stop", {}).get("iterations") if isinstance(
            plan.base.get("stop"), dict) else None
        done = _finished(run_dir) or (target is not None
                                      and int(r.metrics.get("iteration", 0)) >= int(target))
        status = "error" if r.error else ("done" if done else "stopped")
        rows.append(TrialRow(run_id, status, {k: _plain(v) for k, v in r.config.items()},
                             float(value) if value is not None else math.nan,
                             int(last.get("iteration", r.metrics.get("iteration", 0))),
                             int(last.get("perf/env_steps_total", r.metrics.get("env_steps", 0))),
                             r.error))
    sign = -1.0 if plan.mode == "max" else 1.0
    return sorted(rows, key=lambda row: (math.isnan(row.value),
                                         sign * row.value if not math.isnan(row.value) else 0.0))


def execute(plan: SweepPlan, restore: bool = False) -> list[TrialRow]:
    """Run the sweep on the connected (or an embedded local) Ray, or resume it; write
    ``results.csv`` and ``results.png``; return the trials, best first."""
    from marl.rllib import tune as tune_seam
    from marl.rllib.trainer import init_ray

    spec = plan.trial_spec(plan.first_values())
    init_ray(spec)  # local: an embedded Ray of resources.num_cpus; in a job: the cluster
    if os.environ.get("MARL_CHECK_RESOURCES", "1") != "0":  # --no-check-resources
        check_trial_fits(spec.resources, tune_seam.cluster_nodes())
    if restore and not tune_seam.can_restore(plan.dir):
        raise RunError(f"{plan.dir}/{tune_seam.TUNE_DIR} holds no Tune state to resume (the "
                       f"sweep died before Tune saved it); start it again with `marl sweep`")
    results = tune_seam.run_sweep(
        run_trial, {p.path: (p.kind, p.args) for p in plan.params}, sweep_dir=plan.dir,
        bundles=trial_bundles(spec.resources), metric=plan.metric, mode=plan.mode,
        samples=plan.samples, scheduler=plan.scheduler, max_concurrent=plan.max_concurrent,
        max_t=spec.stop.iterations or 10**9, restore=restore,
        fn_kwargs={"sweep_dir": str(plan.dir)})
    import ray

    ray.shutdown()  # flushes the trials' last log lines before the table is printed
    rows = _rows(plan, results)
    write_results(plan, rows)
    return rows


def write_results(plan: SweepPlan, rows: list[TrialRow]) -> None:
    """``results.csv`` (one row per trial) and ``results.png`` in the sweep dir."""
    paths = [p.path for p in plan.params]
    with (plan.dir / "results.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["run_id", "status", *paths, plan.metric, "iteration", "env_steps",
                         "error"])
        for r in rows:
            writer.writerow([r.run_id, r.status, *(json.dumps(r.params.get(p)) if
                                                   isinstance(r.params.get(p), list)
                                                   else r.params.get(p) for p in paths),
                             r.value, r.iteration, r.env_steps, r.error or ""])
    from marl.tracking.sweep_plot import plot_sweep

    plot_sweep([{**r.params, "_value": r.value} for r in rows], plan.params, plan.metric,
               plan.dir / "results.png")


def results_table(plan: SweepPlan, rows: list[TrialRow]) -> Any:
    """The rich table of a sweep's trials, best first."""
    from marl.tracking.console import compact_table

    table = compact_table(f"sweep {plan.name}",
                          f"{plan.metric} ({plan.mode}): its last value, best first")
    table.add_column("trial", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for p in plan.params:
        table.add_column(p.path.rsplit(".", 1)[-1], justify="right", no_wrap=True)
    table.add_column(plan.metric.rsplit("/", 1)[-1], justify="right", no_wrap=True)
    table.add_column("iters", justify="right", no_wrap=True)
    for r in rows:
        cells = [_fmt(r.params.get(p.path)) for p in plan.params]
        table.add_row(r.run_id.rsplit("-", 1)[-1], r.status, *cells,
                      "-" if math.isnan(r.value) else f"{r.value:.4g}", str(r.iteration))
    return table


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)
