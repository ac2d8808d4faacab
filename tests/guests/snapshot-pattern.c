// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * snapshot-pattern: the live-snapshot round trip's guest (tests/engine/test-snapshot-kvm.c).
 * It works in generations g = 1, 2, ...; each one
 *
 *   1. (from g = 2) reads disk sector PATTERN_SECTOR and checks that it and the memory region
 *      at PATTERN_MEMORY_ADDRESS hold generation g-1's pattern, printing
 *      "gen G: memory and disk hold gen G-1", or a "MISMATCH memory: ..." and/or
 *      "MISMATCH disk: ..." line naming what was found and then FAIL;
 *   2. writes generation g's pattern to the memory region and the sector (then a
 *      VIRTIO_BLK_T_FLUSH, if the device offers VIRTIO_BLK_F_FLUSH) and prints "gen G written";
 *   3. prints COUNTS_PER_GENERATION lines "count N", N counting on across generations, one every
 *      LINE_INTERVAL_US of TSC time.
 *
 * A snapshot taken during generation g's counts and restored later, with the disk rolled back
 * too, must go on with the next count and then find generation g's pattern in both places even
 * though the first run had gone on to write generation g+1's: memory proves the RAM image, the
 * sector proves the disk snapshot, the count proves the CPU and the device state. A restore
 * whose disk was not rolled back shows as "MISMATCH disk: holds gen g+1, expected gen g".
 *
 * Pattern word i of generation g is magic << 32 | g << 16 | i (magic "SNPM" in memory, "SNPD"
 * on disk), so a stale, misplaced or partial copy shows, and a whole other generation is named.
 * The memory region is outside the guest's image (1 MiB, under 100 KiB) and zero at boot.
 *
 * The checks, the pattern writes and the counting run at CPL3 (user_run), natively on kvm_pvm;
 * CPL0 does only the few disk requests (lib/virtio_blk.c) per generation.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/guest.h"
#include "lib/print.h"
#include "lib/tsc.h"
#include "lib/user.h"
#include "lib/virtio_blk.h"

/* Also in tests/engine/test-snapshot-kvm.c. */
#define PATTERN_MEMORY_ADDRESS 0x400000ul
#define PATTERN_MEMORY_PAGES 4
#define PATTERN_SECTOR 8
#define COUNTS_PER_GENERATION 50

#define PATTERN_MEMORY_WORDS (PATTERN_MEMORY_PAGES * 4096 / 8)
#define SECTOR_WORDS (VIRTIO_BLK_SECTOR_SIZE / 8)
#define MEMORY_MAGIC 0x534E504Du /* "SNPM" */
#define DISK_MAGIC 0x534E5044u /* "SNPD" */
#define LINE_INTERVAL_US 40000
#define LAST_GENERATION 1000 /* about 33 minutes; the tests stop it long before */

const char guest_name[] = "snapshot-pattern";

static uint64_t sector_buffer[SECTOR_WORDS] __attribute__((aligned(512)));
static uint64_t count;

static uint64_t pattern_word(uint32_t magic, uint64_t generation, unsigned int i)
{
	return (uint64_t)magic << 32 | (generation & 0xFFFF) << 16 | (i & 0xFFFF);
}

static bool holds_generation(const volatile uint64_t *words, unsigned int n, uint32_t magic,
			     uint64_t generation, unsigned int *first_wrong)
{
	for (unsigned int i = 0; i < n; i++)
		if (words[i] != pattern_word(magic, generation, i)) {
			*first_wrong = i;
			return false;
		}
	return true;
}

/* CPL3. True if words hold the generation's pattern; else prints what they hold instead. */
static bool check_pattern(const char *what, const volatile uint64_t *words, unsigned int n,
			  uint32_t magic, uint64_t generation)
{
	unsigned int wrong, ignored;
	uint64_t found;

	if (holds_generation(words, n, magic, generation, &wrong))
		return true;
	/* Word 0 names the generation that a complete other pattern belongs to. */
	found = (words[0] >> 16) & 0xFFFF;
	if (words[0] == pattern_word(magic, found, 0) &&
	    holds_generation(words, n, magic, found, &ignored))
		print("MISMATCH %s: holds gen %lu, expected gen %lu\n", what, found, generation);
	else
		print("MISMATCH %s: word %u is 0x%lx, expected 0x%lx (gen %lu)\n", what, wrong,
		      words[wrong], pattern_word(magic, generation, wrong), generation);
	return false;
}

/* CPL3: checks generation-1's pattern (sector_buffer holds the sector read), then puts
 * generation's in memory and in sector_buffer. Returns 0 after a mismatch. */
static uint64_t verify_and_fill(uint64_t generation)
{
	volatile uint64_t *memory = (volatile uint64_t *)PATTERN_MEMORY_ADDRESS;

	if (generation > 1) {
		bool memory_ok = check_pattern("memory", memory, PATTERN_MEMORY_WORDS, MEMORY_MAGIC,
					       generation - 1);
		bool disk_ok = check_pattern("disk", sector_buffer, SECTOR_WORDS, DISK_MAGIC,
					     generation - 1);
		if (!memory_ok || !disk_ok)
			return 0;
		print("gen %lu: memory and disk hold gen %lu\n", generation, generation - 1);
	}
	for (unsigned int i = 0; i < PATTERN_MEMORY_WORDS; i++)
		memory[i] = pattern_word(MEMORY_MAGIC, generation, i);
	for (unsigned int i = 0; i < SECTOR_WORDS; i++)
		sector_buffer[i] = pattern_word(DISK_MAGIC, generation, i);
	return 1;
}

/* CPL3: the generation's count lines. */
static uint64_t count_lines(uint64_t lines)
{
	for (uint64_t i = 0; i < lines; i++) {
		print("count %lu\n", ++count);
		tsc_delay_us(LINE_INTERVAL_US);
	}
	return count;
}

void guest_main(void)
{
	uint32_t features = virtio_blk_init(VIRTIO_BLK_F_FLUSH);
	bool flush = features & VIRTIO_BLK_F_FLUSH;

	print("snapshot-pattern: memory at 0x%lx (%u pages), disk sector %u, flush %s, "
	      "%u counts per generation\n",
	      PATTERN_MEMORY_ADDRESS, PATTERN_MEMORY_PAGES, PATTERN_SECTOR, flush ? "on" : "off",
	      COUNTS_PER_GENERATION);
	for (uint64_t generation = 1; generation <= LAST_GENERATION; generation++) {
		if (generation > 1)
			virtio_blk_request(VIRTIO_BLK_T_IN, PATTERN_SECTOR, sector_buffer,
					   sizeof(sector_buffer), NULL);
		if (!user_run(verify_and_fill, generation))
			guest_fail("gen %lu did not find gen %lu's pattern", generation,
				   generation - 1);
		virtio_blk_request(VIRTIO_BLK_T_OUT, PATTERN_SECTOR, sector_buffer,
				   sizeof(sector_buffer), NULL);
		if (flush)
			virtio_blk_request(VIRTIO_BLK_T_FLUSH, 0, NULL, 0, NULL);
		print("gen %lu written\n", generation);
		user_run(count_lines, COUNTS_PER_GENERATION);
	}
	guest_pass();
}
