// SPDX-License-Identifier: GPL-2.0-or-later
#include <stdbool.h>

#include "tsc.h"
#include "x86.h"

#define HYPERVISOR_LEAF_BASE 0x40000000
#define HYPERVISOR_LEAF_TIMING 0x40000010 /* EAX = TSC kHz (VMware convention; QEMU/KVM) */
#define ASSUMED_TSC_HZ 2000000000ull	  /* AMD CPUs state no rate in CPUID; this is typical */

static uint64_t rate_hz = ASSUMED_TSC_HZ;
static const char *rate_source = "assumed";

/* A nonsense CPUID value must not turn every timeout into zero or into hours. */
static bool use_rate(uint64_t hz, const char *source)
{
	if (hz < 100000000ull || hz > 20000000000ull)
		return false;
	rate_hz = hz;
	rate_source = source;
	return true;
}

void tsc_init(void)
{
	struct cpuid_regs r;
	uint32_t max_leaf = cpuid(0, 0).eax;

	/* CPUID.1:ECX bit 31: running under a hypervisor, which may have a timing leaf. */
	if (cpuid(1, 0).ecx & (1u << 31) &&
	    cpuid(HYPERVISOR_LEAF_BASE, 0).eax >= HYPERVISOR_LEAF_TIMING) {
		r = cpuid(HYPERVISOR_LEAF_TIMING, 0);
		if (use_rate((uint64_t)r.eax * 1000, "cpuid 0x40000010"))
			return;
	}
	/* SDM Vol. 2, CPUID leaf 15H: TSC = crystal (ECX) * EBX / EAX. */
	if (max_leaf >= 0x15) {
		r = cpuid(0x15, 0);
		if (r.eax && use_rate((uint64_t)r.ecx * r.ebx / r.eax, "cpuid 0x15"))
			return;
	}
	/* Leaf 16H: nominal base frequency in MHz, close to the TSC rate on Intel parts. */
	if (max_leaf >= 0x16) {
		r = cpuid(0x16, 0);
		use_rate((uint64_t)r.eax * 1000000, "cpuid 0x16");
	}
}

uint64_t tsc_hz(void)
{
	return rate_hz;
}

const char *tsc_hz_source(void)
{
	return rate_source;
}

uint64_t tsc_from_us(uint64_t microseconds)
{
	return microseconds * (rate_hz / 1000000);
}

uint64_t tsc_to_us(uint64_t cycles)
{
	return cycles / (rate_hz / 1000000);
}

void tsc_delay_us(uint64_t microseconds)
{
	uint64_t start = rdtsc();
	uint64_t cycles = tsc_from_us(microseconds);

	while (rdtsc() - start < cycles)
		cpu_relax();
}
