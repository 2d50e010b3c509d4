"""The env side of the lean sampler: PettingZoo envs without their wrappers' overhead.

Parallel envs
-------------

Many PettingZoo parallel envs (all of MPE) are AEC envs behind ``aec_to_parallel_wrapper``.
Per parallel step that wrapper walks every agent through the AEC wrapper chain
(``OrderEnforcingWrapper`` -> ``AssertOutOfBoundsWrapper`` -> raw env) and calls
``last()``, which computes an observation it then throws away. On simple_spread that is
about 40 % of ``env.step``.

``FastParallel`` does the same cycle on the raw AEC env: one ``step`` per live agent in
``agents`` order, rewards summed over the cycle, then observations of the agents still
in the game and the dead-agent clean-up steps, exactly as ``aec_to_parallel_wrapper``
orders them. It is used only where the skipped wrappers are the two that merely check
(order enforcement, action bounds): the policy's actions always lie in the space.

Turn-based envs
---------------
PettingZoo's AEC wrappers forward every attribute read (``agent_selection``,
``terminations``, ``_cumulative_rewards``, ...) through ``__getattr__``, once per wrapper
layer: connect four's chain (mask dicts, order enforcing, bounds, illegal-move
termination) costs ~50 such hops per turn. ``speed_up_aec`` drops the two check-only
wrappers from the chain and lets the adapter read that state straight from the raw env
(``FastAecReads``), where every wrapper writes it. ``observe`` and ``step`` still go
through the remaining wrappers (mask dicts, illegal-move termination), so behaviour is
unchanged.

Nothing here imports Ray.
"""

from __future__ import annotations

from typing import Any

from envs.wrappers.lean_parallel import cycle

__all__ = ["FastParallel", "FastAecReads", "speed_up_aec", "speed_up_parallel"]

# Wrappers that only check their caller; skipping them leaves the env's behaviour alone.
_CHECK_ONLY = ("OrderEnforcingWrapper", "AssertOutOfBoundsWrapper")


class FastParallel:
    """A parallel env over a parallelizable raw AEC env, same results as
    ``pettingzoo.utils.conversions.aec_to_parallel_wrapper``."""

    def __init__(self, raw_aec: Any, original: Any):
        self.aec_env = raw_aec
        self._original = original  # spaces, metadata, render: unchanged
        self.possible_agents = list(raw_aec.possible_agents)
        self.agents: list[str] = []
        self.metadata = original.metadata

    def observation_space(self, agent: str) -> Any:
        return self._original.observation_space(agent)

    def action_space(self, agent: str) -> Any:
        return self._original.action_space(agent)

    @property
    def unwrapped(self) -> Any:
        return self.aec_env

    def reset(self, seed: int | None = None, options: dict | None = None):
        env = self.aec_env
        env.reset(seed=seed, options=options)
        self.agents = env.agents[:]
        obs = {a: env.observe(a) for a in env.agents
               if not (env.terminations[a] or env.truncations[a])}
        return obs, dict(**env.infos)

    def step(self, actions: dict[str, Any]):
        # The raw env cycles in `agents` order, as the wrapper asserts.
        result = cycle(self.aec_env, actions)
        self.agents = self.aec_env.agents
        return result

    def state(self) -> Any:
        return self.aec_env.state()

    def render(self) -> Any:
        return self.aec_env.render()

    def close(self) -> None:
        self.aec_env.close()


def _fast_version(env: Any) -> Any | None:
    """``FastParallel`` for an ``aec_to_parallel_wrapper`` over check-only wrappers."""
    if type(env).__name__ != "aec_to_parallel_wrapper":
        return None
    inner = env.aec_env
    while type(inner).__name__ in _CHECK_ONLY:
        inner = inner.env
    if hasattr(inner, "env") or not inner.metadata.get("is_parallelizable", False):
        return None  # another wrapper changes behaviour: keep the original chain
    return FastParallel(inner, env)


def speed_up_parallel(holder: Any, attr: str = "env") -> bool:
    """Swap the conversion wrapper under ``holder.<attr>`` (at any depth of ``.env``
    wrappers, e.g. below reward shaping) for a ``FastParallel``. Returns whether it did."""
    for _ in range(16):  # wrapper depth; an env is never nested deeper
        env = getattr(holder, attr, None)
        if env is None:
            return False
        fast = _fast_version(env)
        if fast is not None:
            setattr(holder, attr, fast)
            return True
        holder, attr = env, "env"
    return False


_STATE = ("agent_selection", "terminations", "truncations", "_cumulative_rewards", "infos",
          "agents", "rewards")


class FastAecReads:
    """An AEC env whose state attributes are read from the raw env; ``observe``,
    ``step``, ``reset`` and everything else go through ``outer``'s wrappers."""

    def __init__(self, outer: Any):
        self._outer = outer
        self._raw = outer.unwrapped

    agent_selection = property(lambda self: self._raw.agent_selection)
    terminations = property(lambda self: self._raw.terminations)
    truncations = property(lambda self: self._raw.truncations)
    _cumulative_rewards = property(lambda self: self._raw._cumulative_rewards)
    infos = property(lambda self: self._raw.infos)
    agents = property(lambda self: self._raw.agents)
    rewards = property(lambda self: self._raw.rewards)

    def observe(self, agent: str) -> Any:
        return self._outer.observe(agent)

    def step(self, action: Any) -> None:
        self._outer.step(action)

    def reset(self, seed: int | None = None, options: dict | None = None) -> None:
        self._outer.reset(seed=seed, options=options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._outer, name)


def _overrides_state(wrapper: Any) -> bool:
    return any(name in vars(type(wrapper)) or name in vars(wrapper) for name in _STATE)


def speed_up_aec(holder: Any, attr: str = "env") -> bool:
    """Drop check-only wrappers below ``holder.<attr>`` and read state from the raw env.

    Left alone (returns False) when a wrapper in the chain keeps its own copy of that
    state, or the chain is not made of PettingZoo ``BaseWrapper``s."""
    from pettingzoo import AECEnv
    from pettingzoo.utils.wrappers.base import BaseWrapper

    outer = getattr(holder, attr, None)
    if not isinstance(outer, AECEnv):
        return False
    parent, key, node = holder, attr, outer
    while isinstance(node, BaseWrapper):
        if type(node).__name__ in _CHECK_ONLY:
            setattr(parent, key, node.env)  # unlink it
            node = node.env
            continue
        if _overrides_state(node):
            return False
        parent, key, node = node, "env", node.env
    setattr(holder, attr, FastAecReads(getattr(holder, attr)))
    return True
