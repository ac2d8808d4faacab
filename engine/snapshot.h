/* Live VM snapshots taken by the running engine (engine/snapshot.c). */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/engine.h"

typedef struct {
	int64_t pause_us; /* how long the guest stood still */
	unsigned disks; /* disk snapshots taken */
} HgSnapshotReport;

/* Pauses the guest (without telling the control clients: it resumes by
 * itself), takes the internal snapshot disk_snapshot on every writable
 * disk, writes the machine state, RAM, screen.png and the UEFI variables
 * into dir (which must not exist yet), and resumes the guest if it was
 * running.  Any failure undoes the disk snapshots and removes dir. */
bool hg_engine_snapshot(HgEngine *e, const char *dir, const char *disk_snapshot,
			HgSnapshotReport *report, GError **error);
/* Deletes the internal snapshot of that name from every writable disk
 * that has it (the images are the engine's while it runs); returns how
 * many had it, or -1 on an error. */
int hg_engine_delete_disk_snapshot(HgEngine *e, const char *disk_snapshot, GError **error);
