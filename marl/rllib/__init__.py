"""The only package that imports ``ray.rllib``: RLlib's config / RLModule / Learner /
ConnectorV2 / callback seams, and the driver-side trainer.

    builder.py    resolved experiment -> AlgorithmConfig (the one place)
    trainer.py    start Ray, build or restore the Algorithm, train, save
    env/          PettingZoo envs as MultiAgentEnvs (adapters, mappo critic input)
    modules/      RLModules: the one actor-critic, ValueNorm, scripted opponents, specs
    learners/     ippo/mappo config + learner, losses, multi-learner fixes
    connectors/   learner connector pieces (team GAE)
    sampling/     the lean env runner
    league/       the league applied to RLlib (layout, callback, runtime)
    callbacks/    cluster hooks, social metrics
    mapping.py    agent -> policy mapping fn of fixed (non-league) runs
    inference.py  checkpoint -> ``act(observations)`` callables
    metrics.py    RLlib results -> our flat metric keys
    perf.py       measurement helpers for benchmarks

RLlib's API churns between releases; keeping every RLlib import here keeps that churn
in one place.
"""

import logging as _logging
import os as _os

from marl.rllib import _legacy

_legacy.install()  # checkpoints of marl 0.1 name classes by their old import paths

# RLlib logs deprecation notices for its own classes (at import time, and one for every
# RLModule built: RLModule.__init__ makes a deprecated RLModuleConfig). Runs in every
# Ray worker too: workers import marl.rllib to unpickle our classes.
# MARL_VERBOSE=1 (marl train --verbose) keeps them.
if _os.environ.get("MARL_VERBOSE") != "1":
    for _name in ("ray.rllib", "ray.tune", "ray.rllib.algorithms.ppo.torch.ppo_torch_rl_module",
                  "ray._common.deprecation"):
        _logging.getLogger(_name).setLevel(_logging.ERROR)
