/* hangar-engine: one process per running VM.  Parses the command line,
 * builds the machine (or restores a saved one), and runs the main loop until
 * the guest powers off, the control socket says quit, or a signal arrives.
 * Exit codes: docs/exit-codes.md. */
#include <errno.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/platform/rtc_cmos.h"
#include "display/console.h"
#include "display/servers.h"
#include "engine/boot.h"
#include "engine/control.h"
#include "engine/engine.h"
#include "engine/harness.h"
#include "engine/state.h"
#include "engine/vcpu.h"

#define HG_DEFAULT_BIOS "/usr/share/seabios/bios-256k.bin"

typedef struct {
	gint64 memory_mib;
	gint cpus;
	char *kernel, *initrd, *append, *firmware, *firmware_vars;
	char *serial, *debugcon;
	gboolean debug_exit, no_reboot, paused, version, test_pci_device, test_input_log;
	char *control, *vm_id, *restore, *test_harness;
	char **fw_cfg;
	char **drives;
	gboolean boot_menu;
	gint boot_menu_wait;
	gint vga_memory;
	char *uuid;
	char *rtc_base;
	char *spice, *spice_tcp, *spice_password_file;
	char *vnc, *vnc_tcp, *vnc_password_file;
} EngineOptions;

static EngineOptions opts = {.memory_mib = -1, .cpus = -1};

/* Why the engine failed before its main loop ran, for exit.json. */
static char *failure_reason;

static void engine_record_failure(char *message)
{
	g_free(failure_reason);
	failure_reason = message;
}

static GOptionEntry option_entries[] = {
	{"memory", 'm', 0, G_OPTION_ARG_INT64, &opts.memory_mib, "Guest RAM in MiB (default 256)",
	 "MIB"},
	{"cpus", 'c', 0, G_OPTION_ARG_INT, &opts.cpus, "Number of vCPUs, 1 to 64 (default 1)", "N"},
	{"kernel", 'k', 0, G_OPTION_ARG_FILENAME, &opts.kernel,
	 "Boot a Linux bzImage, ELF64 or multiboot kernel directly", "FILE"},
	{"initrd", 0, 0, G_OPTION_ARG_FILENAME, &opts.initrd, "Initial RAM disk for --kernel",
	 "FILE"},
	{"append", 0, 0, G_OPTION_ARG_STRING, &opts.append, "Kernel command line", "TEXT"},
	{"firmware", 0, 0, G_OPTION_ARG_FILENAME, &opts.firmware,
	 "Firmware mapped below 4 GiB when no --kernel (default " HG_DEFAULT_BIOS ")", "FILE"},
	{"firmware-vars", 0, 0, G_OPTION_ARG_FILENAME, &opts.firmware_vars,
	 "Writable UEFI variable store (a copy of OVMF_VARS_4M.fd), as flash directly below "
	 "the firmware image; with no image (--kernel, test harness) it ends at 0xFFC84000",
	 "FILE"},
	{"serial", 0, 0, G_OPTION_ARG_STRING, &opts.serial,
	 "COM1 backend: stdio, file:PATH, unix:PATH[,wait][,log=FILE] or none (default none)", "SPEC"},
	{"debugcon", 0, 0, G_OPTION_ARG_STRING, &opts.debugcon,
	 "Backend for the 0x402 debug console (same forms as --serial)", "SPEC"},
	{"debug-exit", 0, 0, G_OPTION_ARG_NONE, &opts.debug_exit,
	 "Enable the isa-debug-exit port 0xf4 (test guests)", NULL},
	{"no-reboot", 0, 0, G_OPTION_ARG_NONE, &opts.no_reboot,
	 "Exit (status 8) instead of resetting when the guest reboots", NULL},
	{"paused", 0, 0, G_OPTION_ARG_NONE, &opts.paused,
	 "Start paused; the control socket's cont runs the guest", NULL},
	{"fw-cfg", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opts.fw_cfg,
	 "Add a fw_cfg file: name=NAME,file=PATH or name=NAME,string=TEXT", "SPEC"},
	{"drive", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opts.drives,
	 "Add a disk or CD-ROM: file=PATH,if=virtio|sata,media=disk|cdrom,readonly=on|off,"
	 "bootindex=N,format=raw|qcow2 (the image is opened as that format; without format= "
	 "its content is probed, which a guest that can write the image may steer: give it)",
	 "SPEC"},
	{"uuid", 0, 0, G_OPTION_ARG_STRING, &opts.uuid,
	 "The machine's UUID, as firmware reports it (default: derived from --vm-id)", "UUID"},
	{"vga-memory", 0, 0, G_OPTION_ARG_INT, &opts.vga_memory,
	 "std-VGA framebuffer in MiB: a power of two, 1 to 256 (default 16)", "MIB"},
	{"boot-menu", 0, 0, G_OPTION_ARG_NONE, &opts.boot_menu,
	 "Let the firmware offer its boot menu (ESC on the console)", NULL},
	{"boot-menu-wait", 0, 0, G_OPTION_ARG_INT, &opts.boot_menu_wait,
	 "How long the boot menu prompt waits, in ms (default 2500)", "MS"},
	{"rtc-base", 0, 0, G_OPTION_ARG_STRING, &opts.rtc_base,
	 "Start the guest's real-time clock at TIME: ISO 8601 (2026-01-02T03:04:05Z), utc or "
	 "localtime (default: utc, the host's clock)",
	 "TIME"},
	{"control", 0, 0, G_OPTION_ARG_FILENAME, &opts.control, "Control socket path", "PATH"},
	{"vm-id", 0, 0, G_OPTION_ARG_STRING, &opts.vm_id,
	 "Put the control socket in $XDG_RUNTIME_DIR/hangar/ID/", "ID"},
	{"spice", 0, 0, G_OPTION_ARG_FILENAME, &opts.spice,
	 "Serve the screen over SPICE on this unix socket (default with --vm-id: spice.sock "
	 "beside the control socket)",
	 "PATH"},
	{"spice-tcp", 0, 0, G_OPTION_ARG_STRING, &opts.spice_tcp,
	 "Also serve SPICE over TCP (needs --spice-password-file)", "HOST:PORT"},
	{"spice-password-file", 0, 0, G_OPTION_ARG_FILENAME, &opts.spice_password_file,
	 "The SPICE ticket TCP clients must give: the file's first line", "FILE"},
	{"vnc", 0, 0, G_OPTION_ARG_FILENAME, &opts.vnc,
	 "Serve the screen over VNC on this unix socket (default with --vm-id: vnc.sock beside "
	 "the control socket)",
	 "PATH"},
	{"vnc-tcp", 0, 0, G_OPTION_ARG_STRING, &opts.vnc_tcp,
	 "Also serve VNC over TCP, on 127.0.0.1 unless HOST is given (needs "
	 "--vnc-password-file)",
	 "[HOST:]PORT"},
	{"vnc-password-file", 0, 0, G_OPTION_ARG_FILENAME, &opts.vnc_password_file,
	 "The VNC password TCP clients must give: the file's first line (VNC uses 8 "
	 "characters)",
	 "FILE"},
	{"restore", 0, 0, G_OPTION_ARG_FILENAME, &opts.restore,
	 "Continue a machine saved with save-state", "DIR"},
	{"test-harness", 0, 0, G_OPTION_ARG_FILENAME, &opts.test_harness,
	 "Test mode: no vCPU; devices driven over this socket (docs/test-harness.md)", "PATH"},
	{"test-input-log", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, &opts.test_input_log,
	 "With --test-harness: report every input event to the harness (tests only)", NULL},
	{"test-pci-device", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, &opts.test_pci_device,
	 "Add the PCI core's test device at 00:1f.0 (tests only)", NULL},
	{"version", 0, 0, G_OPTION_ARG_NONE, &opts.version, "Print the version and exit", NULL},
	{NULL},
};

static int usage_error(const char *fmt, const char *detail)
{
	g_autofree char *message = g_strdup_printf(fmt, detail);

	g_printerr("hangar-engine: %s\nTry hangar-engine --help.\n", message);
	engine_record_failure(g_strdup_printf("bad command line: %s", message));
	return HG_EXIT_USAGE;
}

/* --uuid, or one derived from --vm-id (stable, so a restored machine's
 * firmware tables match the saved ones), or the nil UUID. */
static bool engine_machine_uuid(uint8_t uuid[16])
{
	memset(uuid, 0, 16);
	if (opts.uuid) {
		if (!g_uuid_string_is_valid(opts.uuid))
			return false;
		for (unsigned i = 0, j = 0; i < 16; j++) {
			if (opts.uuid[j] == '-')
				continue;
			uuid[i++] = g_ascii_xdigit_value(opts.uuid[j]) << 4 |
				    g_ascii_xdigit_value(opts.uuid[j + 1]);
			j++;
		}
		return true;
	}
	if (opts.vm_id) {
		g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
		uint8_t digest[32];
		gsize len = sizeof(digest);
		g_checksum_update(sum, (const guchar *)"hangar-vm:", -1);
		g_checksum_update(sum, (const guchar *)opts.vm_id, -1);
		g_checksum_get_digest(sum, digest, &len);
		memcpy(uuid, digest, 16);
		uuid[6] = (uuid[6] & 0x0f) | 0x50; /* name-based (version 5 layout) */
		uuid[8] = (uuid[8] & 0x3f) | 0x80; /* RFC 4122 variant */
	}
	return true;
}

static int engine_parse_options(int argc, char **argv, HgMachineConfig *cfg)
{
	g_autoptr(GOptionContext) ctx = g_option_context_new("- run one Hangar virtual machine");
	g_autoptr(GError) error = NULL;

	g_option_context_add_main_entries(ctx, option_entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &error))
		return usage_error("%s", error->message);
	if (argc > 1)
		return usage_error("unexpected argument \"%s\"", argv[1]);
	if (opts.memory_mib != -1 && (opts.memory_mib < 2 || opts.memory_mib > (1 << 20)))
		return usage_error("%s", "--memory must be between 2 and 1048576 MiB");
	if (opts.cpus != -1 && (opts.cpus < 1 || opts.cpus > HG_MAX_VCPUS))
		return usage_error("%s", "--cpus must be between 1 and 64");
	if ((opts.initrd || opts.append) && !opts.kernel)
		return usage_error("%s", "--initrd and --append need --kernel");
	if (opts.control && opts.vm_id)
		return usage_error("%s", "give --control or --vm-id, not both");
	if (opts.vm_id && (!*opts.vm_id || strchr(opts.vm_id, '/') || opts.vm_id[0] == '.'))
		return usage_error("invalid --vm-id \"%s\"", opts.vm_id);
	if (!opts.spice_tcp != !opts.spice_password_file)
		return usage_error("%s", "--spice-tcp and --spice-password-file go together");
	if (opts.spice_tcp) {
		g_autofree char *host = NULL;
		int port;
		const HgDisplayServers *ds = hg_display_servers(&error);
		if (!ds)
			return usage_error("%s", error->message);
		if (!ds->spice_parse_address(opts.spice_tcp, &host, &port, &error))
			return usage_error("--spice-tcp: %s", error->message);
	}
	if (!opts.vnc_tcp != !opts.vnc_password_file)
		return usage_error("%s", "--vnc-tcp and --vnc-password-file go together");
	if (opts.vnc_tcp) {
		g_autofree char *host = NULL;
		int port;
		const HgDisplayServers *ds = hg_display_servers(&error);
		if (!ds)
			return usage_error("%s", error->message);
		if (!ds->vnc_parse_address(opts.vnc_tcp, &host, &port, &error))
			return usage_error("--vnc-tcp: %s", error->message);
	}

	if (opts.memory_mib != -1)
		cfg->ram_mib = opts.memory_mib;
	if (opts.cpus != -1)
		cfg->n_vcpus = opts.cpus;
	if (opts.rtc_base) {
		if (!hg_rtc_cmos_parse_time(opts.rtc_base, &cfg->rtc_base_us, &error))
			return usage_error("--rtc-base: %s", error->message);
		cfg->rtc_base_set = true;
	}
	cfg->serial = g_strdup(opts.serial);
	cfg->debugcon = g_strdup(opts.debugcon);
	cfg->debug_exit = opts.debug_exit;
	cfg->no_reboot = opts.no_reboot;
	cfg->test_pci_device = opts.test_pci_device;
	cfg->boot.kernel = g_strdup(opts.kernel);
	cfg->boot.initrd = g_strdup(opts.initrd);
	cfg->boot.cmdline = g_strdup(opts.append);
	/* With no kernel, the PC boots its BIOS: Debian's SeaBIOS by default
	 * (the test harness runs no firmware). */
	cfg->boot.firmware = g_strdup(opts.firmware ? opts.firmware
				      : opts.kernel || opts.test_harness ? NULL
									 : HG_DEFAULT_BIOS);
	cfg->firmware_vars = g_strdup(opts.firmware_vars);
	for (char **f = opts.fw_cfg; f && *f; f++) {
		HgFwCfgOption *o;
		if (!hg_fw_cfg_option_parse(*f, &o, &error))
			return usage_error("%s", error->message);
		for (guint i = 0; i < cfg->fw_cfg_files->len; i++) {
			HgFwCfgOption *other = g_ptr_array_index(cfg->fw_cfg_files, i);
			if (strcmp(other->name, o->name) == 0) {
				g_autofree char *name = g_strdup(o->name);
				hg_fw_cfg_option_free(o);
				return usage_error("--fw-cfg: duplicate file name \"%s\"",
						   name);
			}
		}
		g_ptr_array_add(cfg->fw_cfg_files, o);
	}
	if (!engine_machine_uuid(cfg->uuid))
		return usage_error("--uuid \"%s\" is not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
				   opts.uuid);
	if (opts.vga_memory &&
	    (opts.vga_memory < 1 || opts.vga_memory > 256 || (opts.vga_memory & (opts.vga_memory - 1))))
		return usage_error("%s", "--vga-memory must be a power of two from 1 to 256 MiB");
	cfg->vga_memory_mib = opts.vga_memory;
	if (opts.boot_menu_wait < 0 || opts.boot_menu_wait > 60000)
		return usage_error("%s", "--boot-menu-wait must be between 0 and 60000 ms");
	cfg->boot_menu = opts.boot_menu;
	cfg->boot_menu_wait_ms = opts.boot_menu_wait ? opts.boot_menu_wait : 2500;
	for (char **d = opts.drives; d && *d; d++) {
		HgDriveOption *drive;
		if (!hg_drive_option_parse(*d, &drive, &error))
			return usage_error("%s", error->message);
		g_ptr_array_add(cfg->drives, drive);
	}
	return -1;
}

static bool engine_vm_id_valid(void)
{
	return opts.vm_id && *opts.vm_id && !strchr(opts.vm_id, '/') && opts.vm_id[0] != '.';
}

/* $XDG_RUNTIME_DIR/hangar/<vm-id>/exit.json: how this run ended, so that the
 * app and hangarctl can tell a crash from a power-off even when nobody
 * watched the process (docs/exit-codes.md).  Atomic: a reader sees the old
 * file or the new one.  A signal that kills the engine leaves none; whoever
 * waits on the process writes it then. */
static char *engine_exit_file(void)
{
	return g_build_filename(g_get_user_runtime_dir(), "hangar", opts.vm_id, "exit.json", NULL);
}

static void engine_write_exit_file(int status, const char *reason)
{
	g_autofree char *path = engine_exit_file();
	g_autofree char *dir = g_path_get_dirname(path);
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) root = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *text = NULL;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "status");
	json_builder_add_int_value(b, status);
	json_builder_set_member_name(b, "reason");
	json_builder_add_string_value(b, reason ? reason : "");
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(gen, root);
	text = json_generator_to_data(gen, NULL);
	if (g_mkdir_with_parents(dir, 0700) < 0 ||
	    !g_file_set_contents_full(path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600,
				      &error))
		g_printerr("hangar-engine: cannot write %s: %s\n", path,
			   error ? error->message : g_strerror(errno));
}

/* A socket's path: the one given, else NAME in the VM's runtime folder
 * $XDG_RUNTIME_DIR/hangar/<vm-id>/ (made 0700) when --vm-id is given, else
 * NULL (no such socket).  NULL with *error set when the folder can't be made. */
static char *engine_socket_path(const char *given, const char *name, GError **error)
{
	if (given)
		return g_strdup(given);
	if (!opts.vm_id)
		return NULL;
	g_autofree char *dir =
		g_build_filename(g_get_user_runtime_dir(), "hangar", opts.vm_id, NULL);
	if (g_mkdir_with_parents(dir, 0700) < 0 || g_chmod(dir, 0700) < 0) {
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
			    "cannot create %s: %s", dir, g_strerror(errno));
		return NULL;
	}
	return g_build_filename(dir, name, NULL);
}

/* SPICE on --spice PATH, on spice.sock beside the control socket with
 * --vm-id, and on TCP with --spice-tcp. */
static bool engine_start_spice(HgEngine *e, GError **error)
{
	g_autofree char *path = NULL, *host = NULL, *ticket = NULL;
	HgSpiceConfig config = {.name = opts.vm_id, .uuid = e->config.uuid};

	path = engine_socket_path(opts.spice, "spice.sock", error);
	if (!path && error && *error)
		return false;
	if (!path && !opts.spice_tcp)
		return true;
	const HgDisplayServers *ds = hg_display_servers(error);
	if (!ds)
		return false;
	if (opts.spice_tcp) {
		if (!ds->spice_parse_address(opts.spice_tcp, &host, &config.tcp_port, error) ||
		    !(ticket = ds->spice_read_ticket(opts.spice_password_file, error)))
			return false;
		config.tcp_host = host;
		config.ticket = ticket;
	}
	config.unix_path = path;
	e->spice = ds->spice_new(e->platform.console, e->platform.input, &config, error);
	return e->spice != NULL;
}

/* VNC on --vnc PATH, on vnc.sock beside the control socket with --vm-id,
 * and on TCP with --vnc-tcp (always with a password). */
static bool engine_start_vnc(HgEngine *e, GError **error)
{
	g_autofree char *path = NULL, *host = NULL, *password = NULL;
	HgVncConfig config = {.name = opts.vm_id};

	path = engine_socket_path(opts.vnc, "vnc.sock", error);
	if (!path && error && *error)
		return false;
	if (!path && !opts.vnc_tcp)
		return true;
	const HgDisplayServers *ds = hg_display_servers(error);
	if (!ds)
		return false;
	if (opts.vnc_tcp) {
		if (!ds->vnc_parse_address(opts.vnc_tcp, &host, &config.tcp_port, error) ||
		    !(password = ds->vnc_read_password(opts.vnc_password_file, error)))
			return false;
		config.tcp_host = host;
		config.password = password;
	}
	config.unix_path = path;
	e->vnc = ds->vnc_new(e->platform.console, e->platform.input, &config, error);
	return e->vnc != NULL;
}

static gboolean engine_on_signal(gpointer data)
{
	hg_engine_quit(data, HG_EXIT_OK, "signal");
	return G_SOURCE_CONTINUE;
}

static void engine_on_harness_quit(void *data)
{
	hg_engine_quit(data, HG_EXIT_OK, "test harness client left");
}

static void engine_on_serial_connected(void *data)
{
	if (!opts.paused)
		hg_engine_resume(data);
}

static void engine_on_serial_quit(void *data)
{
	hg_engine_quit(data, HG_EXIT_OK, "Ctrl-A x on the console");
}

/* Build machine, devices and boot state; returns an exit status on failure,
 * or -1 when ready to run. */
static int engine_build(HgEngine *e)
{
	g_autoptr(GError) error = NULL;
	HgMachineConfig *cfg = &e->config;
	HgSavedState saved = {0};
	bool harness = opts.test_harness != NULL;
	int status = -1;

	if (opts.restore) {
		if (!hg_state_open(opts.restore, &saved, &error)) {
			g_printerr("hangar-engine: cannot restore: %s\n", error->message);
			engine_record_failure(g_strdup_printf("cannot restore: %s", error->message));
			return HG_EXIT_RESTORE_FAILED;
		}
		if (saved.harness_mode != harness) {
			g_printerr("hangar-engine: cannot restore: the state was saved %s the test "
				   "harness\n",
				   saved.harness_mode ? "under" : "outside");
			engine_record_failure(g_strdup("cannot restore: the state was saved in the "
						       "other mode (test harness or not)"));
			hg_saved_state_clear(&saved);
			return HG_EXIT_RESTORE_FAILED;
		}
		cfg->ram_mib = saved.ram_size >> 20;
		if (!harness)
			cfg->n_vcpus = saved.n_vcpus;
	}
	e->machine = hg_machine_new(harness, cfg->ram_mib << 20,
				    opts.restore ? saved.ram_path : NULL, &error);
	if (!e->machine)
		goto setup_failed;
	e->machine->on_guest_request = hg_engine_handle_guest_request;
	e->machine->on_guest_request_data = e;
	/* Firmware before the vCPUs: its memory slot is cheaper before the
	 * irqchip exists (engine/kvm.c). */
	if (!hg_boot_prepare(e->machine, &cfg->boot, &error))
		goto setup_failed;
	if (!harness) {
		e->machine->n_vcpus = 0;
		for (unsigned i = 0; i < cfg->n_vcpus; i++) {
			HgVcpu *vcpu = hg_vcpu_new(e->machine, i, &error);
			if (!vcpu)
				goto setup_failed;
			e->machine->vcpus[e->machine->n_vcpus++] = vcpu;
		}
	}
	if (!hg_platform_create(e->machine, cfg, &e->platform, &error))
		goto setup_failed;
	hg_chardev_set_quit_handler(e->platform.serial, engine_on_serial_quit, e);
	if (opts.restore) {
		if (!hg_state_load(e->machine, &saved, &error)) {
			g_printerr("hangar-engine: cannot restore: %s\n", error->message);
			engine_record_failure(g_strdup_printf("cannot restore: %s", error->message));
			status = HG_EXIT_RESTORE_FAILED;
		}
	} else if (!harness && !hg_boot_load(e->machine, &cfg->boot, &error)) {
		goto setup_failed;
	}
	hg_saved_state_clear(&saved);
	return status;

setup_failed:
	g_printerr("hangar-engine: %s\n", error->message);
	engine_record_failure(g_strdup(error->message));
	hg_saved_state_clear(&saved);
	return HG_EXIT_SETUP_FAILED;
}

static int engine_start_services(HgEngine *e)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *control_path = engine_socket_path(opts.control, "control.sock", &error);

	if (error)
		goto fail;
	if (control_path && !(e->control = hg_control_new(e, control_path, &error)))
		goto fail;
	if (opts.test_harness &&
	    !(e->harness = hg_harness_new(e->machine, opts.test_harness, engine_on_harness_quit, e,
					  &error)))
		goto fail;
	if (e->harness)
		hg_harness_attach_display(e->harness, e->platform.console, e->platform.input,
					  opts.test_input_log);
	hg_timers_attach(e->machine);
	/* The display thread exists for the display servers' clients; an
	 * engine serving none (tests, benchmarks) skips it and its 30 Hz
	 * refresh (screendump renders on demand). */
	if (opts.vnc || opts.vnc_tcp || opts.spice || opts.spice_tcp || opts.vm_id)
		hg_console_start_thread(e->platform.console);
	if (!engine_start_spice(e, &error) || !engine_start_vnc(e, &error))
		goto fail;
	for (unsigned i = 0; i < e->machine->n_vcpus; i++)
		if (!hg_vcpu_start_thread(e->machine->vcpus[i], &error))
			goto fail;
	return -1;
fail:
	g_printerr("hangar-engine: %s\n", error->message);
	engine_record_failure(g_strdup(error->message));
	return HG_EXIT_SETUP_FAILED;
}

int main(int argc, char **argv)
{
	HgEngine engine = {0};
	int status;

	/* No setlocale(): the engine prints plain ASCII, and a UTF-8 locale's
	 * tables would cost every engine 128 KiB of resident memory. */
	hg_machine_config_init(&engine.config);
	status = engine_parse_options(argc, argv, &engine.config);
	if (status >= 0)
		goto out;
	if (opts.version) {
		printf("hangar-engine %s\n", HANGAR_VERSION);
		status = HG_EXIT_OK;
		goto out;
	}
	/* An earlier run's record must not describe this one. */
	if (engine_vm_id_valid()) {
		g_autofree char *exit_file = engine_exit_file();
		g_unlink(exit_file);
	}
	engine.loop = g_main_loop_new(NULL, FALSE);
	status = engine_build(&engine);
	if (status < 0)
		status = engine_start_services(&engine);
	if (status < 0) {
		g_unix_signal_add(SIGINT, engine_on_signal, &engine);
		g_unix_signal_add(SIGTERM, engine_on_signal, &engine);
		g_unix_signal_add(SIGHUP, engine_on_signal, &engine);
		hg_chardev_set_connect_handler(engine.platform.serial, engine_on_serial_connected,
					       &engine);
		if (!opts.paused && !engine.machine->harness_mode &&
		    !hg_chardev_waiting_for_client(engine.platform.serial))
			hg_engine_resume(&engine);
		g_main_loop_run(engine.loop);
		status = engine.exit_status;
	}
	/* The display servers run on the display thread, so before it stops,
	 * and before the harness: its input log gets the clients' last events
	 * (SPICE releases the keys a client held). */
	/* Only an engine that started a server has the module loaded. */
	if (engine.vnc)
		hg_display_servers(NULL)->vnc_free(engine.vnc);
	if (engine.spice)
		hg_display_servers(NULL)->spice_free(engine.spice);
	hg_harness_free(engine.harness);
	hg_control_free(engine.control);
	/* The display thread calls into devices: stop it before they go. */
	if (engine.platform.console)
		hg_console_stop_thread(engine.platform.console);
	hg_machine_free(engine.machine);
	hg_platform_destroy(&engine.platform);
	g_main_loop_unref(engine.loop);
out:
	if (engine_vm_id_valid() && !opts.version)
		engine_write_exit_file(status, engine.exit_reason ? engine.exit_reason
								  : failure_reason);
	g_free(engine.exit_reason);
	g_free(failure_reason);
	hg_machine_config_clear(&engine.config);
	return status;
}
