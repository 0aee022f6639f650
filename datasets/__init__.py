"""The catalogue of public datasets (package data): catalogue.toml."""
