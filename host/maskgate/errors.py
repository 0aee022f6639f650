"""Errors a user can act on, each with the exit code the CLI returns for it.

Exit codes: 0 success, 1 unexpected failure, 2 usage error (click), 3 data problem,
4 model over budget or breaking the contract, 5 board/serial problem, 6 download problem,
7 the emulated Cortex-M7 (toolchain, libtflm, QEMU) cannot measure.
"""


class MaskgateError(Exception):
    exit_code = 1


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
