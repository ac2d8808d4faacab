/* Raw images: a guest may write anything, except what would make its disk
 * probe as another format on the next open (raw.c). */
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "library/block/block.h"

#define DISK_SIZE (1u << 20)

static char *make_disk(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *dir = g_dir_make_tmp("hangar-raw-XXXXXX", &error);
	char *path = g_build_filename(dir, "disk.img", NULL);

	g_assert_no_error(error);
	g_assert_true(g_file_set_contents(path, "", 0, NULL));
	g_assert_cmpint(truncate(path, DISK_SIZE), ==, 0);
	return path;
}

static void remove_disk(char *path)
{
	g_autofree char *dir = g_path_get_dirname(path);

	g_unlink(path);
	g_rmdir(dir);
	g_free(path);
}

static int write_at(HgBlockBackend *blk, uint64_t offset, const void *data, size_t len)
{
	struct iovec iov = {(void *)data, len};
	return hg_block_writev(blk, offset, &iov, 1);
}

/* The VHD footer checksum: the ones' complement of the byte sum, taken
 * with the checksum field (64..67) as zero. */
static void make_vhd_footer(guint8 *f)
{
	guint32 sum = 0;

	memset(f, 0, 512);
	memcpy(f, "conectix", 8);
	f[63] = 2; /* disk type: fixed */
	for (unsigned i = 0; i < 512; i++)
		sum += f[i];
	sum = ~sum;
	f[64] = sum >> 24;
	f[65] = sum >> 16;
	f[66] = sum >> 8;
	f[67] = sum;
}

static void test_format_marks_are_refused(void)
{
	char *path = make_disk();
	g_autoptr(GError) error = NULL;
	HgBlockBackend *blk = hg_block_open(path, false, &error);
	guint8 footer[512], sector[512];
	g_autofree guint8 *split = g_malloc0(1024);

	g_assert_no_error(error);
	g_assert_cmpint(write_at(blk, 0, "QFI\xfb", 4), ==, -EPERM);
	g_assert_cmpint(write_at(blk, 0, "vhdxfile", 8), ==, -EPERM);
	g_assert_cmpint(write_at(blk, 0, "KDMV", 4), ==, -EPERM);
	g_assert_cmpint(write_at(blk, 0x40, "\x7f\x10\xda\xbe", 4), ==, -EPERM);
	/* A sector write that carries the mark, too. */
	memset(sector, 0, sizeof(sector));
	memcpy(sector, "conectix", 8);
	g_assert_cmpint(write_at(blk, 0, sector, sizeof(sector)), ==, -EPERM);
	make_vhd_footer(footer);
	g_assert_cmpint(write_at(blk, DISK_SIZE - 512, footer, sizeof(footer)), ==, -EPERM);
	/* Split over the last two sectors, in one write. */
	memcpy(split + 512, footer, 512);
	g_assert_cmpint(write_at(blk, DISK_SIZE - 1024, split, 1024), ==, -EPERM);

	/* Ordinary data at the same places is fine, and so is a footer whose
	 * checksum is wrong (it does not probe as VHD). */
	memset(sector, 0x5a, sizeof(sector));
	g_assert_cmpint(write_at(blk, 0, sector, sizeof(sector)), ==, 0);
	g_assert_cmpint(write_at(blk, DISK_SIZE - 512, sector, sizeof(sector)), ==, 0);
	footer[100] ^= 1;
	g_assert_cmpint(write_at(blk, DISK_SIZE - 512, footer, sizeof(footer)), ==, 0);
	hg_block_close(blk);

	blk = hg_block_open(path, true, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(hg_block_format(blk), ==, "raw");
	hg_block_close(blk);
	remove_disk(path);
}

/* A file opened as raw stays raw, whatever its content says: how CD-ROM
 * media are opened, so an "ISO" with a qcow2 header cannot read the host
 * file it names as backing file. */
static void test_format_given_is_not_probed(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *dir = g_dir_make_tmp("hangar-raw-XXXXXX", &error);
	g_autofree char *image = g_build_filename(dir, "media.iso", NULL);
	HgBlockBackend *blk;
	GStatBuf st;

	g_assert_true(hg_block_create_qcow2(image, 1u << 30, "/etc/passwd", 16, &error));
	g_assert_no_error(error);
	blk = hg_block_open_format(image, "raw", true, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(hg_block_format(blk), ==, "raw");
	g_assert_cmpint(g_stat(image, &st), ==, 0);
	g_assert_cmpuint(hg_block_size(blk), ==, (guint64)st.st_size);
	hg_block_close(blk);
	g_assert_null(hg_block_open_format(image, "floppy", true, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
	g_unlink(image);
	g_rmdir(dir);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/raw/format-marks-are-refused", test_format_marks_are_refused);
	g_test_add_func("/raw/format-given-is-not-probed", test_format_given_is_not_probed);
	return g_test_run();
}
