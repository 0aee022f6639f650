"""maskgate: a face-mask door controller for the OpenMV Cam H7 (host side)."""
from maskgate import firmware as _firmware

# One version for the PC package and the firmware: firmware/version.py, the file the card gets.
__version__ = _firmware.module("version").VERSION
