/* A GtkSpinButton for an amount of memory: its value is in MiB, shown and
 * typed as "512 MiB" or "2 GiB" (a bare number is MiB, "2G" or "2 GiB" is
 * GiB).  Used by the wizard and the settings dialog. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Sets range, steps and the formatting; the value stays in MiB. */
void hangar_memory_spin_setup(GtkSpinButton *spin, unsigned min_mib, unsigned max_mib);

/* The host's RAM in MiB (at least 1024 when it cannot be read). */
unsigned hangar_memory_host_mib(void);

/* "512 MiB", "2 GiB", "1.5 GiB". */
char *hangar_memory_format(unsigned mib);

G_END_DECLS
