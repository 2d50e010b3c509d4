"""Time limits are not terminal states: bootstrap V(s_T) where an episode was cut.

RLlib 2.58 marks every agent of a multi-agent episode *terminated* once all agents are
done, also when the env truncated them at a time limit (``MultiAgentEpisode``
``add_env_step``: "some agents truncated, the others terminated -> terminated"); the
lean sampler builds its episodes the same way. GAE then sets V(s_T) = 0 at step 25 of
spread, as if the episode had ended there for good, and the critic cannot tell step 25
from step 5: its targets are aliased across time.

``BootstrapTruncated`` runs first in the learner pipeline, before the bootstrap step
(``AddBootstrapStep``, RLlib's ``AddOneTsToEpisodesAndTruncate`` with array columns):
an agent whose episode the env *truncated* loses its terminated flag, so the appended
bootstrap step (its final observation) gives V(s_T):

    truncated at T:   A_t = sum_k (gamma lambda)^k delta_{t+k},
                      delta_{T-1} = r_{T-1} + gamma V(s_T) - V(s_{T-1})
    terminated at T:  delta_{T-1} = r_{T-1} - V(s_{T-1})          (unchanged)

An agent the env reports as terminated keeps its flag: the adapters pass terminated
and truncated as the env gives them, and an agent that is both counts as terminated
(Gymnasium's rule). Known gap: an agent that terminates on the very step at which the
others are truncated is bootstrapped too (RLlib's episode gives it both flags).
"""

from __future__ import annotations

from typing import Any

from ray.rllib.connectors.connector_v2 import ConnectorV2

__all__ = ["BootstrapTruncated"]


class BootstrapTruncated(ConnectorV2):
    """Learner connector piece: truncated agents are bootstrapped, not terminated."""

    def __call__(self, *, rl_module: Any, batch: dict[str, Any], episodes: list[Any],
                 **kwargs: Any) -> Any:
        for sa_episode in self.single_agent_episode_iterator(episodes,
                                                              agents_that_stepped_only=False):
            if sa_episode.is_truncated and sa_episode.is_terminated:
                sa_episode.is_terminated = False
        return batch
