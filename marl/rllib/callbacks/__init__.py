"""RLlibCallbacks each feature brings (registered by ``marl.rllib.builder``).

    cluster.py  ClusterHooks: multi-learner fixes, placement, lost/restarted env runners
    social.py   SocialMetricsCallback: social metrics of mixed-motive and shaped runs
    costs.py    CostCallback: episode costs and Lagrange multiplier updates (constraints)
"""
