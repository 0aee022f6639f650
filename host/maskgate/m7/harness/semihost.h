/* Output and exit over Arm semihosting (QEMU: -semihosting-config enable=on,target=native).
 * Semihosting calls trap into QEMU (BKPT 0xAB on M-profile); they are never made inside a
 * counted region. */
#ifndef MASKGATE_SEMIHOST_H
#define MASKGATE_SEMIHOST_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Print a NUL-terminated string on QEMU's stdout (SYS_WRITE0). */
void sh_puts(const char *s);
/* Line building without printf (keeps newlib's stdio and malloc out of the image). */
void sh_line_begin(void);
void sh_str(const char *s);
void sh_dec(uint32_t v);
void sh_hex32(uint32_t v);
void sh_hexbytes(const uint8_t *p, uint32_t n);
void sh_line_end(void); /* appends '\n' and prints the line */
/* SYS_EXIT_EXTENDED: QEMU exits with `code` as its exit status. */
void sh_exit(int code) __attribute__((noreturn));

#ifdef __cplusplus
}
#endif

#endif
