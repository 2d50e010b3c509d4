"""The league wired into training: the driver-side observer of ``Algorithm.train()``.

After every iteration (``LeagueRuntime.after_iteration``), in this order:

    1. matches and steps from ``env_runners/league`` -> League.record_match / add_steps
    2. decisions = League.decide()
       Snapshot(src, new): add_module(new) on learners + env runners, then copy src's
                           weights *from the learner* (the env runners' copy lacks the
                           trained critic), never trained afterwards
       Reset(pid):         the learner's weights <- its initial weights (saved at the
                           start of the run), Adam state cleared
    3. League.apply(decisions)
    4. mapping = League.mapping(iteration, seats) -> algo.config and every env runner
       (``LeagueCallback.on_env_runners_recreated`` re-pushes it to restarted runners)

Checkpoints (``save``, a ``save_checkpoint`` hook) hold ``league.json`` (the whole
league state) and ``league_init.pkl`` (initial learner weights, for resets); RLlib's
own checkpoint holds every module's weights, snapshots included.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from ray.rllib.core.rl_module.rl_module import RLModule

from marl.errors import RunError
from marl.experiment import Experiment
from marl.league import League, Reset, Snapshot, decision_to_dict
from marl.rllib.league.callback import SetMapping, parse_match_counts, parse_rows
from marl.rllib.inference import learner_weights, live_module
from marl.rllib.league.layout import LeagueLayout, league_layout

__all__ = ["LEAGUE_FILE", "INIT_FILE", "LeagueRuntime"]

LEAGUE_FILE = "league.json"
INIT_FILE = "league_init.pkl"


class LeagueRuntime:
    """Owns the pure ``League`` of a run and applies its decisions to the Algorithm.

    Args:
        exp: the run's resolved experiment (with a ``league`` section).
        algo: the RLlib Algorithm (fresh or restored).
        league: the league state (fresh or loaded from a checkpoint).
        layout: seats and module specs.
        initial_weights: learner id -> its weights before any training.
    """

    def __init__(self, exp: Experiment, algo: Any, league: League, layout: LeagueLayout,
                 initial_weights: dict[str, Any], run_dir: Path | None = None,
                 sinks: list[Any] | None = None):
        self.run_dir = run_dir
        self.sinks = list(sinks or [])
        self.exp = exp
        self.spec = exp.spec
        if exp.spec.league is None:
            raise RunError("this run has no league section")
        self.league_spec = exp.spec.league
        self.algo = algo
        self.league = league
        self.layout = layout
        self.initial_weights = initial_weights
        self.last_decisions: list[dict[str, Any]] = []
        missing = [pid for pid in league.player_ids if pid not in self.module_ids()]
        if missing:
            raise RunError(f"league players {missing} have no module in the checkpoint; "
                           f"the checkpoint and league.json do not belong together")
        self.push_mapping()

    @classmethod
    def start(cls, exp: Experiment, algo: Any, restore_from: Path | None = None,
              run_dir: Path | None = None, sinks: list[Any] | None = None) -> LeagueRuntime:
        """A fresh league, or the one saved in checkpoint dir ``restore_from``.

        Args:
            run_dir: where the leaderboard media go (``<run>/league/``).
            sinks: metric sinks; W&B ones get the leaderboard every N iterations.
        """
        spec = exp.spec
        if spec.league is None:
            raise RunError("this run has no league section")
        layout = league_layout(exp, dict(algo.config.model_config))
        if layout.learner_spec.module_class is None:  # unmasked envs: the algorithm's default
            layout.learner_spec.module_class = algo.config.get_default_rl_module_spec().module_class
        if restore_from is None:
            league = League(spec.league.settings(spec.seed))
            initial = {pid: learner_weights(algo, pid) for pid in league.learner_ids}
        else:
            league_file = Path(restore_from) / LEAGUE_FILE
            init_file = Path(restore_from) / INIT_FILE
            if not league_file.is_file() or not init_file.is_file():
                raise RunError(f"{restore_from} has no {LEAGUE_FILE}/{INIT_FILE}: it is not a "
                               f"league checkpoint")
            league = League.load(league_file)
            initial = pickle.loads(init_file.read_bytes())
        return cls(exp, algo, league, layout, initial, run_dir, sinks)

    # ------------------------------------------------------------------ RLlib side

    def module_ids(self) -> set[str]:
        return set(self.algo.config.policies)

    def push_mapping(self) -> None:
        """Install ``League.mapping(iteration)`` in algo.config and on every env runner."""
        fn = self.league.mapping(int(self.algo.iteration), self.layout.seats)
        config = self.algo.config
        config._is_frozen = False  # as Algorithm.add_module does
        config.multi_agent(policy_mapping_fn=fn)
        config.freeze()
        self.algo.env_runner_group.foreach_env_runner(SetMapping(fn))

    def _snapshot(self, d: Snapshot) -> None:
        weights = learner_weights(self.algo, d.source_id)
        self.algo.add_module(
            module_id=d.new_id,
            module_spec=self.layout.module_spec(d.new_id, "frozen"),
            new_should_module_be_updated=list(self.league.learner_ids),
        )
        set_learner_weights(self.algo, d.new_id, weights)

    def _reset(self, d: Reset) -> None:
        set_learner_weights(self.algo, d.player_id, self.initial_weights[d.player_id])
        self.algo.learner_group.foreach_learner(_ClearOptimizer(d.player_id))

    # ------------------------------------------------------------------- per iteration

    def after_iteration(self, result: dict[str, Any]) -> dict[str, float]:
        """Feed one iteration's matches to the league, apply its decisions, re-match.

        Returns:
            Flat ``league/...`` metrics (ratings per player, league size, games).
        """
        league_metrics = result.get("env_runners", {}).get("league") or {}
        matches, steps = parse_match_counts(league_metrics)
        rows = {key: n for key, n in parse_rows(league_metrics).items()
                if key[0] in self.league.players and self.league.player(key[0]).is_learner}
        for (p, q), n in rows.items():
            self.league.add_rows(p, q, n)
        pair_games: dict[tuple[str, str], int] = {}
        for p, q, _, n in matches:
            pair_games[(p, q)] = pair_games.get((p, q), 0) + n
        self.league.observe_lengths(rows, pair_games)
        games = 0
        for p, q, score, n in matches:
            if p in self.league.players and q in self.league.players:
                for _ in range(n):
                    self.league.record_match(p, q, score)
                games += n
        for pid, n in steps.items():
            if pid in self.league.players and self.league.player(pid).is_learner:
                self.league.add_steps(pid, n)
        opened = self.league.update_ladder()
        decisions = self.league.decide()
        for d in decisions:  # in list order: a snapshot always before its reset
            if isinstance(d, Snapshot):
                self._snapshot(d)
            else:
                self._reset(d)
        self.league.apply(decisions)
        self.last_decisions = [decision_to_dict(d) for d in decisions]
        if opened:
            from marl.tracking.console import console

            console.print(f"league: ladder unlocked {', '.join(opened)}")
        if decisions:
            from marl.tracking.console import console

            console.print("league: " + "; ".join(
                f"snapshot {d.source_id} -> {d.new_id} ({d.reason})" if isinstance(d, Snapshot)
                else f"reset {d.player_id}" for d in decisions))
        self.push_mapping()
        iteration = int(self.algo.iteration)
        if iteration % self.league_spec.leaderboard_every == 0:
            self.report(iteration)
        return self.metrics(games, rows)

    def report(self, iteration: int) -> None:
        """Leaderboard table, payoff heatmap and a replay to W&B (see tracking.leaderboard)."""
        from marl.tracking.leaderboard import log_league_media, payoff_heatmap

        if self.run_dir is None or not self.sinks:
            return
        out = Path(self.run_dir) / "league"
        heatmap = payoff_heatmap(self.league, out / "payoff.png")
        replay = self.replay(out / "replay.gif", iteration) if self.league_spec.replay else None
        log_league_media(self.sinks, iteration, self.league, heatmap, replay)

    def replay(self, path: Path, seed: int) -> Path | None:
        """GIF of the first learner against the best-rated other player (None: no rendering)."""
        from marl.league.play import record_gif, scripted_policy
        from marl.rllib.inference import module_policy

        board = self.league.leaderboard()
        learner = self.league.learner_ids[0]
        opponent = next((r.player for r in board if r.player != learner), learner)

        def policy(pid: str) -> Any:
            role = self.league.player(pid).role
            if role in ("random", "scripted"):
                return scripted_policy(pid, self.layout.act_space, seed)
            return module_policy(self.live_module(pid), greedy=False, seed=seed)

        seat = seed % 2  # alternate seats between reports
        seats = {seat: policy(learner), 1 - seat: policy(opponent)}
        try:
            return record_gif(self.exp.play_config(), self.exp.seats, seats, path, seed=seed)
        except Exception as err:  # noqa: BLE001  a replay must never stop training
            from marl.tracking.console import console

            console.print(f"[yellow]league replay skipped: {err!r}[/]")
            return None

    def metrics(self, games: int = 0, rows: dict[tuple[str, str], int] | None = None
                ) -> dict[str, float]:
        """Flat ``league/...`` metrics of the latest iteration.

        Data per learner: ``train_rows`` (agent steps it trained on this iteration),
        ``train_share`` (its share of all learners' rows since the start), for main agents
        ``rows_vs_<kind>`` (``League.row_split``); the ladder: ``ladder_unlocked`` levels
        and the first main agent's win rate vs the top one (``main_vs_ladder_top``).
        """
        out: dict[str, float] = {
            "league/size": float(len(self.league.players)),
            "league/frozen": float(len(self.league.frozen_ids)),
            "league/games": float(games),
            "league/games_total": float(self.league.matches),
            "league/decisions_total": float(self.league.decisions_applied),
        }
        hardest = self.hardest_scripted()
        learner = self.league.learner_ids[0]
        if hardest is not None and self.league.payoff.count(learner, hardest):
            # the progress line's "vs <hardest>": the first learner's decayed win rate
            out["league/main_vs_hardest"] = self.league.payoff.win_rate(learner, hardest)
        this_iter: dict[str, int] = {}
        for (p, _), n in (rows or {}).items():
            this_iter[p] = this_iter.get(p, 0) + n
        shares = self.league.row_shares()
        for pid in self.league.learner_ids:
            out[f"league/{pid}/train_rows"] = float(this_iter.get(pid, 0))
            if pid in shares:
                out[f"league/{pid}/train_share"] = shares[pid]
            if self.league.player(pid).role == "main":
                for kind, share in self.league.row_split(pid).items():
                    out[f"league/{pid}/rows_vs_{kind}"] = share
        ladder = self.league.ladder
        if ladder:
            out["league/ladder_unlocked"] = float(len(ladder))
            if self.league.payoff.count(learner, ladder[-1]):
                out["league/main_vs_ladder_top"] = self.league.payoff.win_rate(learner, ladder[-1])
        for pid in self.league.player_ids:
            r = self.league.ratings.get(pid)
            out[f"league/{pid}/elo"] = r.elo
            out[f"league/{pid}/mu"] = r.mu
            out[f"league/{pid}/sigma"] = r.sigma
        return out

    def progress_note(self) -> str:
        """The league part of the progress line: learners, size, newest snapshot, ladder."""
        league = self.league
        frozen = [p for p in league.players.values() if p.role == "frozen"]
        newest = frozen[-1].id if frozen else "-"  # players keep insertion order
        learner = league.learner_ids[0]
        ladder = league.ladder
        parts = [f"league {len(league.players)} ({len(league.learner_ids)} learning)",
                 f"newest {newest}"]
        if ladder:
            top = ladder[-1]
            rate = (f"{league.payoff.win_rate(learner, top):.2f}"
                    if league.payoff.count(learner, top) else "-")
            parts.append(f"{learner} vs {top} {rate}")
        return "  ".join(parts)

    def hardest_scripted(self) -> str | None:
        """The deepest scripted opponent (``alphabeta_d<k>``), else ``random``, else None."""
        from marl.league.spec import scripted_depth

        scripted = [p.id for p in self.league.players.values() if p.role == "scripted"]
        if scripted:
            return max(scripted, key=lambda pid: scripted_depth(pid) or 0)
        return "random" if "random" in self.league.players else None

    def live_module(self, player_id: str) -> RLModule:
        """An inference copy of a player's module with the learner's current weights."""
        spec = self.layout.module_spec(player_id, self.league.player(player_id).role)
        return live_module(self.algo, spec, player_id)

    # --------------------------------------------------------------------- checkpoint

    def save(self, checkpoint_dir: Path) -> None:
        """``save_checkpoint`` hook: league state and initial weights into the checkpoint."""
        checkpoint_dir = Path(checkpoint_dir)
        self.league.save(checkpoint_dir / LEAGUE_FILE)
        (checkpoint_dir / INIT_FILE).write_bytes(pickle.dumps(self.initial_weights))


class _ClearOptimizer:
    """Forget Adam's moments and step count of one module (a reset learner starts fresh)."""

    def __init__(self, module_id: str):
        self.module_id = module_id

    def __call__(self, learner: Any) -> None:
        for _, optimizer in learner.get_optimizers_for_module(self.module_id):
            optimizer.state.clear()


def set_learner_weights(algo: Any, module_id: str, weights: dict[str, Any]) -> None:
    """Set a module's weights on the learners; RLlib syncs them to every env runner."""
    algo.set_state({"learner_group": {"learner": {"rl_module": {module_id: weights}}}})
