"""CLI commands: optimize."""
import click  # noqa: F401

COMMANDS = []
