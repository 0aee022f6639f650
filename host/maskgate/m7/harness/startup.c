/* Reset and fault handling for QEMU's mps2-an500 (Cortex-M7): vector table, .bss, FPU, C++
 * constructors, main(). Faults print their name and stop QEMU with exit status 3. */
#include <stdint.h>

#include "semihost.h"

extern uint32_t __stack_top, __bss_start__, __bss_end__;
extern void (*__init_array_start[])(void), (*__init_array_end[])(void);
int main(void);

#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)
#define SCB_CFSR (*(volatile uint32_t *)0xE000ED28u)

void Reset_Handler(void) {
    for (uint32_t *p = &__bss_start__; p < &__bss_end__; p++) *p = 0;
    SCB_CPACR |= 0xFu << 20; /* CP10, CP11: full access to the FPU */
    __asm__ volatile("dsb\n isb" ::: "memory");
    for (void (**f)(void) = __init_array_start; f < __init_array_end; f++) (*f)();
    sh_exit(main());
}

static void fault(const char *name) {
    sh_line_begin();
    sh_str("fault ");
    sh_str(name);
    sh_str(" cfsr=");
    sh_hex32(SCB_CFSR);
    sh_line_end();
    sh_exit(3);
}

void NMI_Handler(void) { fault("nmi"); }
void HardFault_Handler(void) { fault("hard"); }
void MemManage_Handler(void) { fault("memmanage"); }
void BusFault_Handler(void) { fault("bus"); }
void UsageFault_Handler(void) { fault("usage"); }
void Default_Handler(void) { fault("unexpected interrupt"); }

__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))&__stack_top, Reset_Handler, NMI_Handler, HardFault_Handler,
    MemManage_Handler, BusFault_Handler, UsageFault_Handler, 0, 0, 0, 0,
    Default_Handler /* SVC */, Default_Handler /* debug monitor */, 0,
    Default_Handler /* PendSV */, Default_Handler /* SysTick */,
};

/* newlib pieces a bare program can reach (abort from libstdc++/libm error paths, sbrk). */
void abort(void) { fault("abort"); for (;;) {} }
void _exit(int code) { sh_exit(code); }

extern char __heap_start, __heap_end;
static char *heap_top = &__heap_start;
void *_sbrk(int incr) {
    if (heap_top + incr > &__heap_end) return (void *)-1;
    char *old = heap_top;
    heap_top += incr;
    return old;
}
