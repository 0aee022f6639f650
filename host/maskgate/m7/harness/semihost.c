/* Arm semihosting, the two calls the harness needs (SYS_WRITE0, SYS_EXIT_EXTENDED). */
#include "semihost.h"

#define SYS_WRITE0 0x04
#define SYS_EXIT_EXTENDED 0x20
#define ADP_STOPPED_APPLICATION_EXIT 0x20026

static int semihost_call(int op, const void *arg) {
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void sh_puts(const char *s) { semihost_call(SYS_WRITE0, s); }

static char line[1024];
static uint32_t used;

static void put(char c) {
    if (used + 2 >= sizeof line) { /* flush a long line in pieces */
        line[used] = 0;
        sh_puts(line);
        used = 0;
    }
    line[used++] = c;
}

void sh_line_begin(void) { used = 0; }

void sh_str(const char *s) {
    while (*s) put(*s++);
}

void sh_dec(uint32_t v) {
    char digits[11];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n) put(digits[--n]);
}

static const char HEX[] = "0123456789abcdef";

void sh_hex32(uint32_t v) {
    for (int shift = 28; shift >= 0; shift -= 4) put(HEX[(v >> shift) & 0xF]);
}

void sh_hexbytes(const uint8_t *p, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) {
        put(HEX[p[i] >> 4]);
        put(HEX[p[i] & 0xF]);
    }
}

void sh_line_end(void) {
    put('\n');
    line[used] = 0;
    sh_puts(line);
    used = 0;
}

void sh_exit(int code) {
    uint32_t block[2] = {ADP_STOPPED_APPLICATION_EXIT, (uint32_t)code};
    semihost_call(SYS_EXIT_EXTENDED, block);
    for (;;) {
    }
}
