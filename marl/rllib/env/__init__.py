"""PettingZoo envs as RLlib ``MultiAgentEnv``s, built on every env runner from plain config.

    adapters.py      AecAdapter (turn-based), ParallelAdapter (simultaneous moves)
    critic_input.py  mappo: each agent's critic input in infos
    creator.py       make_rllib_env, register: the env creator RLlib calls on runners
"""
