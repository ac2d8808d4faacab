/* The UEFI variable store (devices/platform/pflash_cfi01.c), driven through
 * the device test harness: read-array mode, the CFI query and identifier,
 * program, erase and write to buffer with their status bits, OVMF's probe
 * and write sequences (OvmfPkg/QemuFlashFvbServicesRuntimeDxe/QemuFlash.c),
 * persistence in the file, save/restore and the start-up checks.
 *
 * Each test writes its own variable store into a private directory; without
 * --firmware the harness maps it so that it ends at 0xFFC84000, so a store
 * of OVMF_VARS_4M.fd's size (0x84000 bytes) starts at 0xFFC00000. */
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "tests/harness/harness.h"
#include "tests/harness/saved_state.h"

#define VARS_SIZE 0x84000
#define VARS_END 0xffc84000ull
#define VARS_BASE (VARS_END - VARS_SIZE)
#define BLOCK 0x1000
#define BUFFER 0x100

#define SR_READY 0x80
#define SR_ERASE_ERROR 0x20
#define SR_PROGRAM_ERROR 0x10
#define SR_SEQUENCE_ERROR (SR_ERASE_ERROR | SR_PROGRAM_ERROR)

#define EXIT_SETUP_FAILED 4

typedef struct {
	char *dir; /* private; holds vars.fd and anything else the test needs */
	char *path;
	uint8_t *expected; /* what the file should hold */
	size_t size;
	HgTest *t;
} Flash;

/* Not 0x00, 0x50 or 0x70 from byte 16 on, like the firmware volume header
 * behind OVMF_VARS' 16-byte zero vector, and varied enough that ANDing
 * shows. */
static uint8_t pattern_byte(size_t i)
{
	return i < 16 ? 0x00 : (uint8_t)(i * 37 + (i >> 8) * 11 + 0x8d);
}

static void flash_write_file(Flash *f, const char *path, size_t size)
{
	g_autoptr(GError) error = NULL;

	g_free(f->expected);
	f->size = size;
	f->expected = g_malloc(size);
	for (size_t i = 0; i < size; i++)
		f->expected[i] = pattern_byte(i);
	g_assert_true(g_file_set_contents(path, (char *)f->expected, size, &error));
	g_assert_no_error(error);
}

static void flash_prepare(Flash *f, size_t size)
{
	g_autoptr(GError) error = NULL;

	memset(f, 0, sizeof(*f));
	f->dir = g_dir_make_tmp("hangar-pflash-XXXXXX", &error);
	g_assert_no_error(error);
	f->path = g_build_filename(f->dir, "vars.fd", NULL);
	flash_write_file(f, f->path, size);
}

static void flash_start(Flash *f)
{
	flash_prepare(f, VARS_SIZE);
	f->t = hg_test_start("--firmware-vars", f->path, NULL);
}

static void flash_quit_engine(Flash *f)
{
	if (f->t)
		hg_test_quit(f->t);
	f->t = NULL;
}

static void flash_finish(Flash *f)
{
	flash_quit_engine(f);
	hg_test_remove_tree(f->dir);
	g_free(f->dir);
	g_free(f->path);
	g_free(f->expected);
}

/* The file, as the test process sees it, equals f->expected. */
static void flash_check_file(Flash *f)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *data = NULL;
	gsize len;

	g_assert_true(g_file_get_contents(f->path, &data, &len, &error));
	g_assert_cmpuint(len, ==, f->size);
	for (size_t i = 0; i < len; i++) {
		if ((uint8_t)data[i] != f->expected[i])
			g_error("vars file byte 0x%zx is 0x%02x, expected 0x%02x", i,
				(uint8_t)data[i], f->expected[i]);
	}
}

static uint64_t expected_le(Flash *f, size_t offset, unsigned size)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)f->expected[offset + i] << (8 * i);
	return v;
}

/* Reads [offset, offset + len) through the flash in 8-byte reads. */
static void flash_check_reads(Flash *f, size_t offset, size_t len)
{
	for (size_t i = 0; i < len; i += 8)
		g_assert_cmphex(hg_test_readq(f->t, VARS_BASE + offset + i), ==,
				expected_le(f, offset + i, 8));
}

static void command(Flash *f, size_t offset, uint8_t cmd)
{
	hg_test_writeb(f->t, VARS_BASE + offset, cmd);
}

static uint8_t read_status(Flash *f)
{
	command(f, 0, 0x70);
	return hg_test_readb(f->t, VARS_BASE);
}

static void program_byte(Flash *f, size_t offset, uint8_t value)
{
	command(f, offset, 0x40);
	hg_test_writeb(f->t, VARS_BASE + offset, value);
	f->expected[offset] &= value;
}

/* ---- read array ---- */

static void test_read_array_returns_file_bytes_at_every_width(void)
{
	static const size_t offsets[] = {0, 0x10, 0x11, 0x3ff7, 0x40001, VARS_SIZE - 8};
	Flash f;

	flash_start(&f);
	for (size_t i = 0; i < G_N_ELEMENTS(offsets); i++) {
		size_t o = offsets[i];
		g_assert_cmphex(hg_test_readb(f.t, VARS_BASE + o), ==, expected_le(&f, o, 1));
		g_assert_cmphex(hg_test_readw(f.t, VARS_BASE + o), ==, expected_le(&f, o, 2));
		g_assert_cmphex(hg_test_readl(f.t, VARS_BASE + o), ==, expected_le(&f, o, 4));
		g_assert_cmphex(hg_test_readq(f.t, VARS_BASE + o), ==, expected_le(&f, o, 8));
	}
	flash_finish(&f);
}

static void test_read_array_wide_read_at_the_end_sees_nothing_beyond(void)
{
	Flash f;

	flash_start(&f);
	g_assert_cmphex(hg_test_readq(f.t, VARS_BASE + VARS_SIZE - 4), ==,
			0xffffffff00000000ull | expected_le(&f, VARS_SIZE - 4, 4));
	flash_finish(&f);
}

/* ---- where it is mapped ---- */

static void test_layout_without_firmware_the_store_ends_at_0xffc84000(void)
{
	Flash f;

	flash_start(&f);
	g_assert_cmphex(VARS_BASE, ==, 0xffc00000);
	g_assert_cmphex(hg_test_readb(f.t, VARS_BASE + 16), ==, f.expected[16]);
	g_assert_cmphex(hg_test_readb(f.t, VARS_END - 1), ==, f.expected[VARS_SIZE - 1]);
	/* Nothing answers on either side (all ones, not the pattern). */
	g_assert_cmphex(hg_test_readl(f.t, VARS_END), ==, 0xffffffff);
	g_assert_cmphex(hg_test_readl(f.t, VARS_BASE - 4), ==, 0xffffffff);
	flash_finish(&f);
}

static void test_layout_store_ends_where_the_firmware_image_begins(void)
{
	g_autofree char *firmware = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *image = g_malloc0(0x10000);
	Flash f;

	flash_prepare(&f, 0x10000);
	firmware = g_build_filename(f.dir, "firmware.fd", NULL);
	g_assert_true(g_file_set_contents(firmware, image, 0x10000, &error));
	f.t = hg_test_start("--firmware", firmware, "--firmware-vars", f.path, NULL);
	/* 4 GiB - 64 KiB of firmware - 64 KiB of variables. */
	g_assert_cmphex(hg_test_readq(f.t, 0xfffe0000 + 16), ==, expected_le(&f, 16, 8));
	g_assert_cmphex(hg_test_readq(f.t, 0xfffefff8), ==, expected_le(&f, 0xfff8, 8));
	g_assert_cmphex(hg_test_readl(f.t, 0xfffdfffc), ==, 0xffffffff);
	flash_finish(&f);
}

/* ---- query and identifier ---- */

static uint8_t query(Flash *f, size_t offset)
{
	return hg_test_readb(f->t, VARS_BASE + offset);
}

static void test_query_reports_qry_and_consistent_geometry(void)
{
	Flash f;
	unsigned extended, blocks, block_size;

	flash_start(&f);
	command(&f, 0x55, 0x98);
	g_assert_cmphex(query(&f, 0x10), ==, 'Q');
	g_assert_cmphex(query(&f, 0x11), ==, 'R');
	g_assert_cmphex(query(&f, 0x12), ==, 'Y');
	/* A wide read is byte cycles at consecutive addresses. */
	g_assert_cmphex(hg_test_readw(f.t, VARS_BASE + 0x10), ==, 'Q' | 'R' << 8);
	/* Primary command set 0001, Intel/Sharp extended. */
	g_assert_cmphex(query(&f, 0x13) | query(&f, 0x14) << 8, ==, 0x0001);
	extended = query(&f, 0x15) | query(&f, 0x16) << 8;
	g_assert_cmphex(query(&f, extended), ==, 'P');
	g_assert_cmphex(query(&f, extended + 1), ==, 'R');
	g_assert_cmphex(query(&f, extended + 2), ==, 'I');
	/* Geometry: 2^n covers the device, x8 interface, 256-byte buffer,
	 * one region of 132 blocks of 4 KiB = exactly the file. */
	g_assert_cmpuint(1u << query(&f, 0x27), >=, VARS_SIZE);
	g_assert_cmpuint(1u << query(&f, 0x27), <, 2 * VARS_SIZE);
	g_assert_cmphex(query(&f, 0x28) | query(&f, 0x29) << 8, ==, 0x0000);
	g_assert_cmpuint(1u << (query(&f, 0x2a) | query(&f, 0x2b) << 8), ==, BUFFER);
	g_assert_cmpuint(query(&f, 0x2c), ==, 1);
	blocks = (query(&f, 0x2d) | query(&f, 0x2e) << 8) + 1;
	block_size = (query(&f, 0x2f) | query(&f, 0x30) << 8) * 256;
	g_assert_cmpuint(block_size, ==, BLOCK);
	g_assert_cmpuint(blocks * block_size, ==, VARS_SIZE);
	/* Read array again. */
	command(&f, 0, 0xff);
	flash_check_reads(&f, 0, 64);
	flash_finish(&f);
}

static void test_identifier_reads_intel_manufacturer_and_device_codes(void)
{
	Flash f;

	flash_start(&f);
	command(&f, 0, 0x90);
	g_assert_cmphex(hg_test_readb(f.t, VARS_BASE), ==, 0x89);
	g_assert_cmphex(hg_test_readb(f.t, VARS_BASE + 1), ==, 0x18);
	g_assert_cmphex(hg_test_readw(f.t, VARS_BASE), ==, 0x1889);
	/* Block lock status at block base + 2: unlocked. */
	g_assert_cmphex(hg_test_readb(f.t, VARS_BASE + 2), ==, 0);
	g_assert_cmphex(hg_test_readb(f.t, VARS_BASE + 7 * BLOCK + 2), ==, 0);
	command(&f, 0, 0xff);
	flash_check_reads(&f, 0, 16);
	flash_finish(&f);
}

/* ---- program ---- */

static void test_program_clears_bits_only_and_reaches_the_file(void)
{
	const size_t at = BLOCK + 0x123;
	Flash f;

	flash_start(&f);
	command(&f, at, 0x40);
	hg_test_writeb(f.t, VARS_BASE + at, 0x0f);
	f.expected[at] &= 0x0f;
	/* Read-status mode until read array. */
	g_assert_cmphex(hg_test_readb(f.t, VARS_BASE + at), ==, SR_READY);
	command(&f, at, 0xff);
	g_assert_cmphex(hg_test_readb(f.t, VARS_BASE + at), ==, f.expected[at]);
	/* Ones cannot come back without an erase. */
	command(&f, at, 0x10);
	hg_test_writeb(f.t, VARS_BASE + at, 0xff);
	g_assert_cmphex(hg_test_readb(f.t, VARS_BASE + at), ==, SR_READY);
	command(&f, at, 0xff);
	g_assert_cmphex(hg_test_readb(f.t, VARS_BASE + at), ==, f.expected[at]);
	flash_check_reads(&f, BLOCK, BLOCK);
	flash_check_file(&f);
	flash_finish(&f);
}

static void test_program_write_width_decides_how_many_bytes(void)
{
	const size_t at = 2 * BLOCK + 0x40;
	Flash f;

	flash_start(&f);
	command(&f, at, 0x10);
	hg_test_writew(f.t, VARS_BASE + at, 0x0ff0);
	command(&f, at + 2, 0x40);
	hg_test_writel(f.t, VARS_BASE + at + 2, 0x12345678);
	command(&f, at + 6, 0x40);
	hg_test_writeq(f.t, VARS_BASE + at + 6, 0x0123456789abcdefull);
	for (unsigned i = 0; i < 2; i++)
		f.expected[at + i] &= (uint8_t)(0x0ff0 >> (8 * i));
	for (unsigned i = 0; i < 4; i++)
		f.expected[at + 2 + i] &= (uint8_t)(0x12345678 >> (8 * i));
	for (unsigned i = 0; i < 8; i++)
		f.expected[at + 6 + i] &= (uint8_t)(0x0123456789abcdefull >> (8 * i));
	g_assert_cmphex(read_status(&f), ==, SR_READY);
	command(&f, 0, 0xff);
	flash_check_reads(&f, 2 * BLOCK, BLOCK);
	flash_check_file(&f);
	flash_finish(&f);
}

static void test_program_past_the_end_is_a_program_error(void)
{
	Flash f;

	flash_start(&f);
	command(&f, VARS_SIZE - 2, 0x40);
	hg_test_writel(f.t, VARS_BASE + VARS_SIZE - 2, 0);
	g_assert_cmphex(hg_test_readb(f.t, VARS_BASE), ==, SR_READY | SR_PROGRAM_ERROR);
	command(&f, 0, 0xff);
	flash_check_file(&f);
	flash_finish(&f);
}

/* ---- erase ---- */

static void test_erase_sets_exactly_one_block_to_ff_and_reaches_the_file(void)
{
	Flash f;

	flash_start(&f);
	command(&f, 2 * BLOCK + 0x800, 0x20);
	command(&f, 2 * BLOCK + 0x800, 0xd0);
	memset(f.expected + 2 * BLOCK, 0xff, BLOCK);
	g_assert_cmphex(hg_test_readb(f.t, VARS_BASE + 2 * BLOCK), ==, SR_READY);
	command(&f, 0, 0xff);
	flash_check_reads(&f, BLOCK, 3 * BLOCK);
	flash_check_file(&f);
	/* And programming works on the erased block. */
	program_byte(&f, 2 * BLOCK + 5, 0xa5);
	command(&f, 0, 0xff);
	g_assert_cmphex(hg_test_readb(f.t, VARS_BASE + 2 * BLOCK + 5), ==, 0xa5);
	flash_check_file(&f);
	flash_finish(&f);
}

static void test_erase_setup_without_confirm_is_a_sequence_error(void)
{
	Flash f;

	flash_start(&f);
	command(&f, 3 * BLOCK, 0x20);
	command(&f, 3 * BLOCK, 0xff);
	g_assert_cmphex(hg_test_readb(f.t, VARS_BASE), ==, SR_READY | SR_SEQUENCE_ERROR);
	command(&f, 0, 0xff);
	flash_check_reads(&f, 3 * BLOCK, BLOCK);
	flash_check_file(&f);
	flash_finish(&f);
}

/* ---- write to buffer ---- */

static void test_write_to_buffer_programs_the_data_on_confirm(void)
{
	const size_t window = 4 * BLOCK + 3 * BUFFER, at = window + 0x20;
	Flash f;

	flash_start(&f);
	command(&f, 4 * BLOCK, 0xe8);
	g_assert_cmphex(hg_test_readb(f.t, VARS_BASE + 4 * BLOCK), ==, SR_READY);
	command(&f, 4 * BLOCK, 11); /* 12 bytes */
	hg_test_writel(f.t, VARS_BASE + at, 0x11223344);
	hg_test_writeq(f.t, VARS_BASE + at + 4, 0x5566778899aabbccull);
	/* Nothing reaches the array or the file before the confirm. */
	flash_check_file(&f);
	g_assert_cmphex(hg_test_readb(f.t, VARS_BASE + at), ==, SR_READY);
	command(&f, 4 * BLOCK, 0xd0);
	for (unsigned i = 0; i < 4; i++)
		f.expected[at + i] &= (uint8_t)(0x11223344 >> (8 * i));
	for (unsigned i = 0; i < 8; i++)
		f.expected[at + 4 + i] &= (uint8_t)(0x5566778899aabbccull >> (8 * i));
	g_assert_cmphex(hg_test_readb(f.t, VARS_BASE + at), ==, SR_READY);
	command(&f, 0, 0xff);
	flash_check_reads(&f, window, BUFFER);
	flash_check_file(&f);
	flash_finish(&f);
}

static void test_write_to_buffer_data_outside_the_window_writes_nothing(void)
{
	const size_t window = 5 * BLOCK;
	Flash f;

	flash_start(&f);
	command(&f, window, 0xe8);
	command(&f, window, 1); /* 2 bytes */
	hg_test_writeb(f.t, VARS_BASE + window + BUFFER - 1, 0x00);
	hg_test_writeb(f.t, VARS_BASE + window + BUFFER, 0x00); /* the next window */
	command(&f, window, 0xd0);
	g_assert_cmphex(hg_test_readb(f.t, VARS_BASE), ==, SR_READY | SR_PROGRAM_ERROR);
	command(&f, 0, 0xff);
	flash_check_reads(&f, window, 2 * BUFFER);
	flash_check_file(&f);
	flash_finish(&f);
}

static void test_write_to_buffer_more_data_than_the_count_writes_nothing(void)
{
	const size_t window = 5 * BLOCK + BUFFER;
	Flash f;

	flash_start(&f);
	command(&f, window, 0xe8);
	command(&f, window, 1); /* 2 bytes, then a 4-byte write */
	hg_test_writel(f.t, VARS_BASE + window, 0);
	command(&f, window, 0xd0);
	g_assert_cmphex(hg_test_readb(f.t, VARS_BASE), ==, SR_READY | SR_PROGRAM_ERROR);
	command(&f, 0, 0xff);
	flash_check_reads(&f, window, BUFFER);
	flash_check_file(&f);
	flash_finish(&f);
}

static void test_write_to_buffer_count_beyond_the_buffer_is_a_sequence_error(void)
{
	const size_t window = 6 * BLOCK;
	Flash f;

	flash_start(&f);
	command(&f, window, 0xe8);
	hg_test_writew(f.t, VARS_BASE + window, BUFFER); /* 257 bytes */
	g_assert_cmphex(hg_test_readb(f.t, VARS_BASE), ==, SR_READY | SR_SEQUENCE_ERROR);
	/* The sequence is over: the next write is a command again. */
	hg_test_writeb(f.t, VARS_BASE + window, 0x00);
	flash_check_reads(&f, window, BUFFER);
	flash_check_file(&f);
	flash_finish(&f);
}

static void test_write_to_buffer_wrong_confirm_is_a_sequence_error(void)
{
	const size_t window = 6 * BLOCK + BUFFER;
	Flash f;

	flash_start(&f);
	command(&f, window, 0xe8);
	command(&f, window, 0);
	hg_test_writeb(f.t, VARS_BASE + window + 9, 0x00);
	command(&f, window, 0xff);
	g_assert_cmphex(hg_test_readb(f.t, VARS_BASE), ==, SR_READY | SR_SEQUENCE_ERROR);
	command(&f, 0, 0xff);
	flash_check_reads(&f, window, BUFFER);
	flash_check_file(&f);
	flash_finish(&f);
}

/* ---- status register and commands ---- */

static void test_status_is_ready_at_power_on_in_every_byte(void)
{
	Flash f;

	flash_start(&f);
	command(&f, 0, 0x70);
	g_assert_cmphex(hg_test_readb(f.t, VARS_BASE + 0x1234), ==, SR_READY);
	g_assert_cmphex(hg_test_readl(f.t, VARS_BASE), ==, 0x80808080);
	flash_finish(&f);
}

static void test_status_errors_stay_until_clear_status(void)
{
	Flash f;

	flash_start(&f);
	command(&f, 0, 0x20);
	command(&f, 0, 0x00);
	g_assert_cmphex(read_status(&f), ==, SR_READY | SR_SEQUENCE_ERROR);
	/* A good program does not clear them... */
	program_byte(&f, 7 * BLOCK, 0x00);
	g_assert_cmphex(read_status(&f), ==, SR_READY | SR_SEQUENCE_ERROR);
	/* ...clear status does, SR7 included (what OVMF's probe expects),
	 * and returns to read array. */
	command(&f, 0, 0x50);
	g_assert_cmphex(hg_test_readb(f.t, VARS_BASE + 7 * BLOCK), ==, f.expected[7 * BLOCK]);
	g_assert_cmphex(read_status(&f), ==, 0x00);
	/* The next operation sets SR7 again. */
	program_byte(&f, 7 * BLOCK + 1, 0x00);
	g_assert_cmphex(hg_test_readb(f.t, VARS_BASE), ==, SR_READY);
	command(&f, 0, 0xff);
	flash_check_file(&f);
	flash_finish(&f);
}

static void test_commands_unknown_command_returns_to_read_array(void)
{
	Flash f;

	flash_start(&f);
	command(&f, 0, 0x70);
	command(&f, 0, 0x42);
	flash_check_reads(&f, 0, 64);
	command(&f, 0, 0x98);
	command(&f, 0, 0x00);
	flash_check_reads(&f, 0, 64);
	/* The status is left alone. */
	g_assert_cmphex(read_status(&f), ==, SR_READY);
	flash_finish(&f);
}

static void test_commands_writes_in_read_array_mode_change_nothing_in_the_file(void)
{
	Flash f;

	flash_start(&f);
	hg_test_writeb(f.t, VARS_BASE + 0x100, 0xab);
	hg_test_writew(f.t, VARS_BASE + 0x200, 0x1200);
	hg_test_writel(f.t, VARS_BASE + 8 * BLOCK, 0x12345678);
	hg_test_writeq(f.t, VARS_BASE + 9 * BLOCK, 0x0102030405060708ull);
	flash_check_reads(&f, 0, 0x300);
	flash_check_reads(&f, 8 * BLOCK, 2 * BLOCK);
	flash_check_file(&f);
	flash_finish(&f);
}

static void test_commands_lock_and_unlock_are_accepted_and_blocks_stay_unlocked(void)
{
	Flash f;

	flash_start(&f);
	command(&f, 10 * BLOCK, 0x60);
	command(&f, 10 * BLOCK, 0x01);
	g_assert_cmphex(hg_test_readb(f.t, VARS_BASE), ==, SR_READY);
	command(&f, 0, 0x90);
	g_assert_cmphex(hg_test_readb(f.t, VARS_BASE + 10 * BLOCK + 2), ==, 0);
	program_byte(&f, 10 * BLOCK + 3, 0x3c);
	g_assert_cmphex(hg_test_readb(f.t, VARS_BASE), ==, SR_READY);
	command(&f, 10 * BLOCK, 0x60);
	command(&f, 10 * BLOCK, 0xd0);
	g_assert_cmphex(hg_test_readb(f.t, VARS_BASE), ==, SR_READY);
	command(&f, 10 * BLOCK, 0x60);
	command(&f, 10 * BLOCK, 0x77);
	g_assert_cmphex(hg_test_readb(f.t, VARS_BASE), ==, SR_READY | SR_SEQUENCE_ERROR);
	command(&f, 0, 0xff);
	flash_check_reads(&f, 10 * BLOCK, BLOCK);
	flash_check_file(&f);
	flash_finish(&f);
}

static void test_commands_suspend_and_resume_are_accepted(void)
{
	Flash f;

	flash_start(&f);
	command(&f, 0, 0xb0);
	g_assert_cmphex(hg_test_readb(f.t, VARS_BASE), ==, SR_READY);
	command(&f, 0, 0xd0);
	g_assert_cmphex(hg_test_readb(f.t, VARS_BASE), ==, SR_READY);
	command(&f, 0, 0xff);
	flash_check_reads(&f, 0, 64);
	flash_check_file(&f);
	flash_finish(&f);
}

/* ---- OVMF (QemuFlash.c) ---- */

typedef enum { PROBE_NONE, PROBE_RAM, PROBE_ROM, PROBE_FLASH } ProbeResult;

/* QemuFlashDetected, step by step, on block 0. */
static ProbeResult ovmf_probe(Flash *f)
{
	uint64_t probe = VARS_BASE;
	uint8_t original, value;
	size_t offset;

	for (offset = 0; offset < BLOCK; offset++) {
		value = hg_test_readb(f->t, VARS_BASE + offset);
		if (value != 0x50 && value != 0x70 && value != 0x00)
			break;
	}
	if (offset == BLOCK)
		return PROBE_NONE;
	probe = VARS_BASE + offset;
	original = hg_test_readb(f->t, probe);
	hg_test_writeb(f->t, probe, 0x50);
	value = hg_test_readb(f->t, probe);
	if (original != 0x50 && value == 0x50) {
		hg_test_writeb(f->t, probe, original);
		return PROBE_RAM;
	}
	hg_test_writeb(f->t, probe, 0x70);
	value = hg_test_readb(f->t, probe);
	if (value == original)
		return PROBE_ROM;
	if (value == 0x70) {
		hg_test_writeb(f->t, probe, original);
		return PROBE_RAM;
	}
	if (value == 0x00) {
		hg_test_writeb(f->t, probe, 0xff);
		return PROBE_FLASH;
	}
	return PROBE_NONE;
}

static void test_ovmf_probe_concludes_flash(void)
{
	Flash f;

	flash_start(&f);
	g_assert_cmpint(ovmf_probe(&f), ==, PROBE_FLASH);
	/* It leaves read-array mode and the file as they were. */
	flash_check_reads(&f, 0, 64);
	flash_check_file(&f);
	flash_finish(&f);
}

/* QemuFlashWrite: 0x10 and the byte for each byte, 0xFF on the last;
 * QemuFlashEraseBlock: 0x20, 0xD0 at the block's start, nothing after. */
static void ovmf_write(Flash *f, size_t offset, const uint8_t *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		hg_test_writeb(f->t, VARS_BASE + offset + i, 0x10);
		hg_test_writeb(f->t, VARS_BASE + offset + i, data[i]);
		f->expected[offset + i] &= data[i];
	}
	if (len)
		hg_test_writeb(f->t, VARS_BASE + offset + len - 1, 0xff);
}

static void ovmf_erase(Flash *f, size_t block)
{
	hg_test_writeb(f->t, VARS_BASE + block * BLOCK, 0x20);
	hg_test_writeb(f->t, VARS_BASE + block * BLOCK, 0xd0);
	memset(f->expected + block * BLOCK, 0xff, BLOCK);
}

static void test_ovmf_erase_then_byte_programs_read_back(void)
{
	static const uint8_t variable[] = "BootOrder\0\x01\x00\x02\x00";
	Flash f;

	flash_start(&f);
	g_assert_cmpint(ovmf_probe(&f), ==, PROBE_FLASH);
	ovmf_erase(&f, 11);
	/* An erase leaves read-status mode, as on QEMU. */
	g_assert_cmphex(hg_test_readb(f.t, VARS_BASE + 11 * BLOCK), ==, SR_READY);
	ovmf_write(&f, 11 * BLOCK + 0x18, variable, sizeof(variable));
	flash_check_reads(&f, 11 * BLOCK, BLOCK);
	flash_check_file(&f);
	flash_finish(&f);
}

/* ---- persistence ---- */

static void test_persistence_variables_survive_a_power_cycle(void)
{
	static const uint8_t variable[] = "Timeout=5";
	Flash f;

	flash_start(&f);
	ovmf_erase(&f, 12);
	ovmf_write(&f, 12 * BLOCK, variable, sizeof(variable));
	flash_quit_engine(&f);
	flash_check_file(&f);
	f.t = hg_test_start("--firmware-vars", f.path, NULL);
	flash_check_reads(&f, 12 * BLOCK, BLOCK);
	g_assert_cmpint(ovmf_probe(&f), ==, PROBE_FLASH);
	flash_finish(&f);
}

/* ---- save and restore ---- */

static const size_t saved_window = 13 * BLOCK + 2 * BUFFER;

/* Write to buffer of 6 bytes, 2 written; saved into f->dir/saved. */
static char *save_mid_write_to_buffer(Flash *f)
{
	char *dir;

	flash_start(f);
	dir = g_build_filename(f->dir, "saved", NULL);
	command(f, saved_window, 0xe8);
	command(f, saved_window, 5);
	hg_test_writew(f->t, VARS_BASE + saved_window + 8, 0x0102);
	hg_test_save(f->t, dir);
	return dir;
}

static void test_state_save_mid_write_to_buffer_and_continue_in_fresh_engine(void)
{
	static const uint8_t data[6] = {0x02, 0x01, 0x06, 0x05, 0x04, 0x03};
	g_autofree char *dir = NULL;
	Flash f;

	dir = save_mid_write_to_buffer(&f);
	flash_quit_engine(&f);
	f.t = hg_test_start("--restore", dir, "--firmware-vars", f.path, NULL);
	g_assert_cmphex(hg_test_readb(f.t, VARS_BASE), ==, SR_READY);
	hg_test_writel(f.t, VARS_BASE + saved_window + 10, 0x03040506);
	command(&f, saved_window, 0xd0);
	g_assert_cmphex(hg_test_readb(f.t, VARS_BASE), ==, SR_READY);
	for (unsigned i = 0; i < 6; i++)
		f.expected[saved_window + 8 + i] &= data[i];
	command(&f, 0, 0xff);
	flash_check_reads(&f, saved_window, BUFFER);
	flash_check_file(&f);
	flash_finish(&f);
}

static void test_state_load_rejects_corrupt_record(void)
{
	static const struct {
		const char *key;
		const char *value; /* GVariant text, NULL to remove the key */
		const char *why;
	} cases[] = {
		{"size", "uint64 4096", "variable store had 4096"},
		{"mode", "byte 10", "mode 10 is not a flash mode"},
		{"mode", "byte 9", "progress disagrees with mode 9"},
		{"status", "byte 0x40", "bits this flash never sets"},
		{"buffer-remaining", "uint32 257", "more than the 256-byte buffer"},
		{"buffer-window", "uint64 0x81", "not a buffer-aligned offset"},
		{"buffer-window", "uint64 0x84000", "not a buffer-aligned offset"},
		{"buffer", "@ay [1, 2, 3]", "\"buffer\" has 3 bytes"},
		{"status", "uint32 0", "\"status\" has type u"},
		{"buffer-failed", NULL, "lacks \"buffer-failed\""},
	};
	g_autofree char *dir = NULL;
	g_autofree char *state_path = NULL;
	g_autofree char *pristine = NULL;
	g_autoptr(GError) error = NULL;
	gsize pristine_len;
	Flash f;

	dir = save_mid_write_to_buffer(&f);
	flash_quit_engine(&f); /* the restores need the store's lock */
	state_path = g_build_filename(dir, "state", NULL);
	g_assert_true(g_file_get_contents(state_path, &pristine, &pristine_len, &error));
	for (size_t c = 0; c < G_N_ELEMENTS(cases); c++) {
		const char *extra[] = {"--firmware-vars", f.path, NULL};

		g_assert_true(g_file_set_contents(state_path, pristine, pristine_len, &error));
		hg_test_edit_saved_record_text(dir, "firmware-vars", cases[c].key, cases[c].value);
		hg_test_expect_restore_refused(dir, extra, "firmware-vars", cases[c].why);
	}
	flash_check_file(&f);
	flash_finish(&f);
}

static void test_state_load_rejects_a_store_of_another_size(void)
{
	g_autofree char *dir = NULL;
	Flash f;

	dir = save_mid_write_to_buffer(&f);
	flash_quit_engine(&f);
	flash_write_file(&f, f.path, VARS_SIZE - BLOCK);
	const char *extra[] = {"--firmware-vars", f.path, NULL};
	hg_test_expect_restore_refused(dir, extra, f.path, "variable store had 540672");
	flash_finish(&f);
}

/* ---- start-up checks ---- */

static void expect_setup_failure(const char *vars, const char *extra, const char *why)
{
	const char *args[] = {"--firmware-vars", vars, extra, NULL};
	g_autofree char *err_text = NULL;

	g_assert_cmpint(hg_test_run_engine_expect_exit(args, &err_text), ==, EXIT_SETUP_FAILED);
	if (!strstr(err_text, vars) || !strstr(err_text, why))
		g_error("expected \"%s\" and \"%s\" in: %s", vars, why, err_text);
}

static void test_setup_read_only_store_exits_4_naming_the_file(void)
{
	Flash f;

	flash_prepare(&f, VARS_SIZE);
	g_assert_cmpint(g_chmod(f.path, 0444), ==, 0);
	expect_setup_failure(f.path, NULL, "read-only");
	flash_finish(&f);
}

static void test_setup_missing_store_exits_4_naming_the_file(void)
{
	g_autofree char *missing = NULL;
	Flash f;

	flash_prepare(&f, VARS_SIZE);
	missing = g_build_filename(f.dir, "no-such-vars.fd", NULL);
	expect_setup_failure(missing, NULL, "cannot open");
	flash_finish(&f);
}

static void test_setup_store_of_partial_blocks_is_refused(void)
{
	Flash f;

	flash_prepare(&f, VARS_SIZE - 0x800);
	expect_setup_failure(f.path, NULL, "whole number of 4096-byte blocks");
	flash_finish(&f);
}

static void test_setup_firmware_and_store_beyond_16_mib_are_refused(void)
{
	g_autofree char *firmware = NULL;
	g_autofree char *option = NULL;
	Flash f;

	flash_prepare(&f, BLOCK);
	firmware = g_build_filename(f.dir, "firmware.fd", NULL);
	g_assert_true(g_file_set_contents(firmware, "", 0, NULL));
	g_assert_cmpint(truncate(firmware, 16 << 20), ==, 0);
	option = g_strconcat("--firmware=", firmware, NULL);
	expect_setup_failure(f.path, option, "exceed the 16 MiB below 4 GiB");
	flash_finish(&f);
}

static void test_persistence_a_second_engine_on_the_same_store_is_refused(void)
{
	Flash f;

	flash_start(&f);
	expect_setup_failure(f.path, NULL, "in use by another engine");
	/* The first engine is unaffected. */
	g_assert_cmpint(ovmf_probe(&f), ==, PROBE_FLASH);
	flash_finish(&f);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	signal(SIGPIPE, SIG_IGN);

	g_test_add_func("/pflash/read-array/returns-file-bytes-at-every-width",
			test_read_array_returns_file_bytes_at_every_width);
	g_test_add_func("/pflash/read-array/wide-read-at-the-end-sees-nothing-beyond",
			test_read_array_wide_read_at_the_end_sees_nothing_beyond);
	g_test_add_func("/pflash/layout/without-firmware-the-store-ends-at-0xffc84000",
			test_layout_without_firmware_the_store_ends_at_0xffc84000);
	g_test_add_func("/pflash/layout/store-ends-where-the-firmware-image-begins",
			test_layout_store_ends_where_the_firmware_image_begins);
	g_test_add_func("/pflash/query/reports-qry-and-consistent-geometry",
			test_query_reports_qry_and_consistent_geometry);
	g_test_add_func("/pflash/identifier/reads-intel-manufacturer-and-device-codes",
			test_identifier_reads_intel_manufacturer_and_device_codes);
	g_test_add_func("/pflash/program/clears-bits-only-and-reaches-the-file",
			test_program_clears_bits_only_and_reaches_the_file);
	g_test_add_func("/pflash/program/write-width-decides-how-many-bytes",
			test_program_write_width_decides_how_many_bytes);
	g_test_add_func("/pflash/program/past-the-end-is-a-program-error",
			test_program_past_the_end_is_a_program_error);
	g_test_add_func("/pflash/erase/sets-exactly-one-block-to-ff-and-reaches-the-file",
			test_erase_sets_exactly_one_block_to_ff_and_reaches_the_file);
	g_test_add_func("/pflash/erase/setup-without-confirm-is-a-sequence-error",
			test_erase_setup_without_confirm_is_a_sequence_error);
	g_test_add_func("/pflash/write-to-buffer/programs-the-data-on-confirm",
			test_write_to_buffer_programs_the_data_on_confirm);
	g_test_add_func("/pflash/write-to-buffer/data-outside-the-window-writes-nothing",
			test_write_to_buffer_data_outside_the_window_writes_nothing);
	g_test_add_func("/pflash/write-to-buffer/more-data-than-the-count-writes-nothing",
			test_write_to_buffer_more_data_than_the_count_writes_nothing);
	g_test_add_func("/pflash/write-to-buffer/count-beyond-the-buffer-is-a-sequence-error",
			test_write_to_buffer_count_beyond_the_buffer_is_a_sequence_error);
	g_test_add_func("/pflash/write-to-buffer/wrong-confirm-is-a-sequence-error",
			test_write_to_buffer_wrong_confirm_is_a_sequence_error);
	g_test_add_func("/pflash/status/is-ready-at-power-on-in-every-byte",
			test_status_is_ready_at_power_on_in_every_byte);
	g_test_add_func("/pflash/status/errors-stay-until-clear-status",
			test_status_errors_stay_until_clear_status);
	g_test_add_func("/pflash/commands/unknown-command-returns-to-read-array",
			test_commands_unknown_command_returns_to_read_array);
	g_test_add_func("/pflash/commands/writes-in-read-array-mode-change-nothing-in-the-file",
			test_commands_writes_in_read_array_mode_change_nothing_in_the_file);
	g_test_add_func("/pflash/commands/lock-and-unlock-are-accepted-and-blocks-stay-unlocked",
			test_commands_lock_and_unlock_are_accepted_and_blocks_stay_unlocked);
	g_test_add_func("/pflash/commands/suspend-and-resume-are-accepted",
			test_commands_suspend_and_resume_are_accepted);
	g_test_add_func("/pflash/ovmf/probe-concludes-flash", test_ovmf_probe_concludes_flash);
	g_test_add_func("/pflash/ovmf/erase-then-byte-programs-read-back",
			test_ovmf_erase_then_byte_programs_read_back);
	g_test_add_func("/pflash/persistence/variables-survive-a-power-cycle",
			test_persistence_variables_survive_a_power_cycle);
	g_test_add_func("/pflash/persistence/a-second-engine-on-the-same-store-is-refused",
			test_persistence_a_second_engine_on_the_same_store_is_refused);
	g_test_add_func("/pflash/state/save-mid-write-to-buffer-and-continue-in-fresh-engine",
			test_state_save_mid_write_to_buffer_and_continue_in_fresh_engine);
	g_test_add_func("/pflash/state/load-rejects-corrupt-record",
			test_state_load_rejects_corrupt_record);
	g_test_add_func("/pflash/state/load-rejects-a-store-of-another-size",
			test_state_load_rejects_a_store_of_another_size);
	g_test_add_func("/pflash/setup/read-only-store-exits-4-naming-the-file",
			test_setup_read_only_store_exits_4_naming_the_file);
	g_test_add_func("/pflash/setup/missing-store-exits-4-naming-the-file",
			test_setup_missing_store_exits_4_naming_the_file);
	g_test_add_func("/pflash/setup/store-of-partial-blocks-is-refused",
			test_setup_store_of_partial_blocks_is_refused);
	g_test_add_func("/pflash/setup/firmware-and-store-beyond-16-mib-are-refused",
			test_setup_firmware_and_store_beyond_16_mib_are_refused);
	return g_test_run();
}
