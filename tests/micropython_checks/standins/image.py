# OpenMV's `image` where a firmware module only imports it (judge.py, capture.py): the resize
# hints they pass on (src/omv/imlib/imlib.h, 4.5.5: IMAGE_HINT_AREA, IMAGE_HINT_BILINEAR).
# The pictures are the checks' own small fakes. MicroPython only: the virtual board has its
# image module.
AREA = 1 << 0
BILINEAR = 1 << 1
