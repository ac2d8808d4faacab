/* streamOptimized VMDKs read as streams (library/import/stream_vmdk.c) and
 * the growing disk they are written to (stream_disk.c).  Images come from
 * qemu-img (its layout: tables in front, no end-of-stream marker when the
 * disk is empty or its last grain does not compress) and from a builder
 * here that writes VMware's layout (tables and footer at the end), grains
 * in any order.  Every import reads through a pipe or from memory in odd
 * small pieces, so nothing can seek; every result is checked against the
 * source with qemu-img; every refusal names its problem and leaves no
 * file. */
#include <errno.h>
#include <gio/gio.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "library/block/block.h"
#include "tests/library/import/import-test-util.h"
#include "library/import/stream_disk.h"
#include "library/import/stream_vmdk.h"

#define SECTOR 512u
#define ODD_READ 1000u /* bytes per read: never a sector, never a grain */
#define NO_LIMIT HG_STREAM_DISK_MAX

/* A raw image of size bytes with qemu-io's writes ("write -P 0x11 0 64k"). */
static char *make_sized_raw(const char *name, guint64 size, const char *const *writes)
{
	char *path = work_file(name);
	g_autofree char *size_arg = g_strdup_printf("%" G_GUINT64_FORMAT, size);

	g_free(qemu("qemu-img", "create", "-q", "-f", "raw", path, size_arg, NULL));
	for (; writes && *writes; writes++)
		g_free(qemu("qemu-io", "-f", "raw", "-c", *writes, path, NULL));
	return path;
}

static char *make_stream_vmdk(const char *raw, const char *name)
{
	char *path = work_file(name);

	g_free(qemu("qemu-img", "convert", "-O", "vmdk", "-o", "subformat=streamOptimized", raw,
		    path, NULL));
	return path;
}

/* The image matches source and is sound, and its size is size. */
static void assert_same_disk(const char *source, const char *image, guint64 size)
{
	g_autoptr(GError) error = NULL;
	HgBlockBackend *blk = hg_block_open(image, true, &error);

	g_assert_no_error(error);
	g_assert_cmpstr(hg_block_format(blk), ==, "qcow2");
	g_assert_cmpuint(hg_block_size(blk), ==, size);
	hg_block_close(blk);
	g_free(qemu("qemu-img", "compare", "-q", source, image, NULL));
	g_free(qemu("qemu-img", "check", "-q", image, NULL));
}

/* ---- sources ---- */

/* Bytes in memory, handed out ODD_READ at a time. */
typedef struct {
	const guint8 *data;
	gsize length, position;
} MemorySource;

static gssize memory_read(gpointer user_data, void *buffer, gsize length, GError **error)
{
	MemorySource *m = user_data;
	gsize n = MIN(MIN(length, ODD_READ), m->length - m->position);

	memcpy(buffer, m->data + m->position, n);
	m->position += n;
	return n;
}

/* A pipe from cat, read ODD_READ at a time: it cannot seek. */
typedef struct {
	int fd;
	guint64 reads;
} PipeSource;

static gssize pipe_read(gpointer user_data, void *buffer, gsize length, GError **error)
{
	PipeSource *p = user_data;
	ssize_t n;

	do
		n = read(p->fd, buffer, MIN(length, ODD_READ));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "pipe: %s",
			    g_strerror(errno));
		return -1;
	}
	p->reads++;
	return n;
}

/* Imports path through a pipe; with head_length, that many bytes are read
 * first and handed over as the head, as an archive reader that detected
 * the format would. */
static bool import_through_pipe(const char *path, gsize head_length, const char *target,
				guint64 max_capacity, GError **error)
{
	const char *argv[] = {"cat", path, NULL};
	g_autoptr(GError) spawn_error = NULL;
	g_autofree guint8 *head = g_malloc(head_length + 1);
	PipeSource pipe = {-1, 0};
	gsize got = 0;
	GPid pid;
	bool ok;

	g_assert_true(g_spawn_async_with_pipes(
		NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD, NULL,
		NULL, &pid, NULL, &pipe.fd, NULL, &spawn_error));
	g_assert_no_error(spawn_error);
	while (got < head_length) {
		gssize n = pipe_read(&pipe, head + got, head_length - got, NULL);
		g_assert_cmpint(n, >, 0);
		got += n;
	}
	ok = hg_stream_vmdk_import(head, head_length, pipe_read, &pipe, target, max_capacity, NULL,
				   error);
	close(pipe.fd);
	waitpid(pid, NULL, 0);
	g_spawn_close_pid(pid);
	g_assert_cmpuint(pipe.reads, >, 1);
	return ok;
}

/* A memory source that cancels once it is read past the header area. */
typedef struct {
	MemorySource memory;
	GCancellable *cancellable;
} CancellingSource;

static gssize cancelling_read(gpointer user_data, void *buffer, gsize length, GError **error)
{
	CancellingSource *c = user_data;

	if (c->memory.position > 66000)
		g_cancellable_cancel(c->cancellable);
	return memory_read(&c->memory, buffer, length, error);
}

static bool import_from_memory(const guint8 *data, gsize length, const char *target,
			       guint64 max_capacity, GCancellable *cancellable, GError **error)
{
	MemorySource m = {data, length, 0};

	return hg_stream_vmdk_import(NULL, 0, memory_read, &m, target, max_capacity, cancellable,
				     error);
}

/* ---- a VMware-layout stream, built here ---- */

#define BUILT_GRAIN 128u /* sectors */
#define BUILT_GTES 8u /* entries per grain table: several tables for a few MiB */
#define BUILT_OVERHEAD 128u /* sectors before the first grain, as VMware has */

typedef struct {
	GByteArray *bytes;
	guint8 *disk; /* what the stream holds, to compare with */
	guint64 capacity; /* sectors */
	guint32 *grain_at; /* grain index → the sector of its marker, 0 for none */
} Built;

static void put_le32(guint8 *p, guint32 v)
{
	v = GUINT32_TO_LE(v);
	memcpy(p, &v, 4);
}

static void put_le64(guint8 *p, guint64 v)
{
	v = GUINT64_TO_LE(v);
	memcpy(p, &v, 8);
}

static guint64 built_grains(Built *b)
{
	return (b->capacity + BUILT_GRAIN - 1) / BUILT_GRAIN;
}

static guint64 built_sector(Built *b)
{
	g_assert_cmpuint(b->bytes->len % SECTOR, ==, 0);
	return b->bytes->len / SECTOR;
}

static void built_pad(Built *b)
{
	static const guint8 zeroes[SECTOR];

	g_byte_array_append(b->bytes, zeroes, (SECTOR - b->bytes->len % SECTOR) % SECTOR);
}

static void sparse_header(guint8 *h, guint64 capacity, guint64 gd_offset)
{
	memset(h, 0, SECTOR);
	memcpy(h, "KDMV", 4);
	put_le32(h + 4, 3); /* version */
	put_le32(h + 8, 1 | 1 << 16 | 1 << 17); /* newline test, compressed, markers */
	put_le64(h + 12, capacity);
	put_le64(h + 20, BUILT_GRAIN);
	put_le64(h + 28, 1); /* descriptor offset ... */
	put_le64(h + 36, 2); /* ... and sectors */
	put_le32(h + 44, BUILT_GTES);
	put_le64(h + 56, gd_offset);
	put_le64(h + 64, BUILT_OVERHEAD);
	memcpy(h + 73, "\n \r\n", 4);
	h[77] = 1; /* deflate */
}

/* The header and descriptor (create_type as written there, NULL for none),
 * up to the first grain's place. */
static Built *built_new(guint64 capacity, const char *create_type)
{
	Built *b = g_new0(Built, 1);
	g_autofree char *descriptor = NULL;

	b->bytes = g_byte_array_new();
	b->capacity = capacity;
	b->disk = g_malloc0(capacity * SECTOR);
	b->grain_at = g_new0(guint32, built_grains(b));
	g_byte_array_set_size(b->bytes, BUILT_OVERHEAD * SECTOR);
	memset(b->bytes->data, 0, b->bytes->len);
	sparse_header(b->bytes->data, capacity, G_MAXUINT64);
	descriptor = g_strdup_printf("# Disk DescriptorFile\nversion=1\nCID=12345678\n"
				     "parentCID=ffffffff\n%s%s\n\n# Extent description\n"
				     "RDONLY %" G_GUINT64_FORMAT " SPARSE \"built.vmdk\"\n",
				     create_type ? "createType=" : "",
				     create_type ? create_type : "", capacity);
	g_assert_cmpuint(strlen(descriptor), <, 2 * SECTOR);
	memcpy(b->bytes->data + SECTOR, descriptor, strlen(descriptor));
	return b;
}

static void built_free(Built *b)
{
	g_byte_array_unref(b->bytes);
	g_free(b->disk);
	g_free(b->grain_at);
	g_free(b);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Built, built_free)

/* A grain marker as given: any LBA, any bytes as its compressed data. */
static void built_marker_grain(Built *b, guint64 lba, const void *data, guint32 size)
{
	guint8 marker[12];

	put_le64(marker, lba);
	put_le32(marker + 8, size);
	g_byte_array_append(b->bytes, marker, sizeof(marker));
	g_byte_array_append(b->bytes, data, size);
	built_pad(b);
}

/* length bytes compressed as a grain for lba. */
static void built_compressed_grain(Built *b, guint64 lba, const guint8 *data, gsize length)
{
	uLongf size = compressBound(length);
	g_autofree guint8 *z = g_malloc(size);

	g_assert_cmpint(compress2(z, &size, data, length, 6), ==, Z_OK);
	built_marker_grain(b, lba, z, size);
}

/* Grain index filled with a pattern (seeded by seed), up to the disk's
 * end, in the stream and in the disk compared with. */
static void built_grain(Built *b, guint64 index, guint8 seed)
{
	guint64 start = index * BUILT_GRAIN * SECTOR;
	gsize length = MIN(BUILT_GRAIN * SECTOR, b->capacity * SECTOR - start);

	for (gsize i = 0; i < length; i++)
		b->disk[start + i] = (guint8)(seed + i * 7 + (i >> 9));
	b->grain_at[index] = built_sector(b);
	built_compressed_grain(b, index * BUILT_GRAIN, b->disk + start, length);
}

static void built_metadata_marker(Built *b, guint64 sectors, guint32 type)
{
	guint8 marker[SECTOR] = {0};

	put_le64(marker, sectors);
	put_le32(marker + 12, type);
	g_byte_array_append(b->bytes, marker, sizeof(marker));
}

/* The grain tables, the directory and the footer, as VMware ends a
 * stream, and the end-of-stream marker when asked. */
static void built_finish(Built *b, bool end_marker)
{
	guint64 tables = (built_grains(b) + BUILT_GTES - 1) / BUILT_GTES;
	g_autofree guint32 *directory = g_new0(guint32, tables);
	guint64 gd_sectors = (tables * 4 + SECTOR - 1) / SECTOR, gd_at;
	guint8 footer[SECTOR];

	for (guint64 t = 0; t < tables; t++) {
		guint8 table[SECTOR] = {0};
		bool any = false;
		for (guint64 e = 0; e < BUILT_GTES && t * BUILT_GTES + e < built_grains(b); e++) {
			put_le32(table + 4 * e, b->grain_at[t * BUILT_GTES + e]);
			any |= b->grain_at[t * BUILT_GTES + e] != 0;
		}
		if (!any)
			continue;
		built_metadata_marker(b, 1, 1);
		directory[t] = GUINT32_TO_LE(built_sector(b));
		g_byte_array_append(b->bytes, table, sizeof(table));
	}
	built_metadata_marker(b, gd_sectors, 2);
	gd_at = built_sector(b);
	g_byte_array_append(b->bytes, (guint8 *)directory, tables * 4);
	built_pad(b);
	built_metadata_marker(b, 1, 3);
	sparse_header(footer, b->capacity, gd_at);
	g_byte_array_append(b->bytes, footer, sizeof(footer));
	if (end_marker)
		built_metadata_marker(b, 0, 0);
}

static char *built_save(Built *b, const char *name, char **raw_path)
{
	char *path = work_file(name);
	g_autofree char *raw_name = g_strconcat(name, ".raw", NULL);

	g_assert_true(g_file_set_contents(path, (char *)b->bytes->data, b->bytes->len, NULL));
	*raw_path = work_file(raw_name);
	g_assert_true(g_file_set_contents(*raw_path, (char *)b->disk, b->capacity * SECTOR, NULL));
	return path;
}

/* ---- detection ---- */

static void test_detect(void)
{
	static const char *const writes[] = {"write -P 0x11 0 64k", NULL};
	g_autofree char *raw = make_sized_raw("detect.raw", 1 << 20, writes);
	g_autofree char *stream = make_stream_vmdk(raw, "detect-stream.vmdk");
	g_autofree char *sparse = work_file("detect-sparse.vmdk");
	g_autofree char *data = NULL, *sparse_data = NULL, *raw_data = NULL;
	gsize length;

	g_free(qemu("qemu-img", "convert", "-O", "vmdk", raw, sparse, NULL));
	g_assert_true(g_file_get_contents(stream, &data, &length, NULL));
	g_assert_true(hg_stream_vmdk_detect((guint8 *)data, SECTOR));
	g_assert_false(hg_stream_vmdk_detect((guint8 *)data, 40)); /* too short to tell */
	g_assert_true(g_file_get_contents(sparse, &sparse_data, &length, NULL));
	g_assert_false(hg_stream_vmdk_detect((guint8 *)sparse_data, SECTOR));
	g_assert_true(g_file_get_contents(raw, &raw_data, &length, NULL));
	g_assert_false(hg_stream_vmdk_detect((guint8 *)raw_data, SECTOR));
}

/* ---- qemu-img's images ---- */

static void assert_qemu_image_imports(const char *name, guint64 size, const char *const *writes,
				      gsize head_length)
{
	g_autofree char *raw_name = g_strconcat(name, ".raw", NULL);
	g_autofree char *vmdk_name = g_strconcat(name, ".vmdk", NULL);
	g_autofree char *target_name = g_strconcat(name, ".qcow2", NULL);
	g_autofree char *raw = make_sized_raw(raw_name, size, writes);
	g_autofree char *vmdk = make_stream_vmdk(raw, vmdk_name);
	g_autofree char *target = work_file(target_name);
	g_autoptr(GError) error = NULL;

	g_assert_true(import_through_pipe(vmdk, head_length, target, NO_LIMIT, &error));
	g_assert_no_error(error);
	assert_same_disk(raw, target, size);
}

static void test_qemu_sparse_data_through_a_pipe(void)
{
	static const char *const writes[] = {"write -P 0x11 0 64k", "write -P 0x22 31747k 3k",
					     "write -P 0x33 40M 1M", "write -P 0x44 65472k 64k",
					     NULL};

	/* The first 4 KiB as the head an archive reader peeked. */
	assert_qemu_image_imports("sparse", 64 << 20, writes, 4096);
}

static void test_qemu_capacity_not_in_whole_grains(void)
{
	static const char *const writes[] = {"write -P 0x55 100k 20k", "write -P 0x66 8M 1024",
					     NULL};

	assert_qemu_image_imports("odd-size", (8 << 20) + 1024, writes, 0);
}

/* qemu-img writes no end-of-stream marker here: its grain tables, in front,
 * say nothing is missing. */
static void test_qemu_empty_disk(void)
{
	assert_qemu_image_imports("empty", 16 << 20, NULL, 0);
}

static void test_qemu_incompressible_last_grain(void)
{
	g_autofree char *raw = make_sized_raw("random.raw", 4 << 20, NULL);
	g_autofree char *vmdk = work_file("random.vmdk");
	g_autofree char *target = work_file("random.qcow2");
	g_autofree guint8 *noise = g_malloc(1 << 20);
	g_autoptr(GError) error = NULL;
	g_autoptr(GFile) file = g_file_new_for_path(raw);
	g_autoptr(GFileIOStream) io = g_file_open_readwrite(file, NULL, &error);

	g_assert_no_error(error);
	for (gsize i = 0; i < (1 << 20); i += 4)
		*(guint32 *)(noise + i) = g_random_int();
	g_assert_true(g_seekable_seek(G_SEEKABLE(io), 3 << 20, G_SEEK_SET, NULL, &error));
	g_assert_true(g_output_stream_write_all(g_io_stream_get_output_stream(G_IO_STREAM(io)),
						noise, 1 << 20, NULL, NULL, &error));
	g_assert_true(g_io_stream_close(G_IO_STREAM(io), NULL, &error));
	g_free(qemu("qemu-img", "convert", "-O", "vmdk", "-o", "subformat=streamOptimized", raw,
		    vmdk, NULL));
	g_assert_true(import_through_pipe(vmdk, 0, target, NO_LIMIT, &error));
	g_assert_no_error(error);
	assert_same_disk(raw, target, 4 << 20);
}

/* ---- VMware's layout ---- */

static void import_built(Built *b, const char *name)
{
	g_autofree char *raw = NULL;
	g_autofree char *vmdk = built_save(b, name, &raw);
	g_autofree char *target = g_strconcat(vmdk, ".qcow2", NULL);
	g_autoptr(GError) error = NULL;

	g_assert_true(import_through_pipe(vmdk, 0, target, NO_LIMIT, &error));
	g_assert_no_error(error);
	assert_same_disk(raw, target, b->capacity * SECTOR);
	/* qemu-img reads the built stream the same way (tables, footer). */
	g_free(qemu("qemu-img", "compare", "-q", vmdk, target, NULL));
}

static void test_built_grains_out_of_order(void)
{
	g_autoptr(Built) b = built_new(4 << 11, "\"streamOptimized\"");
	static const guint order[] = {40, 3, 0, 63, 17, 16, 9};

	for (guint i = 0; i < G_N_ELEMENTS(order); i++)
		built_grain(b, order[i], (guint8)(i * 40 + 1));
	built_finish(b, true);
	import_built(b, "out-of-order.vmdk");
}

/* OVF Tool writes createType without quotes. */
static void test_built_create_type_without_quotes(void)
{
	g_autoptr(Built) b = built_new(1 << 11, "streamOptimized");

	built_grain(b, 2, 9);
	built_finish(b, true);
	import_built(b, "unquoted.vmdk");
}

/* The last grain of a disk that is not whole grains, inflated whole: the
 * zeroes past the end are dropped. */
static void test_built_last_grain_inflated_whole(void)
{
	g_autoptr(Built) b = built_new((1 << 11) + 8, NULL);
	g_autofree guint8 *grain = g_malloc0(BUILT_GRAIN * SECTOR);

	memset(grain, 0x77, 8 * SECTOR);
	memcpy(b->disk + (1 << 11) * SECTOR, grain, 8 * SECTOR);
	b->grain_at[16] = built_sector(b);
	built_compressed_grain(b, 1 << 11, grain, BUILT_GRAIN * SECTOR);
	built_finish(b, true);
	import_built(b, "whole-last-grain.vmdk");
}

/* A grain sent twice leaves the last one's data, zeroes included. */
static void test_built_grain_sent_twice(void)
{
	g_autoptr(Built) b = built_new(1 << 11, NULL);
	g_autofree guint8 *zeroes = g_malloc0(BUILT_GRAIN * SECTOR);

	built_grain(b, 4, 1);
	built_grain(b, 5, 2);
	memset(b->disk + 5 * BUILT_GRAIN * SECTOR, 0, BUILT_GRAIN * SECTOR);
	b->grain_at[5] = built_sector(b);
	built_compressed_grain(b, 5 * BUILT_GRAIN, zeroes, BUILT_GRAIN * SECTOR);
	built_finish(b, true);
	import_built(b, "twice.vmdk");
}

/* The fuzzer's seeds (tests/fuzz/corpus/stream-vmdk) import as qemu-img
 * reads them. */
static void test_fuzz_seeds_import(void)
{
	/* G_TEST_SRCDIR is tests/ under meson test. */
	g_autofree char *dir =
		g_test_build_filename(G_TEST_DIST, "fuzz", "corpus", "stream-vmdk", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(GDir) seeds = g_dir_open(dir, 0, &error);
	const char *name;
	unsigned n = 0;

	if (!seeds) {
		g_test_skip("no seeds here: run it with meson test");
		return;
	}
	while ((name = g_dir_read_name(seeds))) {
		g_autofree char *seed = g_build_filename(dir, name, NULL);
		g_autofree char *target_name = g_strconcat("seed-", name, ".qcow2", NULL);
		g_autofree char *target = work_file(target_name);
		g_autofree char *data = NULL;
		gsize length;

		g_assert_true(g_file_get_contents(seed, &data, &length, NULL));
		if (!import_from_memory((guint8 *)data, length, target, NO_LIMIT, NULL, &error))
			g_error("%s: %s", name, error->message);
		g_free(qemu("qemu-img", "compare", "-q", "-f", "vmdk", seed, target, NULL));
		n++;
	}
	g_assert_cmpuint(n, >=, 5);
}

/* ---- refusals ---- */

/* data must be refused with code and words in the message, leaving no
 * target behind. */
static void assert_stream_refused(const guint8 *data, gsize length, guint64 max_capacity, int code,
				  const char *words)
{
	g_autofree char *target = work_file("refused.qcow2");
	g_autoptr(GError) error = NULL;

	g_assert_false(import_from_memory(data, length, target, max_capacity, NULL, &error));
	g_assert_error(error, G_IO_ERROR, code);
	g_test_message("refused: %s", error->message);
	if (!strstr(error->message, words))
		g_error("\"%s\" does not say \"%s\"", error->message, words);
	g_assert_false(g_file_test(target, G_FILE_TEST_EXISTS));
}

static void assert_built_refused(Built *b, int code, const char *words)
{
	assert_stream_refused(b->bytes->data, b->bytes->len, NO_LIMIT, code, words);
}

/* A sound small stream: two grains, the end marker. */
static Built *built_sound(void)
{
	Built *b = built_new(1 << 11, "\"streamOptimized\"");

	built_grain(b, 1, 3);
	built_grain(b, 7, 4);
	built_finish(b, true);
	return b;
}

static gsize built_first_grain(void)
{
	return BUILT_OVERHEAD * SECTOR;
}

static void test_refuses_truncated_inside_a_grain(void)
{
	static const char *const writes[] = {"write -P 0x11 0 1M", NULL};
	g_autofree char *raw = make_sized_raw("cut.raw", 2 << 20, writes);
	g_autofree char *vmdk = make_stream_vmdk(raw, "cut.vmdk");
	g_autofree char *data = NULL;
	g_autoptr(Built) b = built_sound();
	gsize length;

	g_assert_true(g_file_get_contents(vmdk, &data, &length, NULL));
	/* qemu-img's first grain is at 64 KiB. */
	assert_stream_refused((guint8 *)data, 65536 + 50, NO_LIMIT, G_IO_ERROR_INVALID_DATA,
			      "truncated: it ends inside a grain");
	assert_stream_refused(b->bytes->data, built_first_grain() + 300, NO_LIMIT,
			      G_IO_ERROR_INVALID_DATA, "truncated: it ends inside a grain");
}

/* Cut between two grains, qemu-img's file is told from a whole one by the
 * grain tables it has in front. */
static void test_refuses_qemu_image_cut_between_grains(void)
{
	static const char *const writes[] = {"write -P 0x11 0 64k", "write -P 0x22 1M 64k", NULL};
	g_autofree char *raw = make_sized_raw("cut-between.raw", 2 << 20, writes);
	g_autofree char *vmdk = make_stream_vmdk(raw, "cut-between.vmdk");
	g_autofree char *data = NULL;
	gsize length;

	g_assert_true(g_file_get_contents(vmdk, &data, &length, NULL));
	/* Each grain compresses to one sector: header area, first grain. */
	assert_stream_refused((guint8 *)data, 65536 + SECTOR, NO_LIMIT, G_IO_ERROR_INVALID_DATA,
			      "truncated");
	/* A zero sector there reads as an end-of-stream marker: too early. */
	memset(data + 65536 + SECTOR, 0, SECTOR);
	assert_stream_refused((guint8 *)data, length, NO_LIMIT, G_IO_ERROR_INVALID_DATA,
			      "before the grain");
}

static void test_refuses_missing_end_marker(void)
{
	g_autoptr(Built) b = built_new(1 << 11, NULL);

	built_grain(b, 0, 1);
	built_finish(b, false);
	assert_built_refused(b, G_IO_ERROR_INVALID_DATA,
			     "truncated: it ends without an end-of-stream marker");
}

static void test_refuses_short_header(void)
{
	g_autoptr(Built) b = built_sound();

	assert_stream_refused(b->bytes->data, 300, NO_LIMIT, G_IO_ERROR_INVALID_DATA, "truncated");
	assert_stream_refused(b->bytes->data, 0, NO_LIMIT, G_IO_ERROR_INVALID_DATA, "truncated");
}

static void test_refuses_bad_magic(void)
{
	g_autoptr(Built) b = built_sound();

	b->bytes->data[0] = 'X';
	assert_built_refused(b, G_IO_ERROR_INVALID_DATA, "KDMV");
}

static void test_refuses_unsupported_version(void)
{
	g_autoptr(Built) b = built_sound();

	put_le32(b->bytes->data + 4, 4);
	assert_built_refused(b, G_IO_ERROR_NOT_SUPPORTED, "version 4");
}

static void test_refuses_other_vmdk_kinds(void)
{
	static const char *const writes[] = {"write -P 0x11 0 64k", NULL};
	g_autofree char *raw = make_sized_raw("monolithic.raw", 1 << 20, writes);
	g_autofree char *sparse = work_file("monolithic.vmdk");
	g_autofree char *data = NULL;
	g_autoptr(Built) other_type = built_new(1 << 11, "\"monolithicSparse\"");
	g_autoptr(Built) deflate64 = built_sound();
	gsize length;

	g_free(qemu("qemu-img", "convert", "-O", "vmdk", raw, sparse, NULL));
	g_assert_true(g_file_get_contents(sparse, &data, &length, NULL));
	assert_stream_refused((guint8 *)data, length, NO_LIMIT, G_IO_ERROR_NOT_SUPPORTED,
			      "not streamOptimized");
	built_finish(other_type, true);
	assert_built_refused(other_type, G_IO_ERROR_NOT_SUPPORTED,
			     "createType \"monolithicSparse\"");
	deflate64->bytes->data[77] = 2;
	assert_built_refused(deflate64, G_IO_ERROR_NOT_SUPPORTED, "compression algorithm 2");
}

static void test_refuses_bad_grain_size(void)
{
	g_autoptr(Built) b = built_sound();

	put_le64(b->bytes->data + 20, 96);
	assert_built_refused(b, G_IO_ERROR_INVALID_DATA, "grain size of 96 sectors");
	put_le64(b->bytes->data + 20, 4096);
	assert_built_refused(b, G_IO_ERROR_INVALID_DATA, "grain size of 4096 sectors");
}

/* Grains start at overHead: a descriptor or an overHead that would skip
 * some is refused. */
static void test_refuses_descriptor_outside_the_header_area(void)
{
	g_autoptr(Built) b = built_sound();

	put_le64(b->bytes->data + 28, 200);
	assert_built_refused(b, G_IO_ERROR_INVALID_DATA, "not within the header area");
	put_le64(b->bytes->data + 28, 1);
	put_le64(b->bytes->data + 64, 2);
	assert_built_refused(b, G_IO_ERROR_INVALID_DATA, "not within the header area");
	put_le64(b->bytes->data + 64, 0);
	assert_built_refused(b, G_IO_ERROR_INVALID_DATA, "header area of 0 sectors");
}

/* A hostile header asks for a huge disk: refused before any file exists. */
static void test_refuses_capacity_above_the_limit(void)
{
	g_autoptr(Built) b = built_sound();

	assert_stream_refused(b->bytes->data, b->bytes->len, 512 << 10, G_IO_ERROR_INVALID_DATA,
			      "above the limit of 524288 bytes");
	put_le64(b->bytes->data + 12, G_GUINT64_CONSTANT(1) << 40);
	assert_built_refused(b, G_IO_ERROR_INVALID_DATA, "above the limit");
}

static void test_refuses_grain_past_the_capacity(void)
{
	g_autoptr(Built) b = built_new(1 << 11, NULL);
	guint8 data[SECTOR] = {1};

	built_grain(b, 0, 1);
	built_compressed_grain(b, 1 << 11, data, sizeof(data));
	built_finish(b, true);
	assert_built_refused(b, G_IO_ERROR_INVALID_DATA, "past the disk's end");
}

static void test_refuses_grain_off_its_boundary(void)
{
	g_autoptr(Built) b = built_new(1 << 11, NULL);
	guint8 data[SECTOR] = {1};

	built_compressed_grain(b, 3, data, sizeof(data));
	built_finish(b, true);
	assert_built_refused(b, G_IO_ERROR_INVALID_DATA, "not on a grain boundary");
}

static void test_refuses_data_past_the_end_in_the_last_grain(void)
{
	g_autoptr(Built) b = built_new((1 << 11) + 8, NULL);
	g_autofree guint8 *grain = g_malloc0(BUILT_GRAIN * SECTOR);

	grain[BUILT_GRAIN * SECTOR - 1] = 1;
	built_compressed_grain(b, 1 << 11, grain, BUILT_GRAIN * SECTOR);
	built_finish(b, true);
	assert_built_refused(b, G_IO_ERROR_INVALID_DATA, "data past the disk's end");
}

static void test_refuses_corrupt_deflate_data(void)
{
	static const char garbage[] = "this is not zlib data, whatever it says";
	g_autoptr(Built) b = built_new(1 << 11, NULL);
	g_autoptr(Built) cut = built_new(1 << 11, NULL);
	guint8 data[4 * SECTOR];
	uLongf size = sizeof(data);
	guint8 z[sizeof(data)];

	built_marker_grain(b, 0, garbage, sizeof(garbage));
	built_finish(b, true);
	assert_built_refused(b, G_IO_ERROR_INVALID_DATA, "corrupt compressed data");
	/* Whole deflate data cut short. */
	for (gsize i = 0; i < sizeof(data); i++)
		data[i] = (guint8)(i * i);
	g_assert_cmpint(compress2(z, &size, data, sizeof(data), 6), ==, Z_OK);
	built_marker_grain(cut, 0, z, size / 2);
	built_finish(cut, true);
	assert_built_refused(cut, G_IO_ERROR_INVALID_DATA, "corrupt compressed data");
}

/* A small grain that inflates to much more: a bomb, stopped at the grain
 * size. */
static void test_refuses_grain_inflating_beyond_its_size(void)
{
	g_autoptr(Built) b = built_new(1 << 11, NULL);
	g_autofree guint8 *zeroes = g_malloc0(16 * BUILT_GRAIN * SECTOR);

	built_compressed_grain(b, 0, zeroes, 16 * BUILT_GRAIN * SECTOR);
	built_finish(b, true);
	assert_built_refused(b, G_IO_ERROR_INVALID_DATA, "inflates to more than the grain size");
}

static void test_refuses_markers_with_huge_sizes(void)
{
	g_autoptr(Built) table = built_new(1 << 11, NULL);
	g_autoptr(Built) grain = built_new(1 << 11, NULL);
	g_autoptr(Built) footer = built_new(1 << 11, NULL);
	guint8 marker[12];

	built_metadata_marker(table, G_GUINT64_CONSTANT(1) << 40, 1);
	assert_built_refused(table, G_IO_ERROR_INVALID_DATA, "grain table marker at byte 65536");
	put_le64(marker, 0);
	put_le32(marker + 8, G_MAXUINT32);
	g_byte_array_append(grain->bytes, marker, sizeof(marker));
	assert_built_refused(grain, G_IO_ERROR_INVALID_DATA, "claims 4294967295 compressed bytes");
	built_metadata_marker(footer, 2, 3);
	assert_built_refused(footer, G_IO_ERROR_INVALID_DATA, "footer marker");
}

static void test_refuses_unknown_marker_type(void)
{
	g_autoptr(Built) b = built_new(1 << 11, NULL);

	built_grain(b, 0, 1);
	built_metadata_marker(b, 1, 9);
	built_finish(b, true);
	assert_built_refused(b, G_IO_ERROR_INVALID_DATA, "unknown type 9");
}

static void test_cancel_removes_the_target(void)
{
	g_autoptr(Built) b = built_sound();
	g_autoptr(GCancellable) cancellable = g_cancellable_new();
	g_autofree char *target = work_file("cancelled.qcow2");
	g_autoptr(GError) error = NULL;
	CancellingSource source = {{b->bytes->data, b->bytes->len, 0}, cancellable};

	g_assert_false(hg_stream_vmdk_import(NULL, 0, cancelling_read, &source, target, NO_LIMIT,
					     cancellable, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
	g_assert_true(g_cancellable_is_cancelled(cancellable));
	g_assert_false(g_file_test(target, G_FILE_TEST_EXISTS));
}

/* The target is never overwritten, nor removed when it was there first. */
static void test_existing_target_is_left_alone(void)
{
	g_autoptr(Built) b = built_sound();
	g_autofree char *target = work_file("already-there.qcow2");
	g_autofree char *content = NULL;
	g_autoptr(GError) error = NULL;

	g_assert_true(g_file_set_contents(target, "mine", -1, NULL));
	g_assert_false(
		import_from_memory(b->bytes->data, b->bytes->len, target, NO_LIMIT, NULL, &error));
	g_assert_nonnull(error);
	g_assert_true(g_file_get_contents(target, &content, NULL, NULL));
	g_assert_cmpstr(content, ==, "mine");
}

/* ---- the stream disk ---- */

/* A gzip of a mostly-zero image that expands past a small limit: stopped
 * there, the file removed. */
static void test_stream_disk_stops_at_its_limit(void)
{
	static const char *const writes[] = {"write -P 0x11 0 64k", "write -P 0x22 7M 64k", NULL};
	g_autofree char *raw = make_sized_raw("bomb.raw", 8 << 20, writes);
	g_autofree char *gz = work_file("bomb.raw.gz");
	g_autofree char *target = work_file("bomb.qcow2");
	g_autofree char *command = g_strdup_printf("gzip -c '%s' > '%s'", raw, gz);
	g_autoptr(GFile) file = g_file_new_for_path(gz);
	g_autoptr(GError) error = NULL;
	g_autoptr(GFileInputStream) packed = NULL;
	g_autoptr(GZlibDecompressor) gunzip =
		g_zlib_decompressor_new(G_ZLIB_COMPRESSOR_FORMAT_GZIP);
	g_autoptr(GInputStream) in = NULL;
	guint8 buffer[65536];
	HgStreamDisk *disk;
	gssize n;
	bool ok = true;
	GStatBuf st;

	g_assert_cmpint(system(command), ==, 0);
	g_assert_cmpint(g_stat(gz, &st), ==, 0);
	g_assert_cmpint(st.st_size, <, 64 << 10);
	packed = g_file_read(file, NULL, &error);
	g_assert_no_error(error);
	in = g_converter_input_stream_new(G_INPUT_STREAM(packed), G_CONVERTER(gunzip));
	disk = hg_stream_disk_new(target, 4 << 20, &error);
	g_assert_no_error(error);
	while (ok && (n = g_input_stream_read(in, buffer, sizeof(buffer), NULL, &error)) > 0)
		ok = hg_stream_disk_write(disk, buffer, n, &error);
	g_assert_false(ok);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
	g_assert_nonnull(strstr(error->message, "expands to more than 4 MiB"));
	g_assert_cmpuint(hg_stream_disk_length(disk), <=, 4 << 20);
	hg_stream_disk_abort(disk);
	g_assert_false(g_file_test(target, G_FILE_TEST_EXISTS));
}

/* Zeroes written at an offset over earlier data replace it; zeroes where
 * nothing was written take no space; the size set is the final one. */
static void test_stream_disk_writes_at_offsets(void)
{
	g_autofree char *target = work_file("offsets.qcow2");
	g_autofree char *raw = work_file("offsets.raw");
	g_autofree guint8 *expect = g_malloc0(4 << 20);
	g_autofree guint8 *data = g_malloc(256 << 10);
	g_autofree guint8 *zeroes = g_malloc0(256 << 10);
	g_autoptr(GError) error = NULL;
	HgStreamDisk *disk = hg_stream_disk_new(target, NO_LIMIT, &error);

	g_assert_no_error(error);
	memset(data, 0x5a, 256 << 10);
	g_assert_true(hg_stream_disk_set_size(disk, 4 << 20, &error));
	g_assert_true(hg_stream_disk_write_at(disk, 1 << 20, data, 256 << 10, &error));
	g_assert_true(hg_stream_disk_write_at(disk, 0, data, 4096, &error));
	/* Over data already flushed, and into the space after it. */
	g_assert_true(hg_stream_disk_write_at(disk, (1 << 20) + 4096, zeroes, 256 << 10, &error));
	g_assert_true(hg_stream_disk_write_at(disk, 3 << 20, data, 512, &error));
	g_assert_no_error(error);
	memset(expect + (1 << 20), 0x5a, 4096);
	memset(expect, 0x5a, 4096);
	memset(expect + (3 << 20), 0x5a, 512);
	g_assert_false(hg_stream_disk_write_at(disk, 4 << 20, data, 512, &error));
	g_assert_nonnull(strstr(error->message, "past the disk's end"));
	g_clear_error(&error);
	g_assert_true(hg_stream_disk_finish(disk, &error));
	g_assert_no_error(error);
	g_assert_true(g_file_set_contents(raw, (char *)expect, 4 << 20, NULL));
	assert_same_disk(raw, target, 4 << 20);
}

int main(int argc, char **argv)
{
	int status;

	g_test_init(&argc, &argv, NULL);
	import_test_init("hangar-stream-vmdk");
	g_test_add_func("/stream-vmdk/detect/tells-stream-optimized-from-others", test_detect);
	g_test_add_func("/stream-vmdk/qemu-img/sparse-data-through-a-pipe",
			test_qemu_sparse_data_through_a_pipe);
	g_test_add_func("/stream-vmdk/qemu-img/capacity-not-in-whole-grains",
			test_qemu_capacity_not_in_whole_grains);
	g_test_add_func("/stream-vmdk/qemu-img/empty-disk-without-end-marker",
			test_qemu_empty_disk);
	g_test_add_func("/stream-vmdk/qemu-img/incompressible-last-grain-without-end-marker",
			test_qemu_incompressible_last_grain);
	g_test_add_func("/stream-vmdk/vmware-layout/grains-out-of-order",
			test_built_grains_out_of_order);
	g_test_add_func("/stream-vmdk/vmware-layout/create-type-without-quotes",
			test_built_create_type_without_quotes);
	g_test_add_func("/stream-vmdk/vmware-layout/last-grain-inflated-whole-is-cut-at-the-end",
			test_built_last_grain_inflated_whole);
	g_test_add_func("/stream-vmdk/vmware-layout/grain-sent-twice-keeps-the-last",
			test_built_grain_sent_twice);
	g_test_add_func("/stream-vmdk/fuzz-seeds-import", test_fuzz_seeds_import);
	g_test_add_func("/stream-vmdk/refuses/truncated-inside-a-grain",
			test_refuses_truncated_inside_a_grain);
	g_test_add_func("/stream-vmdk/refuses/qemu-image-cut-between-grains",
			test_refuses_qemu_image_cut_between_grains);
	g_test_add_func("/stream-vmdk/refuses/missing-end-of-stream-marker",
			test_refuses_missing_end_marker);
	g_test_add_func("/stream-vmdk/refuses/short-header", test_refuses_short_header);
	g_test_add_func("/stream-vmdk/refuses/bad-magic", test_refuses_bad_magic);
	g_test_add_func("/stream-vmdk/refuses/unsupported-version",
			test_refuses_unsupported_version);
	g_test_add_func("/stream-vmdk/refuses/other-vmdk-kinds", test_refuses_other_vmdk_kinds);
	g_test_add_func("/stream-vmdk/refuses/bad-grain-size", test_refuses_bad_grain_size);
	g_test_add_func("/stream-vmdk/refuses/descriptor-outside-the-header-area",
			test_refuses_descriptor_outside_the_header_area);
	g_test_add_func("/stream-vmdk/refuses/capacity-above-the-limit",
			test_refuses_capacity_above_the_limit);
	g_test_add_func("/stream-vmdk/refuses/grain-past-the-capacity",
			test_refuses_grain_past_the_capacity);
	g_test_add_func("/stream-vmdk/refuses/grain-off-its-boundary",
			test_refuses_grain_off_its_boundary);
	g_test_add_func("/stream-vmdk/refuses/data-past-the-end-in-the-last-grain",
			test_refuses_data_past_the_end_in_the_last_grain);
	g_test_add_func("/stream-vmdk/refuses/corrupt-deflate-data",
			test_refuses_corrupt_deflate_data);
	g_test_add_func("/stream-vmdk/refuses/grain-inflating-beyond-its-size",
			test_refuses_grain_inflating_beyond_its_size);
	g_test_add_func("/stream-vmdk/refuses/markers-with-huge-sizes",
			test_refuses_markers_with_huge_sizes);
	g_test_add_func("/stream-vmdk/refuses/unknown-marker-type",
			test_refuses_unknown_marker_type);
	g_test_add_func("/stream-vmdk/cancel-removes-the-target", test_cancel_removes_the_target);
	g_test_add_func("/stream-vmdk/existing-target-is-left-alone",
			test_existing_target_is_left_alone);
	g_test_add_func("/stream-disk/stops-at-its-limit", test_stream_disk_stops_at_its_limit);
	g_test_add_func("/stream-disk/writes-at-offsets", test_stream_disk_writes_at_offsets);
	status = g_test_run();
	import_test_finish();
	return status;
}
