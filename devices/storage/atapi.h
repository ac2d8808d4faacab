/* An ATAPI CD/DVD-ROM drive on a SATA port (atapi.c).  The drive owns its
 * medium: an ISO image opened read-only, or none. */
#pragma once

#include "devices/storage/sata.h"

#define HG_ATAPI_SIGNATURE 0xeb140101u

/* path NULL: an empty drive. */
HgSataDrive *hg_atapi_cdrom_new(HgMachine *m, const char *id, const char *path, GError **error);
bool hg_atapi_is_cdrom(HgSataDrive *d);

/* The control socket's media operations; device lock held.  Changing the
 * medium is refused while the guest holds the tray locked with a medium
 * in it; ejecting too, unless forced (the guest is then asked, through a
 * GET EVENT STATUS NOTIFICATION eject request, to let go). */
bool hg_atapi_change_medium(HgSataDrive *d, const char *path, GError **error);
bool hg_atapi_eject(HgSataDrive *d, bool force, GError **error);
