"""ippo and mappo on RLlib's new API stack (RLlib 2.58 ships no new-stack MAPPO).

    critic_input.py  env side: each agent's critic input in infos (mappo only)
    module.py        TeamCriticModule: actor everywhere, critic + ValueNorm on learners
    value_norm.py    running target statistics (MAPPO's ValueNorm)
    connectors.py    learner pipeline: AddCriticObs, TeamGAE
    losses.py        clipped surrogate + normalized Huber/MSE value loss, per row
    learner.py       MappoTorchLearner: wires the pipeline and the loss
    config.py        MappoConfig, spec -> config (used by marl.rllib.builder)

What each algorithm is and validates lives in ``marl.algorithms`` (no Ray).
"""

from marl.rllib.mappo.config import MappoConfig, config_class, configure_team_critic

__all__ = ["MappoConfig", "config_class", "configure_team_critic"]
