"""RLModules: the networks that act (and, on learners, evaluate).

    actor_critic.py  ActorCriticModule: the one actor-critic of ppo, ippo and mappo
                     (mlp or cnn encoder, learner-only critic, optionally central),
                     ``mask_logits``: the one masking function
    coma_critic.py   ComaModule: the actor-critic with COMA's Q(s, u_-i, .) critic (coma)
    cost_critic.py   ConstrainedActorCriticModule: + cost critics and Lagrange
                     multipliers (algorithm.constraints)
    distributions.py action distributions: categorical, Gaussian (clip), tanh-squashed
                     Gaussian (Box actions)
    value_norm.py    ValueNorm: running statistics of value targets (ippo, mappo)
    scripted.py      RandomPolicyModule, AlphaBetaModule: frozen opponents, no weights
    specs.py         one RLModuleSpec per policy of a resolved experiment
    masked_ppo.py    MaskedPPOModule: ppo's module in marl 0.1 (its checkpoints load)

Checkpoints name module classes by import path; ``MaskedPPOModule`` and
``RandomPolicyModule`` are re-exported here, where checkpoints of marl 0.1 look them up.
"""

from marl.rllib.modules.masked_ppo import MaskedPPOModule
from marl.rllib.modules.scripted import AlphaBetaModule, RandomPolicyModule

__all__ = ["AlphaBetaModule", "MaskedPPOModule", "RandomPolicyModule"]
