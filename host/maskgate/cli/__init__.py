"""The `maskgate` command: a thin click group. Each module below adds its commands;
every command parses options and calls one function that does the work."""
import sys

import click

from maskgate import __version__
from maskgate.errors import MaskgateError

from . import board, data, model, optimize


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="maskgate")
def main():
    """maskgate: build, shrink, deploy and check a face-mask door controller for the OpenMV Cam H7."""


for _module in (data, model, optimize, board):
    for _command in _module.COMMANDS:
        main.add_command(_command)


def run():
    """Entry point: user-facing errors become one red line and a meaningful exit code."""
    try:
        main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except MaskgateError as e:
        click.secho(f"error: {e}", fg="red", err=True)
        sys.exit(e.exit_code)
