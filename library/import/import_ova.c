/* An OVA appliance becomes a VM (import_private.h).
 *
 * An OVA is a tar whose first file is the OVF descriptor; the files it
 * references follow (DSP0243, 5.3), usually after a manifest.  The
 * descriptor is parsed (ovf.c) for the VM's name, CPUs, memory, firmware,
 * OS and disks; then each later entry whose name is one the descriptor
 * references is streamed into the disk that uses it, whatever the order
 * of the entries (a raw image or a streamOptimized VMDK: a tar can only
 * be read front to back).  Entries it does not reference (the manifest, a
 * certificate) are passed over.  A disk without a file is made empty, of
 * its capacity.  A referenced file the archive lacks, or one whose size
 * is not what the descriptor says, fails the import.
 *
 * When a manifest comes before the disks (as the spec has it), every file
 * it lists is checked against its digest as it streams, the descriptor
 * too: a damaged or altered appliance is refused.  One that comes later
 * can no longer be checked against. */
#include <string.h>

#include "library/block/block.h"
#include "library/import/archive_reader.h"
#include "library/import/import_os.h"
#include "library/import/import_private.h"
#include "library/import/ova_manifest.h"
#include "library/import/ovf.h"
#include "library/import/stream_disk.h"

/* A disk in the OVA may be up to this much larger than the descriptor's
 * capacity (VMDK capacities are whole sectors, OVF ones may be units);
 * beyond it, a "small" disk that expands to terabytes is refused. */
#define CAPACITY_SLACK (1u << 20)

/* The descriptor: the current entry, read whole (its bytes in xml, for
 * the manifest). */
static HgOvf *read_descriptor(HgArchiveReader *r, GByteArray *xml, GError **error)
{
	gint64 size = hg_archive_reader_size(r);
	guint8 buffer[16384];
	gssize n;

	if (size > HG_OVF_MAX_BYTES) {
		hg_archive_reader_fail(r, error,
				       "an OVF descriptor of %" G_GINT64_FORMAT
				       " bytes, more than the %u MiB allowed",
				       size, HG_OVF_MAX_BYTES >> 20);
		return NULL;
	}
	g_byte_array_append(xml, r->head, r->head_length);
	while ((n = hg_archive_reader_read(r, buffer, sizeof(buffer), error)) > 0) {
		if (xml->len + n > HG_OVF_MAX_BYTES) {
			hg_archive_reader_fail(r, error, "an OVF descriptor of more than %u MiB",
					       HG_OVF_MAX_BYTES >> 20);
			return NULL;
		}
		g_byte_array_append(xml, buffer, n);
	}
	if (n < 0)
		return NULL;
	GError *local = NULL;
	HgOvf *ovf = hg_ovf_parse((const char *)xml->data, xml->len, &local);
	if (!ovf) {
		/* Its messages start "OVF descriptor: "; the file is named here. */
		g_set_error(error, local->domain, local->code, "%s: %s", r->base, local->message);
		g_error_free(local);
	}
	return ovf;
}

char *hg_import_name_from_ovf(HgVmLibrary *lib, const char *path, const HgImportOptions *options,
			      const HgOvf *ovf, GError **error)
{
	g_autofree char *name = NULL;

	/* The option's, else the appliance's when it makes a valid one, else
	 * the file's. */
	if (options && options->name) {
		name = g_strdup(options->name);
	} else {
		g_autoptr(HgVmConfig) probe = hg_vm_config_new(ovf->name);
		name = hg_vm_config_validate(probe, NULL) ? g_strdup(ovf->name)
							  : hg_import_vm_name(path, NULL);
	}
	return hg_import_choose_name(lib, name, options, error);
}

bool hg_import_ovf_disks_acceptable(const HgOvf *ovf, const char *base, GError **error)
{
	if (ovf->disks->len == 0) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID,
			    "%s: the OVF descriptor names no disk", base);
		return false;
	}
	if (ovf->disks->len > HG_IMPORT_MAX_DISKS) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_UNSUPPORTED,
			    "%s: the appliance has %u disks; a VM has at most %u here", base,
			    ovf->disks->len, HG_IMPORT_MAX_DISKS);
		return false;
	}
	return true;
}

void hg_import_hints_from_ovf(const HgOvf *ovf, const HgImportOptions *options,
			      HgImportHints *hints)
{
	hints->cpus = ovf->cpus;
	hints->memory_mib = ovf->memory_mib;
	hints->efi = ovf->efi;
	hints->os = hg_import_guess_os(ovf->os_type, ovf->os_description);
	if (ovf->nics)
		hg_import_note(options,
			       "The appliance has %u network adapter%s; Hangar has no network "
			       "devices yet, so the VM has none.",
			       ovf->nics, ovf->nics == 1 ? "" : "s");
}

/* The disk (its index) whose file an entry is, or -1; "./x" is "x". */
static int disk_for_entry(const HgOvf *ovf, const char *entry_name)
{
	while (g_str_has_prefix(entry_name, "./"))
		entry_name += 2;
	for (guint i = 0; i < ovf->disks->len; i++) {
		const HgOvfDisk *disk = g_ptr_array_index(ovf->disks, i);
		if (disk->file && strcmp(disk->file->href, entry_name) == 0)
			return (int)i;
	}
	return -1;
}

guint64 hg_import_ovf_disk_max_bytes(const HgOvfDisk *disk)
{
	return disk->capacity_bytes ? MIN(disk->capacity_bytes + CAPACITY_SLACK, HG_STREAM_DISK_MAX)
				    : HG_STREAM_DISK_MAX;
}

/* A file the OVF says is compressed (ovf:compression, gzip or bzip2):
 * decompressed as it streams, through a second reader. */
static bool write_compressed_disk(HgArchiveReader *r, const HgOvfDisk *disk, const char *target,
				  guint64 max, GError **error)
{
	HgArchiveReader inner;
	bool not_a_disk = false, written;

	written = hg_archive_reader_open_nested(&inner, r, disk->file->href, error) &&
		  hg_archive_reader_next(&inner, error) >= 0;
	if (written && !inner.entry)
		written = hg_archive_reader_fail(&inner, error, "empty");
	written = written &&
		  hg_archive_reader_write_disk(&inner, target, max, 512, &not_a_disk, error);
	if (written && not_a_disk)
		written = hg_archive_reader_fail(&inner, error,
						 "not a disk image (not whole "
						 "sectors)");
	hg_archive_reader_close(&inner);
	return written;
}

/* The current entry into disk's image at target. */
static bool write_ova_disk(HgArchiveReader *r, const HgOvfDisk *disk, const char *target,
			   GError **error)
{
	gint64 size = hg_archive_reader_size(r);
	guint64 max = hg_import_ovf_disk_max_bytes(disk);
	bool not_a_disk;

	if (disk->file->size >= 0 && size >= 0 && size != disk->file->size)
		return hg_archive_reader_fail(r, error,
					      "%" G_GINT64_FORMAT " bytes, but the OVF says "
					      "%" G_GINT64_FORMAT " (damaged or altered?)",
					      size, disk->file->size);
	if (disk->file->compression)
		return write_compressed_disk(r, disk, target, max, error);
	if (!hg_archive_reader_write_disk(r, target, max, 512, &not_a_disk, error))
		return false;
	if (not_a_disk)
		return hg_archive_reader_fail(r, error, "not a disk image (not whole sectors)");
	return true;
}

/* A disk the descriptor gives no file: empty, of its capacity. */
bool hg_import_make_empty_disk(const HgOvfDisk *disk, const char *target, GError **error)
{
	guint64 size = (disk->capacity_bytes + 511) / 512 * 512;

	if (size == 0 || size > HG_STREAM_DISK_MAX) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID,
			    "OVF descriptor: the empty disk \"%s\" has an unusable capacity "
			    "(%" G_GUINT64_FORMAT " bytes)",
			    disk->disk_id, disk->capacity_bytes);
		return false;
	}
	return hg_block_create_qcow2(target, size, NULL, 16, error);
}

/* The entries after the descriptor: each referenced one to its disk. */
/* What is known while the entries after the descriptor are read. */
typedef struct {
	const HgOvf *ovf;
	GPtrArray *targets; /* each disk's image in staging */
	bool *done; /* each disk's file read */
	const char *ovf_name;
	GByteArray *ovf_bytes;
	HgOvaManifest *manifest; /* once read */
	const HgImportOptions *options;
} Ova;

static bool digest_mismatch(HgArchiveReader *r, GError **error)
{
	return hg_archive_reader_fail(r, error,
				      "its content does not match the manifest's digest "
				      "(damaged or altered?)");
}

/* The manifest: the current entry, read whole; the descriptor checked
 * against it at once. */
static bool read_manifest(HgArchiveReader *r, Ova *ova, GError **error)
{
	g_autoptr(GByteArray) text = g_byte_array_new();
	guint8 buffer[16384];
	GChecksumType type;
	const char *want;
	GError *local = NULL;
	gssize n;

	g_byte_array_append(text, r->head, r->head_length);
	while ((n = hg_archive_reader_read(r, buffer, sizeof(buffer), error)) > 0) {
		if (text->len + n > HG_OVA_MANIFEST_MAX_BYTES)
			return hg_archive_reader_fail(r, error, "a manifest of more than %u MiB",
						      HG_OVA_MANIFEST_MAX_BYTES >> 20);
		g_byte_array_append(text, buffer, n);
	}
	if (n < 0)
		return false;
	ova->manifest = hg_ova_manifest_parse((const char *)text->data, text->len, &local);
	if (!ova->manifest) {
		hg_archive_reader_fail(r, error, "%s", local->message);
		g_error_free(local);
		return false;
	}
	if (hg_ova_manifest_lookup(ova->manifest, ova->ovf_name, &type, &want)) {
		g_autofree char *hex = g_compute_checksum_for_data(type, ova->ovf_bytes->data,
								   ova->ovf_bytes->len);
		if (g_ascii_strcasecmp(hex, want) != 0) {
			g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID,
				    "%s: \"%s\": its content does not match the manifest's digest "
				    "(damaged or altered?)",
				    r->base, ova->ovf_name);
			return false;
		}
	}
	return true;
}

/* The current entry into disk i, checked against the manifest. */
static bool read_disk(HgArchiveReader *r, Ova *ova, guint i, GError **error)
{
	const char *name = hg_archive_reader_name(r);
	GChecksumType type;
	const char *want;
	bool listed = ova->manifest && hg_ova_manifest_lookup(ova->manifest, name, &type, &want);

	if (ova->done[i])
		return hg_archive_reader_fail(r, error, "in the archive twice");
	if (listed)
		hg_archive_reader_digest_start(r, type);
	if (!write_ova_disk(r, g_ptr_array_index(ova->ovf->disks, i),
			    g_ptr_array_index(ova->targets, i), error))
		return false;
	if (listed) {
		g_autofree char *hex = hg_archive_reader_digest_finish(r, error);
		if (!hex)
			return false;
		if (g_ascii_strcasecmp(hex, want) != 0)
			return digest_mismatch(r, error);
	}
	ova->done[i] = true;
	return true;
}

static bool no_disk_read_yet(const Ova *ova)
{
	for (guint i = 0; i < ova->ovf->disks->len; i++)
		if (ova->done[i])
			return false;
	return true;
}

/* The entries after the descriptor: each referenced one to its disk. */
static bool read_disks(HgArchiveReader *r, Ova *ova, GError **error)
{
	const HgOvf *ovf = ova->ovf;
	int more;

	while ((more = hg_archive_reader_next(r, error)) > 0) {
		const char *name = hg_archive_reader_name(r);
		int i = disk_for_entry(ovf, name);
		if (i >= 0) {
			if (!read_disk(r, ova, (guint)i, error))
				return false;
		} else if (g_str_has_suffix(name, ".mf") && !ova->manifest) {
			if (!no_disk_read_yet(ova)) {
				hg_import_note(ova->options,
					       "The appliance's manifest comes after its disks, so "
					       "they could not be checked against it.");
				continue;
			}
			if (!read_manifest(r, ova, error))
				return false;
		}
	}
	if (more < 0)
		return false;
	for (guint i = 0; i < ovf->disks->len; i++) {
		const HgOvfDisk *disk = g_ptr_array_index(ovf->disks, i);
		if (disk->file && !ova->done[i]) {
			g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID,
				    "%s: the OVF descriptor references \"%s\", which is not in "
				    "the archive",
				    r->base, disk->file->href);
			return false;
		}
		if (!disk->file &&
		    !hg_import_make_empty_disk(disk, g_ptr_array_index(ova->targets, i), error))
			return false;
	}
	return true;
}

bool hg_import_ova(HgVmLibrary *lib, HgArchiveReader *r, const HgImportOptions *options,
		   const char *staging, GPtrArray *disks, char **name, HgImportHints *hints,
		   GError **error)
{
	g_autofree char *ovf_name = g_strdup(hg_archive_reader_name(r));
	g_autoptr(GByteArray) ovf_bytes = g_byte_array_new();
	g_autoptr(HgOvf) ovf = read_descriptor(r, ovf_bytes, error);
	g_autoptr(GPtrArray) targets = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(HgOvaManifest) manifest = NULL;
	g_autofree bool *done = NULL;
	Ova ova;
	bool read;

	if (!ovf || !hg_import_ovf_disks_acceptable(ovf, r->base, error))
		return false;
	*name = hg_import_name_from_ovf(lib, r->path, options, ovf, error);
	if (!*name)
		return false;
	for (guint i = 0; i < ovf->disks->len; i++) {
		g_autofree char *file = hg_import_disk_file_name(i);
		g_ptr_array_add(targets, g_build_filename(staging, file, NULL));
	}
	done = g_new0(bool, ovf->disks->len);
	ova = (Ova){ovf, targets, done, ovf_name, ovf_bytes, NULL, options};
	read = read_disks(r, &ova, error);
	manifest = ova.manifest;
	if (!read)
		return false;
	for (guint i = 0; i < ovf->disks->len; i++)
		g_ptr_array_add(disks, hg_import_disk_file_name(i));
	hg_import_hints_from_ovf(ovf, options, hints);
	return true;
}
