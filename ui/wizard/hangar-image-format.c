/* Which disk images can be used: whatever the image layer reads (raw and
 * qcow2 in place; VMDK, VDI, VHD and VHDX as a qcow2 copy). */
#include "ui/wizard/hangar-image-format.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "library/block/block.h"

const char *hangar_image_format_from_header(const guint8 *head, gsize length)
{
	if (length >= 4 && memcmp(head, "QFI\xfb", 4) == 0)
		return "QCOW2";
	if (length >= 4 && memcmp(head, "KDMV", 4) == 0)
		return "VMDK";
	if (length >= 21 && memcmp(head, "# Disk DescriptorFile", 21) == 0)
		return "VMDK";
	/* VDI: the signature 0xbeda107f at offset 0x40, little-endian. */
	if (length >= 0x44 && memcmp(head + 0x40, "\x7f\x10\xda\xbe", 4) == 0)
		return "VDI";
	if (length >= 8 && memcmp(head, "vhdxfile", 8) == 0)
		return "VHDX";
	/* A dynamic VHD starts with a copy of its footer. */
	if (length >= 8 && memcmp(head, "conectix", 8) == 0)
		return "VHD";
	return NULL;
}

gboolean hangar_image_check_usable(const char *path, guint64 *size, gboolean *writable,
				   const char **format_out, GError **error)
{
	g_autofree char *base = g_path_get_basename(path);
	g_autoptr(GError) local = NULL;
	HgBlockBackend *blk;
	guint8 head[512];
	const char *format;
	struct stat st;
	ssize_t got;
	int fd = g_open(path, O_RDONLY | O_CLOEXEC, 0);

	if (fd < 0) {
		int saved = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved),
			    _("“%s” cannot be read: %s."), base, g_strerror(saved));
		return FALSE;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE,
			    _("“%s” is not a file."), base);
		return FALSE;
	}
	got = pread(fd, head, sizeof(head), 0);
	if (got < 0) {
		int saved = errno;
		close(fd);
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved),
			    _("“%s” cannot be read: %s."), base, g_strerror(saved));
		return FALSE;
	}
	close(fd);
	if (st.st_size == 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    _("“%s” is empty: it is not a disk image."), base);
		return FALSE;
	}
	format = hangar_image_format_from_header(head, (gsize)got);
	/* The image layer opens it as the engine will: a broken qcow2 is
	 * told now, not at the first start. */
	blk = hg_block_open(path, TRUE, &local);
	if (!blk && format && strcmp(format, "QCOW2") != 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    _("“%s” is a %s image that cannot be read: %s."), base, format,
			    local->message);
		return FALSE;
	}
	if (!blk) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    _("“%s” cannot be used: %s."), base, local->message);
		return FALSE;
	}
	if (size)
		*size = hg_block_size(blk);
	/* The import formats are read-only here: the VM gets a qcow2 copy. */
	if (writable)
		*writable = strcmp(hg_block_format(blk), "raw") == 0 ||
			    strcmp(hg_block_format(blk), "qcow2") == 0;
	/* A static string of the image layer's, valid after the close. */
	if (format_out)
		*format_out = hg_block_format(blk);
	hg_block_close(blk);
	return TRUE;
}
