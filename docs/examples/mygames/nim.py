"""Nim with one heap: players take 1-3 stones in turn; whoever takes the last stone wins."""

import functools

import gymnasium as gym
import numpy as np
from pettingzoo import AECEnv
from pettingzoo.utils import AgentSelector


class Nim(AECEnv):
    metadata = {"name": "nim_v0", "is_parallelizable": False}

    def __init__(self, stones: int = 15):
        super().__init__()
        self.start = stones
        self.possible_agents = ["player_0", "player_1"]

    @functools.lru_cache(maxsize=None)  # PettingZoo's api test wants the same object
    def observation_space(self, agent):
        return gym.spaces.Dict({
            "observation": gym.spaces.Box(0, 1, (self.start + 1,), np.float32),  # one-hot heap
            "action_mask": gym.spaces.Box(0, 1, (3,), np.int8),                 # take 1, 2, 3
        })

    @functools.lru_cache(maxsize=None)
    def action_space(self, agent):
        return gym.spaces.Discrete(3)

    def observe(self, agent):
        heap = np.zeros(self.start + 1, np.float32)
        heap[self.heap] = 1.0
        mask = np.array([self.heap >= k for k in (1, 2, 3)], np.int8)
        return {"observation": heap, "action_mask": mask}

    def reset(self, seed=None, options=None):
        self.heap = self.start
        self.agents = list(self.possible_agents)
        self.rewards = {a: 0.0 for a in self.agents}
        self._cumulative_rewards = {a: 0.0 for a in self.agents}
        self.terminations = {a: False for a in self.agents}
        self.truncations = {a: False for a in self.agents}
        self.infos = {a: {} for a in self.agents}
        self._turns = AgentSelector(self.agents)
        self.agent_selection = self._turns.reset()

    def step(self, action):
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            return self._was_dead_step(action)
        self._cumulative_rewards[agent] = 0.0
        self.heap -= int(action) + 1
        self.rewards = {a: 0.0 for a in self.agents}
        if self.heap <= 0:
            other = self.possible_agents[1 - self.possible_agents.index(agent)]
            self.rewards[agent], self.rewards[other] = 1.0, -1.0
            self.terminations = {a: True for a in self.agents}
        self.agent_selection = self._turns.next()
        self._accumulate_rewards()


def env(**kwargs):
    return Nim(**kwargs)
