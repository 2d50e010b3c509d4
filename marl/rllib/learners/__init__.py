"""Learners: losses and the update step, per module.

    mappo.py          MappoConfig + MappoTorchLearner (ippo, mappo): PPO's policy loss and
                      the team critic's normalized, clipped Huber value loss
    coma.py           ComaConfig + ComaTorchLearner (coma): the MAPPO learner on COMA's
                      counterfactual advantages and Q critic
    lagrangian.py     algorithm.constraints: LagrangianMixin over the ppo and mappo
                      learners (cost critics' loss, Lagrange multiplier updates)
    losses.py         clipped surrogate and value losses, per row
    multi_learner.py  fixes for >= 2 learners (covering shards, one module order)
"""
