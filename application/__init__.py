"""The application layer: use cases that drive the domain through the ports.

It imports only the domain and the ports; adapters are handed in by the composition root.
"""
