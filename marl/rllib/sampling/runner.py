"""A lean multi-agent env runner, selected with ``resources.sampler: lean``.

RLlib 2.58's ``MultiAgentEnvRunner`` spends most of a step outside the env: connector
pipelines, per-step metrics, per-step episode objects. ``LeanEnvRunner`` keeps the stock
runner's parts that matter to the rest of ``marl`` and replaces only ``sample()``:

* kept (inherited): the envs (RLlib's vector env of our adapters; parallel envs stepped
  through ``lean_env.FastParallel``), the MultiRLModule, ``get_state``/``set_state``
  (checkpoints, weight sync), ``get_metrics``, restarts of failed runners;
* replaced: the step loop (``lean_sampling.LeanLoop``: one forward per module per step
  for all envs, per-agent Python lists) and the episodes (``lean_batch``: built once per
  batch from whole arrays); metrics logged once per ``sample()`` with the stock keys.
  Box actions reach the env unsquashed/clipped as the stock module-to-env pipeline
  sends them (``actions_for_env``); the episodes keep the sampled actions.

The mapping fn is read from ``self.config`` whenever an agent first appears in an
episode, so mappings pushed by the league (``er.config.multi_agent(...)``) and modules
added by ``algo.add_module`` apply from the next new episode on. ``on_episode_end`` and
``on_sample_end`` callbacks get the stock runner's arguments.

Not supported, and refused when the config is built (``unsupported_reason``): custom
env-to-module/module-to-env connectors, recurrent modules, and callbacks that need
per-step episode objects (``on_episode_created/start/step``).

``OverlappedLeanEnvRunner`` (``resources.overlap: true``) samples the next batch in a
background thread while the driver's learner updates on the one just returned. A batch
is sampled with the weights current while it is collected: at most one update behind
(PPO's ratio uses each action's own log-prob, so the loss stays correct).
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import torch
from ray.rllib.callbacks.callbacks import RLlibCallback
from ray.rllib.callbacks.utils import make_callback
from ray.rllib.core.columns import Columns
from ray.rllib.env.multi_agent_env_runner import MultiAgentEnvRunner
from ray.rllib.utils.metrics import (
    NUM_AGENT_STEPS_SAMPLED,
    NUM_AGENT_STEPS_SAMPLED_LIFETIME,
    NUM_ENV_STEPS_SAMPLED,
    NUM_ENV_STEPS_SAMPLED_LIFETIME,
    NUM_EPISODES,
    NUM_EPISODES_LIFETIME,
    NUM_MODULE_STEPS_SAMPLED,
    NUM_MODULE_STEPS_SAMPLED_LIFETIME,
    SAMPLE_TIMER,
    WEIGHTS_SEQ_NO,
)
from ray.rllib.utils.spaces.space_utils import clip_action, unsquash_action

from marl.errors import SpecError
from marl.rllib.sampling.fast_env import speed_up_aec, speed_up_parallel
from marl.rllib.sampling.loop import Batch, LeanLoop

__all__ = ["LeanEnvRunner", "OverlappedLeanEnvRunner", "configure_sampler",
           "unsupported_reason"]

_PER_STEP_HOOKS = ("on_episode_created", "on_episode_start", "on_episode_step")


def unsupported_reason(config: Any) -> str | None:
    """What in ``config`` the lean runner cannot run (None: nothing)."""
    if config._env_to_module_connector is not None or config._module_to_env_connector is not None:
        return "custom env-to-module/module-to-env connectors"
    if config.model_config.get("use_lstm") or config.model_config.get("use_attention"):
        return "recurrent modules"
    classes = config.callbacks_class
    for cls in classes if isinstance(classes, (list, tuple)) else [classes]:
        for hook in _PER_STEP_HOOKS:
            if getattr(cls, hook, None) is not getattr(RLlibCallback, hook):
                return f"the callback {cls.__name__}.{hook} (needs per-step episodes)"
    for hook in _PER_STEP_HOOKS:
        if getattr(config, f"callbacks_{hook}", None):
            return f"a {hook} callback function (needs per-step episodes)"
    return None


def configure_sampler(config: Any, resources: Any) -> Any:
    """Set the env runner class for ``resources.sampler``/``resources.overlap``.

    ``auto`` is the lean runner unless the config needs the stock one.

    Raises:
        SpecError: the lean sampler was asked for a config it cannot run.
    """
    if resources.sampler == "stock":
        return config
    reason = unsupported_reason(config)
    if reason is not None and resources.sampler == "auto" and not resources.overlap:
        return config
    if reason is not None:
        raise SpecError(f"resources.sampler: lean does not support {reason}; "
                        f"set resources.sampler: stock")
    if resources.overlap and resources.num_learners == 0:
        # The driver learns while a runner samples: its learner gets one torch thread
        # (a second OpenMP thread competing with the runner made updates several times
        # slower on 2 cores).
        torch.set_num_threads(1)
    cls = OverlappedLeanEnvRunner if resources.overlap else LeanEnvRunner
    return config.env_runners(env_runner_cls=cls)


class LeanEnvRunner(MultiAgentEnvRunner):
    """``MultiAgentEnvRunner`` with a batched, low-overhead ``sample()``."""

    def __init__(self, config: Any, **kwargs: Any):
        self._lock = threading.Lock()  # forward passes vs. weight updates (overlap)
        self._loop: LeanLoop | None = None
        super().__init__(config=config, **kwargs)
        reason = unsupported_reason(self.config)
        if reason is not None:
            raise ValueError(f"LeanEnvRunner does not support {reason}")

    # -- envs ------------------------------------------------------------------------
    def _sub_envs(self) -> list[Any]:
        """The vector env's sub-envs (Optional in RLlib's annotations until ``make_env``,
        which ``__init__`` calls)."""
        assert self.env is not None and self.env.envs is not None, "make_env builds the envs"
        return self.env.envs

    def make_env(self) -> None:
        super().make_env()
        for sub in self._sub_envs():
            speed_up_parallel(sub.unwrapped) or speed_up_aec(sub.unwrapped)
        self._loop = None  # new envs: start over

    def _lean_loop(self) -> LeanLoop:
        if self._loop is None:
            envs = [sub.unwrapped for sub in self._sub_envs()]
            first = envs[0]
            spaces = ({a: first.get_observation_space(a) for a in first.possible_agents},
                      {a: first.get_action_space(a) for a in first.possible_agents})
            self._loop = LeanLoop(envs, self._seed, spaces)
        return self._loop

    # -- what the loop asks for (lean_sampling.Actor) -----------------------------------
    def act(self, module_id: str, obs: Any, explore: bool) -> dict[str, np.ndarray]:
        """One forward of ``module_id`` on stacked ``obs``; actions sampled as RLlib's
        ``GetActions`` connector does (deterministic when not exploring)."""
        assert self.module is not None, "__init__ builds the MultiRLModule"
        module = self.module[module_id]
        if isinstance(module, torch.nn.Module) and module.training:
            module.eval()  # runner modules never train; saves a train/eval flip per call
        x = ({k: torch.from_numpy(v) for k, v in obs.items()} if isinstance(obs, dict)
             else torch.from_numpy(obs))
        with self._lock, torch.no_grad():
            if explore:
                out = module.forward_exploration({Columns.OBS: x})
            else:
                out = module.forward_inference({Columns.OBS: x})
            if Columns.ACTIONS not in out:
                dist_cls = (module.get_exploration_action_dist_cls() if explore
                            else module.get_inference_action_dist_cls())
                dist = dist_cls.from_logits(out[Columns.ACTION_DIST_INPUTS])
                if not explore:
                    dist = dist.to_deterministic()
                actions = dist.sample()
                out[Columns.ACTIONS] = actions
                if Columns.ACTION_LOGP not in out:
                    out[Columns.ACTION_LOGP] = dist.logp(actions)
        return {k: v.numpy() if isinstance(v, torch.Tensor) else np.asarray(v)
                for k, v in out.items() if k != Columns.ACTIONS_FOR_ENV}

    def actions_for_env(self, actions: np.ndarray, space: Any) -> np.ndarray:
        """Box actions as the env gets them, as RLlib's ``NormalizeAndClipActions``
        module-to-env connector makes them: unsquashed from [-1, 1] to the bounds (and
        clipped there) with ``normalize_actions``, else clipped with ``clip_actions``.
        The batch keeps ``actions`` as sampled."""
        if self.config.normalize_actions:
            return unsquash_action(actions, space)
        if self.config.clip_actions:
            return clip_action(actions, space)
        return actions

    def mapping_fn(self) -> Any:
        return self.config.policy_mapping_fn

    def weights_seq_no(self) -> int:
        return self._weights_seq_no

    # -- sampling ----------------------------------------------------------------------
    def _request(self, num_timesteps: int | None, num_episodes: int | None,
                 explore: bool | None) -> tuple[int | None, int | None, bool]:
        """The stock runner's defaults: one rollout fragment per env."""
        explore = self.config.explore if explore is None else explore
        if num_timesteps is None and num_episodes is None:
            if self.config.batch_mode == "truncate_episodes":
                num_timesteps = (self.config.get_rollout_fragment_length(self.worker_index)
                                 * self.num_envs)
            else:
                num_episodes = self.num_envs
        return num_timesteps, num_episodes, explore

    def _collect(self, num_timesteps: int | None, num_episodes: int | None, explore: bool,
                 force_reset: bool = False) -> Batch:
        return self._lean_loop().collect(self, num_timesteps, num_episodes, explore, force_reset)

    # The stock MultiAgentEnvRunner.sample's signature; RLlib's base EnvRunner.sample
    # declares only **kwargs, which no runner's keyword-only signature matches.
    def sample(self, *, num_timesteps: int | None = None,  # type: ignore[override]
               num_episodes: int | None = None, explore: bool | None = None,
               random_actions: bool = False, force_reset: bool = False) -> list[Any]:
        if random_actions:  # not a training path: the stock loop, then start over
            self._loop = None
            # RLlib annotates these `int = None`/`bool = None`: None is its own default.
            return super().sample(num_timesteps=num_timesteps,  # type: ignore[arg-type]
                                  num_episodes=num_episodes,  # type: ignore[arg-type]
                                  explore=explore,  # type: ignore[arg-type]
                                  random_actions=True, force_reset=True)
        request = self._request(num_timesteps, num_episodes, explore)
        with self.metrics.log_time(SAMPLE_TIMER):
            batch = self._collect(*request, force_reset=force_reset)
            self._hand_out(batch)
        return batch.episodes

    def _hand_out(self, batch: Batch) -> None:
        """Callbacks and metrics of one batch (driver-visible side effects, main thread)."""
        assert self.env is not None, "make_env builds the vector env"
        log = self.metrics.log_value
        log(WEIGHTS_SEQ_NO, self._weights_seq_no, window=1)
        log(NUM_ENV_STEPS_SAMPLED, batch.env_steps, reduce="sum")
        log(NUM_ENV_STEPS_SAMPLED_LIFETIME, batch.env_steps, reduce="lifetime_sum",
            with_throughput=True)
        self.num_env_steps_sampled_lifetime += batch.env_steps
        for agent, n in batch.agent_steps.items():
            log((NUM_AGENT_STEPS_SAMPLED, str(agent)), n, reduce="sum")
            log((NUM_AGENT_STEPS_SAMPLED_LIFETIME, str(agent)), n, reduce="lifetime_sum")
        for module, n in batch.module_steps.items():
            log((NUM_MODULE_STEPS_SAMPLED, module), n, reduce="sum")
            log((NUM_MODULE_STEPS_SAMPLED_LIFETIME, module), n, reduce="lifetime_sum")
        if batch.done:
            log(NUM_EPISODES, len(batch.done), reduce="sum")
            log(NUM_EPISODES_LIFETIME, len(batch.done), reduce="lifetime_sum")
        for done in batch.done:
            make_callback(
                "on_episode_end", callbacks_objects=self._callbacks,
                callbacks_functions=self.config.callbacks_on_episode_end,
                kwargs=dict(episode=done.episode, env_runner=self, metrics_logger=self.metrics,
                            env=self.env.unwrapped, rl_module=self.module,
                            env_index=done.env_index, prev_episode_chunks=done.prev_chunks))
            self._log_episode_metrics(
                done.length, sum(done.agent_returns.values()), done.duration_s,
                {str(a): r for a, r in done.agent_returns.items()}, done.module_returns,
                {str(a): n for a, n in done.agent_steps.items()})
        make_callback("on_sample_end", callbacks_objects=self._callbacks,
                      callbacks_functions=self.config.callbacks_on_sample_end,
                      kwargs=dict(env_runner=self, metrics_logger=self.metrics,
                                  samples=batch.episodes))

    # -- state (locked against an in-flight forward) ---------------------------------------
    def set_state(self, state: dict) -> None:
        with self._lock:
            super().set_state(state)

    def get_state(self, *args: Any, **kwargs: Any) -> dict:
        with self._lock:
            return super().get_state(*args, **kwargs)


class OverlappedLeanEnvRunner(LeanEnvRunner):
    """Samples batch k+1 in a background thread while the learner works on batch k."""

    def __init__(self, config: Any, **kwargs: Any):
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lean-sampler")
        self._next: Future | None = None
        self._next_request: tuple | None = None
        super().__init__(config=config, **kwargs)

    def _drain(self) -> None:
        """Wait for (and drop) a prefetched batch whose request no longer applies."""
        if self._next is not None:
            try:
                self._next.result()
            finally:
                self._next = None

    def wait_for_prefetch(self) -> None:
        """Block until the batch sampled in the background is complete (kept for the
        next ``sample()``); benchmarks call it so measurements do not overlap."""
        if self._next is not None:
            self._next.exception()

    def make_env(self) -> None:
        if getattr(self, "_next", None) is not None:
            self._drain()
        super().make_env()

    def sample(self, *, num_timesteps: int | None = None,  # type: ignore[override]  # as above
               num_episodes: int | None = None, explore: bool | None = None,
               random_actions: bool = False, force_reset: bool = False) -> list[Any]:
        request = self._request(num_timesteps, num_episodes, explore)
        if random_actions or force_reset or request[1] is not None:
            self._drain()  # episode sampling (evaluation) and resets stay synchronous
            return super().sample(num_timesteps=num_timesteps, num_episodes=num_episodes,
                                  explore=explore, random_actions=random_actions,
                                  force_reset=force_reset)
        with self.metrics.log_time(SAMPLE_TIMER):
            if self._next is not None and self._next_request == request:
                batch = self._next.result()
            else:
                self._drain()
                batch = self._collect(*request)
            self._next, self._next_request = self._pool.submit(self._collect, *request), request
            self._hand_out(batch)
        return batch.episodes

    def stop(self) -> None:
        if self._next is not None:
            self._next.exception()  # let it finish; its error no longer matters
            self._next = None
        self._pool.shutdown(wait=True)
        super().stop()
