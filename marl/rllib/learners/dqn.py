"""Independent DQN, the textbook value-based baseline: RLlib's DQN on the new API stack.

``build_dqn_config(exp)`` turns a resolved ``algorithm.name: dqn`` experiment into a
``DQNConfig``: one ``QModule`` (``marl.rllib.modules.q_module``: masked, dueling Q,
target copy) per trained policy, each learning from its own agents' transitions
(independent Q-learning; no opponent modelling), RLlib's multi-agent episode replay
buffer (uniform) with time limits stored as truncations (``TimeLimitEpisodeReplayBuffer``),
its DQN learner (Huber TD loss, double-Q target, target copies every
``target_update_every`` env steps), epsilon-greedy exploration over legal actions.

    Q target:  y = r + gamma^n (1 - terminated) Q_target(s', argmax_a' Q(s', a'))  (double_q)
               y = r + gamma^n (1 - terminated) max_a' Q_target(s', a')            (otherwise)
               with illegal a' at -inf (masked envs); a time limit is not terminated

Spec -> RLlib: ``lr``, ``gamma``, ``grad_clip``; ``train_batch_size`` -> env steps per
training iteration (``min_sample_timesteps_per_iteration``); ``dqn.batch_size`` -> rows
per SGD step per policy; ``dqn.training_intensity`` (replayed rows per policy per
sampled env step) -> RLlib's ``training_intensity`` (``rllib_training_intensity``);
``dqn.replay_capacity`` (env steps), ``learning_starts``, ``target_update_every``,
``epsilon_*``, ``double_q``, ``dueling``, ``n_step``; ``bootstrap_truncated: false``
keeps RLlib's own buffer (time limits terminal). Env runners are RLlib's stock ones
(the lean sampler draws from an action distribution); each samples 4 steps per env per
sample round, followed by the round's SGD steps. No league (the spec refuses it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from ray.rllib.algorithms.dqn import DQNConfig
from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
from ray.rllib.core.rl_module.rl_module import RLModuleSpec
from ray.rllib.utils import force_list
from ray.rllib.utils.replay_buffers import MultiAgentEpisodeReplayBuffer
from ray.rllib.utils.typing import AgentID, EpisodeType, ModuleID

from marl.experiment import Experiment
from marl.rllib.mapping import AgentToPolicy
from marl.rllib.modules.q_module import QModule
from marl.rllib.modules.scripted import RandomPolicyModule
from marl.rllib.modules.specs import _spaces_for, actor_critic_config

__all__ = ["FRAGMENT_STEPS", "TimeLimitEpisodeReplayBuffer", "build_dqn_config",
           "q_module_specs", "rllib_training_intensity"]

FRAGMENT_STEPS = 4
"""Env steps per env in one sample round (RLlib's rollout fragment); the round's SGD steps
(``dqn.training_intensity``) follow it."""


class TimeLimitEpisodeReplayBuffer(MultiAgentEpisodeReplayBuffer):
    """RLlib's multi-agent episode replay buffer with time limits kept apart from ends.

    RLlib 2.58's multi-agent episodes mark every agent terminated once all are done, time
    limits included (both flags set), and when the buffer joins an episode's chunks
    (``SingleAgentEpisode.concat_episode``: "terminated, elif truncated") only
    *terminated* survives: every last transition of spread then comes out terminated,
    and the DQN loss's ``1 - terminated`` zeroes Q_target(s_T) at the 25-step cut. Here an
    agent the env truncated loses its terminated flag before it is stored, so its last
    transition comes out truncated and bootstraps; one the env terminated (the adapters
    pass terminated-and-truncated as terminated) stays terminal. The rule of
    ``marl.rllib.connectors.time_limit`` (PPO), applied where DQN's episodes enter.
    """

    def add(self, episodes: Any, **kwargs: Any) -> None:  # type: ignore[override]
        for episode in force_list(episodes):
            for agent_episode in episode.agent_episodes.values():
                if agent_episode.is_truncated and agent_episode.is_terminated:
                    agent_episode.is_terminated = False
            if episode.is_truncated and episode.is_terminated:
                episode.is_terminated = False
        super().add(episodes)

    def sample(self, num_items: int | None = None, *, n_step: Any = 1,
               **kwargs: Any) -> Any:
        """RLlib's sample, with ``n_step`` cut to 1 while some module has no stored
        transition that can make it. RLlib redraws such a transition until one fits, so a
        buffer holding only short agent chunks (a resumed run: the buffer is not in the
        checkpoint, learning has started, and a turn-based game's first round gives each
        agent 2 steps per env) would redraw forever."""
        if isinstance(n_step, int) and n_step > 1 and not self._makes_n_step(n_step):
            n_step = 1
        return super().sample(num_items, n_step=n_step, **kwargs)

    def _makes_n_step(self, n: int) -> bool:
        """Every module has a stored transition with n steps after it (remembered once
        true: the buffer only grows towards its capacity)."""
        if getattr(self, "_n_step_ok", 0) >= n:
            return True
        for indices in self._module_to_indices.values():
            if not any(ts + n <= len(self.episodes[i - self._num_episodes_evicted]
                                     .agent_episodes[agent])
                       for i, agent, ts in indices):
                return False
        self._n_step_ok = n
        return True


def q_module_specs(exp: Experiment) -> dict[str, RLModuleSpec]:
    """One QModule spec per trained policy (masked random modules for frozen ones)."""
    plan, dqn = exp.plan, exp.spec.algorithm.dqn
    specs = {}
    for policy in plan.agents_of:
        obs, act = _spaces_for(policy, plan, exp)
        if policy in plan.frozen:
            specs[policy] = RLModuleSpec(module_class=RandomPolicyModule,
                                         observation_space=obs, action_space=act)
            continue
        model = {k: v for k, v in actor_critic_config(exp, policy).items()
                 if k in ("encoder", "hidden", "activation", "input_norm", "board", "conv",
                          "obs_scale", "features")}
        model["epsilon"] = [[0, dqn.epsilon_start], [dqn.epsilon_steps, dqn.epsilon_end]]
        model["double_q"] = dqn.double_q
        model["dueling"] = dqn.dueling
        specs[policy] = RLModuleSpec(module_class=QModule, observation_space=obs,
                                     action_space=act, model_config=model)
    return specs


def rllib_training_intensity(rows_per_env_step: float | None,
                             num_env_runners: int) -> float | None:
    """RLlib's ``training_intensity`` that replays ``rows_per_env_step`` rows per policy
    per sampled env step. RLlib sizes its SGD steps per sample round by
    ``intensity * fragment * envs * (num_env_runners + 1) / batch`` (it counts the local
    runner, which samples only when there are no remote ones): with 2 remote runners the
    plain value would replay 1.5 times the rows asked for."""
    if rows_per_env_step is None:
        return None
    return rows_per_env_step * max(num_env_runners, 1) / (num_env_runners + 1)


def build_dqn_config(exp: Experiment, lr: float | list[list[float]],
                     callbacks: list[type] | None = None) -> DQNConfig:
    """The RLlib ``DQNConfig`` of a resolved ``dqn`` experiment (see the module docstring).

    Args:
        lr: the learning rate or its schedule (``marl.rllib.builder.learning_rate``).
    """
    from marl.rllib.callbacks.cluster import ClusterHooks
    from marl.rllib.callbacks.social import social_callbacks
    from marl.rllib.env.creator import register

    spec, plan = exp.spec, exp.plan
    alg, res, dqn = spec.algorithm, spec.resources, spec.algorithm.dqn
    mapping_fn = cast(Callable[[AgentID, EpisodeType], ModuleID], AgentToPolicy(plan.rules))
    config = (
        DQNConfig()
        .environment(register(), env_config=dict(exp.env_config), disable_env_checking=True)
        .framework("torch")
        .env_runners(
            num_env_runners=res.num_env_runners,
            num_envs_per_env_runner=exp.num_envs_per_env_runner,
            num_cpus_per_env_runner=res.num_cpus_per_env_runner,  # type: ignore[arg-type]
            rollout_fragment_length=max(FRAGMENT_STEPS, dqn.n_step),
            custom_resources_per_env_runner=dict(res.custom_resources_per_env_runner),
        )
        .learners(num_learners=res.num_learners, num_gpus_per_learner=res.num_gpus_per_learner,
                  custom_resources_per_learner=dict(res.custom_resources_per_learner))
        .training(
            # RLlib annotates grad_clip as int; it clips by any float norm.
            lr=lr, gamma=alg.gamma,
            grad_clip=alg.grad_clip,  # type: ignore[arg-type]
            train_batch_size_per_learner=dqn.batch_size,
            # A dotted path: RLlib tests the type for "EpisodeReplayBuffer" as a string.
            replay_buffer_config={"type": (f"{__name__}.TimeLimitEpisodeReplayBuffer"
                                           if alg.bootstrap_truncated
                                           else "MultiAgentEpisodeReplayBuffer"),
                                  "capacity": dqn.replay_capacity},
            num_steps_sampled_before_learning_starts=dqn.learning_starts,
            target_network_update_freq=dqn.target_update_every, tau=1.0,
            double_q=dqn.double_q, dueling=False, n_step=dqn.n_step,
            training_intensity=rllib_training_intensity(dqn.training_intensity,
                                                        res.num_env_runners),
            epsilon=[[0, dqn.epsilon_start], [dqn.epsilon_steps, dqn.epsilon_end]],
        )
        .reporting(min_sample_timesteps_per_iteration=alg.train_batch_size)
        .multi_agent(
            policies=set(plan.agents_of),
            policy_mapping_fn=mapping_fn,
            policies_to_train=list(plan.trainable),
        )
        .rl_module(rl_module_spec=MultiRLModuleSpec(rl_module_specs=q_module_specs(exp)))
        .callbacks(callbacks_class=[ClusterHooks, *social_callbacks(exp), *(callbacks or [])])
        .debugging(seed=spec.seed, log_level="ERROR")
    )
    return config
