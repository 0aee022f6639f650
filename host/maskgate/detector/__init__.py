"""The door's face detector on the PC: training targets, training and int8 export
(`train`), and running the whole face stage on frames as the board does (`stage`). The
geometry and the decode are the firmware's own (firmware/facedet.py)."""
