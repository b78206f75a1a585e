"""Real-time remote-participation meeting assistant."""

__version__ = "0.1.0"
