"""coma: COMA's counterfactual baseline with PPO's update (Foerster et al. 2018).

``ComaConfig`` is ``MappoConfig`` (same PPO algorithm and training step, actor-only env
runners) whose Learner is ``ComaTorchLearner``: the MAPPO learner with two pipeline
pieces swapped in (``marl.rllib.connectors.coma``):

    AddCriticObs -> AddOthersActions      teammates' one-hot actions per row
    TeamGAE      -> ComaAdvantages        A_i = Q(s,u) - sum_a pi_i(a|o_i) Q(s,(u_-i,a)),
                                          TD(lambda) targets on Q of the taken actions

The loss is the MAPPO learner's, unchanged: PPO's clipped surrogate on the COMA
advantages (as COMA implementations built on PPO do, instead of COMA's one-step policy
gradient), and the normalized, clipped Huber value loss on Q(s, u_t) of the taken
action (``ComaModule.compute_values``). Settings: ``learner_config_dict["coma"]`` holds
the teams and the agents' action counts.
"""

from __future__ import annotations

from ray.rllib.connectors.connector_v2 import ConnectorV2

from marl.rllib.connectors.coma import AddOthersActions, ComaAdvantages
from marl.rllib.connectors.team_gae import AddCriticObs, TeamGAE
from marl.rllib.learners.mappo import MappoConfig, MappoTorchLearner

__all__ = ["ComaConfig", "ComaTorchLearner"]


class ComaConfig(MappoConfig):
    """MappoConfig whose Learner computes COMA's advantages (``ComaTorchLearner``)."""

    def get_default_learner_class(self) -> type:
        return ComaTorchLearner


class ComaTorchLearner(MappoTorchLearner):
    """MAPPO learner on COMA's counterfactual advantages and Q critic."""

    def build(self) -> None:
        super().build()  # MAPPO: time-limit bootstrap, AddCriticObs, TeamGAE
        pipeline = self._learner_connector
        if pipeline is None or not self.config.add_default_connectors_to_learner_pipeline:
            return
        settings = self.config.learner_config_dict["coma"]
        others: ConnectorV2 = AddOthersActions(teams=settings["teams"],
                                               num_actions=settings["num_actions"])
        pipeline.insert_after(AddCriticObs, others)
        pipeline.insert_after(TeamGAE, ComaAdvantages(gamma=self.config.gamma,
                                                      lambda_=self.config.lambda_))
        pipeline.remove(TeamGAE)
