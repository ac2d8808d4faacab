// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * hello64: the multiboot entry reached 64-bit mode. Also checks the loader's side of the
 * multiboot contract (EAX magic) and shows the memory sizes it reported.
 */
#include "lib/guest.h"
#include "lib/print.h"
#include "lib/tsc.h"
#include "entry-check.h"

#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002
#define MULTIBOOT_INFO_MEMORY (1 << 0)

/* Multiboot Specification 0.6.96, 3.3 "Boot information format": the first three fields. */
struct multiboot_info_head {
	uint32_t flags;
	uint32_t mem_lower;
	uint32_t mem_upper;
};

const char guest_name[] = "hello64";

void guest_main(void)
{
	const char *problem = long_mode_problem();

	if (!problem)
		problem = bss_problem();
	if (problem)
		guest_fail("%s", problem);
	print("hello from 64-bit mode\n");

	if (boot_loader_magic != MULTIBOOT_BOOTLOADER_MAGIC)
		guest_fail("loader passed EAX 0x%x, not 0x%x", boot_loader_magic,
			   MULTIBOOT_BOOTLOADER_MAGIC);
	if (boot_loader_info) {
		const struct multiboot_info_head *info = (const void *)(uintptr_t)boot_loader_info;

		if (info->flags & MULTIBOOT_INFO_MEMORY)
			print("multiboot memory: lower %u KiB, upper %u KiB\n", info->mem_lower,
			      info->mem_upper);
	}
	print("tsc: %lu MHz (%s)\n", tsc_hz() / 1000000, tsc_hz_source());
	guest_pass();
}
