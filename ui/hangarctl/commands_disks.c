/* hangarctl's commands that copy or rewrite disks: clone, convert
 * (library/vm/vm_clone.c does the work) and import (library/import). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ui/hangarctl/hangarctl.h"
#include "library/import/import.h"
#include "library/vm/vm_clone.h"
#include "library/vm/vm_snapshot.h"

/* A percentage on stderr while it runs, when stderr is a terminal. */
static void show_progress(guint64 done, guint64 total, gpointer user_data)
{
	const char *what = user_data;

	if (!isatty(STDERR_FILENO) || total == 0)
		return;
	fprintf(stderr, "\r%s %3u%%", what, (unsigned)(done * 100 / total));
	if (done >= total)
		fprintf(stderr, "\n");
}

int hgctl_cmd_clone(int argc, char **argv)
{
	const HgctlCommand *command = hgctl_find_command("clone");
	g_autofree char *snapshot = NULL;
	gboolean linked = FALSE;
	const GOptionEntry entries[] = {
		{"snapshot", 0, 0, G_OPTION_ARG_STRING, &snapshot,
		 N_("Clone the VM as it was at this snapshot (id or name)"), N_("SNAPSHOT")},
		{"linked", 0, 0, G_OPTION_ARG_NONE, &linked,
		 N_("Share the snapshot's disks instead of copying them"), NULL},
		{NULL},
	};
	g_autoptr(GOptionContext) context = hgctl_option_context_new(command, entries);
	g_autoptr(HgVmLibrary) lib = NULL;
	g_autoptr(HgVmEntry) source = NULL, clone = NULL;
	g_autoptr(HgVmSnapshot) base = NULL;
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
	if (!(source = hgctl_lookup_vm(lib, argv[1], true, &exit_code)))
		return exit_code;
	/* A linked clone stands on a snapshot: take one when none is named,
	 * as VirtualBox does. */
	if (linked && !snapshot) {
		g_autofree char *name = g_strdup_printf(_("Base of %s"), argv[2]);
		base = hg_vm_snapshot_take(lib, source, name, NULL, &error);
		if (!base)
			return hgctl_fail_error(error);
		snapshot = g_strdup(base->id);
	}
	clone = hg_vm_library_clone(lib, source, snapshot, argv[2],
				    linked ? HG_VM_CLONE_LINKED : HG_VM_CLONE_FULL, NULL,
				    show_progress, (gpointer)_("Copying disks"), &error);
	if (!clone)
		return hgctl_fail_error(error);
	if (hgctl_globals.json)
		hgctl_print_json(hgctl_vm_to_json(clone, hg_vm_probe_state(clone->id)));
	else
		printf(linked ? _("Made linked clone \"%s\" (id %s) of VM \"%s\"\n")
			      : _("Made clone \"%s\" (id %s) of VM \"%s\"\n"),
		       clone->config->name, clone->id, hgctl_vm_label(source));
	return HGCTL_EXIT_OK;
}

int hgctl_cmd_convert(int argc, char **argv)
{
	const HgctlCommand *command = hgctl_find_command("convert");
	g_autoptr(GOptionContext) context = hgctl_option_context_new(command, NULL);
	g_autoptr(HgVmLibrary) lib = NULL;
	g_autoptr(HgVmEntry) entry = NULL;
	g_autoptr(GError) error = NULL;
	int exit_code = HGCTL_EXIT_OK;
	int converted;

	if (!hgctl_parse_options(context, command, &argc, &argv))
		return HGCTL_EXIT_USAGE;
	if (!hgctl_expect_arguments(command, argc, 1, 1))
		return HGCTL_EXIT_USAGE;
	if (!(lib = hgctl_open_library(&exit_code)))
		return exit_code;
	if (!(entry = hgctl_lookup_vm(lib, argv[1], true, &exit_code)))
		return exit_code;
	converted = hg_vm_convert_disks(lib, entry, NULL, show_progress,
					(gpointer)_("Converting disks"), &error);
	if (converted < 0)
		return hgctl_fail_error(error);
	if (hgctl_globals.json) {
		JsonObject *o = hgctl_vm_to_json(entry, hg_vm_probe_state(entry->id));
		json_object_set_int_member(o, "converted", converted);
		hgctl_print_json(o);
	} else if (converted == 0) {
		printf(_("VM \"%s\" has no raw disks to convert\n"), hgctl_vm_label(entry));
	} else {
		printf(g_dngettext(NULL, "Converted %d disk of VM \"%s\" to qcow2\n",
				   "Converted %d disks of VM \"%s\" to qcow2\n", converted),
		       converted, hgctl_vm_label(entry));
	}
	return HGCTL_EXIT_OK;
}

int hgctl_cmd_import(int argc, char **argv)
{
	const HgctlCommand *command = hgctl_find_command("import");
	g_autofree char *name = NULL, *mode = NULL;
	const GOptionEntry entries[] = {
		{"name", 0, 0, G_OPTION_ARG_STRING, &name,
		 N_("The new VM's name (default: from the file's name)"), N_("NAME")},
		{"mode", 0, 0, G_OPTION_ARG_STRING, &mode,
		 N_("copy (default: a qcow2 copy in the VM's folder), in-place (raw and qcow2: "
		    "use the image where it is) or overlay (a qcow2 overlay on the image)"),
		 N_("MODE")},
		{NULL},
	};
	g_autoptr(GOptionContext) context = hgctl_option_context_new(command, entries);
	g_autoptr(HgVmLibrary) lib = NULL;
	g_autoptr(HgVmEntry) entry = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *path = NULL;
	HgImportOptions options = {NULL, HG_IMPORT_COPY};
	g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func(g_free);
	int exit_code = HGCTL_EXIT_OK;

	if (!hgctl_parse_options(context, command, &argc, &argv))
		return HGCTL_EXIT_USAGE;
	if (!hgctl_expect_arguments(command, argc, 1, 1))
		return HGCTL_EXIT_USAGE;
	if (!mode || strcmp(mode, "copy") == 0)
		options.mode = HG_IMPORT_COPY;
	else if (strcmp(mode, "in-place") == 0)
		options.mode = HG_IMPORT_IN_PLACE;
	else if (strcmp(mode, "overlay") == 0)
		options.mode = HG_IMPORT_OVERLAY;
	else
		return hgctl_fail_usage(_("--mode must be copy, in-place or overlay"));
	if (name && !*name)
		return hgctl_fail_usage(_("the name is empty"));
	options.name = name;
	if (!(lib = hgctl_open_library(&exit_code)))
		return exit_code;
	path = g_canonicalize_filename(argv[1], NULL);
	options.notes = notes;
	entry = hg_import_disk_image(lib, path, &options, NULL, show_progress,
				     (gpointer)_("Importing"), &error);
	if (!entry)
		return hgctl_fail_error(error);
	if (hgctl_globals.json) {
		JsonObject *object = hgctl_vm_to_json(entry, HG_VM_STATE_STOPPED);
		JsonArray *list = json_array_new();
		for (guint i = 0; i < notes->len; i++)
			json_array_add_string_element(list, g_ptr_array_index(notes, i));
		json_object_set_array_member(object, "notes", list);
		hgctl_print_json(object);
	} else {
		printf(_("Imported %s as VM \"%s\" (id %s)\n"), argv[1], entry->config->name,
		       entry->id);
		/* The library's notes are in English, as its errors are. */
		for (guint i = 0; i < notes->len; i++)
			printf(_("Note: %s\n"), (const char *)g_ptr_array_index(notes, i));
	}
	return HGCTL_EXIT_OK;
}
