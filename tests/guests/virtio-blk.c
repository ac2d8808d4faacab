// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * virtio-blk: the guest kit's virtio-blk driver (lib/virtio_blk.c: 1af4:1042 at 00:04.0,
 * interrupts by MSI-X, VERSION_1 only, one 8-entry split virtqueue) against the engine's
 * device. It reads sector 0 and checks the pattern the test wrote, writes sector 1 and reads it
 * back, and times a few reads.
 *
 * Everything runs at CPL0, which kvm_pvm emulates slowly: few instructions per request, no
 * loops over bytes.
 *
 * The test (tests/engine/test-virtio-kvm.c) fills sector 0 with words
 * SECTOR0_MAGIC | index and checks after the run that sector 1 holds SECTOR1_MAGIC | index.
 */
#include <stddef.h>
#include <stdint.h>

#include "lib/guest.h"
#include "lib/print.h"
#include "lib/tsc.h"
#include "lib/virtio_blk.h"

#define SECTOR_WORDS (VIRTIO_BLK_SECTOR_SIZE / 8)

/* Word i of a sector is its magic | i: a misplaced or partial transfer shows. */
#define SECTOR0_MAGIC 0x5649525430000000ull
#define SECTOR1_MAGIC 0x5649525431000000ull

#define TIMED_READS 8

const char guest_name[] = "virtio-blk";

static uint64_t sector_buffer[SECTOR_WORDS] __attribute__((aligned(512)));

static void check_sector(uint64_t magic, const char *what)
{
	for (unsigned int i = 0; i < SECTOR_WORDS; i++)
		if (sector_buffer[i] != (magic | i))
			guest_fail("%s: word %u is 0x%lx, not 0x%lx", what, i, sector_buffer[i],
				   magic | i);
}

void guest_main(void)
{
	struct virtio_blk_timing timing;
	uint64_t notify_sum = 0, total_sum = 0;

	virtio_blk_init(0);

	virtio_blk_request(VIRTIO_BLK_T_IN, 0, sector_buffer, sizeof(sector_buffer), NULL);
	check_sector(SECTOR0_MAGIC, "sector 0");
	print("sector 0 read, interrupt by MSI-X\n");

	for (unsigned int i = 0; i < SECTOR_WORDS; i++)
		sector_buffer[i] = SECTOR1_MAGIC | i;
	virtio_blk_request(VIRTIO_BLK_T_OUT, 1, sector_buffer, sizeof(sector_buffer), NULL);
	__builtin_memset(sector_buffer, 0, sizeof(sector_buffer));
	virtio_blk_request(VIRTIO_BLK_T_IN, 1, sector_buffer, sizeof(sector_buffer), NULL);
	check_sector(SECTOR1_MAGIC, "sector 1 read back");
	print("sector 1 written and read back\n");

	for (unsigned int i = 0; i < TIMED_READS; i++) {
		virtio_blk_request(VIRTIO_BLK_T_IN, 0, sector_buffer, sizeof(sector_buffer),
				   &timing);
		notify_sum += timing.notify_cycles;
		total_sum += timing.total_cycles;
	}
	print("%u reads: notify write %lu us, request to interrupt %lu us (averages)\n",
	      TIMED_READS, tsc_to_us(notify_sum / TIMED_READS), tsc_to_us(total_sum / TIMED_READS));
	guest_pass();
}
