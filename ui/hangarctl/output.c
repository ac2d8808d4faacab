/* hangarctl's printers: one JSON object per command with --json, plain
 * words otherwise; errors and their exit codes. */
#include <stdio.h>
#include <time.h>

#include "ui/hangarctl/hangarctl.h"
#include "library/vm/control_client.h"

void hgctl_print_json(JsonObject *object)
{
	g_autoptr(JsonNode) node = json_node_init_object(json_node_alloc(), object);
	g_autofree char *text = json_to_string(node, FALSE);

	json_object_unref(object);
	printf("%s\n", text);
	fflush(stdout);
}

static int fail_valist(HgctlExit exit_code, const char *code, const char *format, va_list args)
	G_GNUC_PRINTF(3, 0);

static int fail_valist(HgctlExit exit_code, const char *code, const char *format, va_list args)
{
	g_autofree char *message = g_strdup_vprintf(format, args);

	if (hgctl_globals.json) {
		JsonObject *error = json_object_new();
		JsonObject *object = json_object_new();

		json_object_set_string_member(error, "code", code);
		json_object_set_string_member(error, "message", message);
		json_object_set_int_member(error, "exit-code", exit_code);
		json_object_set_object_member(object, "error", error);
		hgctl_print_json(object);
	} else {
		fflush(stdout);
		fprintf(stderr, "hangarctl: %s\n", message);
	}
	return exit_code;
}

int hgctl_fail(HgctlExit exit_code, const char *code, const char *format, ...)
{
	va_list args;
	int ret;

	va_start(args, format);
	ret = fail_valist(exit_code, code, format, args);
	va_end(args);
	return ret;
}

int hgctl_fail_usage(const char *format, ...)
{
	va_list args;
	int ret;

	va_start(args, format);
	ret = fail_valist(HGCTL_EXIT_USAGE, "usage", format, args);
	va_end(args);
	return ret;
}

int hgctl_fail_error(const GError *error)
{
	HgctlExit exit_code = HGCTL_EXIT_FAILED;
	const char *code = "failed";

	if (error->domain == HG_VM_ERROR) {
		switch ((HgVmErrorCode)error->code) {
		case HG_VM_ERROR_PARSE:
		case HG_VM_ERROR_BROKEN:
			exit_code = HGCTL_EXIT_BROKEN;
			code = "broken";
			break;
		case HG_VM_ERROR_INVALID:
			code = "invalid";
			break;
		case HG_VM_ERROR_NOT_FOUND:
			code = "not-found";
			break;
		case HG_VM_ERROR_EXISTS:
			code = "exists";
			break;
		case HG_VM_ERROR_AMBIGUOUS:
			/* The user must say which one: give the vm-id. */
			exit_code = HGCTL_EXIT_USAGE;
			code = "ambiguous";
			break;
		case HG_VM_ERROR_RUNNING:
			exit_code = HGCTL_EXIT_STATE;
			code = "running";
			break;
		case HG_VM_ERROR_NOT_RUNNING:
			exit_code = HGCTL_EXIT_STATE;
			code = "not-running";
			break;
		case HG_VM_ERROR_ENGINE:
			code = "engine";
			break;
		case HG_VM_ERROR_IO:
			code = "io";
			break;
		case HG_VM_ERROR_UNSUPPORTED:
			exit_code = HGCTL_EXIT_STATE;
			code = "unsupported";
			break;
		case HG_VM_ERROR_IN_USE:
			exit_code = HGCTL_EXIT_STATE;
			code = "in-use";
			break;
		}
	} else if (error->domain == HG_CONTROL_ERROR) {
		code = "engine";
	} else if (error->domain == G_IO_ERROR || error->domain == G_FILE_ERROR) {
		code = "io";
	}
	return hgctl_fail(exit_code, code, "%s", error->message);
}

const char *hgctl_state_label(HgVmState state)
{
	switch (state) {
	case HG_VM_STATE_STOPPED:
		return _("stopped");
	case HG_VM_STATE_RUNNING:
		return _("running");
	case HG_VM_STATE_PAUSED:
		return _("paused");
	case HG_VM_STATE_CRASHED:
		return _("crashed");
	}
	return "?";
}

const char *hgctl_vm_label(const HgVmEntry *entry)
{
	return entry->config ? entry->config->name : entry->id;
}

/* exit.json's format is documented in vm_runtime.h; hg_vm_last_exit only
 * reports bad ends, and info shows clean ones too. */
JsonObject *hgctl_last_exit_json(const char *vm_id)
{
	g_autofree char *path = hg_vm_runtime_file(vm_id, "exit.json");
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonObject *file, *out;
	JsonNode *root;

	if (!json_parser_load_from_file(parser, path, NULL))
		return NULL;
	root = json_parser_get_root(parser);
	if (!root || !JSON_NODE_HOLDS_OBJECT(root))
		return NULL;
	file = json_node_get_object(root);
	out = json_object_new();
	if (json_object_has_member(file, "status")) {
		gint64 status = json_object_get_int_member_with_default(file, "status", -1);

		json_object_set_int_member(out, "status", status);
		json_object_set_boolean_member(out, "clean", status == 0);
	} else if (json_object_has_member(file, "signal")) {
		json_object_set_int_member(
			out, "signal", json_object_get_int_member_with_default(file, "signal", 0));
		json_object_set_boolean_member(out, "clean", FALSE);
	} else {
		json_object_unref(out);
		return NULL;
	}
	json_object_set_string_member(
		out, "reason", json_object_get_string_member_with_default(file, "reason", ""));
	return out;
}

static void set_string_or_null(JsonObject *object, const char *member, const char *value)
{
	if (value)
		json_object_set_string_member(object, member, value);
	else
		json_object_set_null_member(object, member);
}

static JsonObject *runtime_json(const HgVmEntry *entry)
{
	JsonObject *runtime = json_object_new();
	g_autofree char *dir = hg_vm_runtime_dir(entry->id);
	static const struct {
		const char *member, *file;
	} files[] = {
		{"control", "control.sock"}, {"spice", "spice.sock"}, {"vnc", "vnc.sock"},
		{"serial", "serial.sock"},   {"log", "engine.log"},   {"exit", "exit.json"},
	};

	json_object_set_string_member(runtime, "dir", dir);
	for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
		g_autofree char *path = hg_vm_runtime_file(entry->id, files[i].file);

		json_object_set_string_member(runtime, files[i].member, path);
	}
	return runtime;
}

static JsonObject *disk_json(const HgVmEntry *entry, const HgVmDisk *disk)
{
	JsonObject *object = json_object_new();
	g_autofree char *file = hg_vm_entry_resolve(entry, disk->path);

	set_string_or_null(object, "path", disk->path);
	set_string_or_null(object, "file", file);
	/* null: not recorded yet (an older vm.json; the next start records it). */
	set_string_or_null(object, "format", disk->format);
	json_object_set_string_member(object, "bus", hg_disk_bus_to_string(disk->bus));
	json_object_set_string_member(object, "media", hg_disk_media_to_string(disk->media));
	json_object_set_boolean_member(object, "read-only", disk->read_only);
	json_object_set_int_member(object, "boot-index", disk->boot_index);
	return object;
}

JsonObject *hgctl_vm_to_json(const HgVmEntry *entry, HgVmState state)
{
	JsonObject *object = json_object_new();
	const HgVmConfig *config = entry->config;
	JsonObject *last_exit;
	JsonArray *disks;

	json_object_set_string_member(object, "id", entry->id);
	set_string_or_null(object, "name", config ? config->name : NULL);
	json_object_set_string_member(object, "dir", entry->dir);
	if (!config) {
		json_object_set_string_member(object, "state", "broken");
		json_object_set_string_member(object, "reason",
					      entry->error ? entry->error->message : "");
		return object;
	}
	json_object_set_string_member(object, "state", hg_vm_state_to_string(state));
	json_object_set_string_member(object, "uuid", config->uuid);
	set_string_or_null(object, "os-id", config->os_id);
	set_string_or_null(object, "os-name", config->os_name);
	json_object_set_int_member(object, "memory-mib", config->memory_mib);
	json_object_set_int_member(object, "cpus", config->cpus);
	json_object_set_string_member(object, "firmware", hg_firmware_to_string(config->firmware));
	json_object_set_string_member(object, "display",
				      hg_display_protocol_to_string(config->display));
	json_object_set_boolean_member(object, "boot-menu", config->boot_menu);
	json_object_set_int_member(object, "created", config->created);
	disks = json_array_new();
	for (unsigned i = 0; config->disks && i < config->disks->len; i++)
		json_array_add_object_element(
			disks, disk_json(entry, g_ptr_array_index(config->disks, i)));
	json_object_set_array_member(object, "disks", disks);
	set_string_or_null(object, "kernel", config->kernel);
	set_string_or_null(object, "initrd", config->initrd);
	set_string_or_null(object, "append", config->append);
	json_object_set_object_member(object, "runtime", runtime_json(entry));
	last_exit = hgctl_last_exit_json(entry->id);
	if (last_exit)
		json_object_set_object_member(object, "last-exit", last_exit);
	else
		json_object_set_null_member(object, "last-exit");
	return object;
}

/* One "Label:  value" line; the labels are padded so that translated ones
 * of other lengths still line up. */
static void print_field(const char *label, const char *format, ...) G_GNUC_PRINTF(2, 3);

static void print_field(const char *label, const char *format, ...)
{
	g_autofree char *value = NULL;
	g_autofree char *with_colon = g_strdup_printf("%s:", label);
	long pad = 14 - (long)g_utf8_strlen(with_colon, -1);
	va_list args;

	va_start(args, format);
	value = g_strdup_vprintf(format, args);
	va_end(args);
	printf("%s%*s%s\n", with_colon, (int)MAX(pad, 1), "", value);
}

static void print_disk_human(const HgVmEntry *entry, const HgVmDisk *disk)
{
	g_autofree char *file = hg_vm_entry_resolve(entry, disk->path);
	g_autofree char *boot = disk->boot_index >= 0
					? g_strdup_printf(_(", boot order %d"), disk->boot_index)
					: g_strdup("");
	const char *label = disk->media == HG_DISK_MEDIA_CDROM ? _("CD-ROM") : _("Disk");

	/* "disk.qcow2 (qcow2, virtio, boot order 0)"; no format for a drive
	 * without a medium or one not recorded yet. */
	print_field(label, "%s (%s%s%s%s%s)", file ? file : _("no medium"),
		    disk->format && file ? disk->format : "", disk->format && file ? ", " : "",
		    hg_disk_bus_to_string(disk->bus), disk->read_only ? _(", read-only") : "",
		    boot);
}

void hgctl_print_vm_human(const HgVmEntry *entry, HgVmState state)
{
	const HgVmConfig *config = entry->config;
	g_autoptr(JsonObject) last_exit = hgctl_last_exit_json(entry->id);
	g_autofree char *runtime = hg_vm_runtime_dir(entry->id);
	g_autoptr(GDateTime) created = NULL;
	g_autofree char *created_text = NULL;

	if (!config) {
		print_field(_("ID"), "%s", entry->id);
		print_field(_("Folder"), "%s", entry->dir);
		print_field(_("State"), _("broken: %s"), entry->error ? entry->error->message : "");
		return;
	}
	created = g_date_time_new_from_unix_local(config->created);
	created_text = created ? g_date_time_format(created, "%F %T") : g_strdup("?");
	print_field(_("Name"), "%s", config->name);
	print_field(_("ID"), "%s", entry->id);
	print_field(_("Folder"), "%s", entry->dir);
	print_field(_("State"), "%s", hgctl_state_label(state));
	if (config->os_name)
		print_field(_("OS"), "%s (%s)", config->os_name,
			    config->os_id ? config->os_id : "?");
	else
		print_field(_("OS"), "%s", _("unknown"));
	print_field(_("Memory"), _("%u MiB"), config->memory_mib);
	print_field(_("CPUs"), "%u", config->cpus);
	print_field(_("Firmware"), "%s", hg_firmware_to_string(config->firmware));
	print_field(_("Display"), "%s", hg_display_protocol_to_string(config->display));
	print_field(_("Boot menu"), "%s", config->boot_menu ? _("yes") : _("no"));
	print_field(_("UUID"), "%s", config->uuid);
	print_field(_("Created"), "%s", created_text);
	for (unsigned i = 0; config->disks && i < config->disks->len; i++)
		print_disk_human(entry, g_ptr_array_index(config->disks, i));
	if (config->kernel) {
		g_autofree char *kernel = hg_vm_entry_resolve(entry, config->kernel);

		print_field(_("Kernel"), "%s", kernel);
	}
	if (config->initrd) {
		g_autofree char *initrd = hg_vm_entry_resolve(entry, config->initrd);

		print_field(_("Initrd"), "%s", initrd);
	}
	if (config->append)
		print_field(_("Command line"), "%s", config->append);
	print_field(_("Runtime"), "%s", runtime);
	{
		g_autofree char *control = hg_vm_runtime_file(entry->id, "control.sock");
		g_autofree char *display = hg_vm_runtime_file(
			entry->id, config->display == HG_DISPLAY_VNC ? "vnc.sock" : "spice.sock");
		g_autofree char *serial = hg_vm_runtime_file(entry->id, "serial.sock");
		g_autofree char *log = hg_vm_runtime_file(entry->id, "engine.log");

		print_field(_("  control"), "%s", control);
		print_field(_("  display"), "%s", display);
		print_field(_("  serial"), "%s", serial);
		print_field(_("  log"), "%s", log);
	}
	if (!last_exit) {
		print_field(_("Last exit"), "%s", _("none recorded"));
	} else if (json_object_has_member(last_exit, "status")) {
		print_field(_("Last exit"), _("%s (status %d)"),
			    json_object_get_string_member(last_exit, "reason"),
			    (int)json_object_get_int_member(last_exit, "status"));
	} else {
		print_field(_("Last exit"), _("%s (signal %d)"),
			    json_object_get_string_member(last_exit, "reason"),
			    (int)json_object_get_int_member(last_exit, "signal"));
	}
}
