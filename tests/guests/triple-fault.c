// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * triple-fault: announces itself, then makes the CPU shut down the way a crashing kernel does:
 * an empty IDT, so the invalid-opcode exception cannot be delivered (#GP), nor can that (#DF),
 * which is a triple fault (Intel SDM Vol. 3A, 6.15 "Interrupt 8 - Double Fault Exception").
 * ud2 rather than int3: kvm_pvm's emulator fails on delivering a software interrupt through an
 * empty IDT (KVM internal error) but shuts down as hardware does for a fault.
 * A PC resets on it: the engine then loads this guest again (it prints once more), or exits
 * with status 8 under --no-reboot.
 */
#include "lib/guest.h"
#include "lib/print.h"

const char guest_name[] = "triple-fault";

void guest_main(void)
{
	static const struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} empty_idt = {0, 0};

	print("triple-fault guest: shutting the CPU down\n");
	__asm__ volatile("lidt %0\n\tud2" : : "m"(empty_idt));
	guest_fail("still running after a triple fault");
}
