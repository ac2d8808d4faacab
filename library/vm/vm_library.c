/* The VM library: one folder per VM under ROOT/vms/ (vm_library.h).
 *
 * Folders are only ever made complete: a new or duplicated VM is built in a
 * hidden ".new-XXXXXX" folder and renamed into place (RENAME_NOREPLACE, so
 * two processes never take the same id); a deleted one is first renamed to
 * a hidden ".delete-XXXXXX" folder.  Hidden folders are never listed and
 * never cleaned up automatically: what a crash left there is the user's. */
#include "library/vm/vm_library.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "library/block/block.h"
#include "library/vm/vm_clone.h"
#include "library/vm/vm_library_private.h"
#include "library/vm/vm_runtime.h"

#define VM_ID_MAX_LEN 40
#define COPY_CHUNK (8u << 20)

struct HgVmLibrary {
	char *root;
	char *vms; /* root/vms */
};

void hg_vm_entry_free(HgVmEntry *entry)
{
	if (!entry)
		return;
	g_free(entry->id);
	g_free(entry->dir);
	hg_vm_config_free(entry->config);
	g_clear_error(&entry->error);
	g_free(entry);
}

HgVmEntry *hg_vm_entry_copy(const HgVmEntry *entry)
{
	HgVmEntry *copy = g_new0(HgVmEntry, 1);

	copy->id = g_strdup(entry->id);
	copy->dir = g_strdup(entry->dir);
	copy->config = entry->config ? hg_vm_config_copy(entry->config) : NULL;
	copy->error = entry->error ? g_error_copy(entry->error) : NULL;
	return copy;
}

char *hg_vm_entry_resolve(const HgVmEntry *entry, const char *path)
{
	if (!path)
		return NULL;
	if (g_path_is_absolute(path))
		return g_strdup(path);
	return g_build_filename(entry->dir, path, NULL);
}

static bool io_error(GError **error, int errsv, const char *what, const char *path)
{
	g_set_error(error, HG_VM_ERROR, errsv == ENOENT ? HG_VM_ERROR_NOT_FOUND : HG_VM_ERROR_IO,
		    "cannot %s %s: %s", what, path, g_strerror(errsv));
	return false;
}

HgVmLibrary *hg_vm_library_open(const char *root, GError **error)
{
	g_autofree char *dir =
		root ? g_strdup(root) : g_build_filename(g_get_user_data_dir(), "hangar", NULL);
	g_autofree char *vms = g_build_filename(dir, "vms", NULL);
	HgVmLibrary *lib;

	if (g_mkdir_with_parents(vms, 0700) < 0) {
		io_error(error, errno, "create", vms);
		return NULL;
	}
	lib = g_new0(HgVmLibrary, 1);
	lib->root = g_steal_pointer(&dir);
	lib->vms = g_steal_pointer(&vms);
	return lib;
}

void hg_vm_library_free(HgVmLibrary *lib)
{
	if (!lib)
		return;
	g_free(lib->root);
	g_free(lib->vms);
	g_free(lib);
}

const char *hg_vm_library_root(HgVmLibrary *lib)
{
	return lib->root;
}

/* Reads one VM folder; never writes to it. */
static HgVmEntry *load_entry(HgVmLibrary *lib, const char *id)
{
	HgVmEntry *entry = g_new0(HgVmEntry, 1);
	g_autofree char *json = NULL;
	g_autoptr(GError) local = NULL;

	entry->id = g_strdup(id);
	entry->dir = g_build_filename(lib->vms, id, NULL);
	json = g_build_filename(entry->dir, "vm.json", NULL);
	entry->config = hg_vm_config_load(json, &local);
	if (!entry->config) {
		if (g_error_matches(local, HG_VM_ERROR, HG_VM_ERROR_NOT_FOUND))
			g_set_error(&entry->error, HG_VM_ERROR, HG_VM_ERROR_BROKEN,
				    "%s: vm.json is missing", entry->dir);
		else
			g_set_error(&entry->error, HG_VM_ERROR, HG_VM_ERROR_BROKEN, "%s",
				    local->message);
	}
	return entry;
}

static char *entry_sort_key(const HgVmEntry *entry)
{
	g_autofree char *folded =
		g_utf8_casefold(entry->config ? entry->config->name : entry->id, -1);
	return g_utf8_collate_key(folded, -1);
}

static int compare_entries(gconstpointer a, gconstpointer b)
{
	const HgVmEntry *x = *(HgVmEntry *const *)a, *y = *(HgVmEntry *const *)b;
	g_autofree char *kx = entry_sort_key(x), *ky = entry_sort_key(y);
	int c = strcmp(kx, ky);

	return c ? c : strcmp(x->id, y->id);
}

GPtrArray *hg_vm_library_list(HgVmLibrary *lib)
{
	GPtrArray *entries = g_ptr_array_new_with_free_func((GDestroyNotify)hg_vm_entry_free);
	g_autoptr(GDir) dir = g_dir_open(lib->vms, 0, NULL);
	const char *name;

	if (!dir)
		return entries;
	while ((name = g_dir_read_name(dir))) {
		g_autofree char *path = NULL;
		GStatBuf st;
		/* Hidden: staging and deleting folders, and anything else a
		 * user hides. */
		if (name[0] == '.')
			continue;
		path = g_build_filename(lib->vms, name, NULL);
		if (g_stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		g_ptr_array_add(entries, load_entry(lib, name));
	}
	g_ptr_array_sort(entries, compare_entries);
	return entries;
}

HgVmEntry *hg_vm_library_lookup(HgVmLibrary *lib, const char *id_or_name, GError **error)
{
	g_autoptr(GPtrArray) entries = hg_vm_library_list(lib);
	g_autofree char *folded = g_utf8_casefold(id_or_name, -1);
	HgVmEntry *exact = NULL, *folded_match = NULL;
	unsigned n_exact = 0, n_folded = 0;

	for (guint i = 0; i < entries->len; i++) {
		HgVmEntry *e = g_ptr_array_index(entries, i);
		if (strcmp(e->id, id_or_name) == 0)
			return hg_vm_entry_copy(e);
	}
	for (guint i = 0; i < entries->len; i++) {
		HgVmEntry *e = g_ptr_array_index(entries, i);
		g_autofree char *name = NULL;
		if (!e->config)
			continue;
		if (strcmp(e->config->name, id_or_name) == 0) {
			exact = e;
			n_exact++;
		}
		name = g_utf8_casefold(e->config->name, -1);
		if (strcmp(name, folded) == 0) {
			folded_match = e;
			n_folded++;
		}
	}
	if (n_exact == 1)
		return hg_vm_entry_copy(exact);
	if (n_exact > 1 || n_folded > 1) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_AMBIGUOUS,
			    "%u VMs are named \"%s\": give the VM's id instead",
			    MAX(n_exact, n_folded), id_or_name);
		return NULL;
	}
	if (n_folded == 1)
		return hg_vm_entry_copy(folded_match);
	g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_NOT_FOUND, "there is no VM named \"%s\"",
		    id_or_name);
	return NULL;
}

/* Names are compared case-folded, so that a name never matches two VMs in
 * a case-insensitive lookup.  except: the VM being renamed. */
bool hg_vm_library_name_is_free(HgVmLibrary *lib, const char *name, const char *except_id, GError **error)
{
	g_autoptr(GPtrArray) entries = hg_vm_library_list(lib);
	g_autofree char *folded = g_utf8_casefold(name, -1);

	for (guint i = 0; i < entries->len; i++) {
		HgVmEntry *e = g_ptr_array_index(entries, i);
		g_autofree char *other = NULL;
		if (!e->config || g_strcmp0(e->id, except_id) == 0)
			continue;
		other = g_utf8_casefold(e->config->name, -1);
		if (strcmp(other, folded) == 0) {
			g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_EXISTS,
				    "a VM named \"%s\" already exists", e->config->name);
			return false;
		}
	}
	return true;
}

/* lowercase letters, digits and '-', from the name; "vm" when nothing of
 * the name is left. */
static char *id_from_name(const char *name)
{
	GString *id = g_string_new(NULL);

	for (const char *p = name; *p && id->len < VM_ID_MAX_LEN; p++) {
		char c = g_ascii_tolower(*p);
		if (g_ascii_isalnum(c))
			g_string_append_c(id, c);
		else if (id->len && id->str[id->len - 1] != '-')
			g_string_append_c(id, '-');
	}
	while (id->len && id->str[id->len - 1] == '-')
		g_string_truncate(id, id->len - 1);
	if (!id->len)
		g_string_append(id, "vm");
	return g_string_free(id, FALSE);
}

/* Moves the finished staging folder to vms/<id>, id made unique with -2,
 * -3, ... RENAME_NOREPLACE: a folder another process made meanwhile is never
 * replaced. */
char *hg_vm_library_publish(HgVmLibrary *lib, const char *staging, const char *name, GError **error)
{
	g_autofree char *base = id_from_name(name);

	for (unsigned n = 1; n < 10000; n++) {
		g_autofree char *id = n == 1 ? g_strdup(base) : g_strdup_printf("%s-%u", base, n);
		g_autofree char *target = g_build_filename(lib->vms, id, NULL);
		if (renameat2(AT_FDCWD, staging, AT_FDCWD, target, RENAME_NOREPLACE) == 0) {
			/* The rename must survive a crash, like vm.json. */
			int fd = open(lib->vms, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (fd >= 0) {
				fsync(fd);
				close(fd);
			}
			return g_steal_pointer(&id);
		}
		if (errno == EINVAL || errno == ENOSYS) {
			/* A filesystem without RENAME_NOREPLACE: check, then
			 * rename (which refuses a non-empty target folder). */
			if (g_file_test(target, G_FILE_TEST_EXISTS))
				continue;
			if (rename(staging, target) == 0)
				return g_steal_pointer(&id);
		}
		if (errno != EEXIST && errno != ENOTEMPTY) {
			io_error(error, errno, "move into place", staging);
			return NULL;
		}
	}
	g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_EXISTS, "no free folder name for \"%s\"", base);
	return NULL;
}

char *hg_vm_library_make_hidden(HgVmLibrary *lib, const char *prefix, GError **error)
{
	g_autofree char *template = g_strdup_printf("%s/%s-XXXXXX", lib->vms, prefix);

	if (!g_mkdtemp_full(template, 0700)) {
		io_error(error, errno, "create a folder in", lib->vms);
		return NULL;
	}
	return g_steal_pointer(&template);
}

/* rm -r that never follows a symbolic link out of the folder: an image used
 * in place, linked from the folder, must survive the folder's deletion. */
bool hg_vm_remove_tree(const char *path, GError **error)
{
	GStatBuf st;

	if (g_lstat(path, &st) < 0)
		return errno == ENOENT ? true : io_error(error, errno, "delete", path);
	if (S_ISDIR(st.st_mode)) {
		g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
		const char *name;
		if (!dir)
			return io_error(error, errno ? errno : EACCES, "open", path);
		while ((name = g_dir_read_name(dir))) {
			g_autofree char *child = g_build_filename(path, name, NULL);
			if (!hg_vm_remove_tree(child, error))
				return false;
		}
		if (g_rmdir(path) < 0)
			return io_error(error, errno, "delete", path);
		return true;
	}
	if (g_unlink(path) < 0)
		return io_error(error, errno, "delete", path);
	return true;
}

static HgVmEntry *create_entry(HgVmLibrary *lib, const HgVmConfig *config, const char *disk_name,
			       guint64 disk_size, GError **error);

HgVmEntry *hg_vm_library_create(HgVmLibrary *lib, const HgVmConfig *config, GError **error)
{
	return create_entry(lib, config, NULL, 0, error);
}

HgVmEntry *hg_vm_library_create_with_disk(HgVmLibrary *lib, const HgVmConfig *config,
					  const char *disk_name, guint64 disk_size, GError **error)
{
	return create_entry(lib, config, disk_name, disk_size, error);
}

static bool disk_name_valid(const char *name, GError **error)
{
	if (!name || !*name || strchr(name, '/') || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0 || strcmp(name, "vm.json") == 0 || strchr(name, ',')) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID,
			    "\"%s\" is not a disk file name: a plain name without '/' or ',' is "
			    "needed",
			    name ? name : "");
		return false;
	}
	return true;
}

static bool create_sparse_file(const char *path, guint64 size, GError **error)
{
	int fd;

	if (size == 0 || size > (guint64)G_MAXINT64) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID,
			    "a disk of %" G_GUINT64_FORMAT " bytes cannot be made", size);
		return false;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == EEXIST) {
			g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_EXISTS, "%s already exists",
				    path);
			return false;
		}
		return io_error(error, errno, "create", path);
	}
	if (ftruncate(fd, (off_t)size) < 0 || fsync(fd) < 0) {
		int saved = errno;
		close(fd);
		g_unlink(path);
		return io_error(error, saved, "size", path);
	}
	close(fd);
	return true;
}

/* What create_disk_image makes of a name. */
static const char *new_disk_format(const char *name)
{
	return g_str_has_suffix(name, ".qcow2") ? "qcow2" : "raw";
}

/* A new, empty disk image: qcow2 when the name says so (what new VMs get,
 * so that they can take snapshots), else a sparse raw file. */
static bool create_disk_image(const char *path, guint64 size, GError **error)
{
	g_autoptr(GError) local = NULL;

	if (strcmp(new_disk_format(path), "raw") == 0)
		return create_sparse_file(path, size, error);
	if (size == 0 || size > (guint64)G_MAXINT64) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID,
			    "a disk of %" G_GUINT64_FORMAT " bytes cannot be made", size);
		return false;
	}
	if (g_file_test(path, G_FILE_TEST_EXISTS)) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_EXISTS, "%s already exists", path);
		return false;
	}
	if (hg_block_create_qcow2(path, size, NULL, 16, &local))
		return true;
	g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_IO, "cannot create %s: %s", path,
		    local->message);
	return false;
}

/* The disk create_with_disk makes is recorded with the format it gets. */
static bool set_new_disk_format(HgVmConfig *config, const char *disk_name, GError **error)
{
	const char *format = new_disk_format(disk_name);

	for (guint i = 0; i < config->disks->len; i++) {
		HgVmDisk *disk = g_ptr_array_index(config->disks, i);
		if (disk->media != HG_DISK_MEDIA_DISK || g_strcmp0(disk->path, disk_name) != 0)
			continue;
		if (disk->format && strcmp(disk->format, format) != 0) {
			g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID,
				    "disks[%u]: format \"%s\", but %s is made as a %s image", i,
				    disk->format, disk_name, format);
			return false;
		}
		hg_vm_disk_set_format(disk, format);
	}
	return true;
}

static HgVmEntry *create_entry(HgVmLibrary *lib, const HgVmConfig *given, const char *disk_name,
			       guint64 disk_size, GError **error)
{
	g_autofree char *staging = NULL, *json = NULL, *id = NULL;
	g_autoptr(HgVmConfig) config = hg_vm_config_copy(given);
	HgVmEntry *entry;

	if ((disk_name && !set_new_disk_format(config, disk_name, error)) ||
	    !hg_vm_config_validate(config, error) ||
	    !hg_vm_library_name_is_free(lib, config->name, NULL, error) ||
	    (disk_name && !disk_name_valid(disk_name, error)))
		return NULL;
	staging = hg_vm_library_make_hidden(lib, ".new", error);
	if (!staging)
		return NULL;
	json = g_build_filename(staging, "vm.json", NULL);
	if (disk_name) {
		g_autofree char *disk = g_build_filename(staging, disk_name, NULL);
		if (!create_disk_image(disk, disk_size, error))
			goto fail;
	}
	if (!hg_vm_config_save(config, json, error))
		goto fail;
	id = hg_vm_library_publish(lib, staging, config->name, error);
	if (!id)
		goto fail;
	entry = g_new0(HgVmEntry, 1);
	entry->id = g_steal_pointer(&id);
	entry->dir = g_build_filename(lib->vms, entry->id, NULL);
	entry->config = g_steal_pointer(&config);
	return entry;
fail:
	hg_vm_remove_tree(staging, NULL);
	return NULL;
}

bool hg_vm_library_create_disk(HgVmLibrary *lib, const HgVmEntry *entry, const char *name,
			       guint64 size, GError **error)
{
	g_autofree char *path = NULL;

	if (!disk_name_valid(name, error))
		return false;
	path = g_build_filename(entry->dir, name, NULL);
	return create_disk_image(path, size, error);
}

static bool entry_usable(const HgVmEntry *entry, GError **error)
{
	if (entry->config)
		return true;
	g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_BROKEN, "%s",
		    entry->error ? entry->error->message : "the VM folder is broken");
	return false;
}

/* ---- formats of disks from before they were recorded ---- */

/* The one time a disk's content names its format (docs/vm-config.md). */
static const char *probe_disk_format(const HgVmEntry *entry, const HgVmDisk *disk, GError **error)
{
	g_autofree char *path = hg_vm_entry_resolve(entry, disk->path);
	g_autoptr(GError) local = NULL;
	const char *format;

	if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_NOT_FOUND,
			    "the disk image %s does not exist", path);
		return NULL;
	}
	format = hg_block_probe_format(path, &local);
	if (!format) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_IO, "%s", local->message);
		return NULL;
	}
	if (!disk->read_only && strcmp(format, "raw") != 0 && strcmp(format, "qcow2") != 0) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_UNSUPPORTED,
			    "the disk image %s is a %s image, which a VM can only read: import it "
			    "to get a qcow2 copy",
			    path, format);
		return NULL;
	}
	return format;
}

bool hg_vm_entry_record_disk_formats(HgVmEntry *entry, GError **error)
{
	g_autoptr(HgVmConfig) saved = NULL;
	g_autofree char *json = NULL;
	bool needed = false, changed = false;

	if (!entry_usable(entry, error))
		return false;
	for (guint i = 0; i < entry->config->disks->len && !needed; i++) {
		const HgVmDisk *disk = g_ptr_array_index(entry->config->disks, i);
		needed = disk->path && !disk->format;
	}
	if (!needed)
		return true;
	/* The file as it is now: entry->config may be older than it (another
	 * program's edits), and only the formats may change here. */
	json = g_build_filename(entry->dir, "vm.json", NULL);
	saved = hg_vm_config_load(json, error);
	if (!saved)
		return false;
	for (guint i = 0; i < entry->config->disks->len; i++) {
		HgVmDisk *disk = g_ptr_array_index(entry->config->disks, i);
		HgVmDisk *on_file = NULL;
		const char *format;

		if (!disk->path || disk->format)
			continue;
		for (guint j = 0; j < saved->disks->len && !on_file; j++) {
			HgVmDisk *other = g_ptr_array_index(saved->disks, j);
			if (other->media == disk->media && g_strcmp0(other->path, disk->path) == 0)
				on_file = other;
		}
		format = on_file && on_file->format ? on_file->format
						    : probe_disk_format(entry, disk, error);
		if (!format)
			return false;
		hg_vm_disk_set_format(disk, format);
		if (on_file && !on_file->format) {
			g_debug("%s: disks[%u] (%s) recorded as %s", entry->dir, i, disk->path,
				format);
			hg_vm_disk_set_format(on_file, format);
			changed = true;
		}
	}
	return !changed || hg_vm_config_save(saved, json, error);
}

bool hg_vm_library_save(HgVmLibrary *lib, const HgVmEntry *entry, GError **error)
{
	g_autofree char *json = NULL;

	if (!entry_usable(entry, error) || !hg_vm_config_validate(entry->config, error) ||
	    !hg_vm_library_name_is_free(lib, entry->config->name, entry->id, error))
		return false;
	json = g_build_filename(entry->dir, "vm.json", NULL);
	return hg_vm_config_save(entry->config, json, error);
}

bool hg_vm_library_rename(HgVmLibrary *lib, HgVmEntry *entry, const char *new_name, GError **error)
{
	g_autoptr(HgVmConfig) renamed = NULL;
	g_autofree char *json = NULL;

	if (!entry_usable(entry, error))
		return false;
	renamed = hg_vm_config_copy(entry->config);
	g_free(renamed->name);
	renamed->name = g_strdup(new_name);
	if (!hg_vm_config_validate(renamed, error) ||
	    !hg_vm_library_name_is_free(lib, new_name, entry->id, error))
		return false;
	json = g_build_filename(entry->dir, "vm.json", NULL);
	if (!hg_vm_config_save(renamed, json, error))
		return false;
	g_free(entry->config->name);
	entry->config->name = g_strdup(new_name);
	return true;
}

bool hg_vm_refuse_if_running(const HgVmEntry *entry, const char *what, GError **error)
{
	HgVmState state = hg_vm_probe_state(entry->id);

	if (state != HG_VM_STATE_RUNNING && state != HG_VM_STATE_PAUSED)
		return true;
	g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_RUNNING, "%s is %s: shut it down to %s it",
		    entry->config ? entry->config->name : entry->id, hg_vm_state_to_string(state),
		    what);
	return false;
}

/* ---- duplicate ---- */

/* Copies [offset, offset + length) of src to dst at the same offset:
 * copy_file_range where the kernel can (it may share blocks), else read and
 * write. */
static bool copy_range(int src, int dst, off_t offset, off_t length, const char *path,
		       GCancellable *cancellable, GError **error)
{
	g_autofree char *buffer = NULL;
	bool use_copy_range = true;

	while (length > 0) {
		size_t chunk = MIN((off_t)COPY_CHUNK, length);
		ssize_t n = -1;

		if (g_cancellable_set_error_if_cancelled(cancellable, error))
			return false;
		if (use_copy_range) {
			loff_t in = offset, out = offset;
			n = copy_file_range(src, &in, dst, &out, chunk, 0);
			if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL ||
				      errno == EOPNOTSUPP)) {
				use_copy_range = false;
				continue;
			}
		} else {
			if (!buffer)
				buffer = g_malloc(COPY_CHUNK);
			n = pread(src, buffer, chunk, offset);
			if (n > 0) {
				ssize_t done = 0;
				while (done < n) {
					ssize_t w =
						pwrite(dst, buffer + done, n - done, offset + done);
					if (w < 0 && errno == EINTR)
						continue;
					if (w < 0)
						return io_error(error, errno, "write the copy of",
								path);
					done += w;
				}
			}
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return io_error(error, errno, "copy", path);
		if (n == 0)
			break; /* the file shrank meanwhile */
		offset += n;
		length -= n;
	}
	return true;
}

/* A copy that keeps holes: only the data extents (SEEK_DATA/SEEK_HOLE) are
 * copied, and the size is set at the end, so a sparse 20 GiB image with
 * 1 GiB of data copies as 1 GiB. */
static bool copy_file_sparse(const char *from, const char *to, GCancellable *cancellable,
			     GError **error)
{
	struct stat st;
	int src, dst;
	bool ok = false;
	off_t data = 0;

	src = open(from, O_RDONLY | O_CLOEXEC);
	if (src < 0)
		return io_error(error, errno, "open", from);
	if (fstat(src, &st) < 0) {
		int saved = errno;
		close(src);
		return io_error(error, saved, "read", from);
	}
	dst = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 0777);
	if (dst < 0) {
		int saved = errno;
		close(src);
		return io_error(error, saved, "create", to);
	}
	for (;;) {
		off_t hole;
		data = lseek(src, data, SEEK_DATA);
		if (data < 0) {
			if (errno == ENXIO)
				break; /* no data after this point */
			if (errno == EINVAL) {
				/* No SEEK_DATA here: copy it all. */
				if (!copy_range(src, dst, 0, st.st_size, from, cancellable, error))
					goto out;
				break;
			}
			io_error(error, errno, "read", from);
			goto out;
		}
		hole = lseek(src, data, SEEK_HOLE);
		if (hole < 0) {
			io_error(error, errno, "read", from);
			goto out;
		}
		if (!copy_range(src, dst, data, hole - data, from, cancellable, error))
			goto out;
		data = hole;
	}
	if (ftruncate(dst, st.st_size) < 0 || fsync(dst) < 0) {
		io_error(error, errno, "write", to);
		goto out;
	}
	ok = true;
out:
	close(src);
	close(dst);
	return ok;
}

static bool copy_tree(const char *from, const char *to, GCancellable *cancellable, GError **error)
{
	g_autoptr(GDir) dir = g_dir_open(from, 0, NULL);
	const char *name;

	if (!dir)
		return io_error(error, errno ? errno : EACCES, "open", from);
	while ((name = g_dir_read_name(dir))) {
		g_autofree char *src = g_build_filename(from, name, NULL);
		g_autofree char *dst = g_build_filename(to, name, NULL);
		GStatBuf st;

		if (g_lstat(src, &st) < 0)
			return io_error(error, errno, "read", src);
		if (S_ISDIR(st.st_mode)) {
			if (g_mkdir(dst, st.st_mode & 0777) < 0)
				return io_error(error, errno, "create", dst);
			if (!copy_tree(src, dst, cancellable, error))
				return false;
		} else if (S_ISREG(st.st_mode)) {
			if (!copy_file_sparse(src, dst, cancellable, error))
				return false;
		} else if (S_ISLNK(st.st_mode)) {
			g_autofree char *target = g_file_read_link(src, NULL);
			if (!target || symlink(target, dst) < 0)
				return io_error(error, errno, "copy the link", src);
		}
		/* Sockets and fifos are not VM data. */
	}
	return true;
}

HgVmEntry *hg_vm_library_duplicate(HgVmLibrary *lib, const HgVmEntry *entry, const char *new_name,
				   GCancellable *cancellable, GError **error)
{
	g_autoptr(HgVmConfig) config = NULL;
	g_autofree char *staging = NULL, *json = NULL, *id = NULL;
	HgVmEntry *copy;

	if (!entry_usable(entry, error) || !hg_vm_refuse_if_running(entry, "duplicate", error))
		return NULL;
	for (guint i = 0; i < entry->config->disks->len; i++) {
		const HgVmDisk *d = g_ptr_array_index(entry->config->disks, i);
		if (d->path && g_path_is_absolute(d->path) && !d->read_only) {
			g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID,
				    "%s is used in place and writable: two VMs must not write one "
				    "image, so it cannot be duplicated",
				    d->path);
			return NULL;
		}
	}
	config = hg_vm_config_copy(entry->config);
	g_free(config->name);
	config->name = g_strdup(new_name);
	g_free(config->uuid);
	config->uuid = g_uuid_string_random();
	config->created = g_get_real_time() / G_USEC_PER_SEC;
	if (!hg_vm_config_validate(config, error) || !hg_vm_library_name_is_free(lib, new_name, NULL, error))
		return NULL;

	staging = hg_vm_library_make_hidden(lib, ".new", error);
	if (!staging)
		return NULL;
	if (!copy_tree(entry->dir, staging, cancellable, error))
		goto fail;
	json = g_build_filename(staging, "vm.json", NULL);
	if (!hg_vm_config_save(config, json, error))
		goto fail;
	id = hg_vm_library_publish(lib, staging, new_name, error);
	if (!id)
		goto fail;
	copy = g_new0(HgVmEntry, 1);
	copy->id = g_steal_pointer(&id);
	copy->dir = g_build_filename(lib->vms, copy->id, NULL);
	copy->config = g_steal_pointer(&config);
	return copy;
fail:
	hg_vm_remove_tree(staging, NULL);
	return NULL;
}

/* ---- delete ---- */

/* Linked clones stand on files in this folder: it must stay. */
static bool refuse_if_depended_on(HgVmLibrary *lib, const HgVmEntry *entry, GError **error)
{
	g_autoptr(GPtrArray) names = hg_vm_library_dependents(lib, entry, NULL);
	g_autofree char *list = NULL;

	if (names->len == 0)
		return true;
	g_ptr_array_add(names, NULL);
	list = g_strjoinv("\", \"", (char **)names->pdata);
	g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_IN_USE,
		    "%s cannot be deleted: the linked clones \"%s\" use its disks (delete them "
		    "first)",
		    entry->config ? entry->config->name : entry->id, list);
	return false;
}

bool hg_vm_library_delete(HgVmLibrary *lib, const HgVmEntry *entry, HgVmDeleteMode mode,
			  GError **error)
{
	g_autofree char *hidden = NULL;

	if (!hg_vm_refuse_if_running(entry, "delete", error) || !refuse_if_depended_on(lib, entry, error))
		return false;
	if (!g_file_test(entry->dir, G_FILE_TEST_IS_DIR)) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_NOT_FOUND, "%s does not exist",
			    entry->dir);
		return false;
	}
	if (mode == HG_VM_DELETE_TO_TRASH) {
		g_autoptr(GFile) file = g_file_new_for_path(entry->dir);
		g_autoptr(GError) local = NULL;
		if (g_file_trash(file, NULL, &local))
			return true;
		if (g_error_matches(local, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED))
			g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_IO,
				    "there is no trash for %s (%s): nothing was deleted; delete "
				    "the files instead to remove it for good",
				    entry->dir, local->message);
		else
			g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_IO,
				    "cannot move %s to the trash: %s", entry->dir, local->message);
		return false;
	}
	/* Out of the list first, so a crash halfway never shows a VM with
	 * half its files. */
	hidden = hg_vm_library_make_hidden(lib, ".delete", error);
	if (!hidden)
		return false;
	/* rename(2) replaces the empty folder just made. */
	if (g_rename(entry->dir, hidden) < 0) {
		int saved = errno;
		g_rmdir(hidden);
		return io_error(error, saved, "delete", entry->dir);
	}
	return hg_vm_remove_tree(hidden, error);
}
