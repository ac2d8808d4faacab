// SPDX-License-Identifier: GPL-2.0-or-later
#include "lapic.h"
#include "trap.h"
#include "tsc.h"
#include "x86.h"

#define APIC_BASE_X2APIC (1ull << 10)
#define APIC_BASE_ENABLE (1ull << 11)
#define APIC_BASE_ADDRESS_MASK 0xFFFFFF000ull

#define IPI_DELIVERY_TIMEOUT_US 100000

uint32_t lapic_read(uint32_t reg)
{
	return *(volatile uint32_t *)(uintptr_t)(LAPIC_BASE + reg);
}

void lapic_write(uint32_t reg, uint32_t value)
{
	*(volatile uint32_t *)(uintptr_t)(LAPIC_BASE + reg) = value;
}

/* A spurious interrupt is not acknowledged with an EOI (SDM "Spurious Interrupt"). */
static void lapic_spurious(struct trap_frame *frame)
{
	(void)frame;
}

bool lapic_enable(const char **why)
{
	uint64_t base = rdmsr(MSR_APIC_BASE);

	if ((base & APIC_BASE_ADDRESS_MASK) != LAPIC_BASE) {
		*why = "IA32_APIC_BASE does not hold the default base 0xFEE00000";
		return false;
	}
	if (base & APIC_BASE_X2APIC) {
		*why = "LAPIC is in x2APIC mode, MMIO access is off";
		return false;
	}
	if (!(base & APIC_BASE_ENABLE))
		wrmsr(MSR_APIC_BASE, base | APIC_BASE_ENABLE);
	trap_set_handler(LAPIC_SPURIOUS_VECTOR, lapic_spurious, 0);
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_SVR, LAPIC_SVR_ENABLE | LAPIC_SPURIOUS_VECTOR);
	return true;
}

uint32_t lapic_id(void)
{
	return lapic_read(LAPIC_ID) >> 24;
}

void lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

bool lapic_send_ipi(uint32_t destination_apic_id, uint32_t icr_low)
{
	uint64_t start;
	uint64_t timeout = tsc_from_us(IPI_DELIVERY_TIMEOUT_US);

	/* Writing the low word sends the IPI, so the destination goes first. */
	lapic_write(LAPIC_ICR_HIGH, destination_apic_id << 24);
	lapic_write(LAPIC_ICR_LOW, icr_low);
	start = rdtsc();
	while (lapic_read(LAPIC_ICR_LOW) & LAPIC_ICR_BUSY) {
		if (rdtsc() - start > timeout)
			return false;
		cpu_relax();
	}
	return true;
}
