/* Live VM snapshots inside the engine: with the vCPUs parked and the disks
 * quiet, every writable disk takes an internal (qcow2) snapshot, then the
 * machine state, RAM, the screen and the UEFI variable store are written
 * to a folder, and the guest runs on.  The engine does the disk part
 * because it holds the images open: no other process may write them while
 * it runs.  Reverting is not done here: the VM is restarted from the saved
 * folder (--restore) after the disks were rolled back at rest. */
#include "engine/snapshot.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

#include "display/console.h"
#include "engine/block_queue.h"
#include "engine/state.h"
#include "engine/vcpu.h"

/* Every disk a snapshot must cover: writable ones (read-only disks cannot
 * change, CD-ROMs are media).  All must be able to snapshot, or none is
 * touched. */
static bool snapshot_check_disks(HgEngine *e, GError **error)
{
	GPtrArray *disks = e->platform.block_backends;

	for (guint i = 0; i < disks->len; i++) {
		HgBlockBackend *blk = g_ptr_array_index(disks, i);
		if (hg_block_is_read_only(blk) || strcmp(hg_block_format(blk), "qcow2") == 0)
			continue;
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    "%s is a %s image: only qcow2 disks can take snapshots (convert it "
			    "first)",
			    hg_block_path(blk), hg_block_format(blk));
		return false;
	}
	return true;
}

/* Undo the disk snapshots taken so far (taken[i] for disk i). */
static void snapshot_roll_back_disks(HgEngine *e, const char *name, const bool *taken)
{
	GPtrArray *disks = e->platform.block_backends;

	for (guint i = 0; i < disks->len; i++) {
		g_autoptr(GError) error = NULL;
		if (taken[i] &&
		    !hg_block_snapshot_delete(g_ptr_array_index(disks, i), name, &error))
			g_printerr("hangar-engine: cannot undo a disk snapshot: %s\n",
				   error->message);
	}
}

static bool snapshot_disks(HgEngine *e, const char *name, GError **error)
{
	HgMachine *m = e->machine;
	GPtrArray *disks = e->platform.block_backends;
	g_autofree bool *taken = g_new0(bool, disks->len + 1);
	bool ok = true;

	g_mutex_lock(&m->device_lock);
	/* No request may be in flight while an image's tables change. */
	hg_machine_drain_io(m);
	for (guint i = 0; i < disks->len && ok; i++) {
		HgBlockBackend *blk = g_ptr_array_index(disks, i);
		if (hg_block_is_read_only(blk))
			continue;
		g_autoptr(HgBlockSnapshot) snap =
			hg_block_snapshot_create(blk, name, hg_clock_ns(m), error);
		ok = snap != NULL;
		taken[i] = ok;
	}
	if (!ok)
		snapshot_roll_back_disks(e, name, taken);
	g_mutex_unlock(&m->device_lock);
	return ok;
}

/* A half-written snapshot folder: only the files hg_engine_snapshot puts
 * there, then the folder itself. */
static void remove_snapshot_folder(const char *dir)
{
	static const char *const files[] = {"state", "state.tmp", "ram", "OVMF_VARS.fd",
					    "screen.png"};

	for (unsigned i = 0; i < G_N_ELEMENTS(files); i++) {
		g_autofree char *path = g_build_filename(dir, files[i], NULL);
		g_unlink(path);
	}
	g_rmdir(dir);
}

static bool copy_file(const char *from, const char *to, GError **error)
{
	g_autoptr(GFile) src = g_file_new_for_path(from);
	g_autoptr(GFile) dst = g_file_new_for_path(to);

	return g_file_copy(src, dst, G_FILE_COPY_OVERWRITE, NULL, NULL, NULL, error);
}

bool hg_engine_snapshot(HgEngine *e, const char *dir, const char *disk_snapshot,
			HgSnapshotReport *report, GError **error)
{
	HgMachine *m = e->machine;
	bool was_running = m->run_state == HG_RUN_STATE_RUNNING && !e->quitting;
	gint64 start = g_get_monotonic_time();
	bool ok;

	memset(report, 0, sizeof(*report));
	if (m->harness_mode) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    "snapshots need a machine with vCPUs, not the test harness");
		return false;
	}
	if (!snapshot_check_disks(e, error))
		return false;
	/* Made here, and only here: never written into a folder that was
	 * there already (or into parents that were not). */
	if (g_mkdir(dir, 0700) < 0) {
		int saved = errno;
		if (saved == EEXIST)
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS, "%s already exists", dir);
		else
			g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved),
				    "cannot create %s: %s", dir, g_strerror(saved));
		return false;
	}
	/* Paused quietly: the guest does not notice, and neither should the
	 * clients' run state. */
	hg_vcpus_pause(m);
	ok = snapshot_disks(e, disk_snapshot, error);
	if (ok) {
		g_autofree char *screen = g_build_filename(dir, "screen.png", NULL);
		g_autoptr(GError) screen_error = NULL;

		ok = hg_state_save(m, dir, error);
		if (ok && e->config.firmware_vars) {
			g_autofree char *vars = g_build_filename(dir, "OVMF_VARS.fd", NULL);
			ok = copy_file(e->config.firmware_vars, vars, error);
		}
		/* The picture is a courtesy: a machine without a screen (or a
		 * failed render) still has its snapshot. */
		if (ok && !hg_console_screendump(e->platform.console, screen, &screen_error))
			g_debug("snapshot: no screen picture: %s", screen_error->message);
		if (!ok) {
			GPtrArray *disks = e->platform.block_backends;
			g_autofree bool *all = g_new(bool, disks->len + 1);
			for (guint i = 0; i < disks->len; i++)
				all[i] = !hg_block_is_read_only(g_ptr_array_index(disks, i));
			g_mutex_lock(&m->device_lock);
			snapshot_roll_back_disks(e, disk_snapshot, all);
			g_mutex_unlock(&m->device_lock);
			remove_snapshot_folder(dir);
		}
	}
	for (guint i = 0; i < e->platform.block_backends->len; i++)
		if (!hg_block_is_read_only(g_ptr_array_index(e->platform.block_backends, i)))
			report->disks++;
	if (was_running)
		hg_vcpus_resume(m);
	report->pause_us = g_get_monotonic_time() - start;
	return ok;
}

int hg_engine_delete_disk_snapshot(HgEngine *e, const char *disk_snapshot, GError **error)
{
	HgMachine *m = e->machine;
	GPtrArray *disks = e->platform.block_backends;
	int deleted = 0;

	g_mutex_lock(&m->device_lock);
	hg_machine_drain_io(m);
	/* Every disk is tried: one that lacks the snapshot (added later, or
	 * left by an interrupted delete) is not an error. */
	for (guint i = 0; i < disks->len; i++) {
		HgBlockBackend *blk = g_ptr_array_index(disks, i);
		g_autoptr(GError) local = NULL;
		if (hg_block_is_read_only(blk) || strcmp(hg_block_format(blk), "qcow2") != 0)
			continue;
		if (hg_block_snapshot_delete(blk, disk_snapshot, &local)) {
			deleted++;
		} else if (!g_error_matches(local, G_IO_ERROR, G_IO_ERROR_NOT_FOUND)) {
			g_propagate_error(error, g_steal_pointer(&local));
			deleted = -1;
			break;
		}
	}
	g_mutex_unlock(&m->device_lock);
	return deleted;
}
