"""The `maskgate` command: a thin click group. Each module below adds its commands;
every command parses options and calls one function that does the work."""
import sys

import click

from maskgate import __version__
from maskgate.errors import MaskgateError, as_named_error

from . import board, data, model, optimize


class _Group(click.Group):
    """The top group: a MaskgateError (or an OSError / text-encoding error that escaped the
    place the file was known, named here from the error) becomes one red line and its exit
    code. Done in invoke, not run(), so that click.testing.CliRunner sees what a user sees."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (MaskgateError, OSError, UnicodeError) as e:
            named = e if isinstance(e, MaskgateError) else as_named_error(e)
            click.secho(f"error: {named}", fg="red", err=True)
            ctx.exit(named.exit_code)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="maskgate")
def main():
    """maskgate: build, shrink, deploy and check a face-mask door controller for the OpenMV Cam H7."""


for _module in (data, model, optimize, board):
    for _command in _module.COMMANDS:
        main.add_command(_command)


def run():
    """Entry point: user-facing errors become one red line and a meaningful exit code."""
    try:
        code = main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except MaskgateError as e:  # raised outside a command (e.g. while parsing)
        click.secho(f"error: {e}", fg="red", err=True)
        sys.exit(e.exit_code)
    sys.exit(code if isinstance(code, int) else 0)
