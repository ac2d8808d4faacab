/* See qcow2-test-util.h. */
#include "qcow2-test-util.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

bool qt_have_qemu(void)
{
	g_autofree char *img = g_find_program_in_path("qemu-img");
	g_autofree char *io = g_find_program_in_path("qemu-io");
	return img && io;
}

char *qt_make_dir(void)
{
	g_autoptr(GError) error = NULL;
	char *dir = g_dir_make_tmp("hangar-qcow2-XXXXXX", &error);
	g_assert_no_error(error);
	return dir;
}

void qt_remove_dir(const char *dir)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *name;

	if (!d)
		return;
	while ((name = g_dir_read_name(d))) {
		g_autofree char *path = g_build_filename(dir, name, NULL);
		g_unlink(path);
	}
	g_dir_close(d);
	g_rmdir(dir);
}

static int run_argv(char **argv, char **output)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *out = NULL, *err = NULL;
	int status;

	if (!g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err, &status,
			  &error)) {
		if (output)
			*output = g_strdup(error->message);
		return -1;
	}
	if (output)
		*output = g_strconcat(out, err, NULL);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int qt_run(char **output, const char *format, ...)
{
	va_list args;
	g_auto(GStrv) argv = NULL;

	va_start(args, format);
	g_autofree char *line = g_strdup_vprintf(format, args);
	va_end(args);
	g_assert_true(g_shell_parse_argv(line, NULL, &argv, NULL));
	return run_argv(argv, output);
}

void qt_run_ok(const char *format, ...)
{
	va_list args;
	g_auto(GStrv) argv = NULL;
	g_autofree char *output = NULL;

	va_start(args, format);
	g_autofree char *line = g_strdup_vprintf(format, args);
	va_end(args);
	g_assert_true(g_shell_parse_argv(line, NULL, &argv, NULL));
	int status = run_argv(argv, &output);
	if (status != 0)
		g_error("`%s` exited with %d:\n%s", line, status, output);
}

int qt_qemu_img_check(const char *path, char **output)
{
	return qt_run(output, "qemu-img check '%s'", path);
}

void qt_assert_check_clean(const char *path)
{
	g_autofree char *output = NULL;
	int status = qt_qemu_img_check(path, &output);
	if (status != 0)
		g_error("qemu-img check %s: status %d\n%s", path, status, output);
}

void qt_assert_images_equal(const char *a, const char *b)
{
	g_autofree char *output = NULL;
	int status = qt_run(&output, "qemu-img compare '%s' '%s'", a, b);
	if (status != 0)
		g_error("qemu-img compare %s %s: status %d\n%s", a, b, status, output);
}

/* splitmix64: small, seeded, the same everywhere. */
uint64_t qt_random(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint64_t qt_random_below(uint64_t *state, uint64_t bound)
{
	return bound ? qt_random(state) % bound : 0;
}

void qt_random_fill(uint64_t *state, uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = qt_random(state);
		memcpy(buf + i, &v, MIN(8, len - i));
	}
}

HgBlockBackend *qt_open(const char *path, bool read_only)
{
	g_autoptr(GError) error = NULL;
	HgBlockBackend *blk = hg_block_open(path, read_only, &error);
	g_assert_no_error(error);
	g_assert_nonnull(blk);
	return blk;
}

uint8_t *qt_read_all(HgBlockBackend *blk)
{
	uint64_t size = hg_block_size(blk);
	uint8_t *buf = g_malloc(size);
	for (uint64_t off = 0; off < size; off += 1 << 20) {
		struct iovec iov = {buf + off, MIN(1 << 20, size - off)};
		g_assert_cmpint(hg_block_readv(blk, off, &iov, 1), ==, 0);
	}
	return buf;
}

char *qt_file_hash(const char *path)
{
	g_autofree char *content = NULL;
	gsize len;
	g_assert_true(g_file_get_contents(path, &content, &len, NULL));
	return g_compute_checksum_for_data(G_CHECKSUM_SHA256, (guchar *)content, len);
}

void qt_assert_content(HgBlockBackend *blk, const uint8_t *expected, uint64_t len)
{
	g_autofree uint8_t *got = qt_read_all(blk);
	g_assert_cmpuint(hg_block_size(blk), ==, len);
	for (uint64_t i = 0; i < len; i++)
		if (got[i] != expected[i])
			g_error("byte %" G_GUINT64_FORMAT ": got 0x%02x, expected 0x%02x", i,
				got[i], expected[i]);
}

void qt_fixture_set_up(QtFixture *f, gconstpointer data)
{
	f->dir = qt_make_dir();
}

void qt_fixture_tear_down(QtFixture *f, gconstpointer data)
{
	qt_remove_dir(f->dir);
	g_free(f->dir);
}

char *qt_in_dir(QtFixture *f, const char *name)
{
	return g_build_filename(f->dir, name, NULL);
}
