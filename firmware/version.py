# The maskgate version, one for the firmware and the PC package: main.py reports it (HELLO's
# "fw", the boot line), deploy compares it with the board's, and the host package takes its
# own version from this line (pyproject.toml reads it; maskgate.__version__ loads this file).
VERSION = "0.3.0"
