/* hangarctl: the command-line twin of the Hangar app (docs/hangarctl.md).
 *
 * main() reads the global options up to the command name, then hands the
 * rest to the command, which parses its own options; the global ones are
 * accepted there too, so "hangarctl list --json" works as well as
 * "hangarctl --json list". */
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "ui/hangarctl/hangarctl.h"

HgctlGlobals hgctl_globals;

static const GOptionEntry global_entries[] = {
	{"json", 0, 0, G_OPTION_ARG_NONE, &hgctl_globals.json,
	 N_("Print one JSON object on stdout (errors too)"), NULL},
	{"library", 0, 0, G_OPTION_ARG_FILENAME, &hgctl_globals.library_root,
	 N_("The library's folder (default $HANGAR_LIBRARY, else $XDG_DATA_HOME/hangar)"),
	 N_("DIR")},
	{NULL},
};

/* In the order --help lists them. */
static const HgctlCommand commands[] = {
	{"list", "", N_("List the VMs, their OS, state, memory and CPUs"),
	 N_("Broken VM folders are listed too, with the reason they cannot be loaded."),
	 hgctl_cmd_list},
	{"create", N_("NAME"), N_("Create a VM"),
	 N_("Without --disk or --disk-size, the VM gets a new qcow2 disk (disk.qcow2, on "
	    "virtio) of 20 GiB or the size its OS asks for; --kernel VMs get no disk. "
	    "--iso adds a CD-ROM drive the VM boots from first; when the ISO's OS is "
	    "recognized, it fills in the memory, CPUs, disk size and firmware that are not "
	    "given, and an OS without virtio drivers gets its disk on SATA. SIZE is bytes or "
	    "a number with K, M, G or T (binary units)."),
	 hgctl_cmd_create},
	{"info", N_("VM"), N_("Show a VM's configuration, state, runtime files and last exit"),
	 NULL, hgctl_cmd_info},
	{"start", N_("VM"), N_("Start a VM"),
	 N_("The VM's engine keeps running after hangarctl returns. With --wait, hangarctl "
	    "waits until the engine exits and reports how it ended: exit code 0 when it "
	    "ended with status 0 (powered off, quit), 1 otherwise."),
	 hgctl_cmd_start},
	{"stop", N_("VM"), N_("Power a VM off"),
	 N_("Presses the ACPI power button and waits for the engine to exit (a paused VM is "
	    "resumed first, so that its guest sees the button). --force ends the engine at "
	    "once, like pulling the plug."),
	 hgctl_cmd_stop},
	{"pause", N_("VM"), N_("Pause a running VM"), NULL, hgctl_cmd_pause},
	{"resume", N_("VM"), N_("Resume a paused VM"), NULL, hgctl_cmd_resume},
	{"reset", N_("VM"), N_("Reset a running VM, like a PC's reset button"), NULL,
	 hgctl_cmd_reset},
	{"screenshot", N_("VM FILE.png"), N_("Save a running VM's screen as a PNG"), NULL,
	 hgctl_cmd_screenshot},
	{"console", N_("VM"), N_("Connect the terminal to a running VM's serial console"),
	 N_("On a terminal, the console runs in raw mode and Ctrl-] quits. With pipes, stdin "
	    "goes to the guest as it is and the guest's output comes out on stdout; the "
	    "console ends when the VM stops, stdout is closed, a signal arrives or "
	    "--timeout passes (the end of stdin does not end it, so the output after the "
	    "last input is not lost). With --json, only errors before connecting are JSON: "
	    "once connected, stdout carries the serial stream."),
	 hgctl_cmd_console},
	{"rename", N_("VM NEW-NAME"), N_("Rename a VM (its id stays)"), NULL, hgctl_cmd_rename},
	{"duplicate", N_("VM NEW-NAME"), N_("Copy a stopped VM under a new name"), NULL,
	 hgctl_cmd_duplicate},
	{"delete", N_("VM"), N_("Delete a VM"),
	 N_("Asks for confirmation on a terminal; without a terminal, --yes is required. "
	    "--trash (the default) moves the VM's folder to the trash, --files deletes it. "
	    "Images used in place (create --disk, --iso) are never deleted."),
	 hgctl_cmd_delete},
	{"snapshot-create", N_("VM NAME"), N_("Take a snapshot of a VM"),
	 N_("A running (or paused) VM is snapshotted live: its disks, memory and devices, "
	    "with a pause of the guest. A stopped VM's snapshot holds its disks only. Every "
	    "writable disk must be a qcow2 image."),
	 hgctl_cmd_snapshot_create},
	{"snapshot-list", N_("VM"), N_("Show a VM's snapshots as a tree"), NULL,
	 hgctl_cmd_snapshot_list},
	{"snapshot-revert", N_("VM SNAPSHOT"), N_("Put a VM back to a snapshot"),
	 N_("The disks, the configuration and the UEFI variables go back to the snapshot. A "
	    "live snapshot's machine continues where it was (the VM is started); after a "
	    "disks-only snapshot the VM stays stopped. A running VM is refused unless --force "
	    "is given, which ends it first. SNAPSHOT is an id or a name."),
	 hgctl_cmd_snapshot_revert},
	{"snapshot-delete", N_("VM SNAPSHOT"), N_("Delete a snapshot and free its space"),
	 N_("Its children, if any, move up to its parent. Works while the VM runs."),
	 hgctl_cmd_snapshot_delete},
	{"snapshot-rename", N_("VM SNAPSHOT NEW-NAME"), N_("Rename (and describe) a snapshot"),
	 NULL, hgctl_cmd_snapshot_rename},
	{"clone", N_("VM NEW-NAME"), N_("Make a new VM from a VM or one of its snapshots"),
	 N_("A full clone copies the disks (sparse parts stay sparse). A linked clone "
	    "(--linked) makes qcow2 overlays on a copy of the snapshot's disks kept with the "
	    "source VM, so more clones of the same snapshot cost almost nothing; without "
	    "--snapshot it first takes a snapshot named \"Base of NEW-NAME\". The source VM "
	    "and that snapshot cannot be deleted while linked clones use them. Snapshots are "
	    "not copied: the clone starts without any."),
	 hgctl_cmd_clone},
	{"convert", N_("VM"), N_("Convert a stopped VM's raw disks to qcow2"),
	 N_("Snapshots need qcow2 disks. Each raw disk is copied to a qcow2 image beside it "
	    "(disk.img becomes disk.qcow2) and the raw file is removed when it was in the VM's "
	    "folder; an image used in place is left as it is."),
	 hgctl_cmd_convert},
	{"import", N_("FILE"), N_("Make a VM from a disk image, an appliance or an archive"),
	 N_("What the file is comes from its content. Disk images (raw, qcow2, VMDK, VDI, VHD, "
	    "VHDX) are copied into the new VM's folder as qcow2 by default (blocks of zeros stay "
	    "unallocated); --mode in-place uses a raw or qcow2 image where it is, --mode overlay "
	    "makes a qcow2 overlay whose backing file is the image. Such a VM gets 2048 MiB, 2 "
	    "CPUs, the disk on SATA, and UEFI when the disk can boot only from an EFI system "
	    "partition. An OVA or OVF appliance gives its own name, CPUs, memory, firmware, OS "
	    "and disks (its manifest is checked). Tar and zip archives of disks and images "
	    "compressed with gzip, xz, zstd or bzip2 are streamed into qcow2. ISOs are refused: "
	    "create a VM with --iso."),
	 hgctl_cmd_import},
	{"version", "", N_("Show hangarctl's and the engine's version"), NULL, hgctl_cmd_version},
};

/* Why the exit codes are in every --help: scripts are written from it. */
static const char *exit_codes_text(void)
{
	return _("Exit codes:\n"
		 "  0  success\n"
		 "  1  the operation failed (engine error, I/O, timeout)\n"
		 "  2  usage error\n"
		 "  3  no such VM\n"
		 "  4  wrong state (not running, already running, running when it must be "
		 "stopped)\n"
		 "  5  the VM folder is broken\n"
		 "\n"
		 "VM is a vm-id or a name. See docs/hangarctl.md.");
}

const HgctlCommand *hgctl_find_command(const char *name)
{
	for (size_t i = 0; i < G_N_ELEMENTS(commands); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

/* GOptionContext prints descriptions as they are; a paragraph of any
 * language is wrapped here, at spaces, to fit a terminal. */
static char *wrap_paragraph(const char *text)
{
	enum { WIDTH = 79 };
	g_auto(GStrv) words = g_strsplit(text, " ", -1);
	GString *out = g_string_new(NULL);
	long column = 0;

	for (char **w = words; *w; w++) {
		long length = (long)g_utf8_strlen(*w, -1);

		if (!**w)
			continue;
		if (column && column + 1 + length > WIDTH) {
			g_string_append_c(out, '\n');
			column = 0;
		} else if (column) {
			g_string_append_c(out, ' ');
			column++;
		}
		g_string_append(out, *w);
		column += length;
	}
	return g_string_free(out, FALSE);
}

const char *hgctl_command_parameters(const HgctlCommand *command)
{
	return *command->parameters ? _(command->parameters) : "";
}

GOptionContext *hgctl_option_context_new(const HgctlCommand *command, const GOptionEntry *entries)
{
	g_autofree char *parameters =
		g_strdup_printf("%s %s", command->name, hgctl_command_parameters(command));
	GOptionContext *context = g_option_context_new(g_strchomp(parameters));
	g_autofree char *description = NULL;
	g_autofree char *paragraph =
		command->description ? wrap_paragraph(_(command->description)) : NULL;

	g_option_context_set_translation_domain(context, GETTEXT_PACKAGE);
	g_option_context_set_summary(context, _(command->summary));
	if (command->description)
		description = g_strdup_printf("%s\n\n%s", paragraph, exit_codes_text());
	else
		description = g_strdup(exit_codes_text());
	g_option_context_set_description(context, description);
	if (entries)
		g_option_context_add_main_entries(context, entries, GETTEXT_PACKAGE);
	g_option_context_add_main_entries(context, global_entries, GETTEXT_PACKAGE);
	return context;
}

bool hgctl_parse_options(GOptionContext *context, const HgctlCommand *command, int *argc,
			 char ***argv)
{
	g_autoptr(GError) error = NULL;

	if (!g_option_context_parse(context, argc, argv, &error)) {
		hgctl_fail_usage("%s (%s)", error->message, command->name);
		return false;
	}
	return true;
}

bool hgctl_expect_arguments(const HgctlCommand *command, int argc, int min, int max)
{
	int n = argc - 1;

	if (n >= min && n <= max)
		return true;
	if (n < min)
		hgctl_fail_usage(_("%s: missing arguments (usage: hangarctl %s %s)"), command->name,
				 command->name, hgctl_command_parameters(command));
	else
		hgctl_fail_usage(_("%s: too many arguments (usage: hangarctl %s %s)"),
				 command->name, command->name, hgctl_command_parameters(command));
	return false;
}

static char *main_help_text(GOptionContext *context)
{
	GString *summary = g_string_new(_("Manage Hangar VMs from a terminal or a script."));

	g_string_append_printf(summary, "\n\n%s\n", _("Commands:"));
	for (size_t i = 0; i < G_N_ELEMENTS(commands); i++)
		g_string_append_printf(summary, "  %-12s %s\n", commands[i].name,
				       _(commands[i].summary));
	g_string_append(summary, _("\n\"hangarctl COMMAND --help\" shows a command's options."));
	g_option_context_set_summary(context, summary->str);
	g_string_free(summary, TRUE);
	g_option_context_set_description(context, exit_codes_text());
	return g_option_context_get_help(context, TRUE, NULL);
}

/* Scanned before parsing so that even a bad global option is reported as
 * JSON when --json was given. */
static void prescan_json(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--json"))
			hgctl_globals.json = TRUE;
}

int main(int argc, char **argv)
{
	g_autoptr(GOptionContext) context = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *help = NULL;
	const HgctlCommand *command;
	gboolean version = FALSE;
	const GOptionEntry main_entries[] = {
		{"version", 0, 0, G_OPTION_ARG_NONE, &version, N_("Same as the version command"),
		 NULL},
		{NULL},
	};

	setlocale(LC_ALL, "");
	bindtextdomain(GETTEXT_PACKAGE, HANGAR_LOCALEDIR);
	bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
	textdomain(GETTEXT_PACKAGE);
	g_set_prgname("hangarctl");
	prescan_json(argc, argv);

	context = g_option_context_new(_("COMMAND [ARGUMENT…]"));
	g_option_context_set_translation_domain(context, GETTEXT_PACKAGE);
	/* Stop at the command name: what follows is the command's. */
	g_option_context_set_strict_posix(context, TRUE);
	g_option_context_add_main_entries(context, main_entries, GETTEXT_PACKAGE);
	g_option_context_add_main_entries(context, global_entries, GETTEXT_PACKAGE);
	help = main_help_text(context);
	if (!g_option_context_parse(context, &argc, &argv, &error))
		return hgctl_fail_usage("%s", error->message);
	if (version)
		return hgctl_cmd_version(1, (char *[]){"version", NULL});
	if (argc < 2) {
		fputs(help, stderr);
		return hgctl_fail_usage(_("no command given"));
	}
	if (!strcmp(argv[1], "help")) {
		if (argc < 3) {
			fputs(help, stdout);
			return HGCTL_EXIT_OK;
		}
		command = hgctl_find_command(argv[2]);
		if (!command)
			return hgctl_fail_usage(_("unknown command \"%s\" (see hangarctl --help)"),
						argv[2]);
		return command->run(2, (char *[]){argv[2], "--help", NULL});
	}
	command = hgctl_find_command(argv[1]);
	if (!command)
		return hgctl_fail_usage(_("unknown command \"%s\" (see hangarctl --help)"),
					argv[1]);
	return command->run(argc - 1, argv + 1);
}
