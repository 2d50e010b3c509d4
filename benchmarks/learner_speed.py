"""The learner's speed against the maths: RLlib's PPO update vs the same update as a plain
torch loop, on the same batch, network, epochs and minibatches, one torch thread.

For each env, one training batch is sampled once; then, alternated for ``--rounds``:

    rllib   ``learner_group.update(episodes)``: the learner connector pipeline (GAE
            included), minibatching, ``_update`` per minibatch, metrics (marl's lean
            minibatch loop, ``fast_update``, learners/ppo.py)
    stock   with ``--stock``: the same update through RLlib's own per-minibatch loop
            (``fast_update: false``; a second algorithm with the same weights)
    keep_rows  with ``--keep-rows``: the update with each chunk's bootstrap row left in
            the minibatches, masked out of the loss (``drop_bootstrap_rows: false``)
    plain   the CleanRL-style loop on the connector's output tensors, real (loss-mask)
            rows only: per epoch a shuffled split into the same minibatches, forward, PPO
            clipped surrogate + value loss + entropy, backward, grad clip, Adam step (a
            fresh copy of the module, so both start from the same weights)
    gae     the plain loop's advantages: one no-grad value pass over the batch's rows
            (bootstrap rows included) and GAE (RLlib's vectorized ``compute_value_targets``),
            what any PPO computes once per batch; ``plain + gae`` is the whole update's
            limit, the one ``rllib`` (which computes both in its pipeline) is read against
    pipeline  the learner connector pipeline alone (what ``rllib`` pays before any SGD)
    pipeline_rllib_pieces  the same pipeline with RLlib's own pieces put back: its
            ``AddOneTsToEpisodesAndTruncate`` for marl's ``AddBootstrapStep``
            (connectors/bootstrap_step.py) and its six batching pieces for marl's
            ``ModuleBatch`` (connectors/module_batch.py)
    step_marl, step_rllib  that piece alone: marl's ``AddBootstrapStep``, RLlib's
            ``AddOneTsToEpisodesAndTruncate`` (in the JSON)

Reported: medians in seconds and env steps per second, rllib / plain and rllib / (plain +
gae) (the issue's target: within 1.25x). Settings are the fixed ones of ``benchmarks/throughput.py``.

    .venv/bin/python benchmarks/learner_speed.py
    .venv/bin/python benchmarks/learner_speed.py --env competitive/connect_four-v0 --rounds 5
    .venv/bin/python benchmarks/learner_speed.py --stock   # also RLlib's own loop
    .venv/bin/python benchmarks/learner_speed.py --keep-rows   # also with bootstrap rows
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
ENVS = ("cooperative/spread-v0", "competitive/connect_four-v0")
FIXED = {"algorithm": {"train_batch_size": 2000, "minibatch_size": 256, "num_epochs": 5},
         "policies": {"model": {"hidden": [256, 256]}},
         "resources": {"num_env_runners": 0, "sampler": "lean"}}


def plain_update(module: Any, batch: dict[str, Any], epochs: int, minibatches: int,
                 clip: float, vf_coeff: float, ent_coeff: float, grad_clip: float,
                 lr: float) -> None:
    """PPO's update as CleanRL writes it (``cleanrl/ppo.py``), on already computed
    advantages and value targets."""
    import torch
    from ray.rllib.core.columns import Columns

    optimizer = torch.optim.Adam(module.parameters(), lr=lr, eps=1e-5)
    mask = batch[Columns.LOSS_MASK].bool()
    rows = {k: (v[mask] if not isinstance(v, dict) else {kk: vv[mask] for kk, vv in v.items()})
            for k, v in batch.items() if k in (Columns.OBS, Columns.ACTIONS, Columns.ACTION_LOGP,
                                              Columns.ADVANTAGES, Columns.VALUE_TARGETS)}
    n = len(rows[Columns.ACTIONS])
    for _ in range(epochs):
        order = torch.randperm(n)
        for idx in torch.tensor_split(order, minibatches):
            mb = {k: (v[idx] if not isinstance(v, dict) else {kk: vv[idx] for kk, vv in v.items()})
                  for k, v in rows.items()}
            logits = module._forward({Columns.OBS: mb[Columns.OBS]})[Columns.ACTION_DIST_INPUTS]
            logp_all = torch.log_softmax(logits, -1)
            logp = logp_all.gather(1, mb[Columns.ACTIONS].long()[:, None]).squeeze(1)
            ratio = torch.exp(logp - mb[Columns.ACTION_LOGP])
            adv = mb[Columns.ADVANTAGES]
            pg = -torch.min(ratio * adv, torch.clamp(ratio, 1 - clip, 1 + clip) * adv).mean()
            values = module.compute_values({Columns.OBS: mb[Columns.OBS]})
            v_loss = ((values - mb[Columns.VALUE_TARGETS]) ** 2).mean()
            entropy = -(torch.exp(logp_all) * torch.where(torch.isfinite(logp_all), logp_all,
                                                           torch.zeros_like(logp_all))).sum(-1)
            loss = pg + vf_coeff * v_loss - ent_coeff * entropy.mean()
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(module.parameters(), grad_clip)
            optimizer.step()


def plain_gae(module: Any, batch: dict[str, Any], gamma: float, lambda_: float) -> Any:
    """Advantages as a plain PPO computes them once per batch: values of every row, then
    GAE (the same arithmetic as marl's TeamGAE, without the episode bookkeeping)."""
    import torch
    from ray.rllib.core.columns import Columns
    from ray.rllib.utils.postprocessing.value_predictions import compute_value_targets

    with torch.no_grad():
        values = module.compute_values({Columns.OBS: batch[Columns.OBS]}).numpy()
    targets = compute_value_targets(
        values=values, rewards=batch[Columns.REWARDS].numpy(),
        terminateds=batch[Columns.TERMINATEDS].numpy(),
        truncateds=batch[Columns.TRUNCATEDS].numpy(), gamma=gamma, lambda_=lambda_)
    valid = batch[Columns.LOSS_MASK].numpy().astype(bool)
    adv = targets - values
    return (adv - adv[valid].mean()) / max(1e-4, float(adv[valid].std()))


def measure(env_id: str, rounds: int, stock: bool = False, profile: int = 0,
            keep_rows: bool = False) -> dict[str, Any]:
    import torch
    from ray.rllib.connectors.learner import AddOneTsToEpisodesAndTruncate
    from ray.rllib.execution.rollout_ops import synchronous_parallel_sample
    from ray.rllib.utils.metrics import NUM_ENV_STEPS_SAMPLED_LIFETIME

    from marl.experiment import resolve
    from marl.rllib.builder import build_config
    from marl.rllib.connectors.bootstrap_step import AddBootstrapStep
    from marl.rllib.connectors.module_batch import ModuleBatch
    from marl.rllib.env.creator import register
    from marl.rllib.trainer import init_ray
    from marl.spec import spec_from_dict

    torch.set_num_threads(1)
    spec = spec_from_dict({"name": "learner_speed", "env": {"id": env_id}, **FIXED})
    init_ray(spec)
    register()
    algo = build_config(resolve(spec)).build_algo()
    config = algo.config
    def twin(setting: str) -> Any:  # a second algorithm, one learner setting off, same weights
        twin_config = build_config(resolve(spec))
        twin_config.learner_config_dict["marl"][setting] = False
        twin_algo = twin_config.build_algo()
        twin_algo.learner_group._learner.module.set_state(
            algo.learner_group._learner.module.get_state())
        return twin_algo

    stock_algo = twin("fast_update") if stock else None
    keep_algo = twin("drop_bootstrap_rows") if keep_rows else None
    try:
        episodes = synchronous_parallel_sample(
            worker_set=algo.env_runner_group, max_env_steps=config.total_train_batch_size,
            _uses_new_env_runners=True)
        steps = sum(len(e) for e in episodes)
        learner = algo.learner_group._learner
        module_id = next(iter(learner.module.keys()))
        times: dict[str, list[float]] = {"rllib": [], "plain": [], "gae": [], "pipeline": [],
                                         "pipeline_rllib_pieces": []}
        rllib_pieces: list[Any] = []  # the pipeline with RLlib's pieces put back
        for c in learner._learner_connector.connectors:
            rllib_pieces += ([AddOneTsToEpisodesAndTruncate()] if type(c) is AddBootstrapStep
                           else list(c.pieces) if type(c) is ModuleBatch else [c])
        if stock_algo is not None:
            times["stock"] = []
        if keep_algo is not None:
            times["keep_rows"] = []
        rows = 0
        for _ in range(rounds):
            for name, which in (("rllib", algo), ("stock", stock_algo),
                                ("keep_rows", keep_algo)):
                if which is None:
                    continue
                batch_eps = copy.deepcopy(episodes)
                start = time.perf_counter()
                which.learner_group.update(
                    episodes=batch_eps, timesteps={NUM_ENV_STEPS_SAMPLED_LIFETIME: steps},
                    num_epochs=config.num_epochs, minibatch_size=config.minibatch_size,
                    shuffle_batch_per_epoch=config.shuffle_batch_per_epoch)
                times[name].append(time.perf_counter() - start)

            batch_eps = copy.deepcopy(episodes)
            start = time.perf_counter()
            batch = learner._learner_connector(rl_module=learner.module, batch={},
                                               episodes=batch_eps, shared_data={},
                                               metrics=learner.metrics)
            times["pipeline"].append(time.perf_counter() - start)
            other_eps, other = copy.deepcopy(episodes), {}
            start = time.perf_counter()
            for piece in rllib_pieces:
                other = piece(rl_module=learner.module, batch=other, episodes=other_eps,
                              shared_data={}, metrics=learner.metrics)
            times["pipeline_rllib_pieces"].append(time.perf_counter() - start)
            for name, eps in (("step_marl", copy.deepcopy(episodes)),
                              ("step_rllib", copy.deepcopy(episodes))):
                piece = next(c for c in (learner._learner_connector.connectors
                                         if name == "step_marl" else rllib_pieces)
                             if isinstance(c, AddOneTsToEpisodesAndTruncate))
                start = time.perf_counter()
                piece(rl_module=learner.module, batch={}, episodes=eps, shared_data={},
                      metrics=learner.metrics)
                times.setdefault(name, []).append(time.perf_counter() - start)
            module_batch = batch[module_id]
            # minibatches of real rows, as the learner cuts them (learners/ppo.py,
            # drop_bootstrap_rows): the plain loop trains on the loss-mask rows only
            rows = int(module_batch["loss_mask"].sum())
            module = copy.deepcopy(learner.module[module_id].unwrapped())
            start = time.perf_counter()
            plain_gae(module, module_batch, config.gamma, config.lambda_)
            times["gae"].append(time.perf_counter() - start)
            minibatches = max(1, -(-rows // config.minibatch_size))
            start = time.perf_counter()
            plain_update(module, module_batch, config.num_epochs, minibatches,
                         config.clip_param, config.vf_loss_coeff, config.entropy_coeff,
                         config.grad_clip, 3e-4)
            times["plain"].append(time.perf_counter() - start)
        if profile:  # where one more update's time goes, after the timed rounds
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            batch_eps = copy.deepcopy(episodes)
            profiler.enable()
            algo.learner_group.update(
                episodes=batch_eps, timesteps={NUM_ENV_STEPS_SAMPLED_LIFETIME: steps},
                num_epochs=config.num_epochs, minibatch_size=config.minibatch_size,
                shuffle_batch_per_epoch=config.shuffle_batch_per_epoch)
            profiler.disable()
            print(f"--- {env_id}: one update under cProfile, by own time")
            pstats.Stats(profiler).sort_stats("tottime").print_stats(profile)
            print(f"--- {env_id}: by cumulative time")
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(profile)
    finally:
        algo.stop()
        for other_algo in (stock_algo, keep_algo):
            if other_algo is not None:
                other_algo.stop()
    med = {k: statistics.median(v) for k, v in times.items()}
    return {"env": env_id, "env_steps": steps, "rows": rows, "seconds": times,
            "median_s": med, "env_steps_per_s": {k: steps / v for k, v in med.items()},
            "rllib_over_plain": med["rllib"] / med["plain"],
            "rllib_over_plain_with_gae": med["rllib"] / (med["plain"] + med["gae"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env", action="append", choices=ENVS)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--stock", action="store_true",
                        help="also time RLlib's own minibatch loop (fast_update: false)")
    parser.add_argument("--keep-rows", action="store_true",
                        help="also time the update with the bootstrap rows kept in the "
                             "minibatches (drop_bootstrap_rows off)")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="then profile one more update and print its top N functions")
    parser.add_argument("--out", type=Path,
                        default=REPO / "benchmarks" / "results" / "learner_speed.json")
    args = parser.parse_args()
    os.environ.setdefault("WANDB_MODE", "disabled")
    load = os.getloadavg()[0]
    results = [measure(env_id, args.rounds, args.stock, args.profile, args.keep_rows)
               for env_id in args.env or ENVS]
    print(f"load before: {load:.2f}; one torch thread; medians of {args.rounds} rounds")
    stock = (" stock s stock/plain" if args.stock else "") + (" keep-rows s" if args.keep_rows else "")
    print(f"{'env':<30}{'rows':>7}{'rllib s':>9}{'plain s':>9}{'gae s':>7}{'pipeline s':>12}"
          f"{'RLlib pieces':>16}{'rllib/plain':>13}{'rllib/(plain+gae)':>19}{stock}")
    for r in results:
        m = r["median_s"]
        tail = (f"{m['stock']:>8.2f}{m['stock'] / m['plain']:>12.2f}" if "stock" in m else "")
        tail += f"{m['keep_rows']:>13.3f}" if "keep_rows" in m else ""
        print(f"{r['env']:<30}{r['rows']:>7}{m['rllib']:>9.3f}{m['plain']:>9.3f}{m['gae']:>7.3f}"
              f"{m['pipeline']:>12.3f}{m['pipeline_rllib_pieces']:>16.3f}"
              f"{r['rllib_over_plain']:>13.2f}"
              f"{r['rllib_over_plain_with_gae']:>19.2f}{tail}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"load_before": load, "rounds": args.rounds,
                                    "results": results}, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
