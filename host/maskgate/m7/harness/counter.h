/* The instruction counter: CMSDK APB timer 0 of the MPS2 board, read under QEMU -icount.
 *
 * QEMU's mps2 boards clock the CMSDK timers at SYSCLK = 25 MHz (one tick = 40 ns of virtual
 * time). With `-icount shift=S`, QEMU's virtual clock advances exactly 2^S ns per guest
 * instruction executed, and a device register read sees the virtual time of the reading
 * instruction exactly (icount ends a translation block at an I/O access so the count is exact
 * there). The timer counts down, so (first - second) mod 2^32 ticks lie within one tick of
 * instructions * 2^S / 40; with 2^S / 40 > 2 (S >= 7: 3.2 ticks per instruction) that rounds
 * to exactly one instruction count. The host (maskgate/m7/emulator.py) does the rounding, and
 * the calibration program checks it against loops of known length.
 */
#ifndef MASKGATE_COUNTER_H
#define MASKGATE_COUNTER_H

#include <stdint.h>

#define MG_TIMER0_BASE 0x40000000u
#define MG_TIMER_CTRL (*(volatile uint32_t *)(MG_TIMER0_BASE + 0x0))
#define MG_TIMER_VALUE (*(volatile uint32_t *)(MG_TIMER0_BASE + 0x4))
#define MG_TIMER_RELOAD (*(volatile uint32_t *)(MG_TIMER0_BASE + 0x8))

static inline void counter_start(void) {
    MG_TIMER_CTRL = 0;
    MG_TIMER_RELOAD = 0xFFFFFFFFu;
    MG_TIMER_VALUE = 0xFFFFFFFFu;
    MG_TIMER_CTRL = 1; /* enable, system clock, no interrupt */
}

static inline uint32_t counter_read(void) { return MG_TIMER_VALUE; }

#endif
