"""The only package that imports ``ray.rllib``: builder, env adapters, modules, trainer.

RLlib's API churns between releases; keeping every RLlib import here keeps that churn
in one place.
"""

import logging as _logging

# RLlib logs deprecation notices for its own example classes at import time.
for _name in ("ray.rllib", "ray.tune", "ray.rllib.algorithms.ppo.torch.ppo_torch_rl_module"):
    _logging.getLogger(_name).setLevel(_logging.ERROR)
