"""AlphaStar-style league (Vinyals et al. 2019) in pure Python: no ``ray`` here.

The league is an observer of training: the RLlib callback (in ``marl.rllib``)
reports finished matches and step counts, asks for decisions (``Snapshot``,
``Reset``) and a new ``MatchTable``, applies them to the model, and installs an
``EpisodeMapping`` as ``policy_mapping_fn``.

    players.py      Player, roles, ids (main_0, main_0_g3)
    payoff.py       PayoffTable: decayed head-to-head win rates
    pfsp.py         PFSP weightings (hard, variance, linear_capped)
    ratings.py      Elo + openskill (mu, sigma, ordinal)
    matchmaking.py  per-role opponent mixtures -> MatchTable
    mapping.py      EpisodeMapping: stateless, picklable policy_mapping_fn
    decisions.py    Snapshot, Reset
    settings.py     LeagueSettings
    manager.py      League: record, decide, apply, match_table, save/load
"""

from marl.league.decisions import Decision, Reset, Snapshot, decision_from_dict, decision_to_dict
from marl.league.errors import LeagueValueError
from marl.league.manager import LeaderboardRow, League
from marl.league.mapping import EpisodeMapping, match_for_episode_id
from marl.league.matchmaking import MatchEntry, MatchTable, build_match_table, opponent_distribution
from marl.league.payoff import PayoffTable
from marl.league.pfsp import WEIGHTINGS, hard, linear_capped, pfsp_distribution, variance
from marl.league.players import FROZEN_ROLES, LEARNING_ROLES, ROLES, Player, Role
from marl.league.ratings import Rating, Ratings, elo_expected, elo_update
from marl.league.settings import LeagueSettings

__all__ = [
    "FROZEN_ROLES",
    "LEARNING_ROLES",
    "ROLES",
    "WEIGHTINGS",
    "Decision",
    "EpisodeMapping",
    "LeaderboardRow",
    "League",
    "LeagueSettings",
    "LeagueValueError",
    "MatchEntry",
    "MatchTable",
    "PayoffTable",
    "Player",
    "Rating",
    "Ratings",
    "Reset",
    "Role",
    "Snapshot",
    "build_match_table",
    "decision_from_dict",
    "decision_to_dict",
    "elo_expected",
    "elo_update",
    "hard",
    "linear_capped",
    "match_for_episode_id",
    "opponent_distribution",
    "pfsp_distribution",
    "variance",
]
