"""Evaluate a run: its policies as trained, against random, all-random; head-to-head players.

Plain Python over PettingZoo envs except where a checkpoint is loaded (``evaluate_run``,
``load_player`` import ``marl.rllib.inference`` on use). A player reference is one of

    random                      masked uniform random
    alphabeta_d<k>              depth-k alpha-beta search (connect four)
    RUN_DIR                     the run's first learner (league) or its first policy
    RUN_DIR:<player>            a league player or policy of the run's latest checkpoint
    CHECKPOINT_DIR:<player>     ... of that checkpoint (runs/<id>/checkpoints/iter_000040)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from envs.registry import EnvEntry, team_of
from marl.errors import RunError
from marl.experiment import Experiment, resolve
from marl.league.play import scripted_policy
from marl.league.spec import scripted_depth
from marl.play import Policy, play_episodes, wilson_interval
from marl.run import latest_checkpoint, open_run_dir

__all__ = ["EvalRow", "PlayerRef", "evaluate", "evaluate_run", "load_player", "pairings",
           "resolve_player", "run_experiment", "teams_of"]


@dataclass
class EvalRow:
    """Results of one pairing over N episodes."""

    pairing: str
    episodes: int
    team_returns: dict[str, float]
    wins: int | None = None
    draws: int | None = None
    losses: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    actions: str = "sampled"
    """How the trained policies picked actions: ``sampled`` from their distribution or
    ``greedy`` (argmax over legal actions; Box actions: the Gaussian's mean)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def teams_of(entry: EnvEntry, agents: Sequence[str]) -> dict[str, list[str]]:
    """Team -> agents: the registry's teams; one team for cooperative envs; else per agent."""
    teams: dict[str, list[str]] = {}
    for agent in agents:
        team = "team" if entry.setting == "cooperative" and not entry.teams else team_of(entry, agent)
        teams.setdefault(team, []).append(agent)
    return teams


def pairings(entry: EnvEntry, agents: Sequence[str], trained: dict[str, Policy],
             random: dict[str, Policy]) -> dict[str, dict[str, Policy]]:
    """Named agent->policy assignments: as trained, all random, each team vs random."""
    teams = teams_of(entry, agents)
    out = {"trained": dict(trained), "random": dict(random)}
    if len(teams) >= 2:
        for team, members in teams.items():
            out[f"{team} trained vs random"] = {
                a: trained[a] if a in members else random[a] for a in agents}
    return out


def evaluate(exp: Experiment, assignments: dict[str, dict[str, Policy]], episodes: int,
             seed: int = 0, actions: str = "sampled") -> list[EvalRow]:
    """Play each assignment; win/draw/loss for two-sided zero-sum games (see below)."""
    entry = exp.entry
    rows = []
    for name, agent_policy in assignments.items():
        agents = list(agent_policy)
        teams = teams_of(entry, agents)
        results = play_episodes(exp.play_config(), agent_policy, episodes, seed)
        team_returns = {t: float(np.mean([sum(r[a] for a in m) for r in results]))
                        for t, m in teams.items()}
        row = EvalRow(name, episodes, team_returns, actions=actions)
        # Two-sided zero-sum games: two players (turn-based or simultaneous, e.g. rps) or
        # turn-based teams; tag's teams score returns that do not sum to zero.
        if entry.zero_sum and len(teams) == 2 and (exp.api == "aec" or not entry.teams):
            focal = next((t for t in teams if name.startswith(f"{t} ")), next(iter(teams)))
            other = next(t for t in teams if t != focal)
            diffs = [sum(r[a] for a in teams[focal]) - sum(r[a] for a in teams[other])
                     for r in results]
            row.wins = sum(d > 0 for d in diffs)
            row.draws = sum(d == 0 for d in diffs)
            row.losses = sum(d < 0 for d in diffs)
            lo, hi = wilson_interval(row.wins + 0.5 * row.draws, episodes)
            row.extra = {"focal": focal, "score_ci_low": lo, "score_ci_high": hi}
        rows.append(row)
    return rows


def run_experiment(run_dir: Path) -> Experiment:
    """The resolved experiment of an existing run (its saved spec, resolved again here)."""
    spec, _ = open_run_dir(Path(run_dir))
    return resolve(spec)


ACTIONS = ("sampled", "greedy")


def evaluate_run(run_dir: Any, episodes: int | None = None, actions: str = "both",
                 checkpoint: Any = None, exp: Experiment | None = None) -> list[EvalRow]:
    """Evaluate a run's latest (or a given) checkpoint: every pairing, N episodes each.

    Args:
        actions: ``sampled``, ``greedy`` (argmax over legal actions) or ``both`` (sampled
            rows, then greedy ones; the all-random pairing is played once).
        exp: the run's resolved experiment, when the caller has it (``marl train``).

    Raises:
        RunError: if the run has no checkpoint.
    """
    run_dir = Path(run_dir)
    exp = exp or run_experiment(run_dir)
    if checkpoint is None:
        found = latest_checkpoint(run_dir)
        if found is None:
            raise RunError(f"{run_dir} has no checkpoint yet; train first or wait for one")
        checkpoint = found[0]
    from marl.rllib.inference import load_policies, random_policy  # imports ray: after checks

    if actions not in (*ACTIONS, "both"):
        raise ValueError(f"actions must be sampled, greedy or both, not {actions!r}")
    agents, plan, seed = list(exp.agents), exp.plan, exp.spec.seed
    n = episodes or exp.spec.evaluation.episodes
    rows: list[EvalRow] = []
    for mode in ACTIONS if actions == "both" else (actions,):
        by_policy = load_policies(Path(checkpoint), plan,
                                  {p: exp.action_spaces[m[0]] for p, m in plan.agents_of.items()},
                                  mode == "greedy", seed)
        trained = {a: by_policy[plan.policy_of(a)] for a in agents}
        # One stream per seat: with a shared seed, both random seats would replay the same
        # draws.
        rand = {a: random_policy(exp.action_spaces[a], seed + 1 + i)
                for i, a in enumerate(agents)}
        assignments = pairings(exp.entry, agents, trained, rand)
        if rows:  # all-random does not depend on how the trained policies act: once
            assignments.pop("random")
        rows += evaluate(exp, assignments, n, seed=seed + 10_000, actions=mode)
    return rows


@dataclass(frozen=True)
class PlayerRef:
    """A resolved player: its display name and where its weights are (if any)."""

    name: str
    kind: str  # "scripted" or "module"
    checkpoint: Path | None = None
    player_id: str = ""


def resolve_player(ref: str) -> PlayerRef:
    """Parse a player reference (see module docstring).

    Raises:
        RunError: for a path that is neither a run nor a checkpoint, or no checkpoint.
    """
    if ref == "random" or scripted_depth(ref) is not None:
        return PlayerRef(ref, "scripted")
    path, _, pid = ref.rpartition(":") if ":" in ref else (ref, "", "")
    path_p = Path(path)
    if (path_p / "spec.yaml").is_file():
        found = latest_checkpoint(path_p)
        if found is None:
            raise RunError(f"{path} has no checkpoint yet; train first")
        ckpt = found[0]
    elif (path_p / "rllib_checkpoint.json").is_file():
        ckpt = path_p
    else:
        raise RunError(f"player {ref!r}: give random, alphabeta_d<k>, RUN_DIR[:player] or "
                       f"CHECKPOINT_DIR:player ({path} is neither a run nor a checkpoint)")
    if not pid:
        pid = _default_player(ckpt)
    if not (ckpt / "learner_group" / "learner" / "rl_module" / pid).is_dir():
        raise RunError(f"{ckpt} has no player {pid!r}; players: {', '.join(_players(ckpt))}")
    return PlayerRef(f"{ckpt.parent.parent.name}:{pid}", "module", ckpt, pid)


def _players(ckpt: Path) -> list[str]:
    return sorted(p.name for p in (ckpt / "learner_group" / "learner" / "rl_module").iterdir()
                  if p.is_dir())


def _default_player(ckpt: Path) -> str:
    league_file = ckpt / "league.json"
    if league_file.is_file():
        from marl.league import League

        return League.load(league_file).learner_ids[0]
    return _players(ckpt)[0]


def load_player(ref: PlayerRef, exp: Experiment, greedy: bool = False, seed: int = 0,
                search: int = 0) -> Policy:
    """The player as an ``act(list_of_obs) -> actions`` callable for the experiment's env.

    Args:
        search: MCTS simulations per move (``marl.search``; trained players of turn-based
            two-player games only); 0 plays the policy itself.

    Raises:
        RunError: a player without weights, or search where it cannot run.
    """
    name = ref.name if ref.kind == "scripted" else ref.player_id
    if ref.kind == "scripted" or name == "random" or scripted_depth(name) is not None:
        # league members without weights too
        if search:
            raise RunError(f"--search is for trained players; {name} is scripted")
        return scripted_policy(name, exp.action_spaces[exp.agents[0]], seed)
    from marl.rllib.inference import checkpoint_module, module_policy

    if ref.checkpoint is None:
        raise RunError(f"player {ref.name!r} has no checkpoint to load weights from")
    module = checkpoint_module(ref.checkpoint, ref.player_id)
    policy = module_policy(module, greedy, seed)
    if not search:
        return policy
    if exp.api != "aec" or not exp.entry.masked or len(set(exp.seats.values())) != 2 \
            or exp.entry.setting != "competitive":
        raise RunError(f"--search mcts:N needs a turn-based two-player game with action "
                       f"masks (connect four, tic-tac-toe); {exp.env_id} is not one")
    from marl.rllib.action_probs import module_evaluator
    from marl.search import MCTS, SearchPolicy

    return SearchPolicy(policy, MCTS(module_evaluator(module), search, seed=seed))


def exploitability_rows(run_dir: Any, exp: Experiment | None = None) -> list[dict[str, Any]]:
    """Exact exploitability (NashConv / 2) of a run's latest checkpoint, by OpenSpiel's own
    code: the trained policies as they play each seat; for a league, the main learner and
    the average policy over it and its frozen snapshots (fictitious play's average, each
    snapshot weighted equally); and uniform random as the reference row.

    Raises:
        EnvError: the run's env is not a two-player zero-sum OpenSpiel game.
        RunError: the run has no checkpoint.
    """
    from marl.exploitability import measure_average, measure_profile, openspiel_game

    run_dir = Path(run_dir)
    exp = exp or run_experiment(run_dir)
    game = openspiel_game(exp)
    found = latest_checkpoint(run_dir)
    if found is None:
        raise RunError(f"{run_dir} has no checkpoint yet; train first or wait for one")
    ckpt = found[0]
    from marl.rllib.action_probs import module_probs
    from marl.rllib.inference import checkpoint_module

    def uniform(obs: Any, mask: Any) -> Any:
        return mask / mask.sum()

    def profile(policy_of_agent: dict[str, str]) -> list[Any]:
        return [uniform if policy_of_agent[a] in exp.plan.frozen
                else module_probs(checkpoint_module(ckpt, policy_of_agent[a])) for a in exp.agents]

    def row(name: str, result: Any, members: list[str]) -> dict[str, Any]:
        return {"policy": name, "players": members, "nash_conv": result.nash_conv,
                "exploitability": result.exploitability,
                "player_improvements": list(result.player_improvements)}

    rows = []
    if exp.has_league:
        main = _default_player(ckpt)
        snapshots = [p for p in _players(ckpt) if p.startswith(f"{main}_g")]
        rows.append(row(main, measure_profile(game, profile({a: main for a in exp.agents})),
                        [main]))
        if snapshots:
            members = [*snapshots, main]
            profiles = [profile({a: m for a in exp.agents}) for m in members]
            rows.append(row(f"average of {len(members)}", measure_average(game, profiles),
                            members))
    else:
        policy_of = {a: exp.plan.policy_of(a) for a in exp.agents}
        rows.append(row("trained", measure_profile(game, profile(policy_of)),
                        sorted(set(policy_of.values()))))
    rows.append(row("uniform random", measure_profile(game, [uniform] * len(exp.agents)), []))
    return rows
