"""CLI commands: board."""
import click  # noqa: F401

COMMANDS = []
