/* Raw-to-qcow2 conversion, full and linked clones, and who depends on whom
 * (vm_clone.h). */
#include "library/vm/vm_clone.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

#include "library/vm/vm_library_private.h"
#include "library/vm/vm_runtime.h"
#include "library/vm/vm_snapshot.h"

static bool vm_block_error(GError **error, GError *local, const char *what)
{
	int code = HG_VM_ERROR_IO;

	if (g_error_matches(local, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
		g_propagate_error(error, g_error_copy(local));
		return false;
	}
	if (g_error_matches(local, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
		code = HG_VM_ERROR_NOT_FOUND;
	g_set_error(error, HG_VM_ERROR, code, "%s: %s", what, local->message);
	return false;
}

static bool is_writable_disk(const HgVmDisk *disk)
{
	return disk->media == HG_DISK_MEDIA_DISK && !disk->read_only && disk->path;
}

/* "disk.img" -> "disk.qcow2", "disk-2.qcow2", ... whichever is free in dir. */
static char *free_qcow2_name(const char *dir, const char *path)
{
	g_autofree char *base = g_path_get_basename(path);
	char *dot = strrchr(base, '.');

	if (dot && dot != base)
		*dot = '\0';
	for (unsigned n = 1;; n++) {
		char *name = n == 1 ? g_strdup_printf("%s.qcow2", base)
				    : g_strdup_printf("%s-%u.qcow2", base, n);
		g_autofree char *full = g_build_filename(dir, name, NULL);
		if (!g_file_test(full, G_FILE_TEST_EXISTS))
			return name;
		g_free(name);
	}
}

/* Progress over several images: each reports its own bytes, the caller
 * sees them added up. */
typedef struct {
	HgBlockProgressFunc progress;
	gpointer user_data;
	guint64 before; /* bytes of the images already done */
	guint64 total;
} ProgressSum;

static void progress_sum(guint64 done, guint64 total, gpointer data)
{
	ProgressSum *sum = data;

	if (sum->progress)
		sum->progress(sum->before + done, sum->total, sum->user_data);
}

/* Copies src to dst_path as qcow2, counting into sum. */
static bool convert_one(HgBlockBackend *src, const char *dst_path, ProgressSum *sum,
			GCancellable *cancellable, GError **error)
{
	g_autoptr(GError) local = NULL;

	if (!hg_block_convert(src, dst_path, HG_BLOCK_FORMAT_QCOW2, cancellable, progress_sum, sum,
			      &local))
		return vm_block_error(error, local, dst_path);
	sum->before += hg_block_size(src);
	return true;
}

int hg_vm_convert_disks(HgVmLibrary *lib, HgVmEntry *entry, GCancellable *cancellable,
			HgBlockProgressFunc progress, gpointer user_data, GError **error)
{
	g_autoptr(GArray) raw = g_array_new(FALSE, FALSE, sizeof(guint));
	ProgressSum sum = {progress, user_data, 0, 0};
	int converted = 0;

	if (!entry->config) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_BROKEN, "%s is broken", entry->id);
		return -1;
	}
	/* Which disks are raw is what vm.json says, never their content. */
	if (!hg_vm_refuse_if_running(entry, "convert the disks of", error) ||
	    !hg_vm_entry_record_disk_formats(entry, error))
		return -1;
	for (guint i = 0; i < entry->config->disks->len; i++) {
		HgVmDisk *disk = g_ptr_array_index(entry->config->disks, i);
		g_autofree char *path = NULL;
		GStatBuf st;
		if (!is_writable_disk(disk) || g_strcmp0(disk->format, "raw") != 0)
			continue;
		path = hg_vm_entry_resolve(entry, disk->path);
		g_array_append_val(raw, i);
		if (g_stat(path, &st) == 0)
			sum.total += st.st_size;
	}
	for (guint k = 0; k < raw->len; k++) {
		HgVmDisk *disk = g_ptr_array_index(entry->config->disks, g_array_index(raw, guint, k));
		g_autofree char *old_path = hg_vm_entry_resolve(entry, disk->path);
		g_autofree char *name = free_qcow2_name(entry->dir, disk->path);
		g_autofree char *new_path = g_build_filename(entry->dir, name, NULL);
		g_autofree char *old_config_path = g_strdup(disk->path);
		g_autoptr(GError) local = NULL;
		HgBlockBackend *src = hg_block_open_format(old_path, "raw", true, &local);
		bool ok;

		if (!src) {
			vm_block_error(error, local, old_path);
			return -1;
		}
		ok = convert_one(src, new_path, &sum, cancellable, error);
		hg_block_close(src);
		if (!ok)
			return -1;
		/* vm.json points at the copy before the original goes: a crash
		 * in between leaves a stray file, never a VM without its disk. */
		g_free(disk->path);
		disk->path = g_strdup(name);
		hg_vm_disk_set_format(disk, "qcow2");
		if (!hg_vm_library_save(lib, entry, error)) {
			g_free(disk->path);
			disk->path = g_steal_pointer(&old_config_path);
			hg_vm_disk_set_format(disk, "raw");
			g_unlink(new_path);
			return -1;
		}
		/* Only a file of the VM's own goes; an image used in place
		 * stays where it is. */
		if (!g_path_is_absolute(old_config_path))
			g_unlink(old_path);
		converted++;
	}
	return converted;
}

/* ---- clones ---- */

/* The base a linked clone of snapshot snap stands on for disk n: copied
 * out of the parent's image once, then shared. */
static char *linked_base(const HgVmEntry *source, const HgVmSnapshot *snap, guint n,
			 const char *disk_path, ProgressSum *sum, GCancellable *cancellable,
			 GError **error)
{
	g_autofree char *dir = hg_vm_snapshot_dir(source, snap);
	g_autofree char *name = g_strdup_printf("base-%u.qcow2", n);
	g_autofree char *base = g_build_filename(dir, name, NULL);
	g_autofree char *disk_name = hg_vm_snapshot_disk_name(snap);
	g_autoptr(GError) local = NULL;
	HgBlockBackend *src;
	bool ok;

	if (g_file_test(base, G_FILE_TEST_IS_REGULAR))
		return g_steal_pointer(&base);
	src = hg_block_open_snapshot(disk_path, disk_name, &local);
	if (!src) {
		vm_block_error(error, local, disk_path);
		return NULL;
	}
	ok = convert_one(src, base, sum, cancellable, error);
	hg_block_close(src);
	/* Never written again: a clone's writes go to its own overlay. */
	if (ok)
		g_chmod(base, 0400);
	return ok ? g_steal_pointer(&base) : NULL;
}

/* One disk of the clone, made in staging (always qcow2); returns its new
 * relative name.  format: the source disk's (NULL: not recorded yet, read
 * from its content as before). */
static char *clone_disk(const HgVmEntry *source, const HgVmSnapshot *snap, guint n,
			const char *disk_path, const char *format, const char *staging,
			HgVmCloneMode mode, ProgressSum *sum, GCancellable *cancellable,
			GError **error)
{
	g_autofree char *name = free_qcow2_name(staging, disk_path);
	g_autofree char *target = g_build_filename(staging, name, NULL);
	g_autoptr(GError) local = NULL;

	if (snap && format && strcmp(format, "qcow2") != 0) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_UNSUPPORTED,
			    "%s is a %s image: only qcow2 images hold snapshots", disk_path,
			    format);
		return NULL;
	}
	if (mode == HG_VM_CLONE_LINKED) {
		g_autofree char *base =
			linked_base(source, snap, n, disk_path, sum, cancellable, error);
		if (!base)
			return NULL;
		if (!hg_block_create_qcow2(target, 0, base, 16, &local)) {
			vm_block_error(error, local, target);
			return NULL;
		}
		return g_steal_pointer(&name);
	}
	HgBlockBackend *src = NULL;
	if (snap) {
		g_autofree char *disk_name = hg_vm_snapshot_disk_name(snap);
		src = hg_block_open_snapshot(disk_path, disk_name, &local);
	} else {
		src = hg_block_open_format(disk_path, format, true, &local);
	}
	if (!src) {
		vm_block_error(error, local, disk_path);
		return NULL;
	}
	bool ok = convert_one(src, target, sum, cancellable, error);
	hg_block_close(src);
	return ok ? g_steal_pointer(&name) : NULL;
}

/* The configuration a clone starts from: the snapshot's, or the VM's. */
static HgVmConfig *clone_source_config(const HgVmEntry *source, const HgVmSnapshot *snap,
				       GError **error)
{
	g_autofree char *dir = NULL, *path = NULL;

	if (!snap)
		return hg_vm_config_copy(source->config);
	dir = hg_vm_snapshot_dir(source, snap);
	path = g_build_filename(dir, "vm.json", NULL);
	return hg_vm_config_load(path, error);
}

static guint64 clone_total(const HgVmEntry *source, const HgVmConfig *config)
{
	guint64 total = 0;

	for (guint i = 0; i < config->disks->len; i++) {
		HgVmDisk *disk = g_ptr_array_index(config->disks, i);
		g_autofree char *path = hg_vm_entry_resolve(source, disk->path);
		HgBlockBackend *blk = is_writable_disk(disk)
					      ? hg_block_open_format(path, disk->format, true, NULL)
					      : NULL;
		if (blk) {
			total += hg_block_size(blk);
			hg_block_close(blk);
		}
	}
	return total;
}

HgVmEntry *hg_vm_library_clone(HgVmLibrary *lib, const HgVmEntry *source, const char *snapshot,
			       const char *new_name, HgVmCloneMode mode, GCancellable *cancellable,
			       HgBlockProgressFunc progress, gpointer user_data, GError **error)
{
	g_autoptr(HgVmSnapshotTree) tree = NULL;
	g_autoptr(HgVmConfig) config = NULL;
	g_autoptr(HgVmConfig) fresh = NULL;
	g_autofree char *staging = NULL, *json = NULL, *id = NULL, *vars = NULL;
	HgVmSnapshot *snap = NULL;
	ProgressSum sum = {progress, user_data, 0, 0};
	HgVmEntry *entry;

	if (!source->config) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_BROKEN, "%s is broken", source->id);
		return NULL;
	}
	if (snapshot) {
		tree = hg_vm_snapshots_load(source, error);
		snap = tree ? hg_vm_snapshot_tree_find(tree, snapshot, error) : NULL;
		if (!snap)
			return NULL;
	} else if (mode == HG_VM_CLONE_LINKED) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID,
			    "a linked clone is made from a snapshot: take one first");
		return NULL;
	} else if (!hg_vm_refuse_if_running(source, "clone", error)) {
		return NULL;
	}
	config = clone_source_config(source, snap, error);
	if (!config)
		return NULL;
	hg_vm_config_fill_formats(config, source->config);
	/* A clone is a new machine: its own name, UUID and birthday. */
	fresh = hg_vm_config_new(new_name);
	g_free(config->name);
	config->name = g_strdup(new_name);
	g_free(config->uuid);
	config->uuid = g_strdup(fresh->uuid);
	config->created = fresh->created;
	if (!hg_vm_config_validate(config, error) ||
	    !hg_vm_library_name_is_free(lib, new_name, NULL, error))
		return NULL;
	sum.total = clone_total(source, config);
	staging = hg_vm_library_make_hidden(lib, ".new", error);
	if (!staging)
		return NULL;
	for (guint i = 0; i < config->disks->len; i++) {
		HgVmDisk *disk = g_ptr_array_index(config->disks, i);
		g_autofree char *path = hg_vm_entry_resolve(source, disk->path);
		char *name;
		if (!disk->path)
			continue;
		if (!is_writable_disk(disk)) {
			/* CD-ROMs and read-only disks are shared, by full path. */
			g_free(disk->path);
			disk->path = g_steal_pointer(&path);
			continue;
		}
		name = clone_disk(source, snap, i, path, disk->format, staging, mode, &sum,
				  cancellable, error);
		if (!name)
			goto fail;
		g_free(disk->path);
		disk->path = name;
		hg_vm_disk_set_format(disk, "qcow2");
	}
	vars = snap ? g_build_filename(source->dir, "snapshots", snap->id, "OVMF_VARS.fd", NULL)
		    : g_build_filename(source->dir, "OVMF_VARS.fd", NULL);
	if (g_file_test(vars, G_FILE_TEST_IS_REGULAR)) {
		g_autofree char *to = g_build_filename(staging, "OVMF_VARS.fd", NULL);
		g_autoptr(GFile) a = g_file_new_for_path(vars);
		g_autoptr(GFile) b = g_file_new_for_path(to);
		if (!g_file_copy(a, b, G_FILE_COPY_NONE, cancellable, NULL, NULL, error))
			goto fail;
	}
	json = g_build_filename(staging, "vm.json", NULL);
	if (!hg_vm_config_save(config, json, error))
		goto fail;
	id = hg_vm_library_publish(lib, staging, new_name, error);
	if (!id)
		goto fail;
	entry = g_new0(HgVmEntry, 1);
	entry->id = g_steal_pointer(&id);
	entry->dir = g_build_filename(hg_vm_library_root(lib), "vms", entry->id, NULL);
	entry->config = g_steal_pointer(&config);
	return entry;
fail:
	hg_vm_remove_tree(staging, NULL);
	return NULL;
}

/* ---- dependents ---- */

static bool path_inside(const char *path, const char *dir)
{
	g_autofree char *prefix = g_str_has_suffix(dir, "/") ? g_strdup(dir)
							      : g_strconcat(dir, "/", NULL);
	return g_str_has_prefix(path, prefix);
}

GPtrArray *hg_vm_library_dependents(HgVmLibrary *lib, const HgVmEntry *entry,
				    const char *snapshot_id)
{
	g_autoptr(GPtrArray) all = hg_vm_library_list(lib);
	g_autofree char *within = snapshot_id ? g_build_filename(entry->dir, "snapshots",
								 snapshot_id, NULL)
					      : g_strdup(entry->dir);
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);

	for (guint i = 0; i < all->len; i++) {
		HgVmEntry *other = g_ptr_array_index(all, i);
		bool depends = false;
		if (!other->config || strcmp(other->id, entry->id) == 0)
			continue;
		for (guint d = 0; d < other->config->disks->len && !depends; d++) {
			HgVmDisk *disk = g_ptr_array_index(other->config->disks, d);
			g_autofree char *path = hg_vm_entry_resolve(other, disk->path);
			/* Only a qcow2 disk has a backing file; a raw one's
			 * content is the guest's, whatever header it holds. */
			bool may_have_backing = !disk->format || strcmp(disk->format, "qcow2") == 0;
			g_autofree char *backing = path && may_have_backing
							   ? hg_block_read_backing_path(path, NULL)
							   : NULL;
			depends = (backing && path_inside(backing, within)) ||
				  (path && g_path_is_absolute(disk->path) &&
				   path_inside(path, within));
		}
		if (depends)
			g_ptr_array_add(names, g_strdup(other->config->name));
	}
	return names;
}
