// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * smp: the BSP starts the AP with APIC ID 1 through INIT-SIPI-SIPI; the AP reaches 64-bit C
 * code and reports its APIC ID. Needs two vCPUs (QEMU: -smp 2).
 */
#include <stdbool.h>

#include "lib/guest.h"
#include "lib/lapic.h"
#include "lib/print.h"
#include "lib/ap-start.h"
#include "lib/tsc.h"
#include "lib/x86.h"

#define TARGET_APIC_ID 1
#define AP_ONLINE_TIMEOUT_US 5000000
#define AP_STACK_SIZE 8192

const char guest_name[] = "smp";

static uint8_t ap_stack[AP_STACK_SIZE] __attribute__((aligned(16)));
static uint32_t ap_reported_id;
static bool ap_online;

static void ap_main(void)
{
	ap_reported_id = lapic_id();
	/* Release: the BSP that sees the flag also sees the ID. */
	__atomic_store_n(&ap_online, true, __ATOMIC_RELEASE);
}

void guest_main(void)
{
	const char *why;
	uint32_t bsp_id;
	uint64_t start, timeout;

	if (!lapic_enable(&why))
		guest_fail("%s", why);
	bsp_id = lapic_id();
	if (bsp_id == TARGET_APIC_ID)
		guest_fail("the BSP itself has APIC ID %u", bsp_id);
	print("bsp apic id %u, starting ap %u\n", bsp_id, TARGET_APIC_ID);

	if (!ap_start(TARGET_APIC_ID, ap_main, ap_stack + sizeof(ap_stack)))
		guest_fail("the LAPIC did not deliver the INIT or SIPI IPIs");

	start = rdtsc();
	timeout = tsc_from_us(AP_ONLINE_TIMEOUT_US);
	while (!__atomic_load_n(&ap_online, __ATOMIC_ACQUIRE)) {
		if (rdtsc() - start > timeout)
			guest_fail("ap %u did not come online within %u ms", TARGET_APIC_ID,
				   AP_ONLINE_TIMEOUT_US / 1000);
		cpu_relax();
	}
	if (ap_reported_id != TARGET_APIC_ID)
		guest_fail("started ap %u but it reports APIC ID %u", TARGET_APIC_ID,
			   ap_reported_id);
	print("ap %u online\n", ap_reported_id);
	guest_pass();
}
