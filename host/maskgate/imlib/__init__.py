"""OpenMV's imlib arithmetic, ported to numpy: what the camera computes, bit for bit.

The OpenMV firmware source is the specification (github.com/openmv/openmv; `lib/imlib/` on
5.0 and later, `src/omv/imlib/` on 4.x). Each module names the C file and lines it follows and
says where releases differ:

- `color`: RGB565 <-> RGB888 and grayscale (imlib.h colour macros).
- `draw`: copy / crop / scale with nearest-neighbour, AREA and BILINEAR (draw.c
  imlib_draw_image, as py_image.c py_image_to calls it).
- `haar`: the Viola-Jones detector behind find_features (haar.c, integral_mw.c,
  rectangle.c rectangle_merge) and its cascades (tools/haar2c.py converts OpenCV's XML).

The host's contract (maskgate.contract) and the virtual board's `image` module both call these
functions, so training, evaluation and the board see the same pixels and the same faces.
"""
