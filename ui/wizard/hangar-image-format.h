/* Which disk images a VM can use: whatever the image layer reads; raw and
 * qcow2 also in place (the others are read-only there, so the VM gets a
 * qcow2 copy).  Formats are recognised by their magic, so that the user is
 * told in plain words what a file is.  Used by the wizard and the settings
 * dialog. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* "QCOW2", "VMDK", "VDI", "VHD", "VHDX" from the first bytes of a file (at
 * least 512 for all of them), or NULL: raw. */
const char *hangar_image_format_from_header(const guint8 *head, gsize length);

/* Opens path as the engine would (a short blocking read of its header and
 * tables).  FALSE with a plain error: unreadable, empty, broken, or a
 * variant that cannot be read.  *size (may be NULL): the disk's size as the
 * guest sees it; *writable (may be NULL): raw or qcow2, so usable in place;
 * *format (may be NULL): the image layer's name for it ("raw", "qcow2",
 * ...), what a VM using it in place records, as chosen now. */
gboolean hangar_image_check_usable(const char *path, guint64 *size, gboolean *writable,
				   const char **format, GError **error);

G_END_DECLS
