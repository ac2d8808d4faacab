/* hangarctl's commands on VMs at rest: list, create, info, rename,
 * duplicate, delete, version. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ui/hangarctl/hangarctl.h"
#include "library/block/block.h"
#include "library/os/os_detect.h"

/* When nothing (and no recognized OS) says otherwise. */
#define DEFAULT_DISK_SIZE (20ull << 30)
/* A size below this is almost surely a missing suffix ("20" for "20G"). */
#define MIN_DISK_SIZE (1ull << 20)
#define DISK_IMAGE_NAME "disk.qcow2"

HgVmLibrary *hgctl_open_library(int *exit_code)
{
	g_autoptr(GError) error = NULL;
	const char *root = hgctl_globals.library_root;
	HgVmLibrary *lib;

	if (!root || !*root)
		root = g_getenv("HANGAR_LIBRARY");
	if (root && !*root)
		root = NULL;
	lib = hg_vm_library_open(root, &error);
	if (!lib)
		*exit_code = hgctl_fail(HGCTL_EXIT_FAILED, "io",
					_("cannot open the VM library: %s"), error->message);
	return lib;
}

HgVmEntry *hgctl_lookup_vm(HgVmLibrary *lib, const char *id_or_name, bool need_config,
			   int *exit_code)
{
	g_autoptr(GError) error = NULL;
	HgVmEntry *entry = hg_vm_library_lookup(lib, id_or_name, &error);

	if (!entry) {
		if (g_error_matches(error, HG_VM_ERROR, HG_VM_ERROR_NOT_FOUND))
			*exit_code = hgctl_fail(HGCTL_EXIT_NO_VM, "no-such-vm",
						_("there is no VM \"%s\""), id_or_name);
		else
			*exit_code = hgctl_fail_error(error);
		return NULL;
	}
	if (need_config && !entry->config) {
		*exit_code = hgctl_fail(HGCTL_EXIT_BROKEN, "broken",
					_("the folder of VM \"%s\" (%s) is broken: %s"), id_or_name,
					entry->dir, entry->error ? entry->error->message : "?");
		hg_vm_entry_free(entry);
		return NULL;
	}
	return entry;
}

/* ---- list ---- */

static int display_width(const char *s)
{
	return (int)g_utf8_strlen(s, -1);
}

/* Pads by characters rather than bytes, so names with accents line up. */
static void print_cell(const char *text, int width, bool last)
{
	if (last) {
		printf("%s\n", text);
		return;
	}
	printf("%s%*s", text, MAX(width - display_width(text), 0) + 2, "");
}

int hgctl_cmd_list(int argc, char **argv)
{
	const HgctlCommand *command = hgctl_find_command("list");
	g_autoptr(GOptionContext) context = hgctl_option_context_new(command, NULL);
	g_autoptr(HgVmLibrary) lib = NULL;
	g_autoptr(GPtrArray) entries = NULL;
	g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
	int exit_code = HGCTL_EXIT_OK;
	enum { COLUMNS = 7 };
	int widths[COLUMNS] = {0};

	if (!hgctl_parse_options(context, command, &argc, &argv))
		return HGCTL_EXIT_USAGE;
	if (!hgctl_expect_arguments(command, argc, 0, 0))
		return HGCTL_EXIT_USAGE;
	lib = hgctl_open_library(&exit_code);
	if (!lib)
		return exit_code;
	entries = hg_vm_library_list(lib);

	if (hgctl_globals.json) {
		JsonObject *object = json_object_new();
		JsonArray *vms = json_array_new();

		for (unsigned i = 0; i < entries->len; i++) {
			const HgVmEntry *entry = g_ptr_array_index(entries, i);
			HgVmState state =
				entry->config ? hg_vm_probe_state(entry->id) : HG_VM_STATE_STOPPED;

			json_array_add_object_element(vms, hgctl_vm_to_json(entry, state));
		}
		json_object_set_string_member(object, "library", hg_vm_library_root(lib));
		json_object_set_array_member(object, "vms", vms);
		hgctl_print_json(object);
		return HGCTL_EXIT_OK;
	}

	if (!entries->len) {
		printf(_("No VMs in %s.\n"), hg_vm_library_root(lib));
		return HGCTL_EXIT_OK;
	}
	g_ptr_array_add(rows, g_strdupv((char *[]){_("NAME"), _("ID"), _("OS"), _("STATE"),
						   _("MEMORY"), _("CPUS"), "", NULL}));
	for (unsigned i = 0; i < entries->len; i++) {
		const HgVmEntry *entry = g_ptr_array_index(entries, i);
		const HgVmConfig *config = entry->config;
		char **row = g_new0(char *, COLUMNS + 1);

		row[1] = g_strdup(entry->id);
		if (config) {
			row[0] = g_strdup(config->name);
			row[2] = g_strdup(config->os_name ? config->os_name : _("unknown"));
			row[3] = g_strdup(hgctl_state_label(hg_vm_probe_state(entry->id)));
			row[4] = g_strdup_printf(_("%u MiB"), config->memory_mib);
			row[5] = g_strdup_printf("%u", config->cpus);
			row[6] = g_strdup("");
		} else {
			row[0] = g_strdup("-");
			row[2] = g_strdup("-");
			row[3] = g_strdup(_("broken"));
			row[4] = g_strdup("-");
			row[5] = g_strdup("-");
			row[6] = g_strdup(entry->error ? entry->error->message : "");
		}
		g_ptr_array_add(rows, row);
	}
	for (unsigned r = 0; r < rows->len; r++) {
		char **row = g_ptr_array_index(rows, r);

		for (int c = 0; c < COLUMNS; c++)
			widths[c] = MAX(widths[c], display_width(row[c]));
	}
	for (unsigned r = 0; r < rows->len; r++) {
		char **row = g_ptr_array_index(rows, r);
		/* The reason column is there only for broken folders. */
		int last = row[COLUMNS - 1][0] ? COLUMNS - 1 : COLUMNS - 2;

		for (int c = 0; c <= last; c++)
			print_cell(row[c], widths[c], c == last);
	}
	return HGCTL_EXIT_OK;
}

/* ---- create ---- */

/* "20G", "512M", "1.5T" is not accepted (no fractions), "10737418240"
 * (bytes), "20GiB" and "20GB" (binary all the same, as qemu-img). */
static bool parse_size(const char *text, guint64 *size)
{
	static const char units[] = "KMGTPE";
	guint64 value;
	char *end;

	if (!text || !g_ascii_isdigit(*text))
		return false;
	errno = 0;
	value = g_ascii_strtoull(text, &end, 10);
	if (errno)
		return false;
	if (*end) {
		const char *unit = strchr(units, g_ascii_toupper(*end));
		unsigned shift;

		if (!unit)
			return false;
		shift = 10 * (unsigned)(unit - units + 1);
		end++;
		if (!g_ascii_strcasecmp(end, "iB") || !g_ascii_strcasecmp(end, "B"))
			end += strlen(end);
		if (*end)
			return false;
		if (value > (G_MAXUINT64 >> shift))
			return false;
		value <<= shift;
	}
	*size = value;
	return true;
}

/* An existing file, made absolute (the engine runs in another folder). */
static char *existing_file(const char *option, const char *path, int *exit_code)
{
	g_autofree char *absolute = g_canonicalize_filename(path, NULL);

	if (!g_file_test(absolute, G_FILE_TEST_EXISTS)) {
		*exit_code = hgctl_fail(HGCTL_EXIT_FAILED, "not-found", _("%s: no such file: %s"),
					option, path);
		return NULL;
	}
	return g_steal_pointer(&absolute);
}

/* The format of an image used in place, found now, when it is chosen, and
 * recorded in vm.json: the engine never reads it from the content.  A VM
 * writes raw and qcow2 images only. */
static const char *in_place_format(const char *path, int *exit_code)
{
	g_autoptr(GError) error = NULL;
	const char *format = hg_block_probe_format(path, &error); /* a static string */
	HgBlockBackend *blk;

	if (format && strcmp(format, "raw") != 0 && strcmp(format, "qcow2") != 0) {
		*exit_code = hgctl_fail(HGCTL_EXIT_FAILED, "unsupported",
					_("--disk: %s is a %s image, which a VM can only read: "
					  "import it to get a qcow2 copy (hangarctl import)"),
					path, format);
		return NULL;
	}
	/* Opened as the engine will open it: a broken image is told now. */
	blk = format ? hg_block_open_format(path, format, true, &error) : NULL;
	if (!blk) {
		*exit_code =
			hgctl_fail(HGCTL_EXIT_FAILED, "invalid", _("--disk: %s"), error->message);
		return NULL;
	}
	hg_block_close(blk);
	return format;
}

/* What the ISO's OS asks for fills what the command line leaves unset
 * (the caller applies its options afterwards).  Even unrecognized media get
 * the detector's defaults, which suit an installer better than a bare VM's.
 * A detection that fails costs only the suggestions. */
static void guess_os_defaults(HgVmConfig *config, const char *iso, guint64 *disk_size,
			      HgDiskBus *disk_bus)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(HgOsGuess) guess = hg_os_detect_media(iso, NULL, &error);

	if (!guess) {
		if (!hgctl_globals.json)
			g_printerr(_("hangarctl: cannot tell the OS of %s (%s); using the "
				     "defaults\n"),
				   iso, error->message);
		return;
	}
	config->memory_mib = guess->memory_mib;
	config->cpus = guess->cpus;
	config->firmware = guess->firmware;
	if (disk_size)
		*disk_size = (guint64)guess->disk_gib << 30;
	if (!guess->known)
		return;
	/* An OS without virtio drivers could not see a virtio disk. */
	*disk_bus = guess->disk_bus;
	g_free(config->os_id);
	config->os_id = g_strdup(guess->short_id);
	g_free(config->os_name);
	config->os_name = g_strdup(guess->name);
}

typedef struct {
	int memory, cpus;
	char *disk_size, *disk, *iso, *firmware, *display, *kernel, *initrd, *append;
} CreateOptions;

static void create_options_clear(CreateOptions *o)
{
	g_free(o->disk_size);
	g_free(o->disk);
	g_free(o->iso);
	g_free(o->firmware);
	g_free(o->display);
	g_free(o->kernel);
	g_free(o->initrd);
	g_free(o->append);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(CreateOptions, create_options_clear)

int hgctl_cmd_create(int argc, char **argv)
{
	const HgctlCommand *command = hgctl_find_command("create");
	/* -1: not given, so that 0 is refused rather than taken as unset. */
	g_auto(CreateOptions) o = {.memory = -1, .cpus = -1};
	const GOptionEntry entries[] = {
		{"memory", 0, 0, G_OPTION_ARG_INT, &o.memory, N_("Memory in MiB (default 1024)"),
		 N_("MIB")},
		{"cpus", 0, 0, G_OPTION_ARG_INT, &o.cpus, N_("Virtual CPUs (default 1)"), N_("N")},
		{"disk-size", 0, 0, G_OPTION_ARG_STRING, &o.disk_size,
		 N_("Size of a new qcow2 disk on virtio, e.g. 20G (0: no disk)"), N_("SIZE")},
		{"disk", 0, 0, G_OPTION_ARG_FILENAME, &o.disk,
		 N_("Use an existing disk image in place (not copied)"), N_("FILE")},
		{"iso", 0, 0, G_OPTION_ARG_FILENAME, &o.iso,
		 N_("An ISO image in a CD-ROM drive, booted first"), N_("FILE")},
		{"firmware", 0, 0, G_OPTION_ARG_STRING, &o.firmware,
		 N_("bios or uefi (default bios)"), N_("FIRMWARE")},
		{"display", 0, 0, G_OPTION_ARG_STRING, &o.display,
		 N_("spice or vnc (default spice)"), N_("PROTOCOL")},
		{"kernel", 0, 0, G_OPTION_ARG_FILENAME, &o.kernel,
		 N_("Boot this kernel directly instead of firmware"), N_("FILE")},
		{"initrd", 0, 0, G_OPTION_ARG_FILENAME, &o.initrd,
		 N_("Initial RAM disk for --kernel"), N_("FILE")},
		{"append", 0, 0, G_OPTION_ARG_STRING, &o.append, N_("Kernel command line"),
		 N_("TEXT")},
		{NULL},
	};
	g_autoptr(GOptionContext) context = hgctl_option_context_new(command, entries);
	g_autoptr(HgVmLibrary) lib = NULL;
	g_autoptr(HgVmConfig) config = NULL;
	g_autoptr(HgVmEntry) entry = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *disk = NULL, *iso = NULL, *kernel = NULL, *initrd = NULL;
	guint64 disk_size = 0;
	HgDiskBus disk_bus = HG_DISK_BUS_VIRTIO;
	HgFirmware firmware = HG_FIRMWARE_BIOS;
	const char *disk_format = "qcow2"; /* DISK_IMAGE_NAME's */
	bool new_disk;
	int exit_code = HGCTL_EXIT_OK;
	int boot_index = 0;

	if (!hgctl_parse_options(context, command, &argc, &argv))
		return HGCTL_EXIT_USAGE;
	if (!hgctl_expect_arguments(command, argc, 1, 1))
		return HGCTL_EXIT_USAGE;

	/* Usage first, before anything touches the disk. */
	if (o.memory != -1 &&
	    (o.memory < (int)HG_VM_MEMORY_MIN_MIB || o.memory > (int)HG_VM_MEMORY_MAX_MIB))
		return hgctl_fail_usage(_("--memory must be between %u and %u MiB"),
					HG_VM_MEMORY_MIN_MIB, HG_VM_MEMORY_MAX_MIB);
	if (o.cpus != -1 && (o.cpus < 1 || o.cpus > (int)HG_VM_CPUS_MAX))
		return hgctl_fail_usage(_("--cpus must be between 1 and %u"), HG_VM_CPUS_MAX);
	if (o.disk_size) {
		if (!parse_size(o.disk_size, &disk_size))
			return hgctl_fail_usage(
				_("--disk-size: \"%s\" is not a size (examples: 20G, 512M)"),
				o.disk_size);
		if (disk_size && disk_size < MIN_DISK_SIZE)
			return hgctl_fail_usage(
				_("--disk-size: %s bytes is too small; did you mean %sG?"),
				o.disk_size, o.disk_size);
	}
	if (o.disk && o.disk_size)
		return hgctl_fail_usage(_("give --disk or --disk-size, not both"));
	if ((o.initrd || o.append) && !o.kernel)
		return hgctl_fail_usage(_("--initrd and --append need --kernel"));

	if (o.firmware && !hg_firmware_from_string(o.firmware, &firmware))
		return hgctl_fail_usage(_("--firmware must be bios or uefi, not \"%s\""),
					o.firmware);
	config = hg_vm_config_new(argv[1]);
	if (o.display && !hg_display_protocol_from_string(o.display, &config->display))
		return hgctl_fail_usage(_("--display must be spice or vnc, not \"%s\""), o.display);
	if (o.disk && !(disk = existing_file("--disk", o.disk, &exit_code)))
		return exit_code;
	if (disk && !(disk_format = in_place_format(disk, &exit_code)))
		return exit_code;
	if (o.iso && !(iso = existing_file("--iso", o.iso, &exit_code)))
		return exit_code;
	if (o.kernel && !(kernel = existing_file("--kernel", o.kernel, &exit_code)))
		return exit_code;
	if (o.initrd && !(initrd = existing_file("--initrd", o.initrd, &exit_code)))
		return exit_code;

	/* A kernel booted directly needs no disk; anything else gets one
	 * unless told otherwise. */
	if (!o.disk_size && !o.disk && !o.kernel)
		disk_size = DEFAULT_DISK_SIZE;
	if (iso)
		guess_os_defaults(config, iso, o.disk_size || disk ? NULL : &disk_size, &disk_bus);
	if (o.memory != -1)
		config->memory_mib = o.memory;
	if (o.cpus != -1)
		config->cpus = o.cpus;
	if (o.firmware)
		config->firmware = firmware;
	config->kernel = g_steal_pointer(&kernel);
	config->initrd = g_steal_pointer(&initrd);
	config->append = g_strdup(o.append);

	/* The CD-ROM boots first, so that an installer starts before the
	 * empty disk is tried. */
	if (iso) {
		HgVmDisk *cdrom =
			hg_vm_config_add_disk(config, iso, HG_DISK_BUS_SATA, HG_DISK_MEDIA_CDROM);

		cdrom->read_only = true;
		cdrom->boot_index = boot_index++;
	}
	new_disk = !disk && disk_size > 0;
	if (disk || new_disk) {
		HgVmDisk *d = hg_vm_config_add_disk(config, disk ? disk : DISK_IMAGE_NAME, disk_bus,
						    HG_DISK_MEDIA_DISK);

		hg_vm_disk_set_format(d, disk_format);
		d->boot_index = boot_index++;
	}
	if (!hg_vm_config_validate(config, &error))
		return hgctl_fail_usage("%s", error->message);

	lib = hgctl_open_library(&exit_code);
	if (!lib)
		return exit_code;
	entry = hg_vm_library_create(lib, config, &error);
	if (!entry)
		return hgctl_fail_error(error);
	if (new_disk &&
	    !hg_vm_library_create_disk(lib, entry, DISK_IMAGE_NAME, disk_size, &error)) {
		g_autoptr(GError) cleanup_error = NULL;

		/* A VM whose disk could not be made is not worth keeping. */
		if (!hg_vm_library_delete(lib, entry, HG_VM_DELETE_FILES, &cleanup_error))
			g_printerr("hangarctl: %s\n", cleanup_error->message);
		return hgctl_fail_error(error);
	}

	if (hgctl_globals.json)
		hgctl_print_json(hgctl_vm_to_json(entry, HG_VM_STATE_STOPPED));
	else
		printf(_("Created VM \"%s\" (id %s) in %s\n"), entry->config->name, entry->id,
		       entry->dir);
	return HGCTL_EXIT_OK;
}

/* ---- info ---- */

int hgctl_cmd_info(int argc, char **argv)
{
	const HgctlCommand *command = hgctl_find_command("info");
	g_autoptr(GOptionContext) context = hgctl_option_context_new(command, NULL);
	g_autoptr(HgVmLibrary) lib = NULL;
	g_autoptr(HgVmEntry) entry = NULL;
	int exit_code = HGCTL_EXIT_OK;
	HgVmState state;

	if (!hgctl_parse_options(context, command, &argc, &argv))
		return HGCTL_EXIT_USAGE;
	if (!hgctl_expect_arguments(command, argc, 1, 1))
		return HGCTL_EXIT_USAGE;
	if (!(lib = hgctl_open_library(&exit_code)))
		return exit_code;
	if (!(entry = hgctl_lookup_vm(lib, argv[1], true, &exit_code)))
		return exit_code;
	state = hg_vm_probe_state(entry->id);
	if (hgctl_globals.json)
		hgctl_print_json(hgctl_vm_to_json(entry, state));
	else
		hgctl_print_vm_human(entry, state);
	return HGCTL_EXIT_OK;
}

/* ---- rename, duplicate ---- */

int hgctl_cmd_rename(int argc, char **argv)
{
	const HgctlCommand *command = hgctl_find_command("rename");
	g_autoptr(GOptionContext) context = hgctl_option_context_new(command, NULL);
	g_autoptr(HgVmLibrary) lib = NULL;
	g_autoptr(HgVmEntry) entry = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *old_name = NULL;
	int exit_code = HGCTL_EXIT_OK;

	if (!hgctl_parse_options(context, command, &argc, &argv))
		return HGCTL_EXIT_USAGE;
	if (!hgctl_expect_arguments(command, argc, 2, 2))
		return HGCTL_EXIT_USAGE;
	if (!*argv[2])
		return hgctl_fail_usage(_("the new name is empty"));
	if (!(lib = hgctl_open_library(&exit_code)))
		return exit_code;
	if (!(entry = hgctl_lookup_vm(lib, argv[1], true, &exit_code)))
		return exit_code;
	old_name = g_strdup(entry->config->name);
	if (!hg_vm_library_rename(lib, entry, argv[2], &error))
		return hgctl_fail_error(error);
	if (hgctl_globals.json)
		hgctl_print_json(hgctl_vm_to_json(entry, hg_vm_probe_state(entry->id)));
	else
		printf(_("Renamed VM \"%s\" to \"%s\" (id %s)\n"), old_name, argv[2], entry->id);
	return HGCTL_EXIT_OK;
}

int hgctl_cmd_duplicate(int argc, char **argv)
{
	const HgctlCommand *command = hgctl_find_command("duplicate");
	g_autoptr(GOptionContext) context = hgctl_option_context_new(command, NULL);
	g_autoptr(HgVmLibrary) lib = NULL;
	g_autoptr(HgVmEntry) entry = NULL;
	g_autoptr(HgVmEntry) copy = NULL;
	g_autoptr(GError) error = NULL;
	int exit_code = HGCTL_EXIT_OK;

	if (!hgctl_parse_options(context, command, &argc, &argv))
		return HGCTL_EXIT_USAGE;
	if (!hgctl_expect_arguments(command, argc, 2, 2))
		return HGCTL_EXIT_USAGE;
	if (!*argv[2])
		return hgctl_fail_usage(_("the new name is empty"));
	if (!(lib = hgctl_open_library(&exit_code)))
		return exit_code;
	if (!(entry = hgctl_lookup_vm(lib, argv[1], true, &exit_code)))
		return exit_code;
	copy = hg_vm_library_duplicate(lib, entry, argv[2], NULL, &error);
	if (!copy)
		return hgctl_fail_error(error);
	if (hgctl_globals.json)
		hgctl_print_json(hgctl_vm_to_json(copy, HG_VM_STATE_STOPPED));
	else
		printf(_("Copied VM \"%s\" to \"%s\" (id %s)\n"), entry->config->name,
		       copy->config->name, copy->id);
	return HGCTL_EXIT_OK;
}

/* ---- delete ---- */

/* y/N on the terminal, in the user's language (rpmatch reads the locale's
 * yes expression). */
static bool confirm(const char *question)
{
	char line[128];

	fprintf(stderr, "%s ", question);
	fflush(stderr);
	if (!fgets(line, sizeof(line), stdin))
		return false;
	g_strchomp(line);
	return rpmatch(line) == 1;
}

int hgctl_cmd_delete(int argc, char **argv)
{
	const HgctlCommand *command = hgctl_find_command("delete");
	gboolean trash = FALSE, files = FALSE, yes = FALSE;
	const GOptionEntry entries[] = {
		{"trash", 0, 0, G_OPTION_ARG_NONE, &trash,
		 N_("Move the VM's folder to the trash (the default)"), NULL},
		{"files", 0, 0, G_OPTION_ARG_NONE, &files,
		 N_("Delete the VM's folder and the files in it"), NULL},
		{"yes", 'y', 0, G_OPTION_ARG_NONE, &yes, N_("Do not ask for confirmation"), NULL},
		{NULL},
	};
	g_autoptr(GOptionContext) context = hgctl_option_context_new(command, entries);
	g_autoptr(HgVmLibrary) lib = NULL;
	g_autoptr(HgVmEntry) entry = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *label = NULL;
	HgVmDeleteMode mode;
	int exit_code = HGCTL_EXIT_OK;

	if (!hgctl_parse_options(context, command, &argc, &argv))
		return HGCTL_EXIT_USAGE;
	if (!hgctl_expect_arguments(command, argc, 1, 1))
		return HGCTL_EXIT_USAGE;
	if (trash && files)
		return hgctl_fail_usage(_("give --trash or --files, not both"));
	mode = files ? HG_VM_DELETE_FILES : HG_VM_DELETE_TO_TRASH;
	if (!yes && !isatty(STDIN_FILENO))
		return hgctl_fail_usage(
			_("refusing to delete without --yes when stdin is not a terminal"));
	if (!(lib = hgctl_open_library(&exit_code)))
		return exit_code;
	/* A broken folder can be deleted: that is how one gets rid of it. */
	if (!(entry = hgctl_lookup_vm(lib, argv[1], false, &exit_code)))
		return exit_code;
	label = g_strdup(hgctl_vm_label(entry));
	if (!yes) {
		g_autofree char *question =
			mode == HG_VM_DELETE_FILES
				? g_strdup_printf(_("Delete VM \"%s\" and the files in %s? [y/N]"),
						  label, entry->dir)
				: g_strdup_printf(_("Move VM \"%s\" (%s) to the trash? [y/N]"),
						  label, entry->dir);

		if (!confirm(question))
			return hgctl_fail(HGCTL_EXIT_FAILED, "cancelled", _("nothing deleted"));
	}
	if (!hg_vm_library_delete(lib, entry, mode, &error))
		return hgctl_fail_error(error);
	if (hgctl_globals.json) {
		JsonObject *object = json_object_new();

		json_object_set_string_member(object, "id", entry->id);
		if (entry->config)
			json_object_set_string_member(object, "name", entry->config->name);
		else
			json_object_set_null_member(object, "name");
		json_object_set_string_member(object, "dir", entry->dir);
		json_object_set_string_member(object, "deleted",
					      mode == HG_VM_DELETE_FILES ? "files" : "trash");
		hgctl_print_json(object);
	} else if (mode == HG_VM_DELETE_FILES) {
		printf(_("Deleted VM \"%s\"\n"), label);
	} else {
		printf(_("Moved VM \"%s\" to the trash\n"), label);
	}
	return HGCTL_EXIT_OK;
}

/* ---- version ---- */

/* "hangar-engine 0.1.0" from the engine itself, or NULL. */
static char *engine_version(const char *engine)
{
	g_autofree char *out = NULL;
	char *argv[] = {(char *)engine, "--version", NULL};
	int status;

	if (!g_spawn_sync(NULL, argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL,
			  &status, NULL) ||
	    !g_spawn_check_wait_status(status, NULL) || !out)
		return NULL;
	g_strstrip(out);
	if (!g_str_has_prefix(out, "hangar-engine "))
		return NULL;
	return g_strdup(out + strlen("hangar-engine "));
}

int hgctl_cmd_version(int argc, char **argv)
{
	const HgctlCommand *command = hgctl_find_command("version");
	g_autoptr(GOptionContext) context = hgctl_option_context_new(command, NULL);
	g_autofree char *engine = NULL;
	g_autofree char *engine_ver = NULL;

	if (!hgctl_parse_options(context, command, &argc, &argv))
		return HGCTL_EXIT_USAGE;
	if (!hgctl_expect_arguments(command, argc, 0, 0))
		return HGCTL_EXIT_USAGE;
	engine = hg_engine_path();
	engine_ver = engine ? engine_version(engine) : NULL;
	if (hgctl_globals.json) {
		JsonObject *object = json_object_new();

		json_object_set_string_member(object, "version", HANGAR_VERSION);
		if (engine)
			json_object_set_string_member(object, "engine", engine);
		else
			json_object_set_null_member(object, "engine");
		if (engine_ver)
			json_object_set_string_member(object, "engine-version", engine_ver);
		else
			json_object_set_null_member(object, "engine-version");
		hgctl_print_json(object);
		return HGCTL_EXIT_OK;
	}
	printf("hangarctl %s\n", HANGAR_VERSION);
	if (engine_ver)
		printf(_("engine %s: %s\n"), engine_ver, engine);
	else
		printf(_("engine: %s (does not answer --version)\n"), engine ? engine : "?");
	return HGCTL_EXIT_OK;
}
