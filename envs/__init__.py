"""Environments and wrappers; never imports `marl`."""
