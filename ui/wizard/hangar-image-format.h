/* Which disk images the VM can use: raw and qcow2; the formats the image
 * layer cannot open yet are recognised by their magic, so that the user is
 * told in plain words instead of the guest seeing garbage.  Used by the
 * wizard and the settings dialog. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* "QCOW2", "VMDK", "VDI", "VHD", "VHDX" from the first bytes of a file (at
 * least 512 for all of them), or NULL: raw. */
const char *hangar_image_format_from_header(const guint8 *head, gsize length);

/* Opens path as the engine would (a short blocking read of its header and
 * tables).  FALSE with a plain error: unreadable, empty, broken, or a
 * format that cannot be used yet.  *size (may be NULL): the disk's size as
 * the guest sees it. */
gboolean hangar_image_check_usable(const char *path, guint64 *size, GError **error);

G_END_DECLS
