/* Reading OVF descriptors (ovf.h), after DMTF DSP0243 (OVF 1.1 and 2.x):
 * the Envelope, its References and DiskSection, and one VirtualSystem with
 * its VirtualHardwareSection (CIM resource allocation items) and
 * OperatingSystemSection.
 *
 * Two kinds of numbers: those that size the VM (capacities, memory, CPUs,
 * file sizes) must read exactly and stay within limits, or the descriptor
 * is refused; those that only order disks (AddressOnParent) or describe
 * (the CIM OS id) are taken when they read and ignored when not, as are
 * items this does not know.  Identifiers that link things (File ids, disk
 * ids, item InstanceIDs) must be unique and must resolve.
 *
 * This file reads the Envelope down to the VirtualSystem; the
 * VirtualHardwareSection, the XML and the numbers have files of their own
 * (ovf_private.h). */
#include "library/import/ovf.h"

#include <string.h>

#include "library/import/ovf_private.h"
#include "library/vm/vm_config.h"

/* ---- References ---- */

/* What an OVA's File may name: one entry of the appliance itself.  A path
 * (with '/' or '\\', absolute, "." or "..") could make the import read or
 * write outside it, whatever the archive holds. */
static bool plain_file_name(const char *href)
{
	return *href && strcmp(href, ".") != 0 && strcmp(href, "..") != 0 && !strchr(href, '/') &&
	       !strchr(href, '\\');
}

static bool read_file(HgOvfParser *p, const xmlNode *node, GError **error)
{
	g_autofree char *size = ovf_attribute(p, node, "size");
	g_autofree char *chunk_size = ovf_attribute(p, node, "chunkSize");
	g_autofree char *compression = ovf_attribute(p, node, "compression");
	HgOvfFile *file = g_new0(HgOvfFile, 1);

	g_ptr_array_add(p->ovf->files, file);
	file->size = -1;
	file->id = ovf_attribute(p, node, "id");
	file->href = ovf_attribute(p, node, "href");
	if (!file->id || !*file->id)
		return hg_ovf_fail(error, HG_VM_ERROR_INVALID, "a File has no ovf:id");
	if (g_hash_table_contains(p->files, file->id))
		return hg_ovf_fail(error, HG_VM_ERROR_INVALID, "two Files have the id \"%s\"",
				   hg_ovf_shown(p, file->id));
	g_hash_table_insert(p->files, file->id, file);
	if (!file->href)
		return hg_ovf_fail(error, HG_VM_ERROR_INVALID, "the File \"%s\" has no ovf:href",
				   hg_ovf_shown(p, file->id));
	if (!plain_file_name(file->href))
		return hg_ovf_fail(error, HG_VM_ERROR_INVALID,
				   "the File \"%s\" names \"%s\", which is not a plain file name: "
				   "nothing may be read or written outside the appliance",
				   hg_ovf_shown(p, file->id), hg_ovf_shown(p, file->href));
	if (!g_hash_table_add(p->hrefs, file->href))
		return hg_ovf_fail(error, HG_VM_ERROR_INVALID, "two Files name \"%s\"",
				   hg_ovf_shown(p, file->href));
	if (size) {
		guint64 bytes;

		if (!hg_ovf_parse_number(p, size, "a File's ovf:size", &bytes, error))
			return false;
		if (bytes > G_MAXINT64)
			return hg_ovf_fail(error, HG_VM_ERROR_INVALID,
					   "the File \"%s\" has an absurd size (%s bytes)",
					   hg_ovf_shown(p, file->id), hg_ovf_shown(p, size));
		file->size = (gint64)bytes;
	}
	if (chunk_size)
		return hg_ovf_fail(
			error, HG_VM_ERROR_UNSUPPORTED,
			"the File \"%s\" is split into chunks (ovf:chunkSize); not supported",
			hg_ovf_shown(p, file->id));
	if (compression && (strcmp(compression, "gzip") == 0 || strcmp(compression, "bzip2") == 0))
		file->compression = g_steal_pointer(&compression);
	else if (compression && *compression && strcmp(compression, "identity") != 0)
		return hg_ovf_fail(
			error, HG_VM_ERROR_UNSUPPORTED,
			"the File \"%s\" is compressed with \"%s\"; only gzip and bzip2 are "
			"supported",
			hg_ovf_shown(p, file->id), hg_ovf_shown(p, compression));
	return true;
}

/* ---- DiskSection ---- */

static bool read_capacity(HgOvfParser *p, const xmlNode *node, HgOvfDisk *disk, GError **error)
{
	g_autofree char *capacity = ovf_attribute(p, node, "capacity");
	g_autofree char *units = ovf_attribute(p, node, "capacityAllocationUnits");
	guint64 count, unit;

	if (!capacity)
		return hg_ovf_fail(error, HG_VM_ERROR_INVALID,
				   "the Disk \"%s\" has no ovf:capacity",
				   hg_ovf_shown(p, disk->disk_id));
	/* ovf:capacity may name a ProductSection property, set at deployment. */
	if (g_str_has_prefix(capacity, "${"))
		return hg_ovf_fail(
			error, HG_VM_ERROR_UNSUPPORTED,
			"the Disk \"%s\" takes its capacity from the property %s; not supported",
			hg_ovf_shown(p, disk->disk_id), hg_ovf_shown(p, capacity));
	if (!hg_ovf_parse_number(p, capacity, "a Disk's ovf:capacity", &count, error))
		return false;
	if (!hg_ovf_unit_bytes(units, 1, &unit))
		return hg_ovf_fail(
			error, HG_VM_ERROR_INVALID,
			"the Disk \"%s\" counts its capacity in \"%s\", which is not a unit of "
			"bytes",
			hg_ovf_shown(p, disk->disk_id), hg_ovf_shown(p, units));
	if (!g_uint64_checked_mul(&disk->capacity_bytes, count, unit) ||
	    disk->capacity_bytes > G_MAXINT64)
		return hg_ovf_fail(
			error, HG_VM_ERROR_INVALID,
			"the Disk \"%s\" has an absurd capacity (%s x \"%s\" is over 8 EiB)",
			hg_ovf_shown(p, disk->disk_id), hg_ovf_shown(p, capacity),
			hg_ovf_shown(p, units ? units : ""));
	return true;
}

static bool read_disk(HgOvfParser *p, const xmlNode *node, GError **error)
{
	g_autofree char *file_ref = ovf_attribute(p, node, "fileRef");
	g_autofree char *parent_ref = ovf_attribute(p, node, "parentRef");
	HgOvfDisk *disk = g_new0(HgOvfDisk, 1);

	g_ptr_array_add(p->ovf->disks, disk);
	disk->disk_id = ovf_attribute(p, node, "diskId");
	if (!disk->disk_id || !*disk->disk_id)
		return hg_ovf_fail(error, HG_VM_ERROR_INVALID, "a Disk has no ovf:diskId");
	if (g_hash_table_contains(p->disks, disk->disk_id))
		return hg_ovf_fail(error, HG_VM_ERROR_INVALID, "two Disks have the id \"%s\"",
				   hg_ovf_shown(p, disk->disk_id));
	g_hash_table_insert(p->disks, disk->disk_id, disk);
	if (file_ref && *file_ref) {
		disk->file = g_hash_table_lookup(p->files, file_ref);
		if (!disk->file)
			return hg_ovf_fail(
				error, HG_VM_ERROR_INVALID,
				"the Disk \"%s\" refers to the File \"%s\", which References "
				"does not list",
				hg_ovf_shown(p, disk->disk_id), hg_ovf_shown(p, file_ref));
		/* One file read into many disks would only multiply the work. */
		if (!g_hash_table_add(p->disk_files, disk->file))
			return hg_ovf_fail(error, HG_VM_ERROR_INVALID,
					   "two Disks take their data from the File \"%s\"",
					   hg_ovf_shown(p, file_ref));
	}
	if (parent_ref)
		return hg_ovf_fail(
			error, HG_VM_ERROR_UNSUPPORTED,
			"the Disk \"%s\" is a differencing disk over \"%s\" (ovf:parentRef); "
			"not supported",
			hg_ovf_shown(p, disk->disk_id), hg_ovf_shown(p, parent_ref));
	disk->format = ovf_attribute(p, node, "format");
	return read_capacity(p, node, disk, error);
}

/* ---- VirtualSystem ---- */

/* VirtualBox's own machine configuration: Hardware/Firmware type="EFI"
 * (or EFI32, EFI64, EFIDUAL); searched a few levels deep, as newer
 * versions nest it further.  Its elements carry no namespace of their
 * own, so only names are compared. */
static bool virtualbox_efi(const xmlNode *node, unsigned depth)
{
	for (const xmlNode *child = node->children; child; child = child->next) {
		if (child->type != XML_ELEMENT_NODE)
			continue;
		if (strcmp((const char *)child->name, "Firmware") == 0) {
			g_autofree char *type = hg_ovf_attribute(child, NULL, "type");

			if (type && g_ascii_strncasecmp(type, "EFI", 3) == 0)
				return true;
		}
		if (depth > 1 && virtualbox_efi(child, depth - 1))
			return true;
	}
	return false;
}

static void read_operating_system(HgOvfParser *p, const xmlNode *system,
				  const xmlNode *vbox_machine)
{
	const xmlNode *os = hg_ovf_first_child(system, p->ns, "OperatingSystemSection");
	HgOvf *ovf = p->ovf;

	if (os) {
		g_autofree char *id = ovf_attribute(p, os, "id");
		guint64 value;

		if (id && g_ascii_string_to_unsigned(id, 10, 0, G_MAXUINT16, &value, NULL))
			ovf->os_cim_id = (gint)value;
		ovf->os_description = hg_ovf_child_text(os, p->ns, "Description");
		ovf->os_type = hg_ovf_attribute(os, NS_VMW, "osType");
		if (!ovf->os_type)
			ovf->os_type = hg_ovf_child_text(os, NS_VBOX, "OSType");
	}
	if (!ovf->os_type && vbox_machine)
		ovf->os_type = hg_ovf_attribute(vbox_machine, NULL, "OSType");
	if (ovf->os_type && !*ovf->os_type)
		g_clear_pointer(&ovf->os_type, g_free);
}

static bool read_system(HgOvfParser *p, const xmlNode *system, GError **error)
{
	const xmlNode *hardware = hg_ovf_first_child(system, p->ns, "VirtualHardwareSection");
	const xmlNode *vbox_machine = hg_ovf_first_child(system, NS_VBOX, "Machine");
	HgOvf *ovf = p->ovf;

	ovf->name = hg_ovf_child_text(system, p->ns, "Name");
	if (!ovf->name)
		ovf->name = ovf_attribute(p, system, "id");
	if (!ovf->name || !*ovf->name)
		return hg_ovf_fail(error, HG_VM_ERROR_INVALID,
				   "the VirtualSystem has neither a Name nor an ovf:id");
	read_operating_system(p, system, vbox_machine);
	ovf->efi = vbox_machine && virtualbox_efi(vbox_machine, 4);
	if (hardware && !hg_ovf_read_hardware(p, hardware, error))
		return false;
	hg_ovf_order_disks(p);
	return true;
}

/* ---- Envelope ---- */

/* The DeploymentOptionSection's default Configuration (else its first). */
static void read_deployment_options(HgOvfParser *p, const xmlNode *options)
{
	for (const xmlNode *child = options->children; child; child = child->next) {
		g_autofree char *id = NULL;
		g_autofree char *is_default = NULL;

		if (!hg_ovf_is_element(child, p->ns, "Configuration"))
			continue;
		id = ovf_attribute(p, child, "id");
		is_default = ovf_attribute(p, child, "default");
		if (!id)
			continue;
		if (!p->configuration)
			p->configuration = g_strdup(id);
		if (is_default &&
		    (strcmp(is_default, "true") == 0 || strcmp(is_default, "1") == 0)) {
			g_free(p->configuration);
			p->configuration = g_steal_pointer(&id);
			return;
		}
	}
}

static bool read_envelope(HgOvfParser *p, const xmlNode *envelope, GError **error)
{
	const xmlNode *system = NULL;

	for (const xmlNode *child = envelope->children; child; child = child->next) {
		if (hg_ovf_is_element(child, p->ns, "VirtualSystemCollection"))
			return hg_ovf_fail(
				error, HG_VM_ERROR_UNSUPPORTED,
				"the appliance holds several virtual machines (a "
				"VirtualSystemCollection); only single-machine appliances can be "
				"imported");
		if (hg_ovf_is_element(child, p->ns, "VirtualSystem")) {
			if (system)
				return hg_ovf_fail(error, HG_VM_ERROR_INVALID,
						   "the Envelope has two VirtualSystems");
			system = child;
		}
	}
	if (!system)
		return hg_ovf_fail(error, HG_VM_ERROR_INVALID, "the Envelope has no VirtualSystem");

	/* Files first, wherever the sections are: disks refer to them. */
	for (const xmlNode *child = envelope->children; child; child = child->next) {
		if (!hg_ovf_is_element(child, p->ns, "References"))
			continue;
		for (const xmlNode *file = child->children; file; file = file->next)
			if (hg_ovf_is_element(file, p->ns, "File") && !read_file(p, file, error))
				return false;
	}
	for (const xmlNode *child = envelope->children; child; child = child->next) {
		if (hg_ovf_is_element(child, p->ns, "DiskSection")) {
			for (const xmlNode *disk = child->children; disk; disk = disk->next)
				if (hg_ovf_is_element(disk, p->ns, "Disk") &&
				    !read_disk(p, disk, error))
					return false;
		} else if (hg_ovf_is_element(child, p->ns, "DeploymentOptionSection") &&
			   !p->configuration) {
			read_deployment_options(p, child);
		}
	}
	return read_system(p, system, error);
}

/* ---- the entry ---- */

static void file_free(gpointer data)
{
	HgOvfFile *file = data;

	g_free(file->id);
	g_free(file->href);
	g_free(file->compression);
	g_free(file);
}

static void disk_free(gpointer data)
{
	HgOvfDisk *disk = data;

	g_free(disk->disk_id);
	g_free(disk->format);
	g_free(disk);
}

void hg_ovf_free(HgOvf *ovf)
{
	if (!ovf)
		return;
	g_free(ovf->name);
	g_free(ovf->os_type);
	g_free(ovf->os_description);
	/* Disks point into files: they go first. */
	g_ptr_array_unref(ovf->disks);
	g_ptr_array_unref(ovf->files);
	g_free(ovf);
}

/* The root: an OVF 1.x or 2.x Envelope. */
static bool read_document(HgOvfParser *p, const xmlNode *root, GError **error)
{
	if (hg_ovf_in_namespace(root, NS_OVF09))
		return hg_ovf_fail(
			error, HG_VM_ERROR_UNSUPPORTED,
			"OVF 0.9 is not supported (export the appliance again as OVF 1.0 or "
			"later)");
	if (!hg_ovf_is_element(root, NS_OVF1, "Envelope") &&
	    !hg_ovf_is_element(root, NS_OVF2, "Envelope"))
		return hg_ovf_fail(
			error, HG_VM_ERROR_INVALID,
			"the root element is <%s> in the namespace \"%s\", not an OVF 1.x or "
			"2.x Envelope",
			hg_ovf_shown(p, (const char *)root->name),
			hg_ovf_shown(p, root->ns && root->ns->href ? (const char *)root->ns->href
								   : ""));
	p->ns = (const char *)root->ns->href;
	return read_envelope(p, root, error);
}

HgOvf *hg_ovf_parse(const char *xml, gsize length, GError **error)
{
	HgOvfParser p = {0};
	xmlDoc *doc;
	bool ok;

	g_return_val_if_fail(xml || !length, NULL);
	if (length > HG_OVF_MAX_BYTES) {
		hg_ovf_fail(error, HG_VM_ERROR_INVALID,
			    "%" G_GSIZE_FORMAT
			    " bytes, above the limit of %u MiB (a real one is a few "
			    "KiB)",
			    length, HG_OVF_MAX_BYTES >> 20);
		return NULL;
	}
	if (!length) {
		hg_ovf_fail(error, HG_VM_ERROR_INVALID, "empty");
		return NULL;
	}
	doc = hg_ovf_read_xml(xml, length, error);
	if (!doc)
		return NULL;

	p.ovf = g_new0(HgOvf, 1);
	p.ovf->os_cim_id = -1;
	p.ovf->files = g_ptr_array_new_with_free_func(file_free);
	p.ovf->disks = g_ptr_array_new_with_free_func(disk_free);
	p.files = g_hash_table_new(g_str_hash, g_str_equal);
	p.hrefs = g_hash_table_new(g_str_hash, g_str_equal);
	p.disks = g_hash_table_new(g_str_hash, g_str_equal);
	p.disk_files = g_hash_table_new(NULL, NULL);
	p.attachments = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	p.shown = g_ptr_array_new_with_free_func(g_free);
	ok = read_document(&p, xmlDocGetRootElement(doc), error);
	g_hash_table_unref(p.files);
	g_hash_table_unref(p.hrefs);
	g_hash_table_unref(p.disks);
	g_hash_table_unref(p.disk_files);
	g_hash_table_unref(p.attachments);
	g_ptr_array_unref(p.shown);
	g_free(p.configuration);
	/* After the parser: p.ns points into the tree. */
	xmlFreeDoc(doc);
	if (!ok)
		g_clear_pointer(&p.ovf, hg_ovf_free);
	return p.ovf;
}
