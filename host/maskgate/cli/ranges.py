"""Numeric option types that refuse what click's ranges let through: click.FloatRange accepts
nan (every comparison with nan is false) and inf, and `--threshold nan` must not reach the door."""
import math

import click


class FloatRange(click.FloatRange):
    """click.FloatRange that also refuses nan and +-inf (exit 2, the option named)."""

    def convert(self, value, param, ctx):
        rv = super().convert(value, param, ctx)
        if not math.isfinite(rv):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return rv


class Finite(click.types.FloatParamType):
    """A float option without a range: still no nan or inf."""

    def convert(self, value, param, ctx):
        rv = super().convert(value, param, ctx)
        if not math.isfinite(rv):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return rv
