"""Live console progress: one plain line per iteration plus a progress bar (with ETA)
toward the stop criterion. The bar shows on a terminal only; in a pipe (CI, ``marl logs``)
the lines are all there is.

The line's columns fit the setting:

    every run     iteration, env steps, env steps/s, the learner's share of the iteration
    cooperative   team return (sum over agents)
    competitive   the latest win rate vs random (``marl.rllib.probe``, every N
                  iterations), episode length and policy entropy (self-play returns
                  sum to zero)
    league        league size and learners, the newest snapshot, the first main agent's
                  win rate vs the top unlocked ladder level (decayed payoff), its Elo;
                  per-player figures stay in metrics.jsonl / W&B
    mixed         social efficiency and equality, return
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import (BarColumn, Progress, TextColumn, TimeElapsedColumn,
                           TimeRemainingColumn)

__all__ = ["ConsoleProgress", "compact_table", "console", "iteration_line"]

console = Console(stderr=False, highlight=False)


def compact_table(title: str, caption: str | None = None) -> Any:
    """The house table style: header rule only, no outer padding, so tables read at 80
    columns (with ``no_wrap`` labels) and use the width of wider terminals."""
    from rich import box
    from rich.table import Table

    return Table(title=title, caption=caption, box=box.SIMPLE_HEAD, title_justify="left",
                 pad_edge=False, collapse_padding=True)


def _fmt(value: Any, spec: str = ".2f") -> str:
    return "-" if value is None else format(float(value), spec)


def iteration_line(iteration: int, metrics: dict[str, Any], setting: str = "",
                   league: bool = False, note: str | None = None) -> str:
    """The one-line summary of an iteration (see the module docstring)."""
    m = metrics
    parts = [f"iter {iteration:>4}", f"steps {int(m.get('perf/env_steps_total', 0)):>10,}",
             f"{m.get('perf/env_steps_per_s', 0):>6,.0f}/s"]
    if (share := m.get("perf/learner_share")) is not None:
        parts.append(f"learn {100 * share:>3.0f}%")
    trained = sorted({k.split("/")[1] for k in m if k.startswith("train/") and
                      k.endswith("/entropy")})
    if league:
        elo = next((v for k, v in sorted(m.items()) if k.startswith("league/main_")
                    and k.endswith("/elo")), None)
        if note:  # LeagueRuntime.progress_note: size, learners, newest, ladder
            parts += [note, f"elo {_fmt(elo, '.0f')}"]
        else:
            parts += [f"league {_fmt(m.get('league/size'), '.0f')}",
                      f"games {_fmt(m.get('league/games'), '.0f')}",
                      f"main elo {_fmt(elo, '.0f')}"]
            if "league/main_vs_hardest" in m:
                parts.append(f"vs hardest {_fmt(m['league/main_vs_hardest'])}")
        if "league/exploitability" in m:
            parts.append(f"exploit {_fmt(m['league/exploitability'], '.3f')}")
    elif setting == "competitive":
        entropy = m.get(f"train/{trained[0]}/entropy") if trained else None
        if "eval/win_rate_vs_random" in m:
            parts.append(f"vs random {_fmt(m['eval/win_rate_vs_random'])}")
        if "eval/exploitability" in m:
            parts.append(f"exploit {_fmt(m['eval/exploitability'], '.3f')}")
        parts += [f"ep len {_fmt(m.get('rollout/episode_len_mean'), '.1f')}",
                  f"entropy {_fmt(entropy)}"]
        if len(trained) > 1:  # teams with their own policies: each side's return
            parts.append("return " + " ".join(
                f"{p}={_fmt(m.get(f'rollout/{p}/episode_return_mean'))}" for p in trained))
    elif setting == "mixed":
        parts += [f"efficiency {_fmt(m.get('rollout/social/efficiency'))}",
                  f"equality {_fmt(m.get('rollout/social/equality'))}",
                  f"return {_fmt(m.get('rollout/episode_return_mean'))}"]
    else:
        parts.append(f"team return {_fmt(m.get('rollout/episode_return_mean'))}")
    return "  ".join(parts)


class ConsoleProgress:
    """Prints ``iteration_line`` per iteration and moves the bar.

    Args:
        total: the stop target (iterations, env steps or seconds), for the bar.
        unit: what ``total`` counts.
        start: progress already made (resumed runs).
        setting: the env's setting (``cooperative``, ``competitive``, ``mixed``).
        league: the run has a league.
    """

    def __init__(self, total: float, unit: str, start: float = 0.0, setting: str = "",
                 league: bool = False):
        self.unit = unit
        self.setting = setting
        self.league = league
        self._probe: float | None = None  # the latest win rate vs random, shown between probes
        self._progress = Progress(
            TextColumn("[bold]train[/]"), BarColumn(),
            TextColumn("{task.completed:,.0f}/{task.total:,.0f} " + unit),
            TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
            console=console, transient=True,
        )
        self._task = self._progress.add_task("train", total=total, completed=int(start))
        self._progress.start()

    def update(self, iteration: int, metrics: dict[str, Any], done: float,
               note: str | None = None) -> None:
        probe = metrics.get("eval/win_rate_vs_random")
        if probe is not None:
            self._probe = probe
        elif self._probe is not None:
            metrics = {**metrics, "eval/win_rate_vs_random": self._probe}
        console.print(iteration_line(iteration, metrics, self.setting, self.league, note),
                      soft_wrap=True)
        self._progress.update(self._task, completed=done)

    def close(self) -> None:
        self._progress.stop()
