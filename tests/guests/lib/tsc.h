/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Time from the TSC. Bounds and delays are counted in TSC cycles because the TSC runs at the
 * same rate whether the guest's code is executed natively or by an emulator. The rate comes
 * from CPUID where the CPU or hypervisor states it, else it is assumed (see tsc.c); guests only
 * need it right within a small factor.
 */
#ifndef GUEST_TSC_H
#define GUEST_TSC_H

#include <stdint.h>

void tsc_init(void);
uint64_t tsc_hz(void);
/* "cpuid 0x40000010", "cpuid 0x15", "cpuid 0x16" or "assumed". */
const char *tsc_hz_source(void);

uint64_t tsc_from_us(uint64_t microseconds);
uint64_t tsc_to_us(uint64_t cycles);
/* Spins; works at CPL0 and CPL3. */
void tsc_delay_us(uint64_t microseconds);

#endif
