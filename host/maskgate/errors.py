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


def as_named_error(e: Exception, what: str | None = None) -> MaskgateError:
    """An OSError or text-decoding error as a DataError naming the file (`what`, else the
    error's own file name): e.g. an output folder on a read-only disk, or under a regular file."""
    if isinstance(e, MaskgateError):
        return e
    if isinstance(e, OSError):
        name = what or e.filename or ""
        reason = e.strerror or str(e)
        extra = f" -> {e.filename2}" if getattr(e, "filename2", None) else ""
        return DataError(f"{printable(name)}{extra}: {reason}" if name else reason)
    if isinstance(e, UnicodeError):
        return DataError(f"{printable(what) + ': ' if what else ''}not valid UTF-8 text ({e})")
    return DataError(f"{printable(what) + ': ' if what else ''}{e}")


def printable(name) -> str:
    """A file name fit for a message or a UTF-8 report: bytes a name holds that are not UTF-8
    (os.fsdecode keeps them as surrogates) are shown as \\xNN."""
    text = name.decode("utf-8", "surrogateescape") if isinstance(name, bytes) else str(name)
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
