/* The counter's own test: runs of known length between two counter reads. Printed as raw
 * timer ticks; the host checks that its decoding gives exactly K more instructions for K more
 * NOPs, and 2 per iteration of a SUBS/BNE loop (maskgate/m7/emulator.py, tests/test_m7.py). */
#include <stdint.h>

#include "counter.h"
#include "semihost.h"

#define STR(x) #x
#define NOPS(k)                                                             \
    do {                                                                    \
        uint32_t t0 = counter_read();                                       \
        __asm__ volatile(".rept " STR(k) "\n nop\n .endr" ::: "memory");    \
        uint32_t t1 = counter_read();                                       \
        report("nops", k, t0 - t1);                                         \
    } while (0)

static void report(const char *what, uint32_t n, uint32_t ticks) {
    sh_line_begin();
    sh_str(what);
    sh_str(" ");
    sh_dec(n);
    sh_str(" ");
    sh_dec(ticks);
    sh_line_end();
}

static void loop(uint32_t n) {
    uint32_t left = n;
    uint32_t t0 = counter_read();
    __asm__ volatile("1: subs %0, %0, #1\n bne 1b" : "+r"(left)::"cc", "memory");
    uint32_t t1 = counter_read();
    report("loop", n, t0 - t1);
}

int main(void) {
    counter_start();
    NOPS(0);
    NOPS(1);
    NOPS(2);
    NOPS(3);
    NOPS(7);
    NOPS(100);
    NOPS(1000);
    static const uint32_t lengths[] = {1, 2, 10, 1000, 123457, 1000000, 4000000};
    for (unsigned i = 0; i < sizeof lengths / sizeof lengths[0]; i++) loop(lengths[i]);
    sh_puts("done\n");
    return 0;
}
