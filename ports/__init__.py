"""The ports: the interfaces the application needs from the outside world.

Each is a small ``typing.Protocol`` (or an ABC where users subclass it). Ports import only the
domain; adapters implement them.
"""
