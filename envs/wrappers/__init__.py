"""PettingZoo-level wrappers: named preprocessing stacks, masks, reward shaping."""
