"""The lean sampler (``resources.sampler: lean``) against RLlib's stock env runner.

Real Ray, real envs, real RLlib with tiny budgets. The rest of the suite runs against
either runner with ``pytest --sampler stock|lean`` (tests/conftest.py); here:

* equivalence: with a fixed seed and a deterministic policy, both runners return the
  same episode chunks (observations, actions, rewards, log-probs, infos, flags,
  boundaries) for a few hundred steps, on a parallel and a turn-based env;
* lean batches train (PPO, MAPPO); a module added mid-run plays in new episodes; a
  killed runner comes back with the current mapping; checkpoints restore the runner;
* the env speed-ups (``lean_env``) leave env results unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from envs.registry import make_env
from marl.errors import SpecError
from marl.spec import spec_from_dict
from runner_restart import kill_runner_and_train_until_back, league_after_one_iteration  # tests/rllib/

pytestmark = [pytest.mark.timeout(900), pytest.mark.own_sampler]

SPREAD, C4 = "cooperative/spread-v0", "competitive/connect_four-v0"
TINY: dict[str, Any] = {
    "seed": 0,
    "resources": {"num_env_runners": 0, "num_envs_per_env_runner": 4, "num_cpus": 2,
                  "sampler": "lean"},
    "algorithm": {"train_batch_size": 200, "minibatch_size": 64, "num_epochs": 1},
    "policies": {"model": {"hidden": [32]}},
    "tracking": {"wandb": {"mode": "disabled"}, "tensorboard": False},
    "evaluation": {"at_end": False},
}


def _spec(env_id: str, **over: Any):
    data = {"name": "lean", "env": {"id": env_id}, **TINY}
    for key, value in over.items():
        data[key] = {**data[key], **value} if isinstance(data.get(key), dict) else value
    return spec_from_dict(data)


# ------------------------------------------------------------------ env speed-ups (no Ray)
def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(np.array_equal(np.asarray(a), np.asarray(b)))


def test_fast_parallel_steps_exactly_like_the_conversion_wrapper() -> None:
    from marl.rllib.sampling.fast_env import FastParallel, speed_up_parallel

    class Holder:
        env: Any

    for env_id, config in ((SPREAD, {}), ("competitive/tag-v0", {"max_cycles": 30})):
        ref, holder = make_env(env_id, config), Holder()
        holder.env = make_env(env_id, config)
        assert speed_up_parallel(holder) and isinstance(holder.env, FastParallel)
        fast, rng = holder.env, np.random.default_rng(0)
        for episode in range(3):
            seed = episode if episode < 2 else None
            assert _same(ref.reset(seed=seed), fast.reset(seed=seed))
            while ref.agents:
                actions = {a: int(rng.integers(ref.action_space(a).n)) for a in ref.agents}
                assert _same(ref.step(actions), fast.step(actions))
                assert ref.agents == fast.agents
            assert not fast.agents
        assert np.array_equal(ref.state(), fast.state())


def test_fast_aec_reads_keep_connect_four_results() -> None:
    from marl.rllib.env.creator import make_rllib_env
    from marl.rllib.sampling.fast_env import speed_up_aec

    ref, fast = make_rllib_env({"id": C4}), make_rllib_env({"id": C4})
    assert speed_up_aec(fast)
    rng = np.random.default_rng(1)
    for episode in range(5):
        r_obs, _ = ref.reset(seed=episode)
        f_obs, _ = fast.reset(seed=episode)
        while True:
            assert _same(r_obs, f_obs)
            (agent, o), = r_obs.items()
            legal = np.flatnonzero(o["action_mask"])
            # Every 7th move is illegal: the illegal-move wrapper must still end the game.
            action = int(rng.integers(7)) if rng.random() < 1 / 7 else int(rng.choice(legal))
            r = ref.step({agent: action})
            f = fast.step({agent: action})
            assert _same(r[1:4], f[1:4])
            r_obs, f_obs = r[0], f[0]
            if r[2]["__all__"] or r[3]["__all__"]:
                assert _same(r_obs, f_obs)
                break
            r_obs = {a: x for a, x in r_obs.items() if not (r[2].get(a) or r[3].get(a))}
            f_obs = {a: x for a, x in f_obs.items() if not (f[2].get(a) or f[3].get(a))}


# ------------------------------------------------------------------ equivalence with stock
def _runners(env_id: str, num_envs: int) -> tuple[Any, Any]:
    from ray.rllib.env.multi_agent_env_runner import MultiAgentEnvRunner

    from marl.experiment import resolve
    from marl.rllib.builder import build_config
    from marl.rllib.env.creator import register
    from marl.rllib.sampling.runner import LeanEnvRunner

    register()
    # The bare game (connect four's preset opens training games at random).
    spec = _spec(env_id, seed=3, resources={"num_envs_per_env_runner": num_envs,
                                            "sampler": "stock"},
                 env={"random_opening": 0})
    config = build_config(resolve(spec))
    config = config.env_runners(explore=False)  # deterministic: argmax actions
    stock = MultiAgentEnvRunner(config=config, worker_index=0)
    lean = LeanEnvRunner(config=config, worker_index=0)
    lean.set_state(stock.get_state())
    return stock, lean


def _chunk_view(ep: Any) -> dict[str, Any]:
    from ray.rllib.core.columns import Columns

    agents = {}
    for aid, sa in ep.agent_episodes.items():
        n = len(sa)
        obs = sa.get_observations(slice(0, n + 1))
        agents[aid] = {
            "module": sa.module_id, "t_started": sa.t_started, "obs": obs,
            "actions": sa.get_actions(slice(0, n)), "rewards": sa.get_rewards(slice(0, n)),
            "logp": np.round(sa.get_extra_model_outputs(Columns.ACTION_LOGP, slice(0, n)), 5),
            "infos": sa.get_infos(slice(0, n + 1)),
            "flags": (sa.is_terminated, sa.is_truncated)}
    return {"env_t": (ep.env_t_started, len(ep)), "flags": (ep.is_terminated, ep.is_truncated),
            "agents": agents, "last_infos": ep.get_infos(-1)}


def _key(view: dict[str, Any]) -> tuple:
    if not view["agents"]:  # a chunk of one turn: nobody completed a step yet
        return view["env_t"], b""
    first = next(iter(sorted(view["agents"].items())))[1]["obs"]
    first = first["observations"] if isinstance(first, dict) else first
    return view["env_t"], np.asarray(first).round(4).tobytes()


def _assert_same(a: Any, b: Any, path: str) -> None:
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), path
        for k in a:
            _assert_same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, (list, tuple)) and a and isinstance(a[0], dict):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, (np.ndarray, list, tuple)):
        x, y = np.asarray(a), np.asarray(b)
        assert x.shape == y.shape and np.allclose(x, y, atol=1e-5), (path, x, y)
    elif isinstance(a, float):
        assert a == pytest.approx(b, abs=1e-6), (path, a, b)
    else:
        assert a == b, (path, a, b)


@pytest.mark.parametrize(("env_id", "num_envs"), [(SPREAD, 1), (SPREAD, 3), (C4, 1), (C4, 3)])
def test_lean_and_stock_runners_return_the_same_episodes(env_id: str, num_envs: int) -> None:
    stock, lean = _runners(env_id, num_envs)
    episodes = 0
    steps = 0
    for call in range(8):  # 8 x ~37 env steps: chunks cut mid-episode (and mid-turn)
        s_views = sorted((_chunk_view(e) for e in stock.sample(num_timesteps=37)), key=_key)
        l_views = sorted((_chunk_view(e) for e in lean.sample(num_timesteps=37)), key=_key)
        assert len(s_views) == len(l_views), f"call {call}"
        for s, ln in zip(s_views, l_views, strict=True):
            _assert_same(s, ln, f"call {call}")
            episodes += s["flags"][0] or s["flags"][1]
            steps += s["env_t"][1]
    assert steps >= 296 and episodes >= 8
    s_metrics, l_metrics = stock.get_metrics(), lean.get_metrics()
    for key in ("episode_return_mean", "episode_len_mean", "num_episodes",
                "num_env_steps_sampled", "agent_episode_returns_mean",
                "module_episode_returns_mean", "num_agent_steps_sampled",
                "num_module_steps_sampled"):
        _assert_same(_peek(s_metrics[key]), _peek(l_metrics[key]), key)


def _peek(stats: Any) -> Any:
    if isinstance(stats, dict):
        return {k: _peek(v) for k, v in stats.items()}
    return float(stats.peek())


# ------------------------------------------------------------------ training with lean batches
def _weights(trainer: Any, module: str) -> dict[str, np.ndarray]:
    state = trainer.algo.learner_group.get_state(components=f"learner/rl_module/{module}")
    return {k: np.asarray(v) for k, v in state["learner"]["rl_module"][module].items()}


def _module_weights(algo: Any) -> dict[str, dict[str, np.ndarray]]:
    state = algo.learner_group.get_state(components="learner/rl_module")
    return {m: {k: np.asarray(v) for k, v in w.items()}
            for m, w in state["learner"]["rl_module"].items()}


@pytest.mark.parametrize("algorithm", ["ppo", "mappo"])
def test_lean_batches_train(ray_session, algorithm: str) -> None:
    from marl.rllib.sampling.runner import LeanEnvRunner
    from marl.rllib.trainer import RLlibTrainer

    trainer = RLlibTrainer.from_spec(_spec(SPREAD, algorithm={"name": algorithm}))
    try:
        assert isinstance(trainer.algo.env_runner, LeanEnvRunner)
        before = _weights(trainer, "shared")
        for _ in range(2):
            metrics, _ = trainer.train()
        after = _weights(trainer, "shared")
    finally:
        trainer.stop()
    losses = [v for k, v in metrics.items() if k.startswith("train/shared/")]
    assert losses and all(np.isfinite(losses))
    assert any(not np.array_equal(before[k], after[k]) for k in before), "weights unchanged"
    assert metrics["perf/env_steps_total"] >= 400
    assert np.isfinite(metrics["rollout/episode_return_mean"])


@pytest.mark.parametrize("remote", [False, True], ids=["local", "remote-overlap"])
def test_module_added_mid_run_plays_in_new_episodes(ray_session, remote: bool) -> None:
    """A league snapshot: add_module + a new mapping fn; new episodes use it."""
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec

    from marl.rllib.mapping import AgentToPolicy
    from marl.rllib.trainer import RLlibTrainer

    resources = {"num_env_runners": 1, "overlap": True} if remote else {}
    trainer = RLlibTrainer.from_spec(_spec(C4, resources=resources))
    try:
        algo = trainer.algo
        trainer.train()
        weights = algo.learner_group.get_state(
            components="learner/rl_module/shared")["learner"]["rl_module"]["shared"]
        fn = AgentToPolicy((("player_0", "shared"), ("player_1", "snap")))
        algo.add_module(module_id="snap",
                        module_spec=RLModuleSpec.from_module(algo.get_module("shared")),
                        new_agent_to_module_mapping_fn=fn, new_should_module_be_updated=["shared"])
        algo.set_state({"learner_group": {"learner": {"rl_module": {"snap": weights}}}})
        seen: dict[str, float] = {}
        for _ in range(3):  # in-flight episodes (and a prefetched batch) finish first
            _, result = trainer.train()
            seen = result["env_runners"].get("module_episode_returns_mean", {})
        assert "snap" in seen, seen
        modules = algo.env_runner_group.foreach_env_runner(
            lambda er: sorted(er.module.keys()), local_env_runner=not remote)
        assert all("snap" in m for m in modules)
    finally:
        trainer.stop()


def test_killed_lean_runner_restarts_with_the_current_mapping(ray_session, tmp_path: Path
                                                              ) -> None:
    """League run, overlapping lean runner: the runner dies, Ray restarts it, the league
    callback pushes the current mapping, training goes on; a checkpoint restores it."""
    from ray.rllib.algorithms.algorithm import Algorithm

    from marl.rllib.sampling.runner import OverlappedLeanEnvRunner

    spec = _spec(C4, resources={"num_env_runners": 1, "overlap": True},
                 algorithm={"train_batch_size": 256},
                 league={"scripted": [], "replay": False, "snapshot_step_budget": 100_000})
    trainer, algo, _ = league_after_one_iteration(spec)
    try:
        kinds = algo.env_runner_group.foreach_env_runner(
            lambda er: type(er).__name__, local_env_runner=False)
        assert kinds == [OverlappedLeanEnvRunner.__name__]
        pid_before, after = kill_runner_and_train_until_back(algo)
        assert len(after) == 1 and after[0][0] != pid_before, "not restarted"
        assert after[0][1] == 1, "the restarted runner kept its construction-time mapping"
        _, result = trainer.train()
        assert result["env_runners"]["num_env_steps_sampled"] >= 256
        path = tmp_path / "ckpt"
        trainer.save(path)
        saved = _module_weights(algo)
    finally:
        trainer.stop()
    restored = Algorithm.from_checkpoint(str(path))
    try:
        assert type(restored.env_runner_group.local_env_runner) is OverlappedLeanEnvRunner
        got = _module_weights(restored)
        assert got.keys() == saved.keys() and any(saved.values())
        for module, weights in saved.items():
            assert all(np.array_equal(got[module][k], weights[k]) for k in weights), module
        result = restored.train()
        assert result["env_runners"]["num_env_steps_sampled"] >= 256
    finally:
        restored.stop()


# ------------------------------------------------------------------ spec and config checks
def test_spec_checks_the_sampler_settings() -> None:
    default = spec_from_dict({"name": "d", "env": {"id": SPREAD}}).resources
    assert (default.sampler, default.overlap) == ("auto", False)
    with pytest.raises(SpecError, match="overlap needs the lean sampler"):
        _spec(SPREAD, resources={"sampler": "stock", "overlap": True, "num_env_runners": 1})
    with pytest.raises(SpecError, match="num_env_runners >= 1"):
        _spec(SPREAD, resources={"overlap": True, "num_env_runners": 0})


def test_lean_sampler_refuses_per_step_callbacks() -> None:
    from ray.rllib.callbacks.callbacks import RLlibCallback

    from marl.experiment import resolve
    from marl.rllib.builder import build_config
    from marl.rllib.sampling.runner import LeanEnvRunner

    class PerStep(RLlibCallback):
        def on_episode_step(self, **kwargs: Any) -> None:
            pass

    config = build_config(resolve(_spec(SPREAD)), callbacks=[RLlibCallback])
    assert config.env_runner_cls is LeanEnvRunner
    with pytest.raises(SpecError, match="on_episode_step.*sampler: stock"):
        build_config(resolve(_spec(SPREAD)), callbacks=[PerStep])
    # auto: lean where it can, the stock runner where a run needs it
    auto = _spec(SPREAD, resources={"sampler": "auto"})
    assert build_config(resolve(auto), callbacks=[RLlibCallback]).env_runner_cls is LeanEnvRunner
    assert build_config(resolve(auto), callbacks=[PerStep]).env_runner_cls is None
