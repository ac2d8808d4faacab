/* vm.json: parse, validate and write a VM's configuration (vm_config.h,
 * docs/vm-config.md).  Everything read from the file is treated as hostile:
 * every member is type-checked and range-checked before it reaches the
 * struct, and an error names the member, so a hand-edited or half-written
 * file is reported, never trusted. */
#include "library/vm/vm_config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

#include "library/block/block.h"

/* Far above any real vm.json; a bigger file is not one of ours. */
#define VM_CONFIG_FILE_MAX (1u << 20)
/* Names are shown in lists and window titles. */
#define VM_NAME_MAX_CHARS 200
/* More than the buses take, so validate() reports the bus limit; an array
 * longer than this is refused before anything is allocated for it. */
#define VM_DISKS_PARSE_MAX 64
#define VM_SATA_MAX 6u
#define VM_VIRTIO_MAX 12u
#define VM_BOOT_INDEX_MAX 999

G_DEFINE_QUARK(hg - vm - error - quark, hg_vm_error)

static const char *const firmware_names[] = {"bios", "uefi"};
static const char *const display_names[] = {"spice", "vnc"};
static const char *const bus_names[] = {"virtio", "sata"};
static const char *const media_names[] = {"disk", "cdrom"};

static bool name_lookup(const char *const *names, unsigned n, const char *s, unsigned *out)
{
	for (unsigned i = 0; s && i < n; i++) {
		if (strcmp(names[i], s) == 0) {
			*out = i;
			return true;
		}
	}
	return false;
}

const char *hg_firmware_to_string(HgFirmware firmware)
{
	return (unsigned)firmware < G_N_ELEMENTS(firmware_names) ? firmware_names[firmware] : NULL;
}

const char *hg_display_protocol_to_string(HgDisplayProtocol p)
{
	return (unsigned)p < G_N_ELEMENTS(display_names) ? display_names[p] : NULL;
}

const char *hg_disk_bus_to_string(HgDiskBus bus)
{
	return (unsigned)bus < G_N_ELEMENTS(bus_names) ? bus_names[bus] : NULL;
}

const char *hg_disk_media_to_string(HgDiskMedia media)
{
	return (unsigned)media < G_N_ELEMENTS(media_names) ? media_names[media] : NULL;
}

bool hg_firmware_from_string(const char *s, HgFirmware *out)
{
	unsigned v;
	if (!name_lookup(firmware_names, G_N_ELEMENTS(firmware_names), s, &v))
		return false;
	*out = v;
	return true;
}

bool hg_display_protocol_from_string(const char *s, HgDisplayProtocol *out)
{
	unsigned v;
	if (!name_lookup(display_names, G_N_ELEMENTS(display_names), s, &v))
		return false;
	*out = v;
	return true;
}

bool hg_disk_bus_from_string(const char *s, HgDiskBus *out)
{
	unsigned v;
	if (!name_lookup(bus_names, G_N_ELEMENTS(bus_names), s, &v))
		return false;
	*out = v;
	return true;
}

bool hg_disk_media_from_string(const char *s, HgDiskMedia *out)
{
	unsigned v;
	if (!name_lookup(media_names, G_N_ELEMENTS(media_names), s, &v))
		return false;
	*out = v;
	return true;
}

/* json_node_copy() shares nested objects and arrays; a config's unknown
 * members must not change when a copy's are edited. */
static JsonNode *json_node_deep_copy(JsonNode *node)
{
	switch (json_node_get_node_type(node)) {
	case JSON_NODE_OBJECT: {
		JsonObject *src = json_node_get_object(node), *dst = json_object_new();
		JsonObjectIter iter;
		const char *name;
		JsonNode *member;
		json_object_iter_init(&iter, src);
		while (json_object_iter_next(&iter, &name, &member))
			json_object_set_member(dst, name, json_node_deep_copy(member));
		JsonNode *copy = json_node_new(JSON_NODE_OBJECT);
		json_node_take_object(copy, dst);
		return copy;
	}
	case JSON_NODE_ARRAY: {
		JsonArray *src = json_node_get_array(node), *dst = json_array_new();
		for (guint i = 0; i < json_array_get_length(src); i++)
			json_array_add_element(dst,
					       json_node_deep_copy(json_array_get_element(src, i)));
		JsonNode *copy = json_node_new(JSON_NODE_ARRAY);
		json_node_take_array(copy, dst);
		return copy;
	}
	default:
		return json_node_copy(node);
	}
}

static JsonObject *json_object_deep_copy(JsonObject *object)
{
	if (!object)
		return NULL;
	g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);
	json_node_set_object(node, object);
	g_autoptr(JsonNode) copy = json_node_deep_copy(node);
	return json_object_ref(json_node_get_object(copy));
}

static void vm_disk_free(HgVmDisk *disk)
{
	if (!disk)
		return;
	g_free(disk->path);
	g_free(disk->format);
	if (disk->unknown)
		json_object_unref(disk->unknown);
	g_free(disk);
}

static HgVmDisk *vm_disk_copy(const HgVmDisk *disk)
{
	HgVmDisk *copy = g_memdup2(disk, sizeof(*disk));
	copy->path = g_strdup(disk->path);
	copy->format = g_strdup(disk->format);
	copy->unknown = json_object_deep_copy(disk->unknown);
	return copy;
}

static HgVmConfig *vm_config_alloc(void)
{
	HgVmConfig *config = g_new0(HgVmConfig, 1);
	config->disks = g_ptr_array_new_with_free_func((GDestroyNotify)vm_disk_free);
	return config;
}

HgVmConfig *hg_vm_config_new(const char *name)
{
	HgVmConfig *config = vm_config_alloc();

	config->name = g_strdup(name);
	config->uuid = g_uuid_string_random();
	config->memory_mib = 1024;
	config->cpus = 1;
	config->firmware = HG_FIRMWARE_BIOS;
	config->display = HG_DISPLAY_SPICE;
	config->created = g_get_real_time() / G_USEC_PER_SEC;
	return config;
}

HgVmConfig *hg_vm_config_copy(const HgVmConfig *config)
{
	HgVmConfig *copy = vm_config_alloc();

	copy->name = g_strdup(config->name);
	copy->uuid = g_strdup(config->uuid);
	copy->os_id = g_strdup(config->os_id);
	copy->os_name = g_strdup(config->os_name);
	copy->memory_mib = config->memory_mib;
	copy->cpus = config->cpus;
	copy->firmware = config->firmware;
	copy->display = config->display;
	copy->boot_menu = config->boot_menu;
	for (guint i = 0; i < config->disks->len; i++)
		g_ptr_array_add(copy->disks, vm_disk_copy(g_ptr_array_index(config->disks, i)));
	copy->kernel = g_strdup(config->kernel);
	copy->initrd = g_strdup(config->initrd);
	copy->append = g_strdup(config->append);
	copy->created = config->created;
	copy->unknown = json_object_deep_copy(config->unknown);
	return copy;
}

void hg_vm_config_free(HgVmConfig *config)
{
	if (!config)
		return;
	g_free(config->name);
	g_free(config->uuid);
	g_free(config->os_id);
	g_free(config->os_name);
	g_ptr_array_unref(config->disks);
	g_free(config->kernel);
	g_free(config->initrd);
	g_free(config->append);
	if (config->unknown)
		json_object_unref(config->unknown);
	g_free(config);
}

HgVmDisk *hg_vm_config_add_disk(HgVmConfig *config, const char *path, HgDiskBus bus,
				HgDiskMedia media)
{
	HgVmDisk *disk = g_new0(HgVmDisk, 1);

	disk->path = g_strdup(path);
	/* A disc is read as it is: an ISO is never probed. */
	disk->format = media == HG_DISK_MEDIA_CDROM ? g_strdup("raw") : NULL;
	disk->bus = bus;
	disk->media = media;
	disk->read_only = media == HG_DISK_MEDIA_CDROM;
	disk->boot_index = -1;
	g_ptr_array_add(config->disks, disk);
	return disk;
}

void hg_vm_config_remove_disk(HgVmConfig *config, unsigned index)
{
	g_return_if_fail(index < config->disks->len);
	g_ptr_array_remove_index(config->disks, index);
}

void hg_vm_disk_set_format(HgVmDisk *disk, const char *format)
{
	char *copy = g_strdup(format);

	g_free(disk->format);
	disk->format = copy;
}

void hg_vm_config_fill_formats(HgVmConfig *config, const HgVmConfig *from)
{
	for (guint i = 0; i < config->disks->len; i++) {
		HgVmDisk *disk = g_ptr_array_index(config->disks, i);
		for (guint j = 0; j < from->disks->len && disk->path && !disk->format; j++) {
			const HgVmDisk *other = g_ptr_array_index(from->disks, j);
			if (other->media == disk->media && g_strcmp0(other->path, disk->path) == 0)
				hg_vm_disk_set_format(disk, other->format);
		}
	}
}

static bool has_control_chars(const char *s)
{
	for (const char *p = s; *p; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);
		if (g_unichar_iscntrl(c) || c == 0x2028 || c == 0x2029)
			return true;
	}
	return false;
}

static bool invalid(GError **error, const char *member, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static bool invalid(GError **error, const char *member, const char *fmt, ...)
{
	va_list args;
	va_start(args, fmt);
	g_autofree char *why = g_strdup_vprintf(fmt, args);
	va_end(args);
	g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID, "member \"%s\": %s", member, why);
	return false;
}

/* A path the engine can be given: the engine's --drive option splits on
 * commas and has no quoting, so an image whose path holds one cannot be
 * passed to it. */
static bool path_valid(const char *path, const char *member, bool comma_allowed, GError **error)
{
	if (!*path)
		return invalid(error, member, "is empty");
	if (!g_utf8_validate(path, -1, NULL) || has_control_chars(path))
		return invalid(error, member, "contains control characters");
	if (!comma_allowed && strchr(path, ','))
		return invalid(error, member,
			       "\"%s\" contains a comma, which the engine's --drive option cannot "
			       "carry: rename the image",
			       path);
	return true;
}

/* The engine opens the disk as its format says (the import formats are
 * read-only in the image layer); an ISO is always raw. */
static bool format_valid(const HgVmDisk *d, const char *member, GError **error)
{
	g_autofree char *shown = NULL;

	if (!d->format)
		return true;
	shown = g_strescape(d->format, NULL);
	if (!hg_block_format_known(d->format))
		return invalid(error, member,
			       "format \"%s\" is not an image format this version knows", shown);
	if (d->media == HG_DISK_MEDIA_CDROM && strcmp(d->format, "raw") != 0)
		return invalid(error, member, "format \"%s\": a CD-ROM drive's image is raw",
			       shown);
	if (d->media == HG_DISK_MEDIA_DISK && !d->read_only && strcmp(d->format, "raw") != 0 &&
	    strcmp(d->format, "qcow2") != 0)
		return invalid(error, member,
			       "format \"%s\" can only be read: a writable disk is raw or qcow2",
			       shown);
	return true;
}

bool hg_vm_config_validate(const HgVmConfig *config, GError **error)
{
	unsigned n_sata = 0, n_virtio = 0;
	GHashTable *boot_indexes;

	if (!config->name || !*config->name)
		return invalid(error, "name", "is empty");
	if (!g_utf8_validate(config->name, -1, NULL))
		return invalid(error, "name", "is not valid UTF-8");
	if (has_control_chars(config->name))
		return invalid(error, "name", "contains control characters");
	{
		g_autofree char *stripped = g_strstrip(g_strdup(config->name));
		if (!*stripped)
			return invalid(error, "name", "is only spaces");
	}
	if (g_utf8_strlen(config->name, -1) > VM_NAME_MAX_CHARS)
		return invalid(error, "name", "is longer than %u characters", VM_NAME_MAX_CHARS);
	if (!config->uuid || !g_uuid_string_is_valid(config->uuid))
		return invalid(error, "uuid", "\"%s\" is not a UUID",
			       config->uuid ? config->uuid : "");
	if (config->os_id && (!*config->os_id || has_control_chars(config->os_id)))
		return invalid(error, "os-id", "is empty or contains control characters");
	if (config->os_name && has_control_chars(config->os_name))
		return invalid(error, "os-name", "contains control characters");
	if (config->memory_mib < HG_VM_MEMORY_MIN_MIB || config->memory_mib > HG_VM_MEMORY_MAX_MIB)
		return invalid(error, "memory-mib", "%u MiB is outside %u to %u MiB",
			       config->memory_mib, HG_VM_MEMORY_MIN_MIB, HG_VM_MEMORY_MAX_MIB);
	if (config->cpus < 1 || config->cpus > HG_VM_CPUS_MAX)
		return invalid(error, "cpus", "%u is outside 1 to %u", config->cpus,
			       HG_VM_CPUS_MAX);
	if (!hg_firmware_to_string(config->firmware))
		return invalid(error, "firmware", "unknown firmware %d", config->firmware);
	if (!hg_display_protocol_to_string(config->display))
		return invalid(error, "display", "unknown display protocol %d", config->display);
	if (config->kernel && !path_valid(config->kernel, "kernel", true, error))
		return false;
	if (config->initrd && !path_valid(config->initrd, "initrd", true, error))
		return false;
	if ((config->initrd || config->append) && !config->kernel)
		return invalid(error, config->initrd ? "initrd" : "append",
			       "needs \"kernel\" (direct kernel boot)");
	if (config->append && has_control_chars(config->append))
		return invalid(error, "append", "contains control characters");
	if (config->created < 0)
		return invalid(error, "created", "is negative");

	boot_indexes = g_hash_table_new(NULL, NULL);
	for (guint i = 0; i < config->disks->len; i++) {
		const HgVmDisk *d = g_ptr_array_index(config->disks, i);
		g_autofree char *member = g_strdup_printf("disks[%u]", i);
		bool ok = true;

		if (!hg_disk_bus_to_string(d->bus))
			ok = invalid(error, member, "unknown bus %d", d->bus);
		else if (!hg_disk_media_to_string(d->media))
			ok = invalid(error, member, "unknown media %d", d->media);
		else if (d->media == HG_DISK_MEDIA_CDROM && d->bus != HG_DISK_BUS_SATA)
			ok = invalid(error, member, "a CD-ROM drive is on the SATA bus");
		else if (d->media == HG_DISK_MEDIA_CDROM && !d->read_only)
			ok = invalid(error, member, "a CD-ROM drive is read-only");
		else if (d->media == HG_DISK_MEDIA_DISK && !d->path)
			ok = invalid(error, member, "a disk needs a \"path\"");
		else if (d->path && !path_valid(d->path, member, false, error))
			ok = false;
		else if (!format_valid(d, member, error))
			ok = false;
		else if (d->boot_index < -1 || d->boot_index > VM_BOOT_INDEX_MAX)
			ok = invalid(error, member, "boot-index %d is outside -1 to %d",
				     d->boot_index, VM_BOOT_INDEX_MAX);
		else if (d->boot_index >= 0 &&
			 g_hash_table_contains(boot_indexes, GINT_TO_POINTER(d->boot_index + 1)))
			ok = invalid(error, member, "boot-index %d is used by another drive",
				     d->boot_index);
		if (!ok) {
			g_hash_table_unref(boot_indexes);
			return false;
		}
		if (d->boot_index >= 0)
			g_hash_table_add(boot_indexes, GINT_TO_POINTER(d->boot_index + 1));
		if (d->bus == HG_DISK_BUS_SATA)
			n_sata++;
		else
			n_virtio++;
	}
	g_hash_table_unref(boot_indexes);
	if (n_sata > VM_SATA_MAX)
		return invalid(error, "disks", "%u SATA drives; the controller has %u ports",
			       n_sata, VM_SATA_MAX);
	if (n_virtio > VM_VIRTIO_MAX)
		return invalid(error, "disks", "%u virtio disks; at most %u fit", n_virtio,
			       VM_VIRTIO_MAX);
	return true;
}

/* ---- parsing ---- */

static const char *node_type_name(JsonNode *node)
{
	switch (json_node_get_node_type(node)) {
	case JSON_NODE_OBJECT:
		return "an object";
	case JSON_NODE_ARRAY:
		return "an array";
	case JSON_NODE_NULL:
		return "null";
	case JSON_NODE_VALUE:
		break;
	}
	switch (json_node_get_value_type(node)) {
	case G_TYPE_INT64:
		return "a number";
	case G_TYPE_DOUBLE:
		return "a fractional number";
	case G_TYPE_BOOLEAN:
		return "true or false";
	case G_TYPE_STRING:
		return "a string";
	default:
		return "a value";
	}
}

static bool wrong_type(GError **error, const char *member, JsonNode *node, const char *wanted)
{
	return invalid(error, member, "is %s, not %s", node_type_name(node), wanted);
}

static bool is_value(JsonNode *node, GType type)
{
	return JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) == type;
}

/* A required string, or an optional one (NULL when missing or null). */
static bool take_string(JsonObject *obj, const char *member, const char *label, bool required,
			char **out, GError **error)
{
	JsonNode *node = json_object_get_member(obj, member);

	if (!node || JSON_NODE_HOLDS_NULL(node)) {
		if (required)
			return invalid(error, label, "is missing");
		return true;
	}
	if (!is_value(node, G_TYPE_STRING))
		return wrong_type(error, label, node, "a string");
	g_free(*out);
	*out = g_strdup(json_node_get_string(node));
	return true;
}

static bool take_int(JsonObject *obj, const char *member, const char *label, bool required,
		     gint64 min, gint64 max, gint64 *out, GError **error)
{
	JsonNode *node = json_object_get_member(obj, member);

	if (!node) {
		if (required)
			return invalid(error, label, "is missing");
		return true;
	}
	if (!is_value(node, G_TYPE_INT64))
		return wrong_type(error, label, node, "a whole number");
	gint64 v = json_node_get_int(node);
	if (v < min || v > max)
		return invalid(error, label,
			       "%" G_GINT64_FORMAT " is outside %" G_GINT64_FORMAT
			       " to %" G_GINT64_FORMAT,
			       v, min, max);
	*out = v;
	return true;
}

static bool take_bool(JsonObject *obj, const char *member, const char *label, bool *out,
		      GError **error)
{
	JsonNode *node = json_object_get_member(obj, member);

	if (!node)
		return true;
	if (!is_value(node, G_TYPE_BOOLEAN))
		return wrong_type(error, label, node, "true or false");
	*out = json_node_get_boolean(node);
	return true;
}

/* An enum member given by name; names[i] is value i. */
static bool take_enum(JsonObject *obj, const char *member, const char *label,
		      const char *const *names, unsigned n_names, unsigned *out, GError **error)
{
	JsonNode *node = json_object_get_member(obj, member);
	g_autoptr(GString) choices = NULL;
	g_autofree char *shown = NULL;

	if (!node)
		return true;
	if (!is_value(node, G_TYPE_STRING))
		return wrong_type(error, label, node, "a string");
	if (name_lookup(names, n_names, json_node_get_string(node), out))
		return true;
	choices = g_string_new(NULL);
	for (unsigned i = 0; i < n_names; i++)
		g_string_append_printf(choices, "%s\"%s\"", i ? ", " : "", names[i]);
	shown = g_strescape(json_node_get_string(node), NULL);
	return invalid(error, label, "\"%s\" is not one of %s", shown, choices->str);
}

#define TAKE_ENUM(obj, member, label, names, out, error)                                           \
	({                                                                                         \
		unsigned value_ = *(out);                                                          \
		bool ok_ =                                                                         \
			take_enum(obj, member, label, names, G_N_ELEMENTS(names), &value_, error); \
		*(out) = value_;                                                                   \
		ok_;                                                                               \
	})

/* The members this version reads; the rest go to ->unknown. */
static const char *const config_members[] = {
	"name",	     "uuid",  "os-id",	"os-name", "memory-mib", "cpus",    "firmware", "display",
	"boot-menu", "disks", "kernel", "initrd",  "append",	 "created", NULL};
static const char *const disk_members[] = {"path",	"format",     "bus", "media",
					   "read-only", "boot-index", NULL};

static JsonObject *collect_unknown(JsonObject *obj, const char *const *known)
{
	JsonObject *unknown = NULL;
	JsonObjectIter iter;
	const char *name;
	JsonNode *member;

	json_object_iter_init(&iter, obj);
	while (json_object_iter_next(&iter, &name, &member)) {
		if (g_strv_contains(known, name))
			continue;
		if (!unknown)
			unknown = json_object_new();
		json_object_set_member(unknown, name, json_node_deep_copy(member));
	}
	return unknown;
}

static HgVmDisk *disk_from_json(JsonNode *node, unsigned index, GError **error)
{
	g_autofree char *label = g_strdup_printf("disks[%u]", index);
	g_autofree char *path_label = g_strdup_printf("disks[%u].path", index);
	g_autofree char *format_label = g_strdup_printf("disks[%u].format", index);
	g_autofree char *bus_label = g_strdup_printf("disks[%u].bus", index);
	g_autofree char *media_label = g_strdup_printf("disks[%u].media", index);
	g_autofree char *ro_label = g_strdup_printf("disks[%u].read-only", index);
	g_autofree char *boot_label = g_strdup_printf("disks[%u].boot-index", index);
	HgVmDisk *disk;
	JsonObject *obj;
	gint64 boot_index = -1;

	if (!JSON_NODE_HOLDS_OBJECT(node)) {
		wrong_type(error, label, node, "an object");
		return NULL;
	}
	obj = json_node_get_object(node);
	disk = g_new0(HgVmDisk, 1);
	disk->boot_index = -1;
	if (!json_object_has_member(obj, "bus")) {
		invalid(error, bus_label, "is missing");
		goto fail;
	}
	if (!take_string(obj, "path", path_label, false, &disk->path, error) ||
	    !take_string(obj, "format", format_label, false, &disk->format, error) ||
	    !TAKE_ENUM(obj, "bus", bus_label, bus_names, &disk->bus, error) ||
	    !TAKE_ENUM(obj, "media", media_label, media_names, &disk->media, error) ||
	    !take_bool(obj, "read-only", ro_label, &disk->read_only, error) ||
	    !take_int(obj, "boot-index", boot_label, false, -1, VM_BOOT_INDEX_MAX, &boot_index,
		      error))
		goto fail;
	disk->boot_index = (int)boot_index;
	/* A CD-ROM is read-only whatever the file says; validate() checks the
	 * rest. */
	if (disk->media == HG_DISK_MEDIA_CDROM && !json_object_has_member(obj, "read-only"))
		disk->read_only = true;
	/* Discs were never probed, so an older file's drive is raw; a disk
	 * without a format stays NULL until it is recorded (vm_config.h). */
	if (disk->media == HG_DISK_MEDIA_CDROM && !disk->format)
		disk->format = g_strdup("raw");
	disk->unknown = collect_unknown(obj, disk_members);
	return disk;
fail:
	vm_disk_free(disk);
	return NULL;
}

/* json-glib turns a \u0000 escape into a NUL inside the string and hands
 * back only the part before it, so a name or path would be silently cut
 * short.  Such text is refused instead: an escape is a backslash preceded by
 * an even number of backslashes. */
static bool has_nul_escape(const char *text, gsize length)
{
	for (gsize i = 0; i + 6 <= length; i++) {
		gsize slashes = 0;
		if (text[i] != '\\' || (text[i + 1] != 'u' && text[i + 1] != 'U') ||
		    memcmp(text + i + 2, "0000", 4) != 0)
			continue;
		while (slashes < i && text[i - 1 - slashes] == '\\')
			slashes++;
		if (slashes % 2 == 0)
			return true;
	}
	return false;
}

/* json-glib wraps integers beyond 64 bits around instead of refusing them
 * (18446744073709551617 reads as 1), so a huge number could pass a range
 * check.  No member needs more than 18 digits; longer runs of digits outside
 * strings are refused. */
static bool has_huge_number(const char *text, gsize length)
{
	bool in_string = false;
	gsize digits = 0;

	for (gsize i = 0; i < length; i++) {
		char c = text[i];
		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
			continue;
		}
		if (c == '"') {
			in_string = true;
			digits = 0;
		} else if (g_ascii_isdigit(c)) {
			if (++digits > 18)
				return true;
		} else {
			digits = 0;
		}
	}
	return false;
}

HgVmConfig *hg_vm_config_from_json(const char *text, gssize length, GError **error)
{
	g_autoptr(JsonParser) parser = json_parser_new_immutable();
	g_autoptr(GError) parse_error = NULL;
	g_autoptr(HgVmConfig) config = NULL;
	JsonNode *root, *disks;
	JsonObject *obj;
	gint64 memory = 0, cpus = 0, created = 0;

	if (length < 0)
		length = strlen(text);
	if ((gsize)length > VM_CONFIG_FILE_MAX) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_PARSE,
			    "the configuration is larger than %u KiB", VM_CONFIG_FILE_MAX >> 10);
		return NULL;
	}
	if (memchr(text, '\0', length)) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_PARSE,
			    "the configuration contains a NUL byte: it is not JSON text");
		return NULL;
	}
	if (!g_utf8_validate_len(text, length, NULL)) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_PARSE,
			    "the configuration is not valid UTF-8");
		return NULL;
	}
	if (has_huge_number(text, length)) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_PARSE,
			    "the configuration holds a number of more than 18 digits, larger than "
			    "any member takes");
		return NULL;
	}
	if (has_nul_escape(text, length)) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_PARSE,
			    "the configuration contains a \\u0000 (NUL) escape, which no member "
			    "may hold");
		return NULL;
	}
	if (!json_parser_load_from_data(parser, text, length, &parse_error)) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_PARSE, "not valid JSON: %s",
			    parse_error->message);
		return NULL;
	}
	root = json_parser_get_root(parser);
	if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_PARSE,
			    "the configuration is %s, not a JSON object",
			    root ? node_type_name(root) : "empty");
		return NULL;
	}
	obj = json_node_get_object(root);
	config = vm_config_alloc();
	config->firmware = HG_FIRMWARE_BIOS;
	config->display = HG_DISPLAY_SPICE;
	if (!take_string(obj, "name", "name", true, &config->name, error) ||
	    !take_string(obj, "uuid", "uuid", true, &config->uuid, error) ||
	    !take_string(obj, "os-id", "os-id", false, &config->os_id, error) ||
	    !take_string(obj, "os-name", "os-name", false, &config->os_name, error) ||
	    !take_int(obj, "memory-mib", "memory-mib", true, HG_VM_MEMORY_MIN_MIB,
		      HG_VM_MEMORY_MAX_MIB, &memory, error) ||
	    !take_int(obj, "cpus", "cpus", true, 1, HG_VM_CPUS_MAX, &cpus, error) ||
	    !TAKE_ENUM(obj, "firmware", "firmware", firmware_names, &config->firmware, error) ||
	    !TAKE_ENUM(obj, "display", "display", display_names, &config->display, error) ||
	    !take_bool(obj, "boot-menu", "boot-menu", &config->boot_menu, error) ||
	    !take_string(obj, "kernel", "kernel", false, &config->kernel, error) ||
	    !take_string(obj, "initrd", "initrd", false, &config->initrd, error) ||
	    !take_string(obj, "append", "append", false, &config->append, error) ||
	    !take_int(obj, "created", "created", false, 0, G_MAXINT64, &created, error))
		return NULL;
	config->memory_mib = memory;
	config->cpus = cpus;
	config->created = created;

	disks = json_object_get_member(obj, "disks");
	if (disks && !JSON_NODE_HOLDS_NULL(disks)) {
		JsonArray *array;
		if (!JSON_NODE_HOLDS_ARRAY(disks)) {
			wrong_type(error, "disks", disks, "an array");
			return NULL;
		}
		array = json_node_get_array(disks);
		if (json_array_get_length(array) > VM_DISKS_PARSE_MAX) {
			invalid(error, "disks", "%u drives; at most %u SATA and %u virtio fit",
				json_array_get_length(array), VM_SATA_MAX, VM_VIRTIO_MAX);
			return NULL;
		}
		for (guint i = 0; i < json_array_get_length(array); i++) {
			HgVmDisk *disk = disk_from_json(json_array_get_element(array, i), i, error);
			if (!disk)
				return NULL;
			g_ptr_array_add(config->disks, disk);
		}
	}
	config->unknown = collect_unknown(obj, config_members);
	if (!hg_vm_config_validate(config, error))
		return NULL;
	return g_steal_pointer(&config);
}

/* ---- writing ---- */

static void set_string_or_null(JsonObject *obj, const char *member, const char *value)
{
	if (value)
		json_object_set_string_member(obj, member, value);
	else
		json_object_set_null_member(obj, member);
}

static void add_unknown(JsonObject *obj, JsonObject *unknown)
{
	JsonObjectIter iter;
	const char *name;
	JsonNode *member;

	if (!unknown)
		return;
	json_object_iter_init(&iter, unknown);
	while (json_object_iter_next(&iter, &name, &member))
		if (!json_object_has_member(obj, name))
			json_object_set_member(obj, name, json_node_deep_copy(member));
}

char *hg_vm_config_to_json(const HgVmConfig *config)
{
	g_autoptr(JsonObject) obj = json_object_new();
	g_autoptr(JsonNode) root = json_node_new(JSON_NODE_OBJECT);
	g_autoptr(JsonGenerator) gen = json_generator_new();
	JsonArray *disks = json_array_new();

	json_object_set_string_member(obj, "name", config->name ? config->name : "");
	json_object_set_string_member(obj, "uuid", config->uuid ? config->uuid : "");
	set_string_or_null(obj, "os-id", config->os_id);
	set_string_or_null(obj, "os-name", config->os_name);
	json_object_set_int_member(obj, "memory-mib", config->memory_mib);
	json_object_set_int_member(obj, "cpus", config->cpus);
	set_string_or_null(obj, "firmware", hg_firmware_to_string(config->firmware));
	set_string_or_null(obj, "display", hg_display_protocol_to_string(config->display));
	json_object_set_boolean_member(obj, "boot-menu", config->boot_menu);
	for (guint i = 0; i < config->disks->len; i++) {
		const HgVmDisk *d = g_ptr_array_index(config->disks, i);
		JsonObject *disk = json_object_new();
		set_string_or_null(disk, "path", d->path);
		/* Not recorded yet: left out, as an older Hangar wrote it. */
		if (d->format)
			json_object_set_string_member(disk, "format", d->format);
		set_string_or_null(disk, "bus", hg_disk_bus_to_string(d->bus));
		set_string_or_null(disk, "media", hg_disk_media_to_string(d->media));
		json_object_set_boolean_member(disk, "read-only", d->read_only);
		json_object_set_int_member(disk, "boot-index", d->boot_index);
		add_unknown(disk, d->unknown);
		json_array_add_object_element(disks, disk);
	}
	json_object_set_array_member(obj, "disks", disks);
	set_string_or_null(obj, "kernel", config->kernel);
	set_string_or_null(obj, "initrd", config->initrd);
	set_string_or_null(obj, "append", config->append);
	json_object_set_int_member(obj, "created", config->created);
	add_unknown(obj, config->unknown);

	json_node_set_object(root, obj);
	json_generator_set_root(gen, root);
	json_generator_set_pretty(gen, TRUE);
	json_generator_set_indent(gen, 2);
	g_autofree char *text = json_generator_to_data(gen, NULL);
	return g_strconcat(text, "\n", NULL);
}

HgVmConfig *hg_vm_config_load(const char *path, GError **error)
{
	g_autofree char *text = NULL;
	g_autoptr(GError) local = NULL;
	gsize length;
	HgVmConfig *config;
	GStatBuf st;

	/* Refuse a huge file before reading it into memory. */
	if (g_stat(path, &st) == 0 && st.st_size > VM_CONFIG_FILE_MAX) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_PARSE,
			    "%s: larger than %u KiB, not a VM configuration", path,
			    VM_CONFIG_FILE_MAX >> 10);
		return NULL;
	}
	if (!g_file_get_contents(path, &text, &length, &local)) {
		g_set_error(error, HG_VM_ERROR,
			    g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT)
				    ? HG_VM_ERROR_NOT_FOUND
				    : HG_VM_ERROR_IO,
			    "%s", local->message);
		return NULL;
	}
	if (length == 0) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_PARSE, "%s: the file is empty", path);
		return NULL;
	}
	config = hg_vm_config_from_json(text, length, error);
	if (!config)
		g_prefix_error(error, "%s: ", path);
	return config;
}

bool hg_vm_config_save(const HgVmConfig *config, const char *path, GError **error)
{
	g_autofree char *text = NULL;
	g_autoptr(GError) local = NULL;

	if (!hg_vm_config_validate(config, error))
		return false;
	text = hg_vm_config_to_json(config);
	/* CONSISTENT: temporary file, fsync, rename; DURABLE: the folder is
	 * synced too, so the rename survives a power cut. */
	if (!g_file_set_contents_full(path, text, -1,
				      G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
				      0600, &local)) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_IO, "cannot save %s: %s", path,
			    local->message);
		return false;
	}
	return true;
}
