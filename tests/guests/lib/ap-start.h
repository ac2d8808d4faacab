/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef GUEST_AP_START_H
#define GUEST_AP_START_H

#include <stdbool.h>
#include <stdint.h>

typedef void (*ap_entry_fn)(void);

/*
 * Starts the AP with the given APIC ID in 64-bit mode at CPL0 on stack_top, with the BSP's GDT,
 * page tables and IDT, interrupts off. entry must not return (if it does, the AP halts). The
 * caller learns that the AP runs only from what entry does; this returns once the INIT and
 * SIPIs were sent, false if the LAPIC did not accept one. Uses memory at AP_TRAMPOLINE_BASE.
 * One AP at a time: wait for it before starting the next.
 */
bool ap_start(uint32_t apic_id, ap_entry_fn entry, void *stack_top);

#endif
