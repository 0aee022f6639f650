"""Build configurations (package data): default.toml is the recipe of the shipped model."""
