"""Adapters: implementations of the ports (storage, executors, clock, locks, observers, crypto)."""
