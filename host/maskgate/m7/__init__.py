"""The model on an emulated Cortex-M7: instructions counted, not guessed.

A .tflite runs in TFLite Micro + CMSIS-NN as OpenMV firmware links it (the prebuilt
`lib/libtflm-cortex-m7+fp-release.a` of a checkout of github.com/openmv/libtflm, given by the
user), compiled into the project's own small runner (harness/: startup code, linker script for
QEMU's mps2-an500, the runner) with Debian's arm-none-eabi-g++, and executed in Debian's
`qemu-system-arm -M mps2-an500 -cpu cortex-m7 -icount`. What comes back is the number of
instructions each Invoke() and each operator executes, exact and the same on every run, and the
outputs, which `measure` checks bit for bit against the tflite-micro package on the PC.

toolchain: find the compiler, QEMU and the library; build: the runner, built once per library
(cached); emulator: one QEMU run and its counts; measure: a model's figures.
"""
