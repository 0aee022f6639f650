"""The installed `maskgate` command run in-process: click's CliRunner around maskgate.cli.run,
the entry point that turns a MaskgateError into its one red line and exit code (the README's
table). CliRunner.invoke(main, ...) alone would report every such error as exit 1."""
import sys

from click.testing import CliRunner, Result

from maskgate.cli import run


class _Entry:
    """What CliRunner.invoke needs of a command: a name and main(args=..., prog_name=...)."""

    name = "maskgate"

    def main(self, args=(), prog_name="maskgate", **_):
        saved = sys.argv
        sys.argv = [prog_name, *args]
        try:
            run()
        finally:
            sys.argv = saved


def maskgate(*args, **kwargs) -> Result:
    """Result of `maskgate ARGS...`: exit_code, stdout, stderr (separate), output (both)."""
    return CliRunner().invoke(_Entry(), [str(a) for a in args], **kwargs)
