"""maskgate: a face-mask door controller for the OpenMV Cam H7 (host side)."""
__version__ = "0.1.0"
