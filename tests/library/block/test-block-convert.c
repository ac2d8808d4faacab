/* hg_block_convert: raw and qcow2 (with backing chains, compressed) into
 * raw and qcow2, checked with qemu-img compare and check; sparse stays
 * sparse; progress, cancel, an existing destination, a file-size limit and
 * a full file system (a small tmpfs in a private mount namespace) leave
 * nothing behind. */
#include "qcow2-test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MIB ((uint64_t)1 << 20)
#define SIZE (256 * MIB)

typedef QtFixture Fixture;

/* Scattered data (about 1.2 MiB of it, in 21 clusters of 64 KiB), a zero
 * write and untouched holes, through qemu-io. */
static void write_scattered(const char *image, const char *format)
{
	qt_run_ok("qemu-io -f %s -c 'write -P 0xab 0 64k' -c 'write -P 0x12 %" G_GUINT64_FORMAT
		  " 3584' -c 'write -P 0x34 %" G_GUINT64_FORMAT
		  " 1M' -c 'write -z %" G_GUINT64_FORMAT " 8k' -c 'write -P 0x01 %" G_GUINT64_FORMAT
		  " 1' -c 'write -P 0xee %" G_GUINT64_FORMAT " 512' '%s'",
		  format, SIZE / 3 + 512, SIZE / 2 - 4096, SIZE / 4, 3 * SIZE / 4 + 65535,
		  SIZE - 512, image);
}

static void make_source(Fixture *f, const char *name, const char *format)
{
	g_autofree char *path = qt_in_dir(f, name);
	qt_run_ok("qemu-img create -q -f %s '%s' %" G_GUINT64_FORMAT, format, path, SIZE);
	write_scattered(path, format);
}

static bool convert_path(const char *src_path, const char *dst_path, HgBlockFormat format,
			 GError **error)
{
	HgBlockBackend *src = qt_open(src_path, true);
	bool ok = hg_block_convert(src, dst_path, format, NULL, NULL, NULL, error);
	hg_block_close(src);
	return ok;
}

static uint64_t allocated_bytes(const char *path)
{
	struct stat st;
	g_assert_cmpint(stat(path, &st), ==, 0);
	return (uint64_t)st.st_blocks * 512;
}

/* The folder holds exactly these names (NULL-terminated). */
static void assert_dir_holds(const char *dir, ...)
{
	g_autoptr(GPtrArray) expected = g_ptr_array_new();
	va_list args;
	va_start(args, dir);
	for (const char *name; (name = va_arg(args, const char *));)
		g_ptr_array_add(expected, (gpointer)name);
	va_end(args);

	GDir *d = g_dir_open(dir, 0, NULL);
	g_assert_nonnull(d);
	unsigned found = 0;
	for (const char *name; (name = g_dir_read_name(d));) {
		bool known = false;
		for (unsigned i = 0; i < expected->len; i++)
			known |= strcmp(name, expected->pdata[i]) == 0;
		if (!known)
			g_error("%s holds an unexpected %s", dir, name);
		found++;
	}
	g_dir_close(d);
	g_assert_cmpuint(found, ==, expected->len);
}

typedef struct {
	const char *src_format;
	HgBlockFormat dst_format;
} FormatCase;

static void test_converts_scattered_data(Fixture *f, gconstpointer data)
{
	const FormatCase *c = data;
	g_autofree char *src = qt_in_dir(f, "src"), *dst = qt_in_dir(f, "dst");
	g_autoptr(GError) error = NULL;

	QT_SKIP_WITHOUT_QEMU();
	make_source(f, "src", c->src_format);
	g_assert_true(convert_path(src, dst, c->dst_format, &error));
	g_assert_no_error(error);
	qt_assert_images_equal(src, dst);
	if (c->dst_format == HG_BLOCK_FORMAT_QCOW2)
		qt_assert_check_clean(dst);
	HgBlockBackend *blk = qt_open(dst, true);
	g_assert_cmpstr(hg_block_format(blk), ==,
			c->dst_format == HG_BLOCK_FORMAT_QCOW2 ? "qcow2" : "raw");
	g_assert_cmpuint(hg_block_size(blk), ==, SIZE);
	hg_block_close(blk);
	/* 1.2 MiB written (in 64 KiB clusters for qcow2, plus its metadata),
	 * not the 256 MiB virtual size. */
	g_test_message("%s: %" G_GUINT64_FORMAT " bytes allocated", dst, allocated_bytes(dst));
	g_assert_cmpuint(allocated_bytes(dst), <=, 3 * MIB);
	g_assert_cmpuint(allocated_bytes(dst), >=, MIB);
	assert_dir_holds(f->dir, "src", "dst", NULL);
}

/* A raw size that is not a multiple of the zero-detection block, data in
 * the last, partial block. */
static void test_converts_odd_size(Fixture *f, gconstpointer data)
{
	const FormatCase *c = data;
	g_autofree char *src = qt_in_dir(f, "src.raw"), *dst = qt_in_dir(f, "dst");
	g_autoptr(GError) error = NULL;
	const uint64_t size = 3 * MIB + 1000;
	g_autofree uint8_t *content = g_malloc0(size);

	memset(content + MIB + 7, 0x42, 70000);
	memset(content + size - 10, 0x99, 10);
	g_assert_true(g_file_set_contents(src, (char *)content, size, NULL));
	g_assert_true(convert_path(src, dst, c->dst_format, &error));
	g_assert_no_error(error);
	HgBlockBackend *blk = qt_open(dst, true);
	qt_assert_content(blk, content, size);
	hg_block_close(blk);
}

static void test_backing_chain_becomes_standalone(Fixture *f, gconstpointer data)
{
	g_autofree char *base = qt_in_dir(f, "base.qcow2"), *top = qt_in_dir(f, "top.qcow2"),
			*dst = qt_in_dir(f, "dst.qcow2"), *info = NULL;
	g_autoptr(GError) error = NULL;

	QT_SKIP_WITHOUT_QEMU();
	make_source(f, "base.qcow2", "qcow2");
	qt_run_ok("qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 '%s'", top);
	qt_run_ok("qemu-io -f qcow2 -c 'write -P 0x61 100k 200k' -c 'write -z 0 4k' "
		  "-c 'discard %" G_GUINT64_FORMAT " 64k' '%s'",
		  SIZE / 2, top);
	g_assert_true(convert_path(top, dst, HG_BLOCK_FORMAT_QCOW2, &error));
	g_assert_no_error(error);
	qt_assert_images_equal(top, dst);
	qt_assert_check_clean(dst);
	g_assert_cmpint(qt_run(&info, "qemu-img info --output=json '%s'", dst), ==, 0);
	g_assert_null(strstr(info, "backing-filename"));
	/* Still equal to what the chain showed once the base is gone. */
	g_autofree char *flat = qt_in_dir(f, "flat.raw");
	qt_run_ok("qemu-img convert -O raw '%s' '%s'", top, flat);
	g_assert_cmpint(g_unlink(base), ==, 0);
	qt_assert_images_equal(flat, dst);
}

static void make_compressible(uint8_t *buf, uint64_t size)
{
	uint64_t rng = 7;
	for (uint64_t i = 0; i < size; i += 4096) {
		uint64_t kind = qt_random_below(&rng, 4);
		for (uint64_t j = 0; j < 4096 && i + j < size; j++)
			buf[i + j] = kind == 0	 ? 0
				     : kind == 1 ? (uint8_t)qt_random(&rng)
						 : (uint8_t)("hangar convert "[j % 15] + kind);
	}
}

static void test_converts_compressed_source(Fixture *f, gconstpointer data)
{
	const char *type = data;
	const uint64_t size = 16 * MIB;
	g_autofree char *raw = qt_in_dir(f, "content.raw"), *src = qt_in_dir(f, "src.qcow2"),
			*dst = qt_in_dir(f, "dst.qcow2"), *dst_raw = qt_in_dir(f, "dst.raw");
	g_autofree uint8_t *content = g_malloc(size);
	g_autoptr(GError) error = NULL;

	QT_SKIP_WITHOUT_QEMU();
	make_compressible(content, size);
	g_assert_true(g_file_set_contents(raw, (char *)content, size, NULL));
	qt_run_ok("qemu-img convert -c -f raw -O qcow2 -o compression_type=%s '%s' '%s'", type, raw,
		  src);
	g_assert_true(convert_path(src, dst, HG_BLOCK_FORMAT_QCOW2, &error));
	g_assert_no_error(error);
	g_assert_true(convert_path(src, dst_raw, HG_BLOCK_FORMAT_RAW, &error));
	g_assert_no_error(error);
	qt_assert_images_equal(src, dst);
	qt_assert_images_equal(src, dst_raw);
	qt_assert_check_clean(dst);
}

/* A small raw source made without qemu: data in every other MiB. */
static char *make_hangar_source(Fixture *f, uint64_t size)
{
	char *path = qt_in_dir(f, "src.raw");
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(ftruncate(fd, size), ==, 0);
	uint8_t buf[4096];
	memset(buf, 0x3c, sizeof(buf));
	for (uint64_t off = 0; off < size; off += 2 * MIB)
		g_assert_cmpint(pwrite(fd, buf, sizeof(buf), off), ==, sizeof(buf));
	close(fd);
	return path;
}

typedef struct {
	GArray *done; /* of guint64 */
	guint64 total;
	GCancellable *cancel_after_first;
} Progress;

static void record_progress(guint64 done, guint64 total, gpointer user_data)
{
	Progress *p = user_data;
	g_array_append_val(p->done, done);
	p->total = total;
	if (p->cancel_after_first)
		g_cancellable_cancel(p->cancel_after_first);
}

static void test_progress_increases_to_total(Fixture *f, gconstpointer data)
{
	const uint64_t size = 10 * MIB + 4096;
	g_autofree char *src = make_hangar_source(f, size), *dst = qt_in_dir(f, "dst.qcow2");
	g_autoptr(GError) error = NULL;
	Progress p = {g_array_new(FALSE, FALSE, sizeof(guint64))};

	HgBlockBackend *blk = qt_open(src, true);
	g_assert_true(hg_block_convert(blk, dst, HG_BLOCK_FORMAT_QCOW2, NULL, record_progress, &p,
				       &error));
	g_assert_no_error(error);
	hg_block_close(blk);
	g_assert_cmpuint(p.total, ==, size);
	g_assert_cmpuint(p.done->len, ==, 11);
	for (unsigned i = 1; i < p.done->len; i++)
		g_assert_cmpuint(g_array_index(p.done, guint64, i), >,
				 g_array_index(p.done, guint64, i - 1));
	g_assert_cmpuint(g_array_index(p.done, guint64, p.done->len - 1), ==, size);
	g_array_unref(p.done);
}

static void test_cancel_leaves_nothing(Fixture *f, gconstpointer data)
{
	HgBlockFormat format = GPOINTER_TO_INT(data);
	g_autofree char *src = make_hangar_source(f, 16 * MIB), *dst = qt_in_dir(f, "dst");
	g_autoptr(GError) error = NULL;
	g_autoptr(GCancellable) cancellable = g_cancellable_new();
	Progress p = {g_array_new(FALSE, FALSE, sizeof(guint64)), 0, cancellable};

	HgBlockBackend *blk = qt_open(src, true);
	g_assert_false(
		hg_block_convert(blk, dst, format, cancellable, record_progress, &p, &error));
	hg_block_close(blk);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
	g_assert_cmpuint(p.done->len, ==, 1);
	g_assert_false(g_file_test(dst, G_FILE_TEST_EXISTS));
	assert_dir_holds(f->dir, "src.raw", NULL);
	g_array_unref(p.done);
}

static void test_refuses_existing_destination(Fixture *f, gconstpointer data)
{
	g_autofree char *src = make_hangar_source(f, 4 * MIB), *dst = qt_in_dir(f, "dst.qcow2");
	g_autoptr(GError) error = NULL;

	g_assert_true(g_file_set_contents(dst, "precious", -1, NULL));
	g_assert_false(convert_path(src, dst, HG_BLOCK_FORMAT_QCOW2, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS);
	g_assert_nonnull(strstr(error->message, dst));
	g_autofree char *content = NULL;
	g_assert_true(g_file_get_contents(dst, &content, NULL, NULL));
	g_assert_cmpstr(content, ==, "precious");
	assert_dir_holds(f->dir, "src.raw", "dst.qcow2", NULL);
}

static void create_file_named_by(guint64 done, guint64 total, gpointer user_data)
{
	if (!g_file_test(user_data, G_FILE_TEST_EXISTS))
		g_assert_true(g_file_set_contents(user_data, "someone else's", -1, NULL));
}

/* A file that appears at dst_path during the copy is not replaced. */
static void test_keeps_destination_that_appears_meanwhile(Fixture *f, gconstpointer data)
{
	g_autofree char *src = make_hangar_source(f, 4 * MIB), *dst = qt_in_dir(f, "dst.qcow2");
	g_autoptr(GError) error = NULL;
	g_autofree char *content = NULL;

	HgBlockBackend *blk = qt_open(src, true);
	g_assert_false(hg_block_convert(blk, dst, HG_BLOCK_FORMAT_QCOW2, NULL, create_file_named_by,
					dst, &error));
	hg_block_close(blk);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS);
	g_assert_true(g_file_get_contents(dst, &content, NULL, NULL));
	g_assert_cmpstr(content, ==, "someone else's");
	assert_dir_holds(f->dir, "src.raw", "dst.qcow2", NULL);
}

/* A raw copy of a disk whose content is a qcow2 image would open as that
 * image: refused, as raw.c refuses such writes. */
static void test_refuses_raw_copy_that_looks_like_qcow2(Fixture *f, gconstpointer data)
{
	g_autofree char *inner = qt_in_dir(f, "inner.qcow2"), *outer = qt_in_dir(f, "outer.qcow2"),
			*dst = qt_in_dir(f, "dst.raw");
	g_autoptr(GError) error = NULL;
	g_autofree char *inner_bytes = NULL;
	gsize len;

	g_assert_true(hg_block_create_qcow2(inner, MIB, NULL, 16, &error));
	g_assert_true(hg_block_create_qcow2(outer, 4 * MIB, NULL, 16, &error));
	g_assert_true(g_file_get_contents(inner, &inner_bytes, &len, NULL));
	HgBlockBackend *blk = qt_open(outer, false);
	struct iovec iov = {inner_bytes, len};
	g_assert_cmpint(hg_block_writev(blk, 0, &iov, 1), ==, 0);
	hg_block_close(blk);

	g_assert_false(convert_path(outer, dst, HG_BLOCK_FORMAT_RAW, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
	g_test_message("%s", error->message);
	assert_dir_holds(f->dir, "inner.qcow2", "outer.qcow2", NULL);
}

/* Child exit statuses of the forked cases. */
enum {
	CHILD_OK = 0,
	CHILD_CONVERTED = 1,
	CHILD_WRONG_ERROR = 2,
	CHILD_LEFTOVERS = 3,
	CHILD_SKIP = 77
};

/* Converts in the child; expects a G_IO_ERROR_NO_SPACE whose message holds
 * expect, and dir (as this child sees it) to hold only keep (or nothing). */
static int child_convert_expecting_no_space(const char *src, const char *dst, HgBlockFormat format,
					    const char *expect, const char *dir, const char *keep)
{
	g_autoptr(GError) error = NULL;
	HgBlockBackend *blk = hg_block_open(src, true, &error);
	if (!blk)
		return CHILD_WRONG_ERROR;
	bool ok = hg_block_convert(blk, dst, format, NULL, NULL, NULL, &error);
	hg_block_close(blk);
	if (ok)
		return CHILD_CONVERTED;
	g_printerr("child: %s\n", error->message);
	if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NO_SPACE) ||
	    !strstr(error->message, expect))
		return CHILD_WRONG_ERROR;
	GDir *d = g_dir_open(dir, 0, NULL);
	int status = d ? CHILD_OK : CHILD_LEFTOVERS;
	for (const char *name; d && (name = g_dir_read_name(d));)
		if (!keep || strcmp(name, keep) != 0)
			status = CHILD_LEFTOVERS;
	if (d)
		g_dir_close(d);
	return status;
}

static int wait_child(pid_t pid)
{
	int status;
	g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
	g_assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* RLIMIT_FSIZE makes writes past 2 MiB fail with EFBIG, as a full disk
 * would fail them: the qcow2 copy fails mid-way, the raw one as soon as
 * the file is given its size. */
static void test_write_failure_leaves_nothing(Fixture *f, gconstpointer data)
{
	HgBlockFormat format = GPOINTER_TO_INT(data);
	g_autofree char *src = make_hangar_source(f, 64 * MIB), *dst = qt_in_dir(f, "dst");

	pid_t pid = fork();
	g_assert_cmpint(pid, >=, 0);
	if (pid == 0) {
		struct rlimit limit = {2 * MIB, 2 * MIB};
		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &limit) < 0)
			_exit(CHILD_SKIP);
		_exit(child_convert_expecting_no_space(src, dst, format, dst, f->dir, "src.raw"));
	}
	g_assert_cmpint(wait_child(pid), ==, CHILD_OK);
	assert_dir_holds(f->dir, "src.raw", NULL);
}

/* In a child with its own mount namespace, a 4 MiB tmpfs over sub; returns
 * false where that is not allowed. */
static bool child_mount_small_tmpfs(const char *sub)
{
	if (unshare(CLONE_NEWNS) < 0) {
		uid_t uid = getuid();
		gid_t gid = getgid();
		if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
			return false;
		g_autofree char *uid_map = g_strdup_printf("0 %u 1", uid);
		g_autofree char *gid_map = g_strdup_printf("0 %u 1", gid);
		if (!g_file_set_contents("/proc/self/setgroups", "deny", -1, NULL) ||
		    !g_file_set_contents("/proc/self/uid_map", uid_map, -1, NULL) ||
		    !g_file_set_contents("/proc/self/gid_map", gid_map, -1, NULL))
			return false;
	}
	/* Private first, so the tmpfs never shows outside this child. */
	return mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
	       mount("tmpfs", sub, "tmpfs", 0, "size=4m") == 0;
}

typedef struct {
	bool compressed; /* a source that holds more than it takes */
	const char *expect;
} FullDiskCase;

/* 8 MiB of data into a 4 MiB file system: refused before writing when the
 * source's allocated size shows it, failing mid-way when it doesn't (a
 * compressed source); nothing left either way. */
static void test_full_file_system(Fixture *f, gconstpointer data)
{
	const FullDiskCase *c = data;
	const uint64_t size = 8 * MIB;
	g_autofree char *raw = qt_in_dir(f, "content.raw"), *src = qt_in_dir(f, "src.qcow2"),
			*sub = qt_in_dir(f, "small"),
			*dst = g_build_filename(sub, "dst.qcow2", NULL);
	g_autofree uint8_t *content = g_malloc(size);
	uint64_t rng = 5;

	QT_SKIP_WITHOUT_QEMU();
	if (c->compressed)
		memset(content, 0x77, size);
	else
		qt_random_fill(&rng, content, size);
	g_assert_true(g_file_set_contents(raw, (char *)content, size, NULL));
	qt_run_ok("qemu-img convert %s -f raw -O qcow2 '%s' '%s'", c->compressed ? "-c" : "", raw,
		  src);
	g_assert_cmpint(g_mkdir(sub, 0755), ==, 0);

	pid_t pid = fork();
	g_assert_cmpint(pid, >=, 0);
	if (pid == 0) {
		if (!child_mount_small_tmpfs(sub))
			_exit(CHILD_SKIP);
		_exit(child_convert_expecting_no_space(src, dst, HG_BLOCK_FORMAT_QCOW2, c->expect,
						       sub, NULL));
	}
	int status = wait_child(pid);
	g_assert_cmpint(g_rmdir(sub), ==, 0);
	if (status == CHILD_SKIP) {
		g_test_skip("cannot mount a tmpfs in a private mount namespace here");
		return;
	}
	g_assert_cmpint(status, ==, CHILD_OK);
}

static const FormatCase format_cases[] = {
	{"raw", HG_BLOCK_FORMAT_QCOW2},
	{"qcow2", HG_BLOCK_FORMAT_RAW},
	{"qcow2", HG_BLOCK_FORMAT_QCOW2},
	{"raw", HG_BLOCK_FORMAT_RAW},
};

static const char *format_name(HgBlockFormat format)
{
	return format == HG_BLOCK_FORMAT_QCOW2 ? "qcow2" : "raw";
}

static const FullDiskCase full_disk_cases[] = {
	{false, "needs about"},
	{true, "no space left"},
};

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	for (unsigned i = 0; i < G_N_ELEMENTS(format_cases); i++) {
		const FormatCase *c = &format_cases[i];
		g_autofree char *name =
			g_strdup_printf("/block/convert/%s-to-%s-is-equal-and-sparse",
					c->src_format, format_name(c->dst_format));
		g_test_add(name, Fixture, c, qt_fixture_set_up, test_converts_scattered_data,
			   qt_fixture_tear_down);
	}
	for (unsigned i = 0; i < 2; i++) {
		const FormatCase *c = &format_cases[2 + i];
		g_autofree char *name = g_strdup_printf("/block/convert/odd-size-raw-to-%s",
							format_name(c->dst_format));
		g_test_add(name, Fixture, c, qt_fixture_set_up, test_converts_odd_size,
			   qt_fixture_tear_down);
	}
	g_test_add("/block/convert/backing-chain-becomes-standalone", Fixture, NULL,
		   qt_fixture_set_up, test_backing_chain_becomes_standalone, qt_fixture_tear_down);
	g_test_add("/block/convert/compressed-source/zlib", Fixture, "zlib", qt_fixture_set_up,
		   test_converts_compressed_source, qt_fixture_tear_down);
	g_test_add("/block/convert/compressed-source/zstd", Fixture, "zstd", qt_fixture_set_up,
		   test_converts_compressed_source, qt_fixture_tear_down);
	g_test_add("/block/convert/progress-increases-to-total", Fixture, NULL, qt_fixture_set_up,
		   test_progress_increases_to_total, qt_fixture_tear_down);
	for (int format = HG_BLOCK_FORMAT_RAW; format <= HG_BLOCK_FORMAT_QCOW2; format++) {
		g_autofree char *cancel = g_strdup_printf("/block/convert/cancel-leaves-nothing/%s",
							  format_name(format));
		g_autofree char *failure = g_strdup_printf(
			"/block/convert/write-failure-leaves-nothing/%s", format_name(format));
		g_test_add(cancel, Fixture, GINT_TO_POINTER(format), qt_fixture_set_up,
			   test_cancel_leaves_nothing, qt_fixture_tear_down);
		g_test_add(failure, Fixture, GINT_TO_POINTER(format), qt_fixture_set_up,
			   test_write_failure_leaves_nothing, qt_fixture_tear_down);
	}
	g_test_add("/block/convert/refuses-existing-destination", Fixture, NULL, qt_fixture_set_up,
		   test_refuses_existing_destination, qt_fixture_tear_down);
	g_test_add("/block/convert/keeps-destination-that-appears-meanwhile", Fixture, NULL,
		   qt_fixture_set_up, test_keeps_destination_that_appears_meanwhile,
		   qt_fixture_tear_down);
	g_test_add("/block/convert/refuses-raw-copy-that-looks-like-qcow2", Fixture, NULL,
		   qt_fixture_set_up, test_refuses_raw_copy_that_looks_like_qcow2,
		   qt_fixture_tear_down);
	g_test_add("/block/convert/full-file-system/refused-before-writing", Fixture,
		   &full_disk_cases[0], qt_fixture_set_up, test_full_file_system,
		   qt_fixture_tear_down);
	g_test_add("/block/convert/full-file-system/fails-mid-way", Fixture, &full_disk_cases[1],
		   qt_fixture_set_up, test_full_file_system, qt_fixture_tear_down);
	return g_test_run();
}
