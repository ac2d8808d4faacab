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
 * ids, item InstanceIDs) must be unique and must resolve. */
#include "library/import/ovf.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "library/vm/vm_config.h"

#define NS_OVF1 "http://schemas.dmtf.org/ovf/envelope/1"
#define NS_OVF2 "http://schemas.dmtf.org/ovf/envelope/2"
/* VMware's OVF 0.9, before DMTF's: another schema altogether. */
#define NS_OVF09 "http://www.vmware.com/schema/ovf/1/envelope"
#define NS_CIM "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
#define NS_VMW "http://www.vmware.com/schema/ovf"
#define NS_VBOX "http://www.virtualbox.org/ovf/machine"

/* No entity substitution (XML_PARSE_NOENT), no DTD loading, no network, no
 * lifted limits (XML_PARSE_HUGE); errors come back through the context,
 * not stderr. */
#define PARSE_OPTIONS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)

/* CIM_ResourceAllocationSettingData.ResourceType values. */
enum {
	RESOURCE_CPU = 3,
	RESOURCE_MEMORY = 4,
	RESOURCE_ETHERNET = 10,
	RESOURCE_DISK_DRIVE = 17,
};

#define MIB (G_GUINT64_CONSTANT(1) << 20)
/* A value quoted in a message is cut to this many characters. */
#define SHOWN_CHARS 40

/* Where a disk drive item puts its disk. */
typedef struct {
	guint controller; /* the parent item's place among the items; G_MAXUINT: none */
	guint64 address; /* AddressOnParent; G_MAXUINT64 when absent */
	guint item; /* the drive item's own place */
} Attachment;

typedef struct {
	const char *ns; /* the Envelope's namespace: OVF 1.x or 2.x */
	HgOvf *ovf;
	GHashTable *files; /* ovf:id -> HgOvfFile* (borrowed from ovf->files) */
	GHashTable *hrefs; /* the hrefs seen */
	GHashTable *disks; /* ovf:diskId -> HgOvfDisk* (borrowed from ovf->disks) */
	GHashTable *disk_files; /* the Files disks take their data from */
	GHashTable *attachments; /* ovf:diskId -> Attachment* */
	char *configuration; /* the default deployment option, or NULL */
	GPtrArray *shown; /* strings quoted in messages, freed with the parser */
} Parser;

static bool fail(GError **error, int code, const char *format, ...) G_GNUC_PRINTF(3, 4);
static bool fail(GError **error, int code, const char *format, ...)
{
	g_autofree char *message = NULL;
	va_list ap;

	va_start(ap, format);
	message = g_strdup_vprintf(format, ap);
	va_end(ap);
	g_set_error(error, HG_VM_ERROR, code, "OVF descriptor: %s", message);
	return false;
}

/* A value from the descriptor as a message quotes it: short. */
static const char *shown(Parser *p, const char *value)
{
	char *copy;

	if (g_utf8_strlen(value, -1) <= SHOWN_CHARS) {
		copy = g_strdup(value);
	} else {
		g_autofree char *head = g_utf8_substring(value, 0, SHOWN_CHARS - 1);
		copy = g_strconcat(head, "...", NULL);
	}
	g_ptr_array_add(p->shown, copy);
	return copy;
}

/* ---- the tree ---- */

static bool in_namespace(const xmlNode *node, const char *ns)
{
	return node->type == XML_ELEMENT_NODE && node->ns && node->ns->href &&
	       strcmp((const char *)node->ns->href, ns) == 0;
}

static bool is_element(const xmlNode *node, const char *ns, const char *name)
{
	return in_namespace(node, ns) && strcmp((const char *)node->name, name) == 0;
}

static const xmlNode *first_child(const xmlNode *node, const char *ns, const char *name)
{
	for (const xmlNode *child = node->children; child; child = child->next)
		if (is_element(child, ns, name))
			return child;
	return NULL;
}

/* The text directly in node, stripped of surrounding white space.  Only
 * text and CDATA children count: an entity reference is never followed
 * (there can be none, as a DTD is refused before anything is declared). */
static char *element_text(const xmlNode *node)
{
	GString *text = g_string_new(NULL);

	for (const xmlNode *child = node->children; child; child = child->next)
		if ((child->type == XML_TEXT_NODE || child->type == XML_CDATA_SECTION_NODE) &&
		    child->content)
			g_string_append(text, (const char *)child->content);
	return g_strstrip(g_string_free(text, FALSE));
}

/* A child's text, or NULL when there is no such child or its text is
 * empty. */
static char *child_text(const xmlNode *node, const char *ns, const char *name)
{
	const xmlNode *child = first_child(node, ns, name);
	char *text = child ? element_text(child) : NULL;

	if (text && !*text)
		g_clear_pointer(&text, g_free);
	return text;
}

/* An attribute in namespace ns (NULL: no namespace), or NULL. */
static char *attribute(const xmlNode *node, const char *ns, const char *name)
{
	xmlChar *value = ns ? xmlGetNsProp(node, BAD_CAST name, BAD_CAST ns)
			    : xmlGetNoNsProp(node, BAD_CAST name);
	char *copy;

	if (!value)
		return NULL;
	copy = g_strdup((const char *)value);
	xmlFree(value);
	return copy;
}

static char *ovf_attribute(Parser *p, const xmlNode *node, const char *name)
{
	return attribute(node, p->ns, name);
}

/* ---- numbers ---- */

static bool parse_number(Parser *p, const char *text, const char *what, guint64 *value,
			 GError **error)
{
	g_autofree char *trimmed = g_strstrip(g_strdup(text));
	g_autoptr(GError) why = NULL;

	if (g_ascii_string_to_unsigned(trimmed, 10, 0, G_MAXUINT64, value, &why))
		return true;
	if (g_error_matches(why, G_NUMBER_PARSER_ERROR, G_NUMBER_PARSER_ERROR_OUT_OF_BOUNDS))
		return fail(error, HG_VM_ERROR_INVALID, "%s %s is absurd (not below 2^64)", what,
			    shown(p, text));
	return fail(error, HG_VM_ERROR_INVALID, "%s \"%s\" is not a whole number", what,
		    shown(p, text));
}

static bool read_digits(const char **s, guint64 *value)
{
	const char *start = *s;

	*value = 0;
	for (; g_ascii_isdigit(**s); (*s)++)
		if (!g_uint64_checked_mul(value, *value, 10) ||
		    !g_uint64_checked_add(value, *value, (guint64)(**s - '0')))
			return false;
	return *s != start;
}

static const char *skip_spaces(const char *s)
{
	while (g_ascii_isspace(*s))
		s++;
	return s;
}

/* The bytes in one unit: DSP0004's programmatic units ("byte",
 * "byte * 2^30", "byte*1024"), or the names older VirtualBox and other
 * tools write ("MegaBytes", "MB", ...), binary multiples as they mean
 * them.  NULL or empty: default_bytes.  False when not understood, zero or
 * above 2^64. */
static bool unit_bytes(const char *units, guint64 default_bytes, guint64 *bytes)
{
	static const struct {
		const char *name;
		unsigned shift;
	} names[] = {
		{"KB", 10},	   {"KiB", 10},	      {"KiloBytes", 10}, {"MB", 20},
		{"MiB", 20},	   {"MegaBytes", 20}, {"GB", 30},	 {"GiB", 30},
		{"GigaBytes", 30}, {"TB", 40},	      {"TiB", 40},	 {"TeraBytes", 40},
	};
	g_autofree char *text = g_strstrip(g_strdup(units ? units : ""));
	const char *s = text;
	guint64 total = 1;

	if (!*s) {
		*bytes = default_bytes;
		return true;
	}
	for (unsigned i = 0; i < G_N_ELEMENTS(names); i++) {
		if (g_ascii_strcasecmp(s, names[i].name) == 0) {
			*bytes = G_GUINT64_CONSTANT(1) << names[i].shift;
			return true;
		}
	}
	if (g_ascii_strncasecmp(s, "byte", 4) != 0)
		return false;
	s += 4;
	if (*s == 's' || *s == 'S')
		s++;
	while (*(s = skip_spaces(s))) {
		guint64 base, exponent = 1;

		if (*s != '*')
			return false;
		s = skip_spaces(s + 1);
		if (!read_digits(&s, &base))
			return false;
		s = skip_spaces(s);
		if (*s == '^') {
			s = skip_spaces(s + 1);
			if (!read_digits(&s, &exponent) || exponent > 64)
				return false;
		}
		for (guint64 i = 0; i < exponent; i++)
			if (!g_uint64_checked_mul(&total, total, base))
				return false;
	}
	*bytes = total;
	return total != 0;
}

/* ---- References ---- */

/* What an OVA's File may name: one entry of the appliance itself.  A path
 * (with '/' or '\\', absolute, "." or "..") could make the import read or
 * write outside it, whatever the archive holds. */
static bool plain_file_name(const char *href)
{
	return *href && strcmp(href, ".") != 0 && strcmp(href, "..") != 0 && !strchr(href, '/') &&
	       !strchr(href, '\\');
}

static bool read_file(Parser *p, const xmlNode *node, GError **error)
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
		return fail(error, HG_VM_ERROR_INVALID, "a File has no ovf:id");
	if (g_hash_table_contains(p->files, file->id))
		return fail(error, HG_VM_ERROR_INVALID, "two Files have the id \"%s\"",
			    shown(p, file->id));
	g_hash_table_insert(p->files, file->id, file);
	if (!file->href)
		return fail(error, HG_VM_ERROR_INVALID, "the File \"%s\" has no ovf:href",
			    shown(p, file->id));
	if (!plain_file_name(file->href))
		return fail(error, HG_VM_ERROR_INVALID,
			    "the File \"%s\" names \"%s\", which is not a plain file name: "
			    "nothing may be read or written outside the appliance",
			    shown(p, file->id), shown(p, file->href));
	if (!g_hash_table_add(p->hrefs, file->href))
		return fail(error, HG_VM_ERROR_INVALID, "two Files name \"%s\"",
			    shown(p, file->href));
	if (size) {
		guint64 bytes;

		if (!parse_number(p, size, "a File's ovf:size", &bytes, error))
			return false;
		if (bytes > G_MAXINT64)
			return fail(error, HG_VM_ERROR_INVALID,
				    "the File \"%s\" has an absurd size (%s bytes)",
				    shown(p, file->id), shown(p, size));
		file->size = (gint64)bytes;
	}
	if (chunk_size)
		return fail(error, HG_VM_ERROR_UNSUPPORTED,
			    "the File \"%s\" is split into chunks (ovf:chunkSize); not supported",
			    shown(p, file->id));
	if (compression && (strcmp(compression, "gzip") == 0 || strcmp(compression, "bzip2") == 0))
		file->compression = g_steal_pointer(&compression);
	else if (compression && *compression && strcmp(compression, "identity") != 0)
		return fail(error, HG_VM_ERROR_UNSUPPORTED,
			    "the File \"%s\" is compressed with \"%s\"; only gzip and bzip2 are "
			    "supported",
			    shown(p, file->id), shown(p, compression));
	return true;
}

/* ---- DiskSection ---- */

static bool read_capacity(Parser *p, const xmlNode *node, HgOvfDisk *disk, GError **error)
{
	g_autofree char *capacity = ovf_attribute(p, node, "capacity");
	g_autofree char *units = ovf_attribute(p, node, "capacityAllocationUnits");
	guint64 count, unit;

	if (!capacity)
		return fail(error, HG_VM_ERROR_INVALID, "the Disk \"%s\" has no ovf:capacity",
			    shown(p, disk->disk_id));
	/* ovf:capacity may name a ProductSection property, set at deployment. */
	if (g_str_has_prefix(capacity, "${"))
		return fail(
			error, HG_VM_ERROR_UNSUPPORTED,
			"the Disk \"%s\" takes its capacity from the property %s; not supported",
			shown(p, disk->disk_id), shown(p, capacity));
	if (!parse_number(p, capacity, "a Disk's ovf:capacity", &count, error))
		return false;
	if (!unit_bytes(units, 1, &unit))
		return fail(error, HG_VM_ERROR_INVALID,
			    "the Disk \"%s\" counts its capacity in \"%s\", which is not a unit of "
			    "bytes",
			    shown(p, disk->disk_id), shown(p, units));
	if (!g_uint64_checked_mul(&disk->capacity_bytes, count, unit) ||
	    disk->capacity_bytes > G_MAXINT64)
		return fail(error, HG_VM_ERROR_INVALID,
			    "the Disk \"%s\" has an absurd capacity (%s x \"%s\" is over 8 EiB)",
			    shown(p, disk->disk_id), shown(p, capacity),
			    shown(p, units ? units : ""));
	return true;
}

static bool read_disk(Parser *p, const xmlNode *node, GError **error)
{
	g_autofree char *file_ref = ovf_attribute(p, node, "fileRef");
	g_autofree char *parent_ref = ovf_attribute(p, node, "parentRef");
	HgOvfDisk *disk = g_new0(HgOvfDisk, 1);

	g_ptr_array_add(p->ovf->disks, disk);
	disk->disk_id = ovf_attribute(p, node, "diskId");
	if (!disk->disk_id || !*disk->disk_id)
		return fail(error, HG_VM_ERROR_INVALID, "a Disk has no ovf:diskId");
	if (g_hash_table_contains(p->disks, disk->disk_id))
		return fail(error, HG_VM_ERROR_INVALID, "two Disks have the id \"%s\"",
			    shown(p, disk->disk_id));
	g_hash_table_insert(p->disks, disk->disk_id, disk);
	if (file_ref && *file_ref) {
		disk->file = g_hash_table_lookup(p->files, file_ref);
		if (!disk->file)
			return fail(error, HG_VM_ERROR_INVALID,
				    "the Disk \"%s\" refers to the File \"%s\", which References "
				    "does not list",
				    shown(p, disk->disk_id), shown(p, file_ref));
		/* One file read into many disks would only multiply the work. */
		if (!g_hash_table_add(p->disk_files, disk->file))
			return fail(error, HG_VM_ERROR_INVALID,
				    "two Disks take their data from the File \"%s\"",
				    shown(p, file_ref));
	}
	if (parent_ref)
		return fail(error, HG_VM_ERROR_UNSUPPORTED,
			    "the Disk \"%s\" is a differencing disk over \"%s\" (ovf:parentRef); "
			    "not supported",
			    shown(p, disk->disk_id), shown(p, parent_ref));
	disk->format = ovf_attribute(p, node, "format");
	return read_capacity(p, node, disk, error);
}

/* ---- VirtualHardwareSection ---- */

/* The CIM schemas an item's properties come from: RASD for Item, SASD
 * and EPASD for OVF 2's StorageItem and EthernetPortItem.  VirtualBox
 * writes the namespaces with ".xsd" on the end; both spellings count. */
static bool is_settings_namespace(const xmlNs *ns)
{
	static const char *const classes[] = {
		"CIM_ResourceAllocationSettingData",
		"CIM_StorageAllocationSettingData",
		"CIM_EthernetPortAllocationSettingData",
	};
	const char *href = ns && ns->href ? (const char *)ns->href : "";

	if (!g_str_has_prefix(href, NS_CIM))
		return false;
	href += strlen(NS_CIM);
	for (unsigned i = 0; i < G_N_ELEMENTS(classes); i++) {
		size_t n = strlen(classes[i]);

		if (strncmp(href, classes[i], n) == 0 &&
		    (href[n] == '\0' || strcmp(href + n, ".xsd") == 0))
			return true;
	}
	return false;
}

static bool is_item(Parser *p, const xmlNode *node)
{
	return is_element(node, p->ns, "Item") || is_element(node, p->ns, "StorageItem") ||
	       is_element(node, p->ns, "EthernetPortItem");
}

static bool is_property(const xmlNode *node, const char *name)
{
	return node->type == XML_ELEMENT_NODE && is_settings_namespace(node->ns) &&
	       strcmp((const char *)node->name, name) == 0;
}

/* An item's property (rasd:NAME and the like) as text, or NULL when it
 * has none or it is empty. */
static char *item_property(const xmlNode *item, const char *name)
{
	for (const xmlNode *child = item->children; child; child = child->next) {
		if (is_property(child, name)) {
			char *text = element_text(child);

			if (*text)
				return text;
			g_free(text);
			return NULL;
		}
	}
	return NULL;
}

/* Whether an item counts: one with ovf:configuration only in the
 * deployment options it lists. */
static bool item_applies(Parser *p, const xmlNode *item)
{
	g_autofree char *configurations = ovf_attribute(p, item, "configuration");
	g_auto(GStrv) names = NULL;

	if (!configurations || !p->configuration)
		return true;
	names = g_strsplit_set(configurations, " \t\r\n", -1);
	return g_strv_contains((const char *const *)names, p->configuration);
}

static guint64 item_resource_type(const xmlNode *item)
{
	g_autofree char *text = item_property(item, "ResourceType");
	guint64 type = 0;

	if (text)
		(void)g_ascii_string_to_unsigned(text, 10, 0, G_MAXUINT16, &type, NULL);
	return type;
}

static bool read_cpus(Parser *p, const xmlNode *item, GError **error)
{
	g_autofree char *quantity = item_property(item, "VirtualQuantity");
	guint64 cpus;

	if (!quantity)
		return true;
	if (!parse_number(p, quantity, "the CPU count", &cpus, error))
		return false;
	if (cpus > HG_OVF_MAX_CPUS)
		return fail(error, HG_VM_ERROR_INVALID, "%s CPUs is absurd (at most %u)",
			    shown(p, quantity), HG_OVF_MAX_CPUS);
	p->ovf->cpus = (guint)cpus;
	return true;
}

static bool read_memory(Parser *p, const xmlNode *item, GError **error)
{
	g_autofree char *quantity = item_property(item, "VirtualQuantity");
	g_autofree char *units = item_property(item, "AllocationUnits");
	guint64 count, unit, bytes;

	if (!quantity)
		return true;
	if (!units)
		units = item_property(item, "VirtualQuantityUnits");
	if (!parse_number(p, quantity, "the memory size", &count, error))
		return false;
	/* Both VirtualBox and VMware name the unit; MiB is what a descriptor
	 * without one means, in the few seen. */
	if (!unit_bytes(units, MIB, &unit))
		return fail(error, HG_VM_ERROR_INVALID,
			    "the memory is counted in \"%s\", which is not a unit of bytes",
			    shown(p, units));
	if (!g_uint64_checked_mul(&bytes, count, unit) ||
	    bytes / MIB + (bytes % MIB != 0) > HG_OVF_MAX_MEMORY_MIB)
		return fail(error, HG_VM_ERROR_INVALID,
			    "the memory size (%s x \"%s\") is absurd: over 16 TiB",
			    shown(p, quantity), shown(p, units ? units : ""));
	p->ovf->memory_mib = bytes / MIB + (bytes % MIB != 0);
	return true;
}

/* The disk id in a HostResource ("ovf:/disk/ID", or "/disk/ID" as older
 * VirtualBox writes), or NULL for anything else (a File, a pool). */
static const char *host_resource_disk(const char *resource)
{
	if (g_str_has_prefix(resource, "ovf:/disk/"))
		return resource + strlen("ovf:/disk/");
	if (g_str_has_prefix(resource, "/disk/"))
		return resource + strlen("/disk/");
	return NULL;
}

static bool read_disk_drive(Parser *p, const xmlNode *item, guint position, GHashTable *positions,
			    GError **error)
{
	g_autofree char *parent = item_property(item, "Parent");
	g_autofree char *address = item_property(item, "AddressOnParent");
	Attachment *attachment;
	gpointer controller;

	for (const xmlNode *child = item->children; child; child = child->next) {
		g_autofree char *resource = NULL;
		const char *disk_id;

		if (!is_property(child, "HostResource"))
			continue;
		resource = element_text(child);
		disk_id = host_resource_disk(resource);
		if (!disk_id)
			continue;
		if (!g_hash_table_contains(p->disks, disk_id))
			return fail(error, HG_VM_ERROR_INVALID,
				    "a disk drive refers to the disk \"%s\", which DiskSection "
				    "does not list",
				    shown(p, disk_id));
		if (g_hash_table_contains(p->attachments, disk_id))
			return fail(error, HG_VM_ERROR_INVALID,
				    "the disk \"%s\" is in two disk drives", shown(p, disk_id));
		attachment = g_new(Attachment, 1);
		attachment->item = position;
		/* A Parent naming no item, or an address that does not read, only
		 * orders the disk after the others: it is still the VM's. */
		attachment->controller = G_MAXUINT;
		if (parent && g_hash_table_lookup_extended(positions, parent, NULL, &controller))
			attachment->controller = GPOINTER_TO_UINT(controller);
		if (!address || !g_ascii_string_to_unsigned(address, 10, 0, G_MAXUINT64 - 1,
							    &attachment->address, NULL))
			attachment->address = G_MAXUINT64;
		g_hash_table_insert(p->attachments, g_strdup(disk_id), attachment);
		return true;
	}
	return true;
}

/* VMware's <vmw:Config vmw:key="firmware" vmw:value="efi"/> (ExtraConfig in
 * some older exports). */
static bool vmware_efi(const xmlNode *hardware)
{
	bool efi = false;

	for (const xmlNode *child = hardware->children; child; child = child->next) {
		g_autofree char *key = NULL;
		g_autofree char *value = NULL;

		if (!is_element(child, NS_VMW, "Config") &&
		    !is_element(child, NS_VMW, "ExtraConfig"))
			continue;
		key = attribute(child, NS_VMW, "key");
		value = attribute(child, NS_VMW, "value");
		if (key && value && strcmp(key, "firmware") == 0)
			efi = g_ascii_strcasecmp(value, "efi") == 0;
	}
	return efi;
}

static bool read_hardware(Parser *p, const xmlNode *hardware, GError **error)
{
	/* InstanceID -> the item's place (GUINT_TO_POINTER) */
	g_autoptr(GHashTable) positions =
		g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_autoptr(GPtrArray) items = g_ptr_array_new();
	bool have_cpus = false, have_memory = false;

	for (const xmlNode *child = hardware->children; child; child = child->next) {
		g_autofree char *instance = NULL;

		if (!is_item(p, child) || !item_applies(p, child))
			continue;
		instance = item_property(child, "InstanceID");
		if (instance && g_hash_table_contains(positions, instance))
			return fail(error, HG_VM_ERROR_INVALID,
				    "two Items have the InstanceID \"%s\"", shown(p, instance));
		if (instance)
			g_hash_table_insert(positions, g_steal_pointer(&instance),
					    GUINT_TO_POINTER(items->len));
		g_ptr_array_add(items, (gpointer)child);
	}
	for (guint i = 0; i < items->len; i++) {
		const xmlNode *item = g_ptr_array_index(items, i);

		switch (item_resource_type(item)) {
		case RESOURCE_CPU:
			if (!have_cpus && !read_cpus(p, item, error))
				return false;
			have_cpus = true;
			break;
		case RESOURCE_MEMORY:
			if (!have_memory && !read_memory(p, item, error))
				return false;
			have_memory = true;
			break;
		case RESOURCE_ETHERNET:
			p->ovf->nics++;
			break;
		case RESOURCE_DISK_DRIVE:
			if (!read_disk_drive(p, item, i, positions, error))
				return false;
			break;
		default:
			break;
		}
	}
	p->ovf->efi = p->ovf->efi || vmware_efi(hardware);
	return true;
}

typedef struct {
	HgOvfDisk *disk;
	const Attachment *attachment; /* NULL: no drive names it */
	guint section; /* its place in DiskSection */
} DiskOrder;

static int compare_disk_order(const void *a, const void *b)
{
	const DiskOrder *x = a, *y = b;

	if (!x->attachment != !y->attachment)
		return x->attachment ? -1 : 1;
	if (x->attachment) {
		if (x->attachment->controller != y->attachment->controller)
			return x->attachment->controller < y->attachment->controller ? -1 : 1;
		if (x->attachment->address != y->attachment->address)
			return x->attachment->address < y->attachment->address ? -1 : 1;
		if (x->attachment->item != y->attachment->item)
			return x->attachment->item < y->attachment->item ? -1 : 1;
	}
	return x->section < y->section ? -1 : x->section > y->section;
}

static void order_disks(Parser *p)
{
	GPtrArray *disks = p->ovf->disks;
	g_autofree DiskOrder *order = g_new(DiskOrder, MAX(disks->len, 1));

	for (guint i = 0; i < disks->len; i++) {
		HgOvfDisk *disk = g_ptr_array_index(disks, i);

		order[i] = (DiskOrder){disk, g_hash_table_lookup(p->attachments, disk->disk_id), i};
	}
	qsort(order, disks->len, sizeof(*order), compare_disk_order);
	for (guint i = 0; i < disks->len; i++)
		disks->pdata[i] = order[i].disk;
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
			g_autofree char *type = attribute(child, NULL, "type");

			if (type && g_ascii_strncasecmp(type, "EFI", 3) == 0)
				return true;
		}
		if (depth > 1 && virtualbox_efi(child, depth - 1))
			return true;
	}
	return false;
}

static void read_operating_system(Parser *p, const xmlNode *system, const xmlNode *vbox_machine)
{
	const xmlNode *os = first_child(system, p->ns, "OperatingSystemSection");
	HgOvf *ovf = p->ovf;

	if (os) {
		g_autofree char *id = ovf_attribute(p, os, "id");
		guint64 value;

		if (id && g_ascii_string_to_unsigned(id, 10, 0, G_MAXUINT16, &value, NULL))
			ovf->os_cim_id = (gint)value;
		ovf->os_description = child_text(os, p->ns, "Description");
		ovf->os_type = attribute(os, NS_VMW, "osType");
		if (!ovf->os_type)
			ovf->os_type = child_text(os, NS_VBOX, "OSType");
	}
	if (!ovf->os_type && vbox_machine)
		ovf->os_type = attribute(vbox_machine, NULL, "OSType");
	if (ovf->os_type && !*ovf->os_type)
		g_clear_pointer(&ovf->os_type, g_free);
}

static bool read_system(Parser *p, const xmlNode *system, GError **error)
{
	const xmlNode *hardware = first_child(system, p->ns, "VirtualHardwareSection");
	const xmlNode *vbox_machine = first_child(system, NS_VBOX, "Machine");
	HgOvf *ovf = p->ovf;

	ovf->name = child_text(system, p->ns, "Name");
	if (!ovf->name)
		ovf->name = ovf_attribute(p, system, "id");
	if (!ovf->name || !*ovf->name)
		return fail(error, HG_VM_ERROR_INVALID,
			    "the VirtualSystem has neither a Name nor an ovf:id");
	read_operating_system(p, system, vbox_machine);
	ovf->efi = vbox_machine && virtualbox_efi(vbox_machine, 4);
	if (hardware && !read_hardware(p, hardware, error))
		return false;
	order_disks(p);
	return true;
}

/* ---- Envelope ---- */

/* The DeploymentOptionSection's default Configuration (else its first). */
static void read_deployment_options(Parser *p, const xmlNode *options)
{
	for (const xmlNode *child = options->children; child; child = child->next) {
		g_autofree char *id = NULL;
		g_autofree char *is_default = NULL;

		if (!is_element(child, p->ns, "Configuration"))
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

static bool read_envelope(Parser *p, const xmlNode *envelope, GError **error)
{
	const xmlNode *system = NULL;

	for (const xmlNode *child = envelope->children; child; child = child->next) {
		if (is_element(child, p->ns, "VirtualSystemCollection"))
			return fail(
				error, HG_VM_ERROR_UNSUPPORTED,
				"the appliance holds several virtual machines (a "
				"VirtualSystemCollection); only single-machine appliances can be "
				"imported");
		if (is_element(child, p->ns, "VirtualSystem")) {
			if (system)
				return fail(error, HG_VM_ERROR_INVALID,
					    "the Envelope has two VirtualSystems");
			system = child;
		}
	}
	if (!system)
		return fail(error, HG_VM_ERROR_INVALID, "the Envelope has no VirtualSystem");

	/* Files first, wherever the sections are: disks refer to them. */
	for (const xmlNode *child = envelope->children; child; child = child->next) {
		if (!is_element(child, p->ns, "References"))
			continue;
		for (const xmlNode *file = child->children; file; file = file->next)
			if (is_element(file, p->ns, "File") && !read_file(p, file, error))
				return false;
	}
	for (const xmlNode *child = envelope->children; child; child = child->next) {
		if (is_element(child, p->ns, "DiskSection")) {
			for (const xmlNode *disk = child->children; disk; disk = disk->next)
				if (is_element(disk, p->ns, "Disk") && !read_disk(p, disk, error))
					return false;
		} else if (is_element(child, p->ns, "DeploymentOptionSection") &&
			   !p->configuration) {
			read_deployment_options(p, child);
		}
	}
	return read_system(p, system, error);
}

/* ---- XML ---- */

/* The SAX callback for <!DOCTYPE ...>, called before its internal subset
 * is read: the parse stops there, so no entity is ever declared (billion
 * laughs) and none names a file (external entities).  OVF has no DTD. */
static void refuse_doctype(void *context, const xmlChar *name, const xmlChar *external_id,
			   const xmlChar *system_id)
{
	xmlParserCtxt *ctxt = context;

	*(bool *)ctxt->_private = true;
	xmlStopParser(ctxt);
}

static void ignore_error(void *context, const char *format, ...)
{
}

static xmlDoc *read_xml(const char *xml, gsize length, GError **error)
{
	xmlGenericErrorFunc old_handler;
	void *old_context;
	xmlParserCtxt *ctxt;
	xmlDoc *doc;
	bool doctype = false;

	xmlInitParser();
	ctxt = xmlNewParserCtxt();
	if (!ctxt) {
		fail(error, HG_VM_ERROR_INVALID, "out of memory for the XML parser");
		return NULL;
	}
	ctxt->_private = &doctype;
	ctxt->sax->internalSubset = refuse_doctype;
	/* What libxml2 reports outside the context (input that does not
	 * convert from its declared encoding, for one) goes to its generic
	 * handler, stderr, whatever the options say: silenced for this read,
	 * then put back (the handler is per thread). */
	old_handler = xmlGenericError;
	old_context = xmlGenericErrorContext;
	xmlSetGenericErrorFunc(NULL, ignore_error);
	doc = xmlCtxtReadMemory(ctxt, xml, (int)length, NULL, NULL, PARSE_OPTIONS);
	xmlSetGenericErrorFunc(old_context, old_handler);
	if (doctype || (doc && (doc->intSubset || doc->extSubset))) {
		fail(error, HG_VM_ERROR_INVALID,
		     "it has a DOCTYPE, refused: OVF uses no DTD, and a DTD declares entities "
		     "that can expand without end or read files");
		g_clear_pointer(&doc, xmlFreeDoc);
	} else if (!doc || !xmlDocGetRootElement(doc)) {
		const xmlError *last = xmlCtxtGetLastError(ctxt);
		g_autofree char *why = g_strdup(last && last->message ? last->message : "empty");

		fail(error, HG_VM_ERROR_INVALID, "not XML (line %d: %s)", last ? last->line : 0,
		     g_strstrip(why));
		g_clear_pointer(&doc, xmlFreeDoc);
	}
	xmlFreeParserCtxt(ctxt);
	return doc;
}

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
static bool read_document(Parser *p, const xmlNode *root, GError **error)
{
	if (in_namespace(root, NS_OVF09))
		return fail(error, HG_VM_ERROR_UNSUPPORTED,
			    "OVF 0.9 is not supported (export the appliance again as OVF 1.0 or "
			    "later)");
	if (!is_element(root, NS_OVF1, "Envelope") && !is_element(root, NS_OVF2, "Envelope"))
		return fail(
			error, HG_VM_ERROR_INVALID,
			"the root element is <%s> in the namespace \"%s\", not an OVF 1.x or "
			"2.x Envelope",
			shown(p, (const char *)root->name),
			shown(p, root->ns && root->ns->href ? (const char *)root->ns->href : ""));
	p->ns = (const char *)root->ns->href;
	return read_envelope(p, root, error);
}

HgOvf *hg_ovf_parse(const char *xml, gsize length, GError **error)
{
	Parser p = {0};
	xmlDoc *doc;
	bool ok;

	g_return_val_if_fail(xml || !length, NULL);
	if (length > HG_OVF_MAX_BYTES) {
		fail(error, HG_VM_ERROR_INVALID,
		     "%" G_GSIZE_FORMAT " bytes, above the limit of %u MiB (a real one is a few "
		     "KiB)",
		     length, HG_OVF_MAX_BYTES >> 20);
		return NULL;
	}
	if (!length) {
		fail(error, HG_VM_ERROR_INVALID, "empty");
		return NULL;
	}
	doc = read_xml(xml, length, error);
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
