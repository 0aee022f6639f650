"""A virtual OpenMV Cam H7 that runs the unmodified firmware on the PC (see board.py)."""
from .board import Inference, LogTail, RunResult, VirtualBoard
from .frames import EndOfFrames, fit_frame, open_source
from .pyb import BoardReset

__all__ = ["VirtualBoard", "RunResult", "Inference", "LogTail", "EndOfFrames", "BoardReset",
           "fit_frame", "open_source"]
