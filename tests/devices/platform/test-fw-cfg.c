/* fw_cfg (devices/platform/fw_cfg.c) against QEMU docs/specs/fw_cfg.rst,
 * driven through the harness the way firmware drives it: 16-bit selector
 * writes to 0x510, byte reads from 0x511, and DMA started by writing the
 * big-endian descriptor address to 0x514/0x518 with outl, high half first,
 * each half byte-swapped as SeaBIOS and Linux do (outl(cpu_to_be32(x))). */
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "tests/harness/harness.h"
#include "tests/harness/saved_state.h"

#define PORT_SELECTOR 0x510
#define PORT_DATA 0x511
#define PORT_DMA_HIGH 0x514
#define PORT_DMA_LOW 0x518

#define KEY_SIGNATURE 0x00
#define KEY_ID 0x01
#define KEY_RAM_SIZE 0x03
#define KEY_NB_CPUS 0x05
#define KEY_MAX_CPUS 0x0f
#define KEY_FILE_DIR 0x19
#define KEY_FILE_FIRST 0x20
#define WRITE_CHANNEL 0x4000

#define DMA_ERROR 0x01
#define DMA_READ 0x02
#define DMA_SKIP 0x04
#define DMA_SELECT 0x08
#define DMA_WRITE 0x10

#define RAM_MIB 64
#define RAM_END ((uint64_t)RAM_MIB << 20)
#define DESCRIPTOR 0x1000 /* where the tests put their FWCfgDmaAccess */
#define BUFFER 0x2000 /* and their DMA buffers */
#define OTHER_DESCRIPTOR 0x2100

#define HELLO "hello world"

/* The options most cases use: two files added out of name order. */
#define DEFAULT_FW_CFG                                                                            \
	"--fw-cfg", "name=opt/test/hello,string=" HELLO, "--fw-cfg", "name=etc/a-first,string=A"

static HgTest *start_default(void)
{
	return hg_test_start("--memory", G_STRINGIFY(RAM_MIB), DEFAULT_FW_CFG, NULL);
}

static void put_be32(uint8_t *p, uint32_t v)
{
	v = GUINT32_TO_BE(v);
	memcpy(p, &v, 4);
}

static void put_be64(uint8_t *p, uint64_t v)
{
	v = GUINT64_TO_BE(v);
	memcpy(p, &v, 8);
}

static uint32_t get_be32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return GUINT32_FROM_BE(v);
}

static uint16_t get_be16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return GUINT16_FROM_BE(v);
}

static void fw_select(HgTest *t, uint16_t key)
{
	hg_test_outw(t, PORT_SELECTOR, key);
}

static void fw_read(HgTest *t, void *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		((uint8_t *)buf)[i] = hg_test_inb(t, PORT_DATA);
}

static uint64_t fw_read_le(HgTest *t, uint16_t key, size_t len)
{
	uint8_t b[8] = {0};
	uint64_t v = 0;

	fw_select(t, key);
	fw_read(t, b, len);
	for (size_t i = 0; i < len; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

/* Look a file up in the directory, as firmware does. */
static bool fw_find_file(HgTest *t, const char *name, uint16_t *select, uint32_t *size)
{
	uint8_t count_be[4];
	uint32_t count;

	fw_select(t, KEY_FILE_DIR);
	fw_read(t, count_be, 4);
	count = get_be32(count_be);
	for (uint32_t i = 0; i < count; i++) {
		uint8_t entry[64];
		fw_read(t, entry, sizeof(entry));
		if (strncmp((char *)entry + 8, name, 56) == 0) {
			*size = get_be32(entry);
			*select = get_be16(entry + 4);
			return true;
		}
	}
	return false;
}

static uint16_t fw_file_select(HgTest *t, const char *name)
{
	uint16_t select = 0;
	uint32_t size = 0;

	g_assert_true(fw_find_file(t, name, &select, &size));
	return select;
}

static void dma_start(HgTest *t, uint64_t descriptor)
{
	hg_test_outl(t, PORT_DMA_HIGH, GUINT32_SWAP_LE_BE((uint32_t)(descriptor >> 32)));
	hg_test_outl(t, PORT_DMA_LOW, GUINT32_SWAP_LE_BE((uint32_t)descriptor));
}

/* Write an FWCfgDmaAccess at descriptor, start it, return the control word
 * the device wrote back. */
static uint32_t dma_run(HgTest *t, uint64_t descriptor, uint32_t control, uint32_t length,
			uint64_t address)
{
	uint8_t access[16];

	put_be32(access, control);
	put_be32(access + 4, length);
	put_be64(access + 8, address);
	hg_test_memwrite(t, descriptor, access, sizeof(access));
	dma_start(t, descriptor);
	hg_test_memread(t, descriptor, access, 4);
	return get_be32(access);
}

static void assert_engine_answers(HgTest *t)
{
	char sig[4];

	fw_select(t, KEY_SIGNATURE);
	fw_read(t, sig, 4);
	g_assert_cmpmem(sig, 4, "QEMU", 4);
}

/* ---- Items through the data port ---- */

static void test_signature_reads_qemu(void)
{
	HgTest *t = start_default();
	char sig[5] = {0};

	/* After reset the signature is selected: probing code that reads
	 * before selecting still sees it. */
	fw_read(t, sig, 4);
	g_assert_cmpstr(sig, ==, "QEMU");
	fw_select(t, KEY_SIGNATURE);
	fw_read(t, sig, 4);
	g_assert_cmpstr(sig, ==, "QEMU");
	hg_test_quit(t);
}

static void test_features_advertise_dma(void)
{
	HgTest *t = start_default();

	/* Bit 0 traditional interface, bit 1 DMA; le32. */
	g_assert_cmphex(fw_read_le(t, KEY_ID, 4), ==, 0x3);
	hg_test_quit(t);
}

static void test_machine_info_items(void)
{
	HgTest *t = hg_test_start("--memory", "64", "--cpus", "2", NULL);

	g_assert_cmphex(fw_read_le(t, KEY_RAM_SIZE, 8), ==, 64ull << 20);
	g_assert_cmpuint(fw_read_le(t, KEY_NB_CPUS, 2), ==, 2);
	g_assert_cmpuint(fw_read_le(t, KEY_MAX_CPUS, 2), ==, 2);
	hg_test_quit(t);
}

static void test_directory_is_sorted_and_big_endian(void)
{
	/* Added in reverse order: each insertion moves the later files'
	 * selectors up, as in QEMU. */
	HgTest *t = hg_test_start("--fw-cfg", "name=opt/test/zz,string=zz", "--fw-cfg",
				  "name=opt/test/hello,string=" HELLO, "--fw-cfg",
				  "name=etc/a-first,string=A", "--fw-cfg", "name=bootorder,string=",
				  NULL);
	static const struct {
		const char *name;
		const char *content;
	} expect[] = {
		{"bootorder", ""},
		{"etc/a-first", "A"},
		{"opt/test/hello", HELLO},
		{"opt/test/zz", "zz"},
	};
	uint8_t count_be[4], after[4];
	uint32_t count;
	unsigned found = 0;

	/* The engine adds files of its own (etc/e820, ...): the directory
	 * holds ours among them, all sorted, selectors in directory order. */
	fw_select(t, KEY_FILE_DIR);
	fw_read(t, count_be, 4);
	count = get_be32(count_be);
	g_assert_cmpuint(count, >=, G_N_ELEMENTS(expect));
	g_assert_cmpuint(count, <, 64);
	g_autofree uint8_t(*entries)[64] = g_malloc(count * 64);
	fw_read(t, entries, count * 64);
	fw_read(t, after, sizeof(after));
	g_assert_cmpmem(after, 4, "\0\0\0\0", 4);
	char previous[57] = {0};
	for (uint32_t i = 0; i < count; i++) {
		char name[57] = {0};

		memcpy(name, entries[i] + 8, 56);
		g_assert_cmpint(strcmp(previous, name), <, 0);
		memcpy(previous, name, sizeof(name));
		g_assert_cmphex(get_be16(entries[i] + 4), ==, KEY_FILE_FIRST + i);
		g_assert_cmphex(get_be16(entries[i] + 6), ==, 0); /* reserved */
		/* The name is NUL-padded to 56 bytes. */
		for (size_t j = strlen(name); j < 56; j++)
			g_assert_cmphex(entries[i][8 + j], ==, 0);
		if (found < G_N_ELEMENTS(expect) && strcmp(name, expect[found].name) == 0) {
			g_assert_cmpuint(get_be32(entries[i]), ==, strlen(expect[found].content));
			char data[16] = {0};
			fw_select(t, KEY_FILE_FIRST + i);
			fw_read(t, data, sizeof(data) - 1);
			g_assert_cmpstr(data, ==, expect[found].content);
			found++;
		}
	}
	g_assert_cmpuint(found, ==, G_N_ELEMENTS(expect));
	hg_test_quit(t);
}

static void test_file_read_through_data_port(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *path = NULL;
	g_autofree char *file_opt = NULL;
	uint8_t content[300], got[300];
	uint16_t select;
	uint32_t size;
	int fd;

	for (unsigned i = 0; i < sizeof(content); i++)
		content[i] = (uint8_t)(i * 7); /* binary, with NULs */
	fd = g_file_open_tmp("fw-cfg-XXXXXX", &path, &error);
	g_assert_no_error(error);
	close(fd);
	g_assert_true(g_file_set_contents(path, (char *)content, sizeof(content), &error));
	file_opt = g_strconcat("name=opt/test/blob,file=", path, NULL);

	HgTest *t = hg_test_start(DEFAULT_FW_CFG, "--fw-cfg", file_opt, NULL);
	char hello[sizeof(HELLO)] = {0};

	fw_select(t, fw_file_select(t, "opt/test/hello"));
	fw_read(t, hello, sizeof(HELLO) - 1);
	g_assert_cmpstr(hello, ==, HELLO);

	g_assert_true(fw_find_file(t, "opt/test/blob", &select, &size));
	g_assert_cmpuint(size, ==, sizeof(content));
	fw_select(t, select);
	fw_read(t, got, sizeof(got));
	g_assert_cmpmem(got, sizeof(got), content, sizeof(content));
	hg_test_quit(t);
	g_unlink(path);
}

static void test_read_past_end_returns_zero(void)
{
	HgTest *t = start_default();
	uint8_t b[8];

	fw_select(t, fw_file_select(t, "etc/a-first"));
	fw_read(t, b, sizeof(b));
	g_assert_cmpmem(b, sizeof(b), "A\0\0\0\0\0\0\0", 8);
	fw_select(t, KEY_SIGNATURE);
	fw_read(t, b, sizeof(b));
	g_assert_cmpmem(b, sizeof(b), "QEMU\0\0\0\0", 8);
	hg_test_quit(t);
}

static void test_selector_write_resets_offset(void)
{
	HgTest *t = start_default();
	uint16_t hello = fw_file_select(t, "opt/test/hello");
	char b[6] = {0};

	fw_select(t, hello);
	fw_read(t, b, 3);
	g_assert_cmpstr(b, ==, "hel");
	fw_select(t, hello);
	fw_read(t, b, 5);
	g_assert_cmpstr(b, ==, "hello");
	hg_test_quit(t);
}

static void test_data_port_writes_are_ignored(void)
{
	HgTest *t = start_default();
	uint16_t hello = fw_file_select(t, "opt/test/hello");
	char b[sizeof(HELLO)] = {0};

	/* The write channel (bit 14) selects the same item; writes to the
	 * data port neither change it nor move the offset. */
	fw_select(t, WRITE_CHANNEL | hello);
	for (int i = 0; i < 4; i++)
		hg_test_outb(t, PORT_DATA, 'X');
	fw_read(t, b, 2);
	g_assert_cmpstr(b, ==, "he");
	fw_select(t, hello);
	hg_test_outb(t, PORT_DATA, 'X');
	fw_read(t, b, sizeof(HELLO) - 1);
	g_assert_cmpstr(b, ==, HELLO);
	hg_test_quit(t);
}

static void test_unknown_selector_reads_zero(void)
{
	HgTest *t = start_default();
	/* Unused numbered keys, a file selector far past the files (the test's
	 * and the engine's own), an architecture key with nothing there, the
	 * very last selector. */
	static const uint16_t keys[] = {0x1a, 0x1f, KEY_FILE_FIRST + 60, 0x3fff, 0x8010, 0xffff};
	uint8_t fill[8];

	for (unsigned i = 0; i < G_N_ELEMENTS(keys); i++) {
		uint8_t b[4];

		fw_select(t, keys[i]);
		fw_read(t, b, sizeof(b));
		g_assert_cmpmem(b, sizeof(b), "\0\0\0\0", 4);
	}
	/* Through DMA too: zeros, and no error. */
	memset(fill, 0xaa, sizeof(fill));
	hg_test_memwrite(t, BUFFER, fill, sizeof(fill));
	g_assert_cmphex(dma_run(t, DESCRIPTOR, 0x1a << 16 | DMA_SELECT | DMA_READ, sizeof(fill),
				BUFFER),
			==, 0);
	hg_test_memread(t, BUFFER, fill, sizeof(fill));
	g_assert_cmpmem(fill, sizeof(fill), "\0\0\0\0\0\0\0\0", 8);
	hg_test_quit(t);
}

/* ---- DMA ---- */

static void test_dma_signature_register(void)
{
	HgTest *t = start_default();
	char sig[9] = {0};
	uint64_t reg;

	/* The register is big-endian: a guest byte-swaps what inl gives. */
	reg = (uint64_t)GUINT32_SWAP_LE_BE(hg_test_inl(t, PORT_DMA_HIGH)) << 32 |
	      GUINT32_SWAP_LE_BE(hg_test_inl(t, PORT_DMA_LOW));
	g_assert_cmphex(reg, ==, 0x51454d5520434647ull);
	/* Byte by byte, it reads "QEMU CFG" in address order. */
	for (int i = 0; i < 8; i++)
		sig[i] = hg_test_inb(t, PORT_DMA_HIGH + i);
	g_assert_cmpstr(sig, ==, "QEMU CFG");
	hg_test_quit(t);
}

static void test_dma_select_and_read(void)
{
	HgTest *t = start_default();
	uint16_t hello = fw_file_select(t, "opt/test/hello");
	char b[sizeof(HELLO)] = {0};

	fw_select(t, KEY_SIGNATURE);
	g_assert_cmphex(
		dma_run(t, DESCRIPTOR, (uint32_t)hello << 16 | DMA_SELECT | DMA_READ, 5, BUFFER),
		==, 0);
	hg_test_memread(t, BUFFER, b, 5);
	g_assert_cmpstr(b, ==, "hello");
	/* DMA and the data port share the selector and the offset. */
	memset(b, 0, sizeof(b));
	fw_read(t, b, 6);
	g_assert_cmpstr(b, ==, " world");
	/* A read without select continues from the current offset. */
	fw_select(t, hello);
	g_assert_cmphex(dma_run(t, DESCRIPTOR, DMA_READ, 6, BUFFER), ==, 0);
	g_assert_cmphex(dma_run(t, DESCRIPTOR, DMA_READ, 5, BUFFER + 6), ==, 0);
	memset(b, 0, sizeof(b));
	hg_test_memread(t, BUFFER, b, sizeof(HELLO) - 1);
	g_assert_cmpstr(b, ==, HELLO);
	hg_test_quit(t);
}

static void test_dma_skip_then_read(void)
{
	HgTest *t = start_default();
	uint16_t hello = fw_file_select(t, "opt/test/hello");
	char b[6] = {0};

	g_assert_cmphex(
		dma_run(t, DESCRIPTOR, (uint32_t)hello << 16 | DMA_SELECT | DMA_SKIP, 6, BUFFER),
		==, 0);
	g_assert_cmphex(dma_run(t, DESCRIPTOR, DMA_READ, 5, BUFFER), ==, 0);
	hg_test_memread(t, BUFFER, b, 5);
	g_assert_cmpstr(b, ==, "world");
	hg_test_quit(t);
}

static void test_dma_read_past_end_fills_zeros(void)
{
	HgTest *t = start_default();
	uint16_t hello = fw_file_select(t, "opt/test/hello");
	uint8_t b[16];

	memset(b, 0xaa, sizeof(b));
	hg_test_memwrite(t, BUFFER, b, sizeof(b));
	g_assert_cmphex(dma_run(t, DESCRIPTOR, (uint32_t)hello << 16 | DMA_SELECT | DMA_READ,
				sizeof(b), BUFFER),
			==, 0);
	hg_test_memread(t, BUFFER, b, sizeof(b));
	g_assert_cmpmem(b, sizeof(b), HELLO "\0\0\0\0\0", 16);
	hg_test_quit(t);
}

static void test_dma_low_half_alone_starts_a_32_bit_transfer(void)
{
	HgTest *t = start_default();
	uint16_t hello = fw_file_select(t, "opt/test/hello");
	uint8_t access[16];
	char b[6] = {0};

	/* A full transfer first, so that the register held an address. */
	g_assert_cmphex(dma_run(t, DESCRIPTOR, (uint32_t)hello << 16 | DMA_SELECT | DMA_SKIP, 6,
				0),
			==, 0);
	/* The register is 0 after a transfer: writing the low half alone
	 * names a descriptor below 4 GiB, not DESCRIPTOR | OTHER_DESCRIPTOR. */
	put_be32(access, DMA_READ);
	put_be32(access + 4, 5);
	put_be64(access + 8, BUFFER);
	hg_test_memwrite(t, OTHER_DESCRIPTOR, access, sizeof(access));
	hg_test_outl(t, PORT_DMA_LOW, GUINT32_SWAP_LE_BE(OTHER_DESCRIPTOR));
	hg_test_memread(t, OTHER_DESCRIPTOR, access, 4);
	g_assert_cmphex(get_be32(access), ==, 0);
	hg_test_memread(t, BUFFER, b, 5);
	g_assert_cmpstr(b, ==, "world");
	hg_test_quit(t);
}

static void test_dma_descriptor_outside_ram_is_harmless(void)
{
	HgTest *t = start_default();
	uint16_t hello = fw_file_select(t, "opt/test/hello");
	static const uint64_t outside[] = {
		RAM_END, /* first byte after RAM */
		0xc0000000, /* the PCI hole */
		0xfffffff0, /* the top of 32-bit space */
		0x100001000ull, /* above 4 GiB: the high half matters */
		0xfffffffffffffff8ull, /* the access would wrap around */
	};
	uint8_t tail[64], tail_after[64];
	char b[sizeof(HELLO)] = {0};

	hg_test_memread(t, RAM_END - sizeof(tail), tail, sizeof(tail));
	fw_select(t, hello);
	fw_read(t, b, 3);
	for (unsigned i = 0; i < G_N_ELEMENTS(outside); i++)
		dma_start(t, outside[i]);
	/* Nothing selected, nothing read, nothing written. */
	fw_read(t, b + 3, sizeof(HELLO) - 4);
	g_assert_cmpstr(b, ==, HELLO);
	hg_test_memread(t, RAM_END - sizeof(tail), tail_after, sizeof(tail_after));
	g_assert_cmpmem(tail, sizeof(tail), tail_after, sizeof(tail_after));
	assert_engine_answers(t);
	hg_test_quit(t);
}

static void test_dma_descriptor_straddling_ram_end_gets_error_bit(void)
{
	HgTest *t = start_default();
	uint8_t half[8];

	/* Control and length fit in RAM, the address does not: QEMU reports
	 * the failure in the control word, which is in RAM. */
	put_be32(half, DMA_READ);
	put_be32(half + 4, 4);
	hg_test_memwrite(t, RAM_END - 8, half, sizeof(half));
	dma_start(t, RAM_END - 8);
	hg_test_memread(t, RAM_END - 8, half, sizeof(half));
	g_assert_cmphex(get_be32(half), ==, DMA_ERROR);
	g_assert_cmphex(get_be32(half + 4), ==, 4);
	assert_engine_answers(t);
	hg_test_quit(t);
}

static void test_dma_buffer_outside_ram_sets_error_bit(void)
{
	HgTest *t = start_default();
	uint16_t hello = fw_file_select(t, "opt/test/hello");
	uint32_t select_read = (uint32_t)hello << 16 | DMA_SELECT | DMA_READ;

	g_assert_cmphex(dma_run(t, DESCRIPTOR, select_read, 4, RAM_END), ==, DMA_ERROR);
	g_assert_cmphex(dma_run(t, DESCRIPTOR, select_read, 4, 0xfffffffffffffffeull), ==,
			DMA_ERROR);
	/* Straddling the end of RAM is outside too. */
	g_assert_cmphex(dma_run(t, DESCRIPTOR, select_read, 4, RAM_END - 2), ==, DMA_ERROR);
	/* And the device still works. */
	g_assert_cmphex(dma_run(t, DESCRIPTOR, select_read, 4, BUFFER), ==, 0);
	assert_engine_answers(t);
	hg_test_quit(t);
}

static void test_dma_huge_length_is_bounded(void)
{
	HgTest *t = start_default();
	uint16_t hello = fw_file_select(t, "opt/test/hello");
	char b[sizeof(HELLO)] = {0};

	/* The file lands in the last 16 bytes of RAM; zero-filling the
	 * remaining 4 GiB cannot, and the transfer stops with an error. */
	g_assert_cmphex(dma_run(t, DESCRIPTOR, (uint32_t)hello << 16 | DMA_SELECT | DMA_READ,
				0xffffffff, RAM_END - 16),
			==, DMA_ERROR);
	hg_test_memread(t, RAM_END - 16, b, sizeof(HELLO) - 1);
	g_assert_cmpstr(b, ==, HELLO);
	/* From address 0 as well: 4 GiB do not fit in 64 MiB of RAM. */
	g_assert_cmphex(dma_run(t, DESCRIPTOR, (uint32_t)hello << 16 | DMA_SELECT | DMA_READ,
				0xffffffff, 0),
			==, DMA_ERROR);
	/* A huge skip stops at the end of the item, without error. */
	g_assert_cmphex(dma_run(t, DESCRIPTOR, (uint32_t)hello << 16 | DMA_SELECT | DMA_SKIP,
				0xffffffff, 0),
			==, 0);
	g_assert_cmphex(hg_test_inb(t, PORT_DATA), ==, 0);
	assert_engine_answers(t);
	hg_test_quit(t);
}

static void test_dma_write_is_refused(void)
{
	HgTest *t = start_default();
	uint16_t hello = fw_file_select(t, "opt/test/hello");
	char b[sizeof(HELLO)] = {0};

	hg_test_memwrite(t, BUFFER, "HELLO", 5);
	g_assert_cmphex(
		dma_run(t, DESCRIPTOR, (uint32_t)hello << 16 | DMA_SELECT | DMA_WRITE, 5, BUFFER),
		==, DMA_ERROR);
	/* Past the end of the item as well. */
	g_assert_cmphex(dma_run(t, DESCRIPTOR, DMA_WRITE, 32, BUFFER), ==, DMA_ERROR);
	fw_select(t, hello);
	fw_read(t, b, sizeof(HELLO) - 1);
	g_assert_cmpstr(b, ==, HELLO);
	hg_test_quit(t);
}

/* ---- Save and restore ---- */

static char *make_state_dir(void)
{
	g_autoptr(GError) error = NULL;
	char *dir = g_dir_make_tmp("fw-cfg-state-XXXXXX", &error);

	g_assert_no_error(error);
	return dir;
}

static void test_state_save_mid_read_and_load_in_fresh_engine(void)
{
	g_autofree char *state = make_state_dir();
	HgTest *t = start_default();
	char b[sizeof(HELLO)] = {0};

	fw_select(t, fw_file_select(t, "opt/test/hello"));
	fw_read(t, b, 3);
	hg_test_save(t, state);
	hg_test_quit(t);

	t = hg_test_start("--memory", G_STRINGIFY(RAM_MIB), DEFAULT_FW_CFG, "--restore", state,
			  NULL);
	fw_read(t, b + 3, sizeof(HELLO) - 4);
	g_assert_cmpstr(b, ==, HELLO);
	g_assert_cmphex(hg_test_inb(t, PORT_DATA), ==, 0);
	hg_test_quit(t);
	hg_test_remove_tree(state);
}

static void test_state_pending_dma_high_half_survives_restore(void)
{
	g_autofree char *state = make_state_dir();
	HgTest *t = start_default();
	uint8_t access[16];

	/* The guest has written the high half (a descriptor above 4 GiB)
	 * when the machine is saved. */
	hg_test_outl(t, PORT_DMA_HIGH, GUINT32_SWAP_LE_BE(1));
	hg_test_save(t, state);
	hg_test_quit(t);

	t = hg_test_start("--memory", G_STRINGIFY(RAM_MIB), DEFAULT_FW_CFG, "--restore", state,
			  NULL);
	/* A valid descriptor at the low address: if the high half were lost,
	 * this would run and clear its control word. */
	put_be32(access, DMA_SELECT | DMA_READ);
	put_be32(access + 4, 4);
	put_be64(access + 8, BUFFER);
	hg_test_memwrite(t, DESCRIPTOR, access, sizeof(access));
	hg_test_outl(t, PORT_DMA_LOW, GUINT32_SWAP_LE_BE(DESCRIPTOR));
	hg_test_memread(t, DESCRIPTOR, access, 4);
	g_assert_cmphex(get_be32(access), ==, DMA_SELECT | DMA_READ);
	/* The register is clear again after that attempt. */
	g_assert_cmphex(dma_run(t, DESCRIPTOR, DMA_SELECT | DMA_READ, 4, BUFFER), ==, 0);
	hg_test_quit(t);
	hg_test_remove_tree(state);
}

/* ---- The engine's command line ---- */

static void test_bad_fw_cfg_option_is_a_clear_error(void)
{
	static const char *const bad[] = {
		"", /* nothing */
		"name=opt/test/x", /* no contents */
		"string=abc", /* no name */
		"name=,string=abc", /* empty name */
		"file=/dev/null", /* no name */
		"name=opt/test/x,file=/dev/null,string=abc", /* both */
		"name=opt/test/x,colour=red,string=abc", /* unknown part */
		"opt/test/x", /* no key at all */
		/* 56 bytes: no room for the NUL in the directory entry */
		"name=opt/test/0123456789012345678901234567890123456789abcdefg,string=x",
	};

	for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
		const char *args[] = {"--fw-cfg", bad[i], NULL};
		g_autofree char *err = NULL;
		int status = hg_test_run_engine_expect_exit(args, &err);

		g_test_message("--fw-cfg \"%s\": %s", bad[i], err);
		g_assert_cmpint(status, ==, 2);
		g_assert_nonnull(strstr(err, "fw-cfg"));
	}
}

static void test_duplicate_file_name_is_refused(void)
{
	const char *args[] = {"--fw-cfg", "name=opt/test/x,string=one", "--fw-cfg",
			      "name=opt/test/x,string=two", NULL};
	g_autofree char *err = NULL;
	int status = hg_test_run_engine_expect_exit(args, &err);

	g_test_message("%s", err);
	g_assert_cmpint(status, ==, 2); /* a command-line mistake */
	g_assert_nonnull(strstr(err, "duplicate"));
	g_assert_nonnull(strstr(err, "opt/test/x"));
}

static void test_restore_with_other_files_is_refused(void)
{
	g_autofree char *state = make_state_dir();
	HgTest *t = start_default();

	hg_test_save(t, state);
	hg_test_quit(t);

	/* Same names and sizes, other contents; then one file more. */
	const char *const other_content[] = {"--memory", G_STRINGIFY(RAM_MIB), "--fw-cfg",
					     "name=opt/test/hello,string=HELLO WORLD", "--fw-cfg",
					     "name=etc/a-first,string=A", NULL};
	const char *const extra_file[] = {"--memory", G_STRINGIFY(RAM_MIB), DEFAULT_FW_CFG,
					  "--fw-cfg", "name=opt/test/more,string=x", NULL};
	const char *const *cases[] = {other_content, extra_file};

	for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++)
		hg_test_expect_restore_refused(state, cases[i], NULL, "fw_cfg items differ");
	hg_test_remove_tree(state);
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/fw-cfg/signature-reads-qemu", test_signature_reads_qemu);
	g_test_add_func("/fw-cfg/features-advertise-dma", test_features_advertise_dma);
	g_test_add_func("/fw-cfg/machine-info-items", test_machine_info_items);
	g_test_add_func("/fw-cfg/directory-is-sorted-and-big-endian",
			test_directory_is_sorted_and_big_endian);
	g_test_add_func("/fw-cfg/file-read-through-data-port", test_file_read_through_data_port);
	g_test_add_func("/fw-cfg/read-past-end-returns-zero", test_read_past_end_returns_zero);
	g_test_add_func("/fw-cfg/selector-write-resets-offset", test_selector_write_resets_offset);
	g_test_add_func("/fw-cfg/data-port-writes-are-ignored", test_data_port_writes_are_ignored);
	g_test_add_func("/fw-cfg/unknown-selector-reads-zero", test_unknown_selector_reads_zero);
	g_test_add_func("/fw-cfg/dma/signature-register", test_dma_signature_register);
	g_test_add_func("/fw-cfg/dma/select-and-read", test_dma_select_and_read);
	g_test_add_func("/fw-cfg/dma/skip-then-read", test_dma_skip_then_read);
	g_test_add_func("/fw-cfg/dma/read-past-end-fills-zeros",
			test_dma_read_past_end_fills_zeros);
	g_test_add_func("/fw-cfg/dma/low-half-alone-starts-a-32-bit-transfer",
			test_dma_low_half_alone_starts_a_32_bit_transfer);
	g_test_add_func("/fw-cfg/dma/descriptor-outside-ram-is-harmless",
			test_dma_descriptor_outside_ram_is_harmless);
	g_test_add_func("/fw-cfg/dma/descriptor-straddling-ram-end-gets-error-bit",
			test_dma_descriptor_straddling_ram_end_gets_error_bit);
	g_test_add_func("/fw-cfg/dma/buffer-outside-ram-sets-error-bit",
			test_dma_buffer_outside_ram_sets_error_bit);
	g_test_add_func("/fw-cfg/dma/huge-length-is-bounded", test_dma_huge_length_is_bounded);
	g_test_add_func("/fw-cfg/dma/write-is-refused", test_dma_write_is_refused);
	g_test_add_func("/fw-cfg/state/save-mid-read-and-load-in-fresh-engine",
			test_state_save_mid_read_and_load_in_fresh_engine);
	g_test_add_func("/fw-cfg/state/pending-dma-high-half-survives-restore",
			test_state_pending_dma_high_half_survives_restore);
	g_test_add_func("/fw-cfg/state/restore-with-other-files-is-refused",
			test_restore_with_other_files_is_refused);
	g_test_add_func("/fw-cfg/options/bad-fw-cfg-option-is-a-clear-error",
			test_bad_fw_cfg_option_is_a_clear_error);
	g_test_add_func("/fw-cfg/options/duplicate-file-name-is-refused",
			test_duplicate_file_name_is_refused);
	return g_test_run();
}
