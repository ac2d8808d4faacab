/* The installer ISOs used lately (GSettings key "recent-isos"), offered by
 * the create wizard and the settings' CD-ROM chooser. */
#pragma once

#include <gio/gio.h>

/* Puts path first: newest first, no duplicates, at most 10.  settings may
 * be NULL (schema not installed): nothing is remembered. */
void hangar_recent_isos_add(GSettings *settings, const char *path);
