"""The domain layer: task lifecycle, retry policy, priority and events.

Pure Python. It imports nothing from the other layers and performs no I/O; time is always
passed in.
"""
