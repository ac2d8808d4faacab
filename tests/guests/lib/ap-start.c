// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The INIT-SIPI-SIPI sequence of Intel SDM Vol. 3A, "MP Initialization Protocol Algorithm"
 * and "Typical BSP Initialization Sequence": INIT, 10 ms, SIPI, 200 us, SIPI.
 */
#include <stdnoreturn.h>

#include "lapic.h"
#include "layout.h"
#include "ap-start.h"
#include "trap.h"
#include "tsc.h"

/* lib/ap-trampoline.S */
extern const char ap_trampoline_start[], ap_trampoline_end[];

/* Read by the AP before it has a stack (ap-trampoline.S) and by ap_start_c(). */
uint64_t ap_boot_stack_top;
static ap_entry_fn ap_boot_entry;

noreturn void ap_start_c(void);

noreturn void ap_start_c(void)
{
	trap_load_idt();
	ap_boot_entry();
	for (;;)
		__asm__ volatile("cli; hlt");
}

bool ap_start(uint32_t apic_id, ap_entry_fn entry, void *stack_top)
{
	char *trampoline = (char *)(uintptr_t)AP_TRAMPOLINE_BASE;
	uint32_t sipi = LAPIC_ICR_STARTUP | AP_TRAMPOLINE_VECTOR;

	for (const char *p = ap_trampoline_start; p < ap_trampoline_end; p++)
		trampoline[p - ap_trampoline_start] = *p;
	ap_boot_stack_top = (uint64_t)stack_top;
	ap_boot_entry = entry;
	/* The AP reads both only after the SIPI; x86 stores are not reordered with later ones. */
	__asm__ volatile("" ::: "memory");

	if (!lapic_send_ipi(apic_id, LAPIC_ICR_INIT | LAPIC_ICR_LEVEL_ASSERT))
		return false;
	tsc_delay_us(10000);
	if (!lapic_send_ipi(apic_id, sipi))
		return false;
	tsc_delay_us(200);
	return lapic_send_ipi(apic_id, sipi);
}
