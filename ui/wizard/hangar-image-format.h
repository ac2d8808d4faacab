/* Disk image formats the image layer cannot open yet, recognised by their
 * magic so that the user is told in plain words instead of the guest
 * seeing garbage.  Used by the wizard and the settings dialog. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* "QCOW2", "VMDK", "VDI", "VHD", "VHDX" from the first bytes of a file (at
 * least 512 for all of them), or NULL: treated as raw. */
const char *hangar_image_format_from_header(const guint8 *head, gsize length);

/* Reads the header of path (a short blocking read).  FALSE with a plain
 * error (unreadable, empty, or a format that is not raw yet). */
gboolean hangar_image_check_raw(const char *path, GError **error);

G_END_DECLS
