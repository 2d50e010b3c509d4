"""RLModules: the networks that act (and, on learners, evaluate).

    masked_ppo.py   MaskedPPOModule: RLlib's default PPO actor-critic + action masks (ppo)
    team_critic.py  TeamCriticModule: actor + learner-only (optionally central) critic
                    (ippo, mappo); ``mlp`` with orthogonal init
    value_norm.py   ValueNorm: running statistics of value targets (MAPPO)
    scripted.py     RandomPolicyModule, AlphaBetaModule: frozen opponents, no weights
    specs.py        one RLModuleSpec per policy of a resolved experiment

Checkpoints name module classes by import path; ``MaskedPPOModule`` and
``RandomPolicyModule`` are re-exported here, where checkpoints of marl 0.1 look them up.
"""

from marl.rllib.modules.masked_ppo import MaskedPPOModule
from marl.rllib.modules.scripted import AlphaBetaModule, RandomPolicyModule

__all__ = ["AlphaBetaModule", "MaskedPPOModule", "RandomPolicyModule"]
