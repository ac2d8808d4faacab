/* The OVF reader's VirtualHardwareSection (ovf_private.h): its CIM
 * resource allocation items (Item, and OVF 2's StorageItem and
 * EthernetPortItem) as CPUs, memory, network cards and the drives that
 * attach disks, VMware's firmware setting, and the boot order of the disks
 * that follows from the drives. */
#include "library/import/ovf_private.h"

#include <stdlib.h>
#include <string.h>

#include "library/vm/vm_config.h"

/* CIM_ResourceAllocationSettingData.ResourceType values. */
enum {
	RESOURCE_CPU = 3,
	RESOURCE_MEMORY = 4,
	RESOURCE_ETHERNET = 10,
	RESOURCE_DISK_DRIVE = 17,
};

#define MIB (G_GUINT64_CONSTANT(1) << 20)

/* Where a disk drive item puts its disk. */
typedef struct {
	guint controller; /* the parent item's place among the items; G_MAXUINT: none */
	guint64 address; /* AddressOnParent; G_MAXUINT64 when absent */
	guint item; /* the drive item's own place */
} Attachment;

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

static bool is_item(HgOvfParser *p, const xmlNode *node)
{
	return hg_ovf_is_element(node, p->ns, "Item") ||
	       hg_ovf_is_element(node, p->ns, "StorageItem") ||
	       hg_ovf_is_element(node, p->ns, "EthernetPortItem");
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
			char *text = hg_ovf_element_text(child);

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
static bool item_applies(HgOvfParser *p, const xmlNode *item)
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

static bool read_cpus(HgOvfParser *p, const xmlNode *item, GError **error)
{
	g_autofree char *quantity = item_property(item, "VirtualQuantity");
	guint64 cpus;

	if (!quantity)
		return true;
	if (!hg_ovf_parse_number(p, quantity, "the CPU count", &cpus, error))
		return false;
	if (cpus > HG_OVF_MAX_CPUS)
		return hg_ovf_fail(error, HG_VM_ERROR_INVALID, "%s CPUs is absurd (at most %u)",
				   hg_ovf_shown(p, quantity), HG_OVF_MAX_CPUS);
	p->ovf->cpus = (guint)cpus;
	return true;
}

static bool read_memory(HgOvfParser *p, const xmlNode *item, GError **error)
{
	g_autofree char *quantity = item_property(item, "VirtualQuantity");
	g_autofree char *units = item_property(item, "AllocationUnits");
	guint64 count, unit, bytes;

	if (!quantity)
		return true;
	if (!units)
		units = item_property(item, "VirtualQuantityUnits");
	if (!hg_ovf_parse_number(p, quantity, "the memory size", &count, error))
		return false;
	/* Both VirtualBox and VMware name the unit; MiB is what a descriptor
	 * without one means, in the few seen. */
	if (!hg_ovf_unit_bytes(units, MIB, &unit))
		return hg_ovf_fail(error, HG_VM_ERROR_INVALID,
				   "the memory is counted in \"%s\", which is not a unit of bytes",
				   hg_ovf_shown(p, units));
	if (!g_uint64_checked_mul(&bytes, count, unit) ||
	    bytes / MIB + (bytes % MIB != 0) > HG_OVF_MAX_MEMORY_MIB)
		return hg_ovf_fail(error, HG_VM_ERROR_INVALID,
				   "the memory size (%s x \"%s\") is absurd: over 16 TiB",
				   hg_ovf_shown(p, quantity), hg_ovf_shown(p, units ? units : ""));
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

static bool read_disk_drive(HgOvfParser *p, const xmlNode *item, guint position,
			    GHashTable *positions, GError **error)
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
		resource = hg_ovf_element_text(child);
		disk_id = host_resource_disk(resource);
		if (!disk_id)
			continue;
		if (!g_hash_table_contains(p->disks, disk_id))
			return hg_ovf_fail(
				error, HG_VM_ERROR_INVALID,
				"a disk drive refers to the disk \"%s\", which DiskSection "
				"does not list",
				hg_ovf_shown(p, disk_id));
		if (g_hash_table_contains(p->attachments, disk_id))
			return hg_ovf_fail(error, HG_VM_ERROR_INVALID,
					   "the disk \"%s\" is in two disk drives",
					   hg_ovf_shown(p, disk_id));
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

		if (!hg_ovf_is_element(child, NS_VMW, "Config") &&
		    !hg_ovf_is_element(child, NS_VMW, "ExtraConfig"))
			continue;
		key = hg_ovf_attribute(child, NS_VMW, "key");
		value = hg_ovf_attribute(child, NS_VMW, "value");
		if (key && value && strcmp(key, "firmware") == 0)
			efi = g_ascii_strcasecmp(value, "efi") == 0;
	}
	return efi;
}

bool hg_ovf_read_hardware(HgOvfParser *p, const xmlNode *hardware, GError **error)
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
			return hg_ovf_fail(error, HG_VM_ERROR_INVALID,
					   "two Items have the InstanceID \"%s\"",
					   hg_ovf_shown(p, instance));
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

void hg_ovf_order_disks(HgOvfParser *p)
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
