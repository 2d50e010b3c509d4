"""Run directories, checkpoints and the training loop.

A run dir holds::

    spec.yaml          the resolved spec (no secrets)
    meta.json          run id, creation time, marl version
    metrics.jsonl      one line per iteration
    tb/                TensorBoard event files
    wandb/             the W&B run (offline by default)
    checkpoints/iter_000010/   RLlib checkpoints, written to a temp dir then renamed
    checkpoints/latest         JSON pointer to the newest complete checkpoint
    summary.json       final metrics and evaluation

Run ids are unique; resuming is only ever explicit (``marl train --resume RUN_DIR``).
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import shutil
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from marl.errors import RunError
from marl.experiment import Experiment
from marl.spec import Spec, dump_spec, load_spec

__all__ = ["create_run_dir", "open_run_dir", "latest_checkpoint", "save_checkpoint", "train",
           "TrainOutcome", "atomic_write_text"]

_CKPT_PREFIX = "iter_"
# Spec sections an override may change on --resume; the rest is restored from the checkpoint.
RESUMABLE_SECTIONS = ("stop", "checkpoint", "evaluation", "tracking")


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temp file in the same dir, fsync, then rename over ``path``."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def create_run_dir(spec: Spec, run_id: str | None = None) -> Path:
    """A new, uniquely named run dir under ``spec.storage`` with the resolved spec.

    ``run_id`` is given by ``marl submit`` (the job id); a cloud ``storage`` URI gets a
    local staging dir, mirrored by ``marl.storage.push``.
    """
    from marl.storage import local_root

    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    run_id = run_id or f"{spec.name}-{stamp}-{secrets.token_hex(3)}"
    run_dir = local_root(spec.storage) / run_id
    run_dir.mkdir(parents=True, exist_ok=False)
    dump_spec(spec, run_dir / "spec.yaml")
    meta = {"run_id": run_id, "created": stamp, "spec_name": spec.name}
    atomic_write_text(run_dir / "meta.json", json.dumps(meta, indent=2))
    return run_dir


def open_run_dir(run_dir: Path, overrides: list[str] | None = None) -> tuple[Spec, str]:
    """Load an existing run's spec (with overrides, written back) and its id.

    Raises:
        RunError: if ``run_dir`` is not a run directory.
    """
    if not (run_dir / "spec.yaml").is_file() or not (run_dir / "meta.json").is_file():
        raise RunError(
            f"{run_dir} is not a run directory (no spec.yaml/meta.json); pass a dir "
            f"created by `marl train`, e.g. runs/<name>-<time>-<id>"
        )
    for pair in overrides or []:
        section = pair.partition("=")[0].strip().split(".")[0]
        if section not in RESUMABLE_SECTIONS:
            raise RunError(
                f"--set {pair}: a resumed run keeps its algorithm, env and policies (they live in "
                f"the checkpoint); only {', '.join(RESUMABLE_SECTIONS)} can change on resume"
            )
    # The saved spec holds every value the run trained with: no preset under it (a newer
    # preset would otherwise change an older run on resume).
    spec = load_spec(run_dir / "spec.yaml", overrides, presets=False)
    try:
        run_id = json.loads((run_dir / "meta.json").read_text())["run_id"]
    except (OSError, ValueError, KeyError) as err:
        raise RunError(f"{run_dir}/meta.json cannot be read ({err}); is this a run directory "
                       f"you can read?") from None
    if overrides and latest_checkpoint(run_dir) is not None:
        # Written back only for a run that can resume: a failed --resume changes nothing.
        dump_spec(spec, run_dir / "spec.yaml")
    return spec, run_id


def latest_checkpoint(run_dir: Path) -> tuple[Path, dict[str, Any]] | None:
    """The newest complete checkpoint and its info, or None."""
    ckpt_dir = run_dir / "checkpoints"
    pointer = ckpt_dir / "latest"
    if pointer.is_file():
        info = json.loads(pointer.read_text())
        path = ckpt_dir / info["name"]
        if path.is_dir():
            return path, info
    # No pointer (crash between rename and pointer write): newest complete dir wins.
    done = sorted(p for p in ckpt_dir.glob(f"{_CKPT_PREFIX}*") if (p / "meta.json").is_file())
    if done:
        return done[-1], json.loads((done[-1] / "meta.json").read_text())
    return None


def save_checkpoint(trainer: Any, run_dir: Path, keep: int, extra: dict[str, Any],
                    hooks: Sequence[Any] = ()) -> Path:
    """Save into a temp dir, rename into place, then move the ``latest`` pointer.

    A crash at any point leaves ``latest`` naming a complete checkpoint.
    """
    ckpt_dir = run_dir / "checkpoints"
    ckpt_dir.mkdir(exist_ok=True)
    name = f"{_CKPT_PREFIX}{trainer.iteration:06d}"
    final = ckpt_dir / name
    tmp = ckpt_dir / f".{name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    trainer.save(tmp)
    for hook in hooks:
        hook.save(tmp)
    info = {"name": name, "iteration": trainer.iteration, "env_steps": trainer.env_steps, **extra}
    atomic_write_text(tmp / "meta.json", json.dumps(info, indent=2))
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    atomic_write_text(ckpt_dir / "latest", json.dumps(info, indent=2))
    old = sorted(p for p in ckpt_dir.glob(f"{_CKPT_PREFIX}*") if p != final)
    for stale in old[: max(0, len(old) - (keep - 1))]:
        shutil.rmtree(stale, ignore_errors=True)
    return final


class _StopFlag:
    """First Ctrl-C (or SIGTERM): finish the iteration, checkpoint, exit. Second: abort."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _StopFlag:
        if threading.current_thread() is not threading.main_thread():
            return self  # a Tune trial trains in a thread (no signals there): Tune stops it
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        from marl.tracking.console import console

        console.print("[yellow]stop requested: saving a checkpoint after this iteration "
                      "(Ctrl-C again to abort without saving)[/]")

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


@dataclass
class TrainOutcome:
    run_dir: Path
    iteration: int
    env_steps: int
    checkpoint: Path
    metrics: dict[str, float]
    interrupted: bool


def budget_spent(spec: Spec, iteration: int, env_steps: int, elapsed: float) -> float:
    """The fraction of the stop budget spent: the largest over the criteria set, capped
    at 1 (the run stops on the first to run out: at 1)."""
    stop = spec.stop
    parts = [0.0]
    if stop.iterations is not None:
        parts.append(iteration / stop.iterations)
    if stop.env_steps is not None:
        parts.append(env_steps / stop.env_steps)
    if stop.time_s is not None:
        parts.append(elapsed / stop.time_s)
    return min(1.0, max(parts))


def _progress_target(spec: Spec) -> tuple[float, str]:
    if spec.stop.iterations is not None:
        return spec.stop.iterations, "iters"
    if spec.stop.env_steps is not None:
        return spec.stop.env_steps, "steps"
    return float(spec.stop.time_s or 0), "s"


def train(exp: Experiment, run_dir: Path, run_id: str, resume: bool = False,
          on_iteration: Callable[[int, int, dict[str, float]], None] | None = None
          ) -> TrainOutcome:
    """Train until the spec's stop criteria, checkpointing; resume from the run's latest.

    Args:
        exp: the resolved experiment (``marl.experiment.resolve``).
        on_iteration: called after every iteration (logged, and checkpointed when due)
            with the iteration, the env steps so far and the iteration's metrics
            (``marl sweep`` reports them to Tune here).

    Raises:
        RunError: on resume of a run with no checkpoint.
    """
    spec = exp.spec
    from marl import events
    from marl.storage import push
    from marl.tracking.console import ConsoleProgress, console
    from marl.tracking.sinks import (JsonlSink, TensorBoardSink, WandbSink, resolve_wandb_mode,
                                     truncate_jsonl)

    events.open_events(run_dir)  # placement, lost/restarted env runners: <run>/events.jsonl
    restore_from = None
    if resume:
        found = latest_checkpoint(run_dir)
        if found is None:
            raise RunError(f"{run_dir} has no checkpoint to resume from; start a new run with "
                           f"`marl train SPEC`")
        restore_from, info = found
        truncate_jsonl(run_dir / "metrics.jsonl", int(info["iteration"]))
        console.print(f"resuming {run_id} from {restore_from.name} (iteration {info['iteration']})")
        events.emit("resumed", checkpoint=restore_from.name, iteration=int(info["iteration"]))

    from marl.rllib.trainer import RLlibTrainer  # imports ray: only once the run can start

    trainer = RLlibTrainer(exp, restore_from=restore_from)
    sinks: list[Any] = [JsonlSink(run_dir / "metrics.jsonl")]
    if spec.tracking.tensorboard:
        sinks.append(TensorBoardSink(run_dir / "tb"))
    mode, notice = resolve_wandb_mode(spec.tracking.wandb.mode)
    if notice:
        console.print(f"[yellow]{notice}[/]")
    # Where the driver runs and how W&B logs; the key's presence only, never its value.
    events.emit("run_started", run_id=run_id, host=platform.node(), pid=os.getpid(),
                wandb_mode=mode, wandb_api_key_present=bool(os.environ.get("WANDB_API_KEY")))
    if mode != "disabled":
        sinks.append(WandbSink(run_dir, run_id, spec.tracking.wandb.project,
                               spec.tracking.wandb.entity, mode, spec.to_dict(), resume,
                               group=spec.tracking.wandb.group))
    league = None
    if exp.has_league:  # the league observes training: marl/rllib/league/runtime.py
        from marl.rllib.league.runtime import LeagueRuntime

        league = LeagueRuntime.start(exp, trainer.algo, restore_from, run_dir=run_dir, sinks=sinks)
    hooks = [league] if league is not None else []
    from marl.rllib.probe import WinRateProbe

    from marl.rllib.action_probs import ExploitabilityProbe

    probe = WinRateProbe.for_experiment(exp)  # self-play: a few games vs random now and then
    exploit = ExploitabilityProbe.for_experiment(exp)  # OpenSpiel pokers: exact NashConv

    total, unit = _progress_target(spec)
    start = time.monotonic()
    done_now = {"iters": trainer.iteration, "steps": trainer.env_steps, "s": 0.0}[unit]
    progress = ConsoleProgress(total, unit, start=done_now, setting=exp.entry.setting,
                               league=exp.has_league)
    metrics: dict[str, float] = {}
    checkpoint = None
    since_ckpt = 0
    interrupted = False
    try:
        with _StopFlag() as stop_flag:
            while (spent := budget_spent(spec, trainer.iteration, trainer.env_steps,
                                         time.monotonic() - start)) < 1.0:
                trainer.set_budget_progress(spent)
                metrics, result = trainer.train()
                if league is not None:
                    metrics.update(league.after_iteration(result))
                if probe is not None:
                    metrics.update(probe.maybe_run(trainer.algo))
                if exploit is not None:
                    metrics.update(exploit.maybe_run(trainer.algo))
                for sink in sinks:
                    sink.log(metrics, trainer.iteration)
                since_ckpt += 1
                progress.update(trainer.iteration, metrics,
                                {"iters": trainer.iteration, "steps": trainer.env_steps,
                                 "s": time.monotonic() - start}[unit],
                                note=league.progress_note() if league is not None else None)
                if since_ckpt >= spec.checkpoint.every:
                    checkpoint = save_checkpoint(trainer, run_dir, spec.checkpoint.keep, {},
                                                 hooks=hooks)
                    push(run_dir, spec.storage)  # cloud storage: mirror (no-op for a path)
                    since_ckpt = 0
                if on_iteration is not None:
                    on_iteration(trainer.iteration, trainer.env_steps, metrics)
                if stop_flag.requested:
                    interrupted = True
                    break
        if checkpoint is None or since_ckpt:
            checkpoint = save_checkpoint(trainer, run_dir, spec.checkpoint.keep, {}, hooks=hooks)
            push(run_dir, spec.storage)
    finally:
        progress.close()
        for sink in sinks:
            sink.close()
        iteration, env_steps = trainer.iteration, trainer.env_steps
        trainer.stop()
        events.close_events()
    return TrainOutcome(run_dir, iteration, env_steps, checkpoint, metrics, interrupted)
