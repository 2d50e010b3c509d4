"""marl: train teams and leagues of RL agents in PettingZoo envs with RLlib PPO.

Importing ``marl`` imports no Ray; ``marl.rllib`` is the only package that imports RLlib.
"""

from marl.errors import ClusterError, EnvError, LeagueError, MarlError, RunError, SpecError
from marl.spec import Spec, load_spec

__all__ = ["Spec", "load_spec", "MarlError", "SpecError", "EnvError", "RunError", "LeagueError",
           "ClusterError"]
__version__ = "0.1.0"
