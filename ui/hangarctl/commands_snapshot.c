/* hangarctl's snapshot commands: snapshot-create, -list, -revert, -delete,
 * -rename.  The work is library/vm/vm_snapshot.c's; this file parses, asks
 * and prints. */
#include <stdio.h>
#include <string.h>

#include "ui/hangarctl/hangarctl.h"
#include "library/vm/vm_snapshot.h"

static JsonObject *snapshot_to_json(const HgVmEntry *entry, const HgVmSnapshot *snap,
				    const char *current)
{
	JsonObject *o = json_object_new();
	g_autofree char *dir = hg_vm_snapshot_dir(entry, snap);
	g_autofree char *screen = hg_vm_snapshot_screen(entry, snap);

	json_object_set_string_member(o, "id", snap->id);
	json_object_set_string_member(o, "name", snap->name);
	json_object_set_string_member(o, "description", snap->description);
	if (snap->parent)
		json_object_set_string_member(o, "parent", snap->parent);
	else
		json_object_set_null_member(o, "parent");
	json_object_set_int_member(o, "created", snap->created);
	json_object_set_boolean_member(o, "live", snap->live);
	json_object_set_boolean_member(o, "current", g_strcmp0(current, snap->id) == 0);
	json_object_set_string_member(o, "dir", dir);
	if (screen)
		json_object_set_string_member(o, "screen", screen);
	else
		json_object_set_null_member(o, "screen");
	return o;
}

/* Looks up the library, the VM and the command's arguments: the start of
 * every command here. */
static bool open_vm(const HgctlCommand *command, GOptionContext *context, int *argc, char ***argv,
		    int min_args, int max_args, HgVmLibrary **lib, HgVmEntry **entry,
		    int *exit_code)
{
	if (!hgctl_parse_options(context, command, argc, argv) ||
	    !hgctl_expect_arguments(command, *argc, min_args, max_args)) {
		*exit_code = HGCTL_EXIT_USAGE;
		return false;
	}
	*lib = hgctl_open_library(exit_code);
	if (!*lib)
		return false;
	*entry = hgctl_lookup_vm(*lib, (*argv)[1], true, exit_code);
	return *entry != NULL;
}

static char *format_time(gint64 unix_seconds)
{
	g_autoptr(GDateTime) t = g_date_time_new_from_unix_local(unix_seconds);
	return t ? g_date_time_format(t, "%Y-%m-%d %H:%M") : g_strdup("?");
}

/* ---- create ---- */

int hgctl_cmd_snapshot_create(int argc, char **argv)
{
	const HgctlCommand *command = hgctl_find_command("snapshot-create");
	g_autofree char *description = NULL;
	const GOptionEntry entries[] = {
		{"description", 0, 0, G_OPTION_ARG_STRING, &description,
		 N_("A longer note kept with the snapshot"), N_("TEXT")},
		{NULL},
	};
	g_autoptr(GOptionContext) context = hgctl_option_context_new(command, entries);
	g_autoptr(HgVmLibrary) lib = NULL;
	g_autoptr(HgVmEntry) entry = NULL;
	g_autoptr(HgVmSnapshot) snap = NULL;
	g_autoptr(GError) error = NULL;
	int exit_code = HGCTL_EXIT_OK;

	if (!open_vm(command, context, &argc, &argv, 2, 2, &lib, &entry, &exit_code))
		return exit_code;
	snap = hg_vm_snapshot_take(lib, entry, argv[2], description, &error);
	if (!snap)
		return hgctl_fail_error(error);
	if (hgctl_globals.json)
		hgctl_print_json(snapshot_to_json(entry, snap, snap->id));
	else
		printf(snap->live ? _("Took live snapshot %s \"%s\" of VM \"%s\"\n")
				  : _("Took snapshot %s \"%s\" of VM \"%s\" (disks only: it was "
				      "stopped)\n"),
		       snap->id, snap->name, hgctl_vm_label(entry));
	return HGCTL_EXIT_OK;
}

/* ---- list ---- */

static void print_tree(const HgVmEntry *entry, const HgVmSnapshotTree *tree, const char *parent,
		       unsigned depth)
{
	g_autoptr(GPtrArray) children = hg_vm_snapshot_tree_children(tree, parent);

	for (guint i = 0; i < children->len; i++) {
		HgVmSnapshot *snap = g_ptr_array_index(children, i);
		g_autofree char *when = format_time(snap->created);
		g_autofree char *indent = g_strnfill(depth * 2, ' ');
		bool current = g_strcmp0(tree->current, snap->id) == 0;

		printf("%-4s %s%s  %s  %s%s\n", snap->id, indent, snap->name, when,
		       snap->live ? _("live") : _("disks only"),
		       current ? _("  <- you are here") : "");
		if (*snap->description)
			printf("     %s  %s\n", indent, snap->description);
		print_tree(entry, tree, snap->id, depth + 1);
	}
}

int hgctl_cmd_snapshot_list(int argc, char **argv)
{
	const HgctlCommand *command = hgctl_find_command("snapshot-list");
	g_autoptr(GOptionContext) context = hgctl_option_context_new(command, NULL);
	g_autoptr(HgVmLibrary) lib = NULL;
	g_autoptr(HgVmEntry) entry = NULL;
	g_autoptr(HgVmSnapshotTree) tree = NULL;
	g_autoptr(GError) error = NULL;
	int exit_code = HGCTL_EXIT_OK;

	if (!open_vm(command, context, &argc, &argv, 1, 1, &lib, &entry, &exit_code))
		return exit_code;
	tree = hg_vm_snapshots_load(entry, &error);
	if (!tree)
		return hgctl_fail_error(error);
	if (hgctl_globals.json) {
		JsonObject *o = json_object_new();
		JsonArray *list = json_array_new();
		json_object_set_string_member(o, "id", entry->id);
		json_object_set_string_member(o, "name", entry->config->name);
		if (tree->current)
			json_object_set_string_member(o, "current", tree->current);
		else
			json_object_set_null_member(o, "current");
		for (guint i = 0; i < tree->snapshots->len; i++)
			json_array_add_object_element(
				list, snapshot_to_json(entry, g_ptr_array_index(tree->snapshots, i),
						       tree->current));
		json_object_set_array_member(o, "snapshots", list);
		hgctl_print_json(o);
	} else if (tree->snapshots->len == 0) {
		printf(_("VM \"%s\" has no snapshots\n"), hgctl_vm_label(entry));
	} else {
		print_tree(entry, tree, NULL, 0);
	}
	return HGCTL_EXIT_OK;
}

/* ---- revert ---- */

int hgctl_cmd_snapshot_revert(int argc, char **argv)
{
	const HgctlCommand *command = hgctl_find_command("snapshot-revert");
	gboolean force = FALSE, paused = FALSE;
	const GOptionEntry entries[] = {
		{"force", 0, 0, G_OPTION_ARG_NONE, &force,
		 N_("If the VM runs, end it first (its present state is lost)"), NULL},
		{"paused", 0, 0, G_OPTION_ARG_NONE, &paused,
		 N_("After reverting to a live snapshot, leave the VM paused"), NULL},
		{NULL},
	};
	g_autoptr(GOptionContext) context = hgctl_option_context_new(command, entries);
	g_autoptr(HgVmLibrary) lib = NULL;
	g_autoptr(HgVmEntry) entry = NULL;
	g_autoptr(HgVmSnapshotTree) tree = NULL;
	g_autoptr(GSubprocess) engine = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *dir = NULL;
	HgVmSnapshot *snap;
	HgVmState state;
	int exit_code = HGCTL_EXIT_OK;
	bool live;

	if (!open_vm(command, context, &argc, &argv, 2, 2, &lib, &entry, &exit_code))
		return exit_code;
	tree = hg_vm_snapshots_load(entry, &error);
	snap = tree ? hg_vm_snapshot_tree_find(tree, argv[2], &error) : NULL;
	if (!snap)
		return hgctl_fail_error(error);
	state = hg_vm_probe_state(entry->id);
	if (state == HG_VM_STATE_RUNNING || state == HG_VM_STATE_PAUSED) {
		if (!force)
			return hgctl_fail(HGCTL_EXIT_STATE, "running",
					  _("VM \"%s\" is running: stop it first, or give --force "
					    "to end it (its present state is lost)"),
					  hgctl_vm_label(entry));
		if (!hgctl_force_stop(entry, &exit_code))
			return exit_code;
	}
	if (!hg_vm_snapshot_revert(lib, entry, snap->id, &live, &error))
		return hgctl_fail_error(error);
	if (live) {
		dir = hg_vm_snapshot_dir(entry, snap);
		engine = hg_engine_start_restore(entry, dir, paused, NULL, &error);
		if (!engine)
			return hgctl_fail_error(error);
	}
	if (hgctl_globals.json) {
		hgctl_print_json(hgctl_vm_to_json(entry, hg_vm_probe_state(entry->id)));
	} else if (live) {
		printf(_("Reverted VM \"%s\" to snapshot %s \"%s\"; it continues from there\n"),
		       hgctl_vm_label(entry), snap->id, snap->name);
	} else {
		printf(_("Reverted VM \"%s\" to snapshot %s \"%s\" (disks only: start it to boot "
			 "from them)\n"),
		       hgctl_vm_label(entry), snap->id, snap->name);
	}
	return HGCTL_EXIT_OK;
}

/* ---- delete, rename ---- */

int hgctl_cmd_snapshot_delete(int argc, char **argv)
{
	const HgctlCommand *command = hgctl_find_command("snapshot-delete");
	g_autoptr(GOptionContext) context = hgctl_option_context_new(command, NULL);
	g_autoptr(HgVmLibrary) lib = NULL;
	g_autoptr(HgVmEntry) entry = NULL;
	g_autoptr(HgVmSnapshotTree) tree = NULL;
	g_autoptr(HgVmSnapshot) snap = NULL;
	g_autoptr(GError) error = NULL;
	HgVmSnapshot *found;
	int exit_code = HGCTL_EXIT_OK;

	if (!open_vm(command, context, &argc, &argv, 2, 2, &lib, &entry, &exit_code))
		return exit_code;
	tree = hg_vm_snapshots_load(entry, &error);
	found = tree ? hg_vm_snapshot_tree_find(tree, argv[2], &error) : NULL;
	if (!found)
		return hgctl_fail_error(error);
	snap = hg_vm_snapshot_copy(found);
	if (!hg_vm_snapshot_delete(lib, entry, snap->id, &error))
		return hgctl_fail_error(error);
	if (hgctl_globals.json) {
		JsonObject *o = json_object_new();
		json_object_set_string_member(o, "vm", entry->id);
		json_object_set_string_member(o, "deleted", snap->id);
		json_object_set_string_member(o, "name", snap->name);
		hgctl_print_json(o);
	} else {
		printf(_("Deleted snapshot %s \"%s\" of VM \"%s\"\n"), snap->id, snap->name,
		       hgctl_vm_label(entry));
	}
	return HGCTL_EXIT_OK;
}

int hgctl_cmd_snapshot_rename(int argc, char **argv)
{
	const HgctlCommand *command = hgctl_find_command("snapshot-rename");
	g_autofree char *description = NULL;
	const GOptionEntry entries[] = {
		{"description", 0, 0, G_OPTION_ARG_STRING, &description,
		 N_("Replace the snapshot's description too"), N_("TEXT")},
		{NULL},
	};
	g_autoptr(GOptionContext) context = hgctl_option_context_new(command, entries);
	g_autoptr(HgVmLibrary) lib = NULL;
	g_autoptr(HgVmEntry) entry = NULL;
	g_autoptr(HgVmSnapshotTree) tree = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *id = NULL;
	HgVmSnapshot *snap;
	int exit_code = HGCTL_EXIT_OK;

	if (!open_vm(command, context, &argc, &argv, 3, 3, &lib, &entry, &exit_code))
		return exit_code;
	tree = hg_vm_snapshots_load(entry, &error);
	snap = tree ? hg_vm_snapshot_tree_find(tree, argv[2], &error) : NULL;
	if (!snap)
		return hgctl_fail_error(error);
	id = g_strdup(snap->id);
	if (!hg_vm_snapshot_set_info(lib, entry, id, argv[3], description, &error))
		return hgctl_fail_error(error);
	g_clear_pointer(&tree, hg_vm_snapshot_tree_free);
	tree = hg_vm_snapshots_load(entry, &error);
	snap = tree ? hg_vm_snapshot_tree_find(tree, id, &error) : NULL;
	if (!snap)
		return hgctl_fail_error(error);
	if (hgctl_globals.json)
		hgctl_print_json(snapshot_to_json(entry, snap, tree->current));
	else
		printf(_("Renamed snapshot %s of VM \"%s\" to \"%s\"\n"), id,
		       hgctl_vm_label(entry), snap->name);
	return HGCTL_EXIT_OK;
}
