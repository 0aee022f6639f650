"""Errors a user can act on, each with the exit code the CLI returns for it.

Exit codes: 0 success, 1 unexpected failure, 2 usage error (click, or an option value the
command cannot read: OptionError), 3 data problem, 4 model over budget or breaking the
contract, 5 board/serial problem, 6 download problem, 7 the emulated Cortex-M7 (toolchain,
libtflm, QEMU) cannot measure, 130 interrupted (Ctrl-C). The README's table is this list.
"""


class MaskgateError(Exception):
    exit_code = 1


class OptionError(MaskgateError):
    """A command-line option the command cannot read: KEY=VALUE without "=", an unknown key."""
    exit_code = 2


class DataError(MaskgateError):
    exit_code = 3


class BudgetError(MaskgateError):
    exit_code = 4


class BoardError(MaskgateError):
    exit_code = 5


class FetchError(MaskgateError):
    exit_code = 6


class EmulatorError(MaskgateError):
    exit_code = 7
