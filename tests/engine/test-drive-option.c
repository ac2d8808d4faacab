/* The engine's --drive option (engine/platform.c): format= names how the
 * image is opened; without it the content is probed (a hand-written
 * command line), and a disc is raw whatever it holds. */
#include <glib.h>
#include <string.h>

#include "engine/platform.h"

static HgDriveOption *parse_ok(const char *text)
{
	g_autoptr(GError) error = NULL;
	HgDriveOption *d = NULL;

	g_assert_true(hg_drive_option_parse(text, &d, &error));
	g_assert_no_error(error);
	g_assert_nonnull(d);
	return d;
}

static void parse_refused(const char *text, const char *why)
{
	g_autoptr(GError) error = NULL;
	HgDriveOption *d = NULL;

	g_assert_false(hg_drive_option_parse(text, &d, &error));
	g_assert_null(d);
	g_assert_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE);
	g_test_message("%s", error->message);
	g_assert_nonnull(strstr(error->message, why));
}

static void test_format_is_kept(void)
{
	HgDriveOption *d = parse_ok("file=/vm/disk.qcow2,if=virtio,format=qcow2,bootindex=1");

	g_assert_cmpstr(d->file, ==, "/vm/disk.qcow2");
	g_assert_cmpstr(d->format, ==, "qcow2");
	g_assert_cmpint(d->bus, ==, HG_DRIVE_BUS_VIRTIO);
	g_assert_cmpint(d->boot_index, ==, 1);
	hg_drive_option_free(d);

	d = parse_ok("format=raw,file=/vm/disk.img,if=sata,readonly=on");
	g_assert_cmpstr(d->format, ==, "raw");
	g_assert_true(d->read_only);
	hg_drive_option_free(d);

	/* What the library passes for a disc. */
	d = parse_ok("file=/srv/a.iso,format=raw,if=sata,media=cdrom,readonly=on,bootindex=0");
	g_assert_cmpstr(d->format, ==, "raw");
	g_assert_cmpint(d->media, ==, HG_DRIVE_MEDIA_CDROM);
	hg_drive_option_free(d);
}

static void test_without_format_the_content_decides(void)
{
	HgDriveOption *d = parse_ok("file=/vm/disk.img,if=virtio");

	g_assert_null(d->format);
	hg_drive_option_free(d);
}

static void test_bad_formats_are_refused(void)
{
	parse_refused("file=/vm/disk.img,if=virtio,format=qcow3", "bad part \"format=qcow3\"");
	parse_refused("file=/vm/disk.img,if=virtio,format=", "bad part \"format=\"");
	parse_refused("file=/vm/disk.img,if=virtio,format=QCOW2", "bad part \"format=QCOW2\"");
	parse_refused("file=/srv/a.iso,media=cdrom,format=qcow2", "a CD-ROM drive's image is raw");
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/engine/drive-option/format-is-kept", test_format_is_kept);
	g_test_add_func("/engine/drive-option/without-format-the-content-decides",
			test_without_format_the_content_decides);
	g_test_add_func("/engine/drive-option/bad-formats-are-refused",
			test_bad_formats_are_refused);
	return g_test_run();
}
