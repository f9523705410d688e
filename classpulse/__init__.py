"""Classpulse: engagement reports for recorded lectures."""

__version__ = "0.1.0"
