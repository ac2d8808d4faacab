/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Local APIC in xAPIC mode at its default base 0xFEE00000 (Intel SDM Vol. 3A, "Advanced
 * Programmable Interrupt Controller (APIC)"). Register offsets are the SDM's.
 */
#ifndef GUEST_LAPIC_H
#define GUEST_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

#define LAPIC_BASE 0xFEE00000u

#define LAPIC_ID 0x020
#define LAPIC_TPR 0x080
#define LAPIC_EOI 0x0B0
#define LAPIC_SVR 0x0F0
#define LAPIC_ICR_LOW 0x300
#define LAPIC_ICR_HIGH 0x310
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_TIMER_INITIAL 0x380
#define LAPIC_TIMER_CURRENT 0x390
#define LAPIC_TIMER_DIVIDE 0x3E0

#define LAPIC_SVR_ENABLE (1 << 8)
#define LAPIC_LVT_MASKED (1 << 16)
#define LAPIC_LVT_TIMER_PERIODIC (1 << 17)
#define LAPIC_TIMER_DIVIDE_BY_16 0x3

/* ICR low word: delivery mode, level, and the read-only delivery status. */
#define LAPIC_ICR_INIT (5 << 8)
#define LAPIC_ICR_STARTUP (6 << 8)
#define LAPIC_ICR_LEVEL_ASSERT (1 << 14)
#define LAPIC_ICR_BUSY (1 << 12)

#define LAPIC_SPURIOUS_VECTOR 0xFF

uint32_t lapic_read(uint32_t reg);
void lapic_write(uint32_t reg, uint32_t value);

/*
 * Checks IA32_APIC_BASE (enabled, xAPIC mode, default base) and software-enables this CPU's
 * LAPIC with LAPIC_SPURIOUS_VECTOR. Returns false, with the reason in *why, if the LAPIC
 * cannot be used through MMIO at LAPIC_BASE.
 */
bool lapic_enable(const char **why);
uint32_t lapic_id(void);
void lapic_eoi(void);
/* Sends an IPI and waits (bounded) until the LAPIC reports it delivered. */
bool lapic_send_ipi(uint32_t destination_apic_id, uint32_t icr_low);

#endif
