/* vm.json: round trip, defaults, unknown members, validation, and broken
 * input that must give an error naming the problem, never a crash. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "library/vm/vm_config.h"

static const char *const valid_uuid = "6f1c1f3e-9d7a-4b8e-a3b0-2c4d5e6f7a8b";

static HgVmConfig *full_config(void)
{
	HgVmConfig *c = hg_vm_config_new("Debian 12 — work");
	HgVmDisk *d;

	g_free(c->os_id);
	c->os_id = g_strdup("debian12");
	c->os_name = g_strdup("Debian 12");
	c->memory_mib = 2048;
	c->cpus = 4;
	c->firmware = HG_FIRMWARE_UEFI;
	c->display = HG_DISPLAY_VNC;
	c->boot_menu = true;
	d = hg_vm_config_add_disk(c, "disk.img", HG_DISK_BUS_VIRTIO, HG_DISK_MEDIA_DISK);
	hg_vm_disk_set_format(d, "raw");
	d->boot_index = 1;
	d = hg_vm_config_add_disk(c, "/srv/iso/debian.iso", HG_DISK_BUS_SATA, HG_DISK_MEDIA_CDROM);
	d->boot_index = 0;
	hg_vm_config_add_disk(c, NULL, HG_DISK_BUS_SATA, HG_DISK_MEDIA_CDROM);
	d = hg_vm_config_add_disk(c, "data.img", HG_DISK_BUS_SATA, HG_DISK_MEDIA_DISK);
	hg_vm_disk_set_format(d, "qcow2");
	d->read_only = true;
	return c;
}

static void assert_same(const HgVmConfig *a, const HgVmConfig *b)
{
	g_assert_cmpstr(a->name, ==, b->name);
	g_assert_cmpstr(a->uuid, ==, b->uuid);
	g_assert_cmpstr(a->os_id, ==, b->os_id);
	g_assert_cmpstr(a->os_name, ==, b->os_name);
	g_assert_cmpuint(a->memory_mib, ==, b->memory_mib);
	g_assert_cmpuint(a->cpus, ==, b->cpus);
	g_assert_cmpint(a->firmware, ==, b->firmware);
	g_assert_cmpint(a->display, ==, b->display);
	g_assert_cmpint(a->boot_menu, ==, b->boot_menu);
	g_assert_cmpstr(a->kernel, ==, b->kernel);
	g_assert_cmpstr(a->initrd, ==, b->initrd);
	g_assert_cmpstr(a->append, ==, b->append);
	g_assert_cmpint(a->created, ==, b->created);
	g_assert_cmpuint(a->disks->len, ==, b->disks->len);
	for (guint i = 0; i < a->disks->len; i++) {
		const HgVmDisk *x = g_ptr_array_index(a->disks, i);
		const HgVmDisk *y = g_ptr_array_index(b->disks, i);
		g_assert_cmpstr(x->path, ==, y->path);
		g_assert_cmpstr(x->format, ==, y->format);
		g_assert_cmpint(x->bus, ==, y->bus);
		g_assert_cmpint(x->media, ==, y->media);
		g_assert_cmpint(x->read_only, ==, y->read_only);
		g_assert_cmpint(x->boot_index, ==, y->boot_index);
	}
}

static void test_round_trip(void)
{
	g_autoptr(HgVmConfig) c = full_config();
	g_autoptr(GError) error = NULL;
	g_autofree char *json = hg_vm_config_to_json(c);
	g_autoptr(HgVmConfig) back = hg_vm_config_from_json(json, -1, &error);

	g_assert_no_error(error);
	assert_same(c, back);
	/* Written again, the text is the same. */
	g_autofree char *again = hg_vm_config_to_json(back);
	g_assert_cmpstr(json, ==, again);
	/* Every drive's format, a disc's too. */
	g_assert_nonnull(strstr(json, "\"format\" : \"qcow2\""));
	for (guint i = 0; i < back->disks->len; i++)
		g_assert_nonnull(((HgVmDisk *)g_ptr_array_index(back->disks, i))->format);
	g_assert_cmpstr(((HgVmDisk *)g_ptr_array_index(back->disks, 1))->format, ==, "raw");
}

/* A vm.json from before formats were recorded: its disks have none (the
 * next start records them), its CD-ROM drives are raw as they always were,
 * and it is written back without inventing one. */
static void test_old_file_without_formats(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *json = g_strdup_printf(
		"{\"name\": \"old\", \"uuid\": \"%s\", \"memory-mib\": 64, \"cpus\": 1,"
		" \"disks\": [{\"path\": \"disk.img\", \"bus\": \"virtio\"},"
		" {\"path\": \"/srv/a.iso\", \"bus\": \"sata\", \"media\": \"cdrom\"},"
		" {\"path\": \"new.qcow2\", \"bus\": \"sata\", \"format\": \"qcow2\"}]}",
		valid_uuid);
	g_autoptr(HgVmConfig) c = hg_vm_config_from_json(json, -1, &error);
	g_autofree char *out = NULL;
	g_autoptr(HgVmConfig) back = NULL;

	g_assert_no_error(error);
	g_assert_null(((HgVmDisk *)g_ptr_array_index(c->disks, 0))->format);
	g_assert_cmpstr(((HgVmDisk *)g_ptr_array_index(c->disks, 1))->format, ==, "raw");
	g_assert_cmpstr(((HgVmDisk *)g_ptr_array_index(c->disks, 2))->format, ==, "qcow2");
	g_assert_null(((HgVmDisk *)g_ptr_array_index(c->disks, 0))->unknown);
	out = hg_vm_config_to_json(c);
	back = hg_vm_config_from_json(out, -1, &error);
	g_assert_no_error(error);
	assert_same(c, back);
	/* The disk's object has no "format" until one is recorded. */
	g_autoptr(JsonParser) parser = json_parser_new();
	g_assert_true(json_parser_load_from_data(parser, out, -1, NULL));
	JsonArray *disks = json_object_get_array_member(
		json_node_get_object(json_parser_get_root(parser)), "disks");
	g_assert_false(json_object_has_member(json_array_get_object_element(disks, 0), "format"));
	g_assert_cmpstr(
		json_object_get_string_member(json_array_get_object_element(disks, 1), "format"),
		==, "raw");
}

/* A snapshot's older copy of vm.json takes the formats recorded since for
 * the same images, and nothing for others. */
static void test_fill_formats(void)
{
	g_autoptr(HgVmConfig) now = hg_vm_config_new("now");
	g_autoptr(HgVmConfig) then = hg_vm_config_new("then");

	hg_vm_disk_set_format(
		hg_vm_config_add_disk(now, "disk.qcow2", HG_DISK_BUS_VIRTIO, HG_DISK_MEDIA_DISK),
		"qcow2");
	hg_vm_disk_set_format(
		hg_vm_config_add_disk(now, "/srv/ro.img", HG_DISK_BUS_SATA, HG_DISK_MEDIA_DISK),
		"raw");
	hg_vm_config_add_disk(then, "/srv/other.img", HG_DISK_BUS_SATA, HG_DISK_MEDIA_DISK);
	hg_vm_config_add_disk(then, "disk.qcow2", HG_DISK_BUS_VIRTIO, HG_DISK_MEDIA_DISK);
	hg_vm_disk_set_format(
		hg_vm_config_add_disk(then, "/srv/ro.img", HG_DISK_BUS_SATA, HG_DISK_MEDIA_DISK),
		"qcow2");
	hg_vm_config_fill_formats(then, now);
	g_assert_null(((HgVmDisk *)g_ptr_array_index(then->disks, 0))->format);
	g_assert_cmpstr(((HgVmDisk *)g_ptr_array_index(then->disks, 1))->format, ==, "qcow2");
	/* A recorded format is never replaced. */
	g_assert_cmpstr(((HgVmDisk *)g_ptr_array_index(then->disks, 2))->format, ==, "qcow2");
}

static void test_save_and_load(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *dir = g_dir_make_tmp("hangar-vm-config-XXXXXX", &error);
	g_autofree char *path = g_build_filename(dir, "vm.json", NULL);
	g_autoptr(HgVmConfig) c = full_config();
	g_autoptr(HgVmConfig) back = NULL;
	GStatBuf st;

	g_assert_no_error(error);
	g_assert_true(hg_vm_config_save(c, path, &error));
	g_assert_no_error(error);
	g_assert_cmpint(g_stat(path, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 0777, ==, 0600);
	back = hg_vm_config_load(path, &error);
	g_assert_no_error(error);
	assert_same(c, back);

	/* An invalid config is not written, and the old file stays. */
	c->memory_mib = 1;
	g_assert_false(hg_vm_config_save(c, path, &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID);
	g_clear_pointer(&back, hg_vm_config_free);
	back = hg_vm_config_load(path, NULL);
	g_assert_nonnull(back);
	g_assert_cmpuint(back->memory_mib, ==, 2048);

	g_unlink(path);
	g_rmdir(dir);
}

static void test_defaults(void)
{
	g_autoptr(HgVmConfig) c = hg_vm_config_new("x");
	g_autoptr(HgVmConfig) other = hg_vm_config_new("y");
	g_autoptr(GError) error = NULL;
	g_autofree char *json = NULL;
	g_autoptr(HgVmConfig) minimal = NULL;

	g_assert_cmpuint(c->memory_mib, ==, 1024);
	g_assert_cmpuint(c->cpus, ==, 1);
	g_assert_cmpint(c->firmware, ==, HG_FIRMWARE_BIOS);
	g_assert_cmpint(c->display, ==, HG_DISPLAY_SPICE);
	g_assert_false(c->boot_menu);
	g_assert_cmpuint(c->disks->len, ==, 0);
	g_assert_true(g_uuid_string_is_valid(c->uuid));
	g_assert_cmpstr(c->uuid, !=, other->uuid);
	g_assert_cmpint(c->created, >, 1700000000);
	g_assert_true(hg_vm_config_validate(c, &error));

	/* Optional members left out take their defaults. */
	json = g_strdup_printf("{\"name\": \"m\", \"uuid\": \"%s\", \"memory-mib\": 64, "
			       "\"cpus\": 2}",
			       valid_uuid);
	minimal = hg_vm_config_from_json(json, -1, &error);
	g_assert_no_error(error);
	g_assert_cmpint(minimal->firmware, ==, HG_FIRMWARE_BIOS);
	g_assert_cmpint(minimal->display, ==, HG_DISPLAY_SPICE);
	g_assert_null(minimal->os_id);
	g_assert_null(minimal->kernel);
	g_assert_cmpuint(minimal->disks->len, ==, 0);

	HgVmDisk *d = hg_vm_config_add_disk(c, NULL, HG_DISK_BUS_SATA, HG_DISK_MEDIA_CDROM);
	g_assert_true(d->read_only);
	g_assert_cmpint(d->boot_index, ==, -1);
	hg_vm_config_remove_disk(c, 0);
	g_assert_cmpuint(c->disks->len, ==, 0);
}

static void test_unknown_members_kept(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *json = g_strdup_printf(
		"{\"name\": \"n\", \"uuid\": \"%s\", \"memory-mib\": 64, \"cpus\": 1,"
		" \"future-setting\": {\"deep\": [1, 2, {\"x\": null}]}, \"tpm\": true,"
		" \"disks\": [{\"path\": \"a.img\", \"bus\": \"virtio\", \"cache\": \"none\"}]}",
		valid_uuid);
	g_autoptr(HgVmConfig) c = hg_vm_config_from_json(json, -1, &error);
	g_assert_no_error(error);
	g_assert_nonnull(c->unknown);
	g_assert_true(json_object_has_member(c->unknown, "future-setting"));
	g_assert_true(json_object_get_boolean_member(c->unknown, "tpm"));

	/* Kept through a copy, an edit and a write. */
	g_autoptr(HgVmConfig) copy = hg_vm_config_copy(c);
	copy->memory_mib = 128;
	g_autofree char *out = hg_vm_config_to_json(copy);
	g_autoptr(HgVmConfig) back = hg_vm_config_from_json(out, -1, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(back->memory_mib, ==, 128);
	JsonObject *future = json_object_get_object_member(back->unknown, "future-setting");
	g_assert_nonnull(future);
	g_assert_cmpuint(json_array_get_length(json_object_get_array_member(future, "deep")), ==,
			 3);
	g_assert_true(json_object_get_boolean_member(back->unknown, "tpm"));
	const HgVmDisk *d = g_ptr_array_index(back->disks, 0);
	g_assert_nonnull(d->unknown);
	g_assert_cmpstr(json_object_get_string_member(d->unknown, "cache"), ==, "none");

	/* The copy is deep: changing it leaves the original alone. */
	json_object_set_boolean_member(copy->unknown, "tpm", false);
	g_assert_true(json_object_get_boolean_member(c->unknown, "tpm"));
}

/* Each rule of hg_vm_config_validate, with the member its error names. */
typedef void (*Breaker)(HgVmConfig *c);

static void break_name_empty(HgVmConfig *c)
{
	g_free(c->name);
	c->name = g_strdup("");
}
static void break_name_control(HgVmConfig *c)
{
	g_free(c->name);
	c->name = g_strdup("bad\nname");
}
static void break_name_spaces(HgVmConfig *c)
{
	g_free(c->name);
	c->name = g_strdup("   ");
}
static void break_name_long(HgVmConfig *c)
{
	g_free(c->name);
	c->name = g_strnfill(300, 'a');
}
static void break_uuid(HgVmConfig *c)
{
	g_free(c->uuid);
	c->uuid = g_strdup("not-a-uuid");
}
static void break_memory_low(HgVmConfig *c)
{
	c->memory_mib = 8;
}
static void break_memory_high(HgVmConfig *c)
{
	c->memory_mib = HG_VM_MEMORY_MAX_MIB + 1;
}
static void break_cpus_zero(HgVmConfig *c)
{
	c->cpus = 0;
}
static void break_cpus_high(HgVmConfig *c)
{
	c->cpus = 65;
}
static void break_too_many_sata(HgVmConfig *c)
{
	for (int i = 0; i < 7; i++)
		hg_vm_config_add_disk(c, "d.img", HG_DISK_BUS_SATA, HG_DISK_MEDIA_DISK);
}
static void break_too_many_virtio(HgVmConfig *c)
{
	for (int i = 0; i < 13; i++)
		hg_vm_config_add_disk(c, "d.img", HG_DISK_BUS_VIRTIO, HG_DISK_MEDIA_DISK);
}
static void break_cdrom_on_virtio(HgVmConfig *c)
{
	hg_vm_config_add_disk(c, "a.iso", HG_DISK_BUS_VIRTIO, HG_DISK_MEDIA_CDROM);
}
static void break_cdrom_writable(HgVmConfig *c)
{
	hg_vm_config_add_disk(c, "a.iso", HG_DISK_BUS_SATA, HG_DISK_MEDIA_CDROM)->read_only = false;
}
static void break_disk_without_path(HgVmConfig *c)
{
	hg_vm_config_add_disk(c, NULL, HG_DISK_BUS_VIRTIO, HG_DISK_MEDIA_DISK);
}
static void break_duplicate_boot_index(HgVmConfig *c)
{
	hg_vm_config_add_disk(c, "a.img", HG_DISK_BUS_VIRTIO, HG_DISK_MEDIA_DISK)->boot_index = 0;
	hg_vm_config_add_disk(c, "b.img", HG_DISK_BUS_VIRTIO, HG_DISK_MEDIA_DISK)->boot_index = 0;
}
static void break_boot_index_range(HgVmConfig *c)
{
	hg_vm_config_add_disk(c, "a.img", HG_DISK_BUS_VIRTIO, HG_DISK_MEDIA_DISK)->boot_index =
		1000;
}
static void break_path_comma(HgVmConfig *c)
{
	hg_vm_config_add_disk(c, "a,b.img", HG_DISK_BUS_VIRTIO, HG_DISK_MEDIA_DISK);
}
static void break_path_empty(HgVmConfig *c)
{
	hg_vm_config_add_disk(c, "", HG_DISK_BUS_VIRTIO, HG_DISK_MEDIA_DISK);
}
static void break_initrd_without_kernel(HgVmConfig *c)
{
	c->initrd = g_strdup("initrd.img");
}
static void break_append_without_kernel(HgVmConfig *c)
{
	c->append = g_strdup("console=ttyS0");
}
static void break_firmware(HgVmConfig *c)
{
	c->firmware = 7;
}
static void break_display(HgVmConfig *c)
{
	c->display = 7;
}
static void break_created(HgVmConfig *c)
{
	c->created = -5;
}
static void break_format_unknown(HgVmConfig *c)
{
	hg_vm_disk_set_format(
		hg_vm_config_add_disk(c, "a.img", HG_DISK_BUS_VIRTIO, HG_DISK_MEDIA_DISK), "qcow3");
}
static void break_format_writable_vmdk(HgVmConfig *c)
{
	hg_vm_disk_set_format(
		hg_vm_config_add_disk(c, "a.vmdk", HG_DISK_BUS_VIRTIO, HG_DISK_MEDIA_DISK), "vmdk");
}
static void break_format_cdrom_qcow2(HgVmConfig *c)
{
	hg_vm_disk_set_format(
		hg_vm_config_add_disk(c, "a.iso", HG_DISK_BUS_SATA, HG_DISK_MEDIA_CDROM), "qcow2");
}

static const struct {
	const char *rule;
	Breaker breaker;
	const char *member;
} validation_rules[] = {
	{"name-empty", break_name_empty, "\"name\""},
	{"name-control-chars", break_name_control, "\"name\""},
	{"name-only-spaces", break_name_spaces, "\"name\""},
	{"name-too-long", break_name_long, "\"name\""},
	{"uuid", break_uuid, "\"uuid\""},
	{"memory-below-minimum", break_memory_low, "\"memory-mib\""},
	{"memory-above-maximum", break_memory_high, "\"memory-mib\""},
	{"cpus-zero", break_cpus_zero, "\"cpus\""},
	{"cpus-above-64", break_cpus_high, "\"cpus\""},
	{"seven-sata-drives", break_too_many_sata, "\"disks\""},
	{"thirteen-virtio-disks", break_too_many_virtio, "\"disks\""},
	{"cdrom-on-virtio", break_cdrom_on_virtio, "\"disks[0]\""},
	{"cdrom-writable", break_cdrom_writable, "\"disks[0]\""},
	{"disk-without-path", break_disk_without_path, "\"disks[0]\""},
	{"duplicate-boot-index", break_duplicate_boot_index, "\"disks[1]\""},
	{"boot-index-out-of-range", break_boot_index_range, "\"disks[0]\""},
	{"path-with-comma", break_path_comma, "\"disks[0]\""},
	{"path-empty", break_path_empty, "\"disks[0]\""},
	{"initrd-without-kernel", break_initrd_without_kernel, "\"initrd\""},
	{"append-without-kernel", break_append_without_kernel, "\"append\""},
	{"unknown-firmware", break_firmware, "\"firmware\""},
	{"unknown-display", break_display, "\"display\""},
	{"negative-created", break_created, "\"created\""},
	{"unknown-format", break_format_unknown, "\"disks[0]\": format \"qcow3\""},
	{"writable-disk-in-an-import-format", break_format_writable_vmdk,
	 "\"disks[0]\": format \"vmdk\""},
	{"cdrom-not-raw", break_format_cdrom_qcow2, "\"disks[0]\": format \"qcow2\""},
};

static void test_validation_rule(gconstpointer data)
{
	unsigned i = GPOINTER_TO_UINT(data);
	g_autoptr(HgVmConfig) c = hg_vm_config_new("ok");
	g_autoptr(GError) error = NULL;

	g_assert_true(hg_vm_config_validate(c, NULL));
	validation_rules[i].breaker(c);
	g_assert_false(hg_vm_config_validate(c, &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID);
	g_test_message("%s: %s", validation_rules[i].rule, error->message);
	g_assert_nonnull(strstr(error->message, validation_rules[i].member));
}

static void test_valid_edge_cases(void)
{
	g_autoptr(HgVmConfig) c = hg_vm_config_new("edge");

	c->memory_mib = HG_VM_MEMORY_MIN_MIB;
	c->cpus = HG_VM_CPUS_MAX;
	for (int i = 0; i < 6; i++)
		hg_vm_config_add_disk(c, NULL, HG_DISK_BUS_SATA, HG_DISK_MEDIA_CDROM);
	for (int i = 0; i < 12; i++)
		hg_vm_config_add_disk(c, "v.img", HG_DISK_BUS_VIRTIO, HG_DISK_MEDIA_DISK)
			->boot_index = i;
	/* Read only, a disk may be in an import format. */
	HgVmDisk *ro = g_ptr_array_index(c->disks, 6);
	ro->read_only = true;
	hg_vm_disk_set_format(ro, "vmdk");
	c->kernel = g_strdup("/boot/vmlinuz,with-comma-is-fine");
	c->append = g_strdup("console=ttyS0 quiet");
	g_assert_true(hg_vm_config_validate(c, NULL));
}

/* Broken input: each gives a PARSE or INVALID error whose message names
 * what is wrong. */
static const struct {
	const char *what;
	const char *text; /* %s: a valid UUID */
	gint code;
	const char *says;
} broken_inputs[] = {
	{"empty", "", HG_VM_ERROR_PARSE, "JSON"},
	{"not-json", "this is not json", HG_VM_ERROR_PARSE, "not valid JSON"},
	{"truncated", "{\"name\": \"a\", \"uuid\": \"%s\", \"memo", HG_VM_ERROR_PARSE,
	 "not valid JSON"},
	{"array-at-top", "[{\"name\": \"a\"}]", HG_VM_ERROR_PARSE, "an array, not a JSON object"},
	{"string-at-top", "\"vm\"", HG_VM_ERROR_PARSE, "not a JSON object"},
	{"null-at-top", "null", HG_VM_ERROR_PARSE, "not a JSON object"},
	{"missing-name", "{\"uuid\": \"%s\", \"memory-mib\": 64, \"cpus\": 1}", HG_VM_ERROR_INVALID,
	 "\"name\": is missing"},
	{"missing-uuid", "{\"name\": \"a\", \"memory-mib\": 64, \"cpus\": 1}", HG_VM_ERROR_INVALID,
	 "\"uuid\": is missing"},
	{"missing-memory", "{\"name\": \"a\", \"uuid\": \"%s\", \"cpus\": 1}", HG_VM_ERROR_INVALID,
	 "\"memory-mib\": is missing"},
	{"missing-cpus", "{\"name\": \"a\", \"uuid\": \"%s\", \"memory-mib\": 64}",
	 HG_VM_ERROR_INVALID, "\"cpus\": is missing"},
	{"name-is-number", "{\"name\": 5, \"uuid\": \"%s\", \"memory-mib\": 64, \"cpus\": 1}",
	 HG_VM_ERROR_INVALID, "\"name\": is a number, not a string"},
	{"memory-is-string",
	 "{\"name\": \"a\", \"uuid\": \"%s\", \"memory-mib\": \"64\", \"cpus\": 1}",
	 HG_VM_ERROR_INVALID, "\"memory-mib\": is a string"},
	{"memory-fractional",
	 "{\"name\": \"a\", \"uuid\": \"%s\", \"memory-mib\": 64.5, \"cpus\": 1}",
	 HG_VM_ERROR_INVALID, "\"memory-mib\": is a fractional number"},
	{"memory-negative",
	 "{\"name\": \"a\", \"uuid\": \"%s\", \"memory-mib\": -1024, \"cpus\": 1}",
	 HG_VM_ERROR_INVALID, "\"memory-mib\": -1024 is outside"},
	{"memory-huge",
	 "{\"name\": \"a\", \"uuid\": \"%s\", \"memory-mib\": 99999999999999999999999, \"cpus\": "
	 "1}",
	 HG_VM_ERROR_PARSE, "more than 18 digits"},
	{"cpus-wrapping",
	 "{\"name\": \"a\", \"uuid\": \"%s\", \"memory-mib\": 64, \"cpus\": 18446744073709551617}",
	 HG_VM_ERROR_PARSE, "more than 18 digits"},
	{"memory-exponent",
	 "{\"name\": \"a\", \"uuid\": \"%s\", \"memory-mib\": 1e400, \"cpus\": 1}",
	 HG_VM_ERROR_INVALID, "\"memory-mib\""},
	{"cpus-too-many", "{\"name\": \"a\", \"uuid\": \"%s\", \"memory-mib\": 64, \"cpus\": 1000}",
	 HG_VM_ERROR_INVALID, "\"cpus\": 1000 is outside"},
	{"boot-menu-is-string",
	 "{\"name\": \"a\", \"uuid\": \"%s\", \"memory-mib\": 64, \"cpus\": 1, \"boot-menu\": "
	 "\"yes\"}",
	 HG_VM_ERROR_INVALID, "\"boot-menu\": is a string, not true or false"},
	{"firmware-unknown",
	 "{\"name\": \"a\", \"uuid\": \"%s\", \"memory-mib\": 64, \"cpus\": 1, \"firmware\": "
	 "\"coreboot\"}",
	 HG_VM_ERROR_INVALID, "\"firmware\": \"coreboot\" is not one of"},
	{"disks-is-object",
	 "{\"name\": \"a\", \"uuid\": \"%s\", \"memory-mib\": 64, \"cpus\": 1, \"disks\": {}}",
	 HG_VM_ERROR_INVALID, "\"disks\": is an object, not an array"},
	{"disk-is-string",
	 "{\"name\": \"a\", \"uuid\": \"%s\", \"memory-mib\": 64, \"cpus\": 1, \"disks\": "
	 "[\"a.img\"]}",
	 HG_VM_ERROR_INVALID, "\"disks[0]\": is a string, not an object"},
	{"disk-without-bus",
	 "{\"name\": \"a\", \"uuid\": \"%s\", \"memory-mib\": 64, \"cpus\": 1, \"disks\": "
	 "[{\"path\": "
	 "\"a.img\"}]}",
	 HG_VM_ERROR_INVALID, "\"disks[0].bus\": is missing"},
	{"disk-bad-bus",
	 "{\"name\": \"a\", \"uuid\": \"%s\", \"memory-mib\": 64, \"cpus\": 1, \"disks\": "
	 "[{\"path\": "
	 "\"a.img\", \"bus\": \"scsi\"}]}",
	 HG_VM_ERROR_INVALID, "\"disks[0].bus\": \"scsi\" is not one of"},
	{"name-with-nul-escape",
	 "{\"name\": \"a\\u0000b\", \"uuid\": \"%s\", \"memory-mib\": 64, \"cpus\": 1}",
	 HG_VM_ERROR_PARSE, "NUL"},
	{"name-with-control-chars",
	 "{\"name\": \"a\\u001b[31mred\", \"uuid\": \"%s\", \"memory-mib\": 64, \"cpus\": 1}",
	 HG_VM_ERROR_INVALID, "\"name\": contains control characters"},
	{"name-with-newline",
	 "{\"name\": \"two\\nlines\", \"uuid\": \"%s\", \"memory-mib\": 64, \"cpus\": 1}",
	 HG_VM_ERROR_INVALID, "\"name\": contains control characters"},
	{"uuid-bad", "{\"name\": \"a\", \"uuid\": \"1234\", \"memory-mib\": 64, \"cpus\": 1}",
	 HG_VM_ERROR_INVALID, "\"uuid\": \"1234\" is not a UUID"},
	{"disk-format-is-number",
	 "{\"name\": \"a\", \"uuid\": \"%s\", \"memory-mib\": 64, \"cpus\": 1, \"disks\": "
	 "[{\"path\": \"a.img\", \"bus\": \"virtio\", \"format\": 2}]}",
	 HG_VM_ERROR_INVALID, "\"disks[0].format\": is a number, not a string"},
	{"disk-format-unknown",
	 "{\"name\": \"a\", \"uuid\": \"%s\", \"memory-mib\": 64, \"cpus\": 1, \"disks\": "
	 "[{\"path\": \"a.img\", \"bus\": \"virtio\", \"format\": \"qed\"}]}",
	 HG_VM_ERROR_INVALID, "format \"qed\" is not an image format this version knows"},
};

static void test_broken_input(gconstpointer data)
{
	unsigned i = GPOINTER_TO_UINT(data);
	g_autofree char *text = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(HgVmConfig) c = NULL;

	if (strstr(broken_inputs[i].text, "%s"))
		text = g_strdup_printf(broken_inputs[i].text, valid_uuid);
	else
		text = g_strdup(broken_inputs[i].text);
	c = hg_vm_config_from_json(text, -1, &error);
	g_assert_null(c);
	g_assert_error(error, HG_VM_ERROR, broken_inputs[i].code);
	g_test_message("%s: %s", broken_inputs[i].what, error->message);
	g_assert_nonnull(strstr(error->message, broken_inputs[i].says));
}

static void test_broken_raw_nul_byte(void)
{
	static const char text[] = "{\"name\": \"a\0b\"}";
	g_autoptr(GError) error = NULL;

	g_assert_null(hg_vm_config_from_json(text, sizeof(text) - 1, &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_PARSE);
	g_assert_nonnull(strstr(error->message, "NUL"));
}

static void test_broken_invalid_utf8(void)
{
	g_autofree char *text = g_strdup_printf("{\"name\": \"\xff\xfe\", \"uuid\": \"%s\", "
						"\"memory-mib\": 64, \"cpus\": 1}",
						valid_uuid);
	g_autoptr(GError) error = NULL;

	g_assert_null(hg_vm_config_from_json(text, -1, &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_PARSE);
	g_assert_nonnull(strstr(error->message, "UTF-8"));
}

static void test_broken_thousand_disks(void)
{
	g_autoptr(GString) text = g_string_new(NULL);
	g_autoptr(GError) error = NULL;

	g_string_append_printf(text,
			       "{\"name\": \"a\", \"uuid\": \"%s\", \"memory-mib\": 64, "
			       "\"cpus\": 1, \"disks\": [",
			       valid_uuid);
	for (int i = 0; i < 1000; i++)
		g_string_append_printf(text, "%s{\"path\": \"d%d.img\", \"bus\": \"virtio\"}",
				       i ? "," : "", i);
	g_string_append(text, "]}");
	g_assert_null(hg_vm_config_from_json(text->str, text->len, &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID);
	g_assert_nonnull(strstr(error->message, "\"disks\""));
	g_assert_nonnull(strstr(error->message, "1000"));
}

static void test_broken_deep_nesting(void)
{
	g_autoptr(GString) text = g_string_new(NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(HgVmConfig) c = NULL;

	/* An unknown member nested deeply: kept or refused, never a crash. */
	g_string_append_printf(text,
			       "{\"name\": \"a\", \"uuid\": \"%s\", \"memory-mib\": 64, "
			       "\"cpus\": 1, \"x\": ",
			       valid_uuid);
	for (int i = 0; i < 500; i++)
		g_string_append_c(text, '[');
	for (int i = 0; i < 500; i++)
		g_string_append_c(text, ']');
	g_string_append(text, "}");
	c = hg_vm_config_from_json(text->str, text->len, &error);
	g_assert_true(c || error);
}

static void test_broken_huge_file(void)
{
	gsize size = (2u << 20);
	g_autofree char *text = g_malloc(size + 1);
	g_autoptr(GError) error = NULL;

	memset(text, ' ', size);
	text[0] = '{';
	text[size - 1] = '}';
	text[size] = '\0';
	g_assert_null(hg_vm_config_from_json(text, size, &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_PARSE);
	g_assert_nonnull(strstr(error->message, "larger than"));
}

static void test_load_errors_name_the_file(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *dir = g_dir_make_tmp("hangar-vm-config-XXXXXX", &error);
	g_autofree char *path = g_build_filename(dir, "vm.json", NULL);

	g_assert_null(hg_vm_config_load(path, &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_NOT_FOUND);
	g_clear_error(&error);

	g_assert_true(g_file_set_contents(path, "", 0, NULL));
	g_assert_null(hg_vm_config_load(path, &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_PARSE);
	g_assert_nonnull(strstr(error->message, path));
	g_assert_nonnull(strstr(error->message, "empty"));
	g_clear_error(&error);

	g_assert_true(g_file_set_contents(path, "{\"name\": 1}", -1, NULL));
	g_assert_null(hg_vm_config_load(path, &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID);
	g_assert_nonnull(strstr(error->message, path));
	g_assert_nonnull(strstr(error->message, "\"name\""));

	g_unlink(path);
	g_rmdir(dir);
}

static void test_enum_strings(void)
{
	HgFirmware f;
	HgDisplayProtocol p;
	HgDiskBus b;
	HgDiskMedia m;

	g_assert_cmpstr(hg_firmware_to_string(HG_FIRMWARE_UEFI), ==, "uefi");
	g_assert_cmpstr(hg_display_protocol_to_string(HG_DISPLAY_VNC), ==, "vnc");
	g_assert_cmpstr(hg_disk_bus_to_string(HG_DISK_BUS_SATA), ==, "sata");
	g_assert_cmpstr(hg_disk_media_to_string(HG_DISK_MEDIA_CDROM), ==, "cdrom");
	g_assert_true(hg_firmware_from_string("bios", &f) && f == HG_FIRMWARE_BIOS);
	g_assert_true(hg_display_protocol_from_string("spice", &p) && p == HG_DISPLAY_SPICE);
	g_assert_true(hg_disk_bus_from_string("virtio", &b) && b == HG_DISK_BUS_VIRTIO);
	g_assert_true(hg_disk_media_from_string("disk", &m) && m == HG_DISK_MEDIA_DISK);
	g_assert_false(hg_firmware_from_string("BIOS", &f));
	g_assert_false(hg_disk_bus_from_string(NULL, &b));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/vm-config/round-trip-keeps-every-member", test_round_trip);
	g_test_add_func("/vm-config/save-is-0600-and-loads-back", test_save_and_load);
	g_test_add_func("/vm-config/new-config-has-the-documented-defaults", test_defaults);
	g_test_add_func("/vm-config/unknown-members-survive-a-rewrite", test_unknown_members_kept);
	g_test_add_func("/vm-config/format/old-file-has-no-disk-formats-and-raw-discs",
			test_old_file_without_formats);
	g_test_add_func("/vm-config/format/snapshot-config-takes-recorded-formats",
			test_fill_formats);
	for (unsigned i = 0; i < G_N_ELEMENTS(validation_rules); i++) {
		g_autofree char *path =
			g_strdup_printf("/vm-config/validate/refuses-%s", validation_rules[i].rule);
		g_test_add_data_func(path, GUINT_TO_POINTER(i), test_validation_rule);
	}
	g_test_add_func("/vm-config/validate/accepts-the-limits", test_valid_edge_cases);
	for (unsigned i = 0; i < G_N_ELEMENTS(broken_inputs); i++) {
		g_autofree char *path =
			g_strdup_printf("/vm-config/broken/%s", broken_inputs[i].what);
		g_test_add_data_func(path, GUINT_TO_POINTER(i), test_broken_input);
	}
	g_test_add_func("/vm-config/broken/raw-nul-byte", test_broken_raw_nul_byte);
	g_test_add_func("/vm-config/broken/invalid-utf8", test_broken_invalid_utf8);
	g_test_add_func("/vm-config/broken/a-thousand-disks", test_broken_thousand_disks);
	g_test_add_func("/vm-config/broken/deep-nesting", test_broken_deep_nesting);
	g_test_add_func("/vm-config/broken/huge-file", test_broken_huge_file);
	g_test_add_func("/vm-config/load-errors-name-the-file", test_load_errors_name_the_file);
	g_test_add_func("/vm-config/enum-names", test_enum_strings);
	return g_test_run();
}
