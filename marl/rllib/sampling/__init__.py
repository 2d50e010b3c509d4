"""The lean env runner (``resources.sampler: lean``; see ``runner.py``).

    runner.py    LeanEnvRunner, OverlappedLeanEnvRunner, configure_sampler
    loop.py      LeanLoop: one batched forward per module per step, per-agent lists
    episodes.py  MultiAgentEpisodes built once per batch from whole arrays
    fast_env.py  faster stepping of parallel and AEC PettingZoo envs (same results)
"""
