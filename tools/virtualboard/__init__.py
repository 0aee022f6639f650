"""A virtual OpenMV Cam H7 that runs the unmodified firmware on the PC (see board.py)."""
from .board import Inference, LogTail, RunResult, VirtualBoard
from .faults import Faults
from .frames import EndOfFrames, fit_frame, open_source
from .pyb import BoardReset

__all__ = ["VirtualBoard", "RunResult", "Inference", "LogTail", "EndOfFrames", "BoardReset", "Faults",
           "fit_frame", "open_source"]
