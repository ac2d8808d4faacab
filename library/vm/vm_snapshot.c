/* A VM's snapshot tree and its operations (vm_snapshot.h). */
#include "library/vm/vm_snapshot.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

#include "library/block/block.h"
#include "library/vm/control_client.h"
#include "library/vm/vm_clone.h"
#include "library/vm/vm_library_private.h"
#include "library/vm/vm_runtime.h"

#define SNAPSHOTS_FILE "snapshots.json"
#define SNAPSHOTS_FILE_MAX (4u << 20)
#define SNAPSHOT_NAME_MAX 200
#define SNAPSHOT_DESCRIPTION_MAX 4000

void hg_vm_snapshot_free(HgVmSnapshot *snap)
{
	if (!snap)
		return;
	g_free(snap->id);
	g_free(snap->name);
	g_free(snap->description);
	g_free(snap->parent);
	g_free(snap);
}

HgVmSnapshot *hg_vm_snapshot_copy(const HgVmSnapshot *snap)
{
	HgVmSnapshot *copy = g_new0(HgVmSnapshot, 1);

	copy->id = g_strdup(snap->id);
	copy->name = g_strdup(snap->name);
	copy->description = g_strdup(snap->description);
	copy->parent = g_strdup(snap->parent);
	copy->created = snap->created;
	copy->live = snap->live;
	return copy;
}

void hg_vm_snapshot_tree_free(HgVmSnapshotTree *tree)
{
	if (!tree)
		return;
	g_ptr_array_unref(tree->snapshots);
	g_free(tree->current);
	g_free(tree);
}

static HgVmSnapshotTree *tree_new(void)
{
	HgVmSnapshotTree *tree = g_new0(HgVmSnapshotTree, 1);

	tree->snapshots = g_ptr_array_new_with_free_func((GDestroyNotify)hg_vm_snapshot_free);
	tree->next_id = 1;
	return tree;
}

static HgVmSnapshot *tree_lookup_id(const HgVmSnapshotTree *tree, const char *id)
{
	for (guint i = 0; id && i < tree->snapshots->len; i++) {
		HgVmSnapshot *snap = g_ptr_array_index(tree->snapshots, i);
		if (strcmp(snap->id, id) == 0)
			return snap;
	}
	return NULL;
}

HgVmSnapshot *hg_vm_snapshot_tree_find(const HgVmSnapshotTree *tree, const char *id_or_name,
				       GError **error)
{
	HgVmSnapshot *found = tree_lookup_id(tree, id_or_name);
	unsigned matches = 0;

	if (found)
		return found;
	for (guint i = 0; i < tree->snapshots->len; i++) {
		HgVmSnapshot *snap = g_ptr_array_index(tree->snapshots, i);
		if (strcmp(snap->name, id_or_name) == 0) {
			found = snap;
			matches++;
		}
	}
	if (matches == 1)
		return found;
	if (matches > 1)
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_AMBIGUOUS,
			    "%u snapshots are named \"%s\": give the id", matches, id_or_name);
	else
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_NOT_FOUND, "no snapshot \"%s\"",
			    id_or_name);
	return NULL;
}

GPtrArray *hg_vm_snapshot_tree_children(const HgVmSnapshotTree *tree, const char *id)
{
	GPtrArray *children = g_ptr_array_new();

	for (guint i = 0; i < tree->snapshots->len; i++) {
		HgVmSnapshot *snap = g_ptr_array_index(tree->snapshots, i);
		if (g_strcmp0(snap->parent, id) == 0)
			g_ptr_array_add(children, snap);
	}
	return children;
}

char *hg_vm_snapshot_dir(const HgVmEntry *entry, const HgVmSnapshot *snap)
{
	return g_build_filename(entry->dir, "snapshots", snap->id, NULL);
}

char *hg_vm_snapshot_disk_name(const HgVmSnapshot *snap)
{
	return g_strconcat("hangar-", snap->id, NULL);
}

char *hg_vm_snapshot_screen(const HgVmEntry *entry, const HgVmSnapshot *snap)
{
	g_autofree char *dir = hg_vm_snapshot_dir(entry, snap);
	char *path = g_build_filename(dir, "screen.png", NULL);

	if (g_file_test(path, G_FILE_TEST_IS_REGULAR))
		return path;
	g_free(path);
	return NULL;
}

/* ---- snapshots.json ---- */

static bool tree_invalid(GError **error, const char *path, const char *why)
{
	g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID, "%s: %s", path, why);
	return false;
}

static bool text_acceptable(const char *s, gsize max)
{
	if (!g_utf8_validate(s, -1, NULL) || g_utf8_strlen(s, -1) > (glong)max)
		return false;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 && *p != '\n' && *p != '\t')
			return false;
	return true;
}

static bool name_acceptable(const char *s)
{
	return *s && !strchr(s, '\n') && !strchr(s, '\t') && text_acceptable(s, SNAPSHOT_NAME_MAX);
}

/* An id is a decimal number below next_id, without leading zeros. */
static bool id_acceptable(const char *id, guint64 next_id)
{
	guint64 n;

	return id[0] >= '1' && id[0] <= '9' && strlen(id) <= 18 &&
	       g_ascii_string_to_unsigned(id, 10, 1, G_MAXUINT64, &n, NULL) && n < next_id;
}

static bool parse_snapshot(JsonNode *node, HgVmSnapshotTree *tree, const char *path,
			   GError **error)
{
	JsonObject *o;
	HgVmSnapshot *snap;
	JsonNode *parent, *created, *live;
	const char *id, *name, *description;

	if (!JSON_NODE_HOLDS_OBJECT(node))
		return tree_invalid(error, path, "a snapshot entry is not an object");
	o = json_node_get_object(node);
	id = json_object_get_string_member_with_default(o, "id", NULL);
	name = json_object_get_string_member_with_default(o, "name", NULL);
	description = json_object_get_string_member_with_default(o, "description", "");
	parent = json_object_get_member(o, "parent");
	created = json_object_get_member(o, "created");
	live = json_object_get_member(o, "live");
	if (!id || !id_acceptable(id, tree->next_id))
		return tree_invalid(error, path, "a snapshot's \"id\" is missing or invalid");
	if (tree_lookup_id(tree, id))
		return tree_invalid(error, path, "two snapshots share an id");
	if (!name || !name_acceptable(name))
		return tree_invalid(error, path, "a snapshot's \"name\" is missing or invalid");
	if (!description || !text_acceptable(description, SNAPSHOT_DESCRIPTION_MAX))
		return tree_invalid(error, path, "a snapshot's \"description\" is invalid");
	/* A parent must come earlier in the list: the tree cannot loop. */
	if (parent && !JSON_NODE_HOLDS_NULL(parent) &&
	    (!JSON_NODE_HOLDS_VALUE(parent) || json_node_get_value_type(parent) != G_TYPE_STRING ||
	     !tree_lookup_id(tree, json_node_get_string(parent))))
		return tree_invalid(error, path, "a snapshot's \"parent\" is not an earlier snapshot");
	if (!created || !JSON_NODE_HOLDS_VALUE(created) ||
	    json_node_get_value_type(created) != G_TYPE_INT64)
		return tree_invalid(error, path, "a snapshot's \"created\" is missing");
	if (live && (!JSON_NODE_HOLDS_VALUE(live) ||
		     json_node_get_value_type(live) != G_TYPE_BOOLEAN))
		return tree_invalid(error, path, "a snapshot's \"live\" is not a boolean");
	snap = g_new0(HgVmSnapshot, 1);
	snap->id = g_strdup(id);
	snap->name = g_strdup(name);
	snap->description = g_strdup(description);
	if (parent && !JSON_NODE_HOLDS_NULL(parent))
		snap->parent = g_strdup(json_node_get_string(parent));
	snap->created = json_node_get_int(created);
	snap->live = live && json_node_get_boolean(live);
	g_ptr_array_add(tree->snapshots, snap);
	return true;
}

static HgVmSnapshotTree *tree_from_json(const char *text, gsize length, const char *path,
					GError **error)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(HgVmSnapshotTree) tree = tree_new();
	g_autoptr(GError) local = NULL;
	JsonObject *root;
	JsonNode *list, *current;
	gint64 next_id;

	if (!json_parser_load_from_data(parser, text, length, &local)) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_PARSE, "%s: %s", path, local->message);
		return NULL;
	}
	if (!json_parser_get_root(parser) || !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser))) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_PARSE, "%s: not a JSON object", path);
		return NULL;
	}
	root = json_node_get_object(json_parser_get_root(parser));
	next_id = json_object_get_int_member_with_default(root, "next-id", 0);
	if (next_id < 1 || next_id > G_MAXINT64 / 2) {
		tree_invalid(error, path, "\"next-id\" is missing or invalid");
		return NULL;
	}
	tree->next_id = next_id;
	list = json_object_get_member(root, "snapshots");
	if (!list || !JSON_NODE_HOLDS_ARRAY(list)) {
		tree_invalid(error, path, "\"snapshots\" is not a list");
		return NULL;
	}
	for (guint i = 0; i < json_array_get_length(json_node_get_array(list)); i++)
		if (!parse_snapshot(json_array_get_element(json_node_get_array(list), i), tree,
				    path, error))
			return NULL;
	current = json_object_get_member(root, "current");
	if (current && !JSON_NODE_HOLDS_NULL(current)) {
		if (!JSON_NODE_HOLDS_VALUE(current) ||
		    json_node_get_value_type(current) != G_TYPE_STRING ||
		    !tree_lookup_id(tree, json_node_get_string(current))) {
			tree_invalid(error, path, "\"current\" is not one of the snapshots");
			return NULL;
		}
		tree->current = g_strdup(json_node_get_string(current));
	}
	return g_steal_pointer(&tree);
}

static char *tree_path(const HgVmEntry *entry)
{
	return g_build_filename(entry->dir, SNAPSHOTS_FILE, NULL);
}

HgVmSnapshotTree *hg_vm_snapshots_load(const HgVmEntry *entry, GError **error)
{
	g_autofree char *path = tree_path(entry);
	g_autofree char *text = NULL;
	g_autoptr(GError) local = NULL;
	gsize length;
	GStatBuf st;

	if (g_stat(path, &st) < 0 && errno == ENOENT)
		return tree_new();
	if (g_stat(path, &st) == 0 && st.st_size > SNAPSHOTS_FILE_MAX) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_PARSE, "%s is implausibly large",
			    path);
		return NULL;
	}
	if (!g_file_get_contents(path, &text, &length, &local)) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_IO, "%s", local->message);
		return NULL;
	}
	return tree_from_json(text, length, path, error);
}

static char *tree_to_json(const HgVmSnapshotTree *tree)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) root = NULL;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "next-id");
	json_builder_add_int_value(b, tree->next_id);
	json_builder_set_member_name(b, "current");
	if (tree->current)
		json_builder_add_string_value(b, tree->current);
	else
		json_builder_add_null_value(b);
	json_builder_set_member_name(b, "snapshots");
	json_builder_begin_array(b);
	for (guint i = 0; i < tree->snapshots->len; i++) {
		HgVmSnapshot *snap = g_ptr_array_index(tree->snapshots, i);
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "id");
		json_builder_add_string_value(b, snap->id);
		json_builder_set_member_name(b, "name");
		json_builder_add_string_value(b, snap->name);
		json_builder_set_member_name(b, "description");
		json_builder_add_string_value(b, snap->description ? snap->description : "");
		json_builder_set_member_name(b, "parent");
		if (snap->parent)
			json_builder_add_string_value(b, snap->parent);
		else
			json_builder_add_null_value(b);
		json_builder_set_member_name(b, "created");
		json_builder_add_int_value(b, snap->created);
		json_builder_set_member_name(b, "live");
		json_builder_add_boolean_value(b, snap->live);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(gen, root);
	json_generator_set_pretty(gen, TRUE);
	return json_generator_to_data(gen, NULL);
}

static bool tree_save(const HgVmEntry *entry, const HgVmSnapshotTree *tree, GError **error)
{
	g_autofree char *path = tree_path(entry);
	g_autofree char *text = tree_to_json(tree);
	g_autoptr(GError) local = NULL;

	if (!g_file_set_contents_full(path, text, -1,
				      G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
				      0600, &local)) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_IO, "cannot save %s: %s", path,
			    local->message);
		return false;
	}
	return true;
}

/* ---- disks ---- */

/* A disk a snapshot covers: its image and the format vm.json records
 * (NULL: not recorded yet, read from the content as the engine then did). */
typedef struct {
	char *path;
	char *format;
} SnapshotDisk;

static void snapshot_disk_free(SnapshotDisk *disk)
{
	g_free(disk->path);
	g_free(disk->format);
	g_free(disk);
}

/* The disks a snapshot covers: writable ones.  Read-only disks and CD-ROMs
 * cannot change. */
static GPtrArray *snapshot_disks(const HgVmEntry *entry, const HgVmConfig *config)
{
	GPtrArray *disks = g_ptr_array_new_with_free_func((GDestroyNotify)snapshot_disk_free);

	for (guint i = 0; i < config->disks->len; i++) {
		HgVmDisk *disk = g_ptr_array_index(config->disks, i);
		if (disk->media == HG_DISK_MEDIA_DISK && !disk->read_only && disk->path) {
			SnapshotDisk *d = g_new0(SnapshotDisk, 1);
			d->path = hg_vm_entry_resolve(entry, disk->path);
			d->format = g_strdup(disk->format);
			g_ptr_array_add(disks, d);
		}
	}
	return disks;
}

/* As the engine opens it: never probed once the format is recorded. */
static HgBlockBackend *snapshot_disk_open(const SnapshotDisk *disk, bool read_only, GError **error)
{
	return hg_block_open_format(disk->path, disk->format, read_only, error);
}

/* Every disk must be qcow2: as vm.json records it, or for a disk not
 * recorded yet, as its content says. */
static bool disks_can_snapshot(GPtrArray *disks, GError **error)
{
	for (guint i = 0; i < disks->len; i++) {
		const SnapshotDisk *disk = g_ptr_array_index(disks, i);
		const char *path = disk->path;
		char magic[4] = {0};
		FILE *f = g_fopen(path, "rb");
		bool qcow2 = f && fread(magic, 1, 4, f) == 4 && memcmp(magic, "QFI\xfb", 4) == 0;
		if (f)
			fclose(f);
		if (!f) {
			g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_NOT_FOUND, "cannot open %s: %s",
				    path, g_strerror(errno));
			return false;
		}
		if (disk->format)
			qcow2 = strcmp(disk->format, "qcow2") == 0;
		if (!qcow2) {
			g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_UNSUPPORTED,
				    "%s is a raw image: snapshots need qcow2 disks (convert it "
				    "first)",
				    path);
			return false;
		}
	}
	return true;
}

static bool block_error(GError **error, GError *local, const char *path)
{
	g_set_error(error, HG_VM_ERROR,
		    g_error_matches(local, G_IO_ERROR, G_IO_ERROR_NOT_FOUND) ? HG_VM_ERROR_NOT_FOUND
									    : HG_VM_ERROR_IO,
		    "%s: %s", path, local->message);
	return false;
}

/* The disk part of an offline snapshot; undone on any failure. */
static bool take_disk_snapshots(GPtrArray *disks, const char *disk_name, GError **error)
{
	guint done = 0;
	bool ok = true;

	for (; done < disks->len && ok; done++) {
		const SnapshotDisk *disk = g_ptr_array_index(disks, done);
		g_autoptr(GError) local = NULL;
		HgBlockBackend *blk = snapshot_disk_open(disk, false, &local);
		g_autoptr(HgBlockSnapshot) snap =
			blk ? hg_block_snapshot_create(blk, disk_name, 0, &local) : NULL;
		if (blk)
			hg_block_close(blk);
		if (!snap)
			ok = block_error(error, local, disk->path);
	}
	if (ok)
		return true;
	for (guint i = 0; i + 1 < done; i++) {
		HgBlockBackend *blk = snapshot_disk_open(g_ptr_array_index(disks, i), false, NULL);
		if (blk) {
			hg_block_snapshot_delete(blk, disk_name, NULL);
			hg_block_close(blk);
		}
	}
	return false;
}

/* Deletes disk_name from every disk that has it; a disk without it is
 * fine (added after the snapshot, or an earlier delete was cut short). */
static bool delete_disk_snapshots(GPtrArray *disks, const char *disk_name, GError **error)
{
	for (guint i = 0; i < disks->len; i++) {
		const SnapshotDisk *disk = g_ptr_array_index(disks, i);
		const char *path = disk->path;
		g_autoptr(GError) local = NULL;
		HgBlockBackend *blk = snapshot_disk_open(disk, false, &local);
		bool ok = blk && (hg_block_snapshot_delete(blk, disk_name, &local) ||
				  g_error_matches(local, G_IO_ERROR, G_IO_ERROR_NOT_FOUND) ||
				  g_error_matches(local, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED));
		if (blk)
			hg_block_close(blk);
		if (!ok)
			return block_error(error, local, path);
	}
	return true;
}

static bool copy_file(const char *from, const char *to, GError **error)
{
	g_autoptr(GFile) src = g_file_new_for_path(from);
	g_autoptr(GFile) dst = g_file_new_for_path(to);
	g_autoptr(GError) local = NULL;

	if (g_file_copy(src, dst, G_FILE_COPY_OVERWRITE, NULL, NULL, NULL, &local))
		return true;
	g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_IO, "cannot copy %s to %s: %s", from, to,
		    local->message);
	return false;
}

/* ---- take ---- */

static HangarControlClient *connect_engine(const HgVmEntry *entry, GError **error)
{
	g_autofree char *socket = hg_vm_runtime_file(entry->id, "control.sock");
	return hangar_control_client_connect_sync(socket, NULL, error);
}

static bool take_live(const HgVmEntry *entry, const char *dir, const char *disk_name,
		      GError **error)
{
	g_autoptr(HangarControlClient) client = connect_engine(entry, error);
	g_autoptr(JsonObject) args = json_object_new();
	g_autoptr(JsonObject) reply = NULL;

	if (!client)
		return false;
	json_object_set_string_member(args, "path", dir);
	json_object_set_string_member(args, "disk-snapshot", disk_name);
	reply = hangar_control_client_execute_sync(client, "snapshot-save", args, NULL, error);
	return reply != NULL;
}

/* The disks' part of a snapshot goes: through the engine while it runs
 * (the images are its own then), else here. */
static bool delete_disk_part(const HgVmEntry *entry, const char *disk_name, GError **error)
{
	HgVmState state = hg_vm_probe_state(entry->id);

	if (state == HG_VM_STATE_RUNNING || state == HG_VM_STATE_PAUSED) {
		g_autoptr(HangarControlClient) client = connect_engine(entry, error);
		g_autoptr(JsonObject) args = json_object_new();
		g_autoptr(JsonObject) reply = NULL;
		if (!client)
			return false;
		json_object_set_string_member(args, "disk-snapshot", disk_name);
		reply = hangar_control_client_execute_sync(client, "snapshot-delete-disks", args,
							   NULL, error);
		return reply != NULL;
	}
	g_autoptr(GPtrArray) disks = snapshot_disks(entry, entry->config);
	return delete_disk_snapshots(disks, disk_name, error);
}

/* The files every snapshot keeps beside the disks' part. */
static bool save_snapshot_files(const HgVmEntry *entry, const char *dir, bool live,
				GError **error)
{
	g_autofree char *config = g_build_filename(dir, "vm.json", NULL);
	g_autofree char *vars = g_build_filename(entry->dir, "OVMF_VARS.fd", NULL);
	g_autofree char *vars_copy = g_build_filename(dir, "OVMF_VARS.fd", NULL);

	if (!hg_vm_config_save(entry->config, config, error))
		return false;
	/* A live snapshot has the engine's own copy, taken while paused. */
	if (!live && g_file_test(vars, G_FILE_TEST_IS_REGULAR))
		return copy_file(vars, vars_copy, error);
	return true;
}

HgVmSnapshot *hg_vm_snapshot_take(HgVmLibrary *lib, const HgVmEntry *entry, const char *name,
				  const char *description, GError **error)
{
	g_autoptr(HgVmSnapshotTree) tree = NULL;
	g_autoptr(GPtrArray) disks = NULL;
	g_autoptr(HgVmSnapshot) snap = NULL;
	g_autofree char *dir = NULL, *parent_dir = NULL, *disk_name = NULL;
	HgVmState state;
	bool live;

	if (!entry->config) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_BROKEN, "%s is broken", entry->id);
		return NULL;
	}
	if (!name_acceptable(name) || (description && !text_acceptable(description,
									SNAPSHOT_DESCRIPTION_MAX))) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID,
			    "a snapshot needs a name of 1 to %u characters without control "
			    "characters (and a description of at most %u)",
			    SNAPSHOT_NAME_MAX, SNAPSHOT_DESCRIPTION_MAX);
		return NULL;
	}
	disks = snapshot_disks(entry, entry->config);
	if (!disks_can_snapshot(disks, error))
		return NULL;
	tree = hg_vm_snapshots_load(entry, error);
	if (!tree)
		return NULL;
	state = hg_vm_probe_state(entry->id);
	live = state == HG_VM_STATE_RUNNING || state == HG_VM_STATE_PAUSED;

	snap = g_new0(HgVmSnapshot, 1);
	snap->id = g_strdup_printf("%" G_GUINT64_FORMAT, tree->next_id);
	snap->name = g_strdup(name);
	snap->description = g_strdup(description ? description : "");
	snap->parent = g_strdup(tree->current);
	snap->created = g_get_real_time() / G_USEC_PER_SEC;
	snap->live = live;
	/* The id is spent before anything is written: a crash from here on
	 * leaves at most an orphan, never an id that names two snapshots. */
	tree->next_id++;
	if (!tree_save(entry, tree, error))
		return NULL;

	dir = hg_vm_snapshot_dir(entry, snap);
	parent_dir = g_path_get_dirname(dir);
	disk_name = hg_vm_snapshot_disk_name(snap);
	if (g_mkdir_with_parents(parent_dir, 0700) < 0) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_IO, "cannot create %s: %s", parent_dir,
			    g_strerror(errno));
		return NULL;
	}
	if (live) {
		if (!take_live(entry, dir, disk_name, error))
			return NULL;
	} else {
		if (g_mkdir(dir, 0700) < 0) {
			g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_IO, "cannot create %s: %s",
				    dir, g_strerror(errno));
			return NULL;
		}
		if (!take_disk_snapshots(disks, disk_name, error)) {
			g_rmdir(dir);
			return NULL;
		}
	}
	g_ptr_array_add(tree->snapshots, hg_vm_snapshot_copy(snap));
	g_free(tree->current);
	tree->current = g_strdup(snap->id);
	if (!save_snapshot_files(entry, dir, live, error) || !tree_save(entry, tree, error)) {
		delete_disk_part(entry, disk_name, NULL);
		hg_vm_remove_tree(dir, NULL);
		return NULL;
	}
	return g_steal_pointer(&snap);
}

/* ---- revert ---- */

/* Every disk of the saved configuration must have the snapshot before any
 * is rolled back, so a revert never stops halfway for a missing one. */
static bool disks_have_snapshot(GPtrArray *disks, const char *disk_name, GError **error)
{
	for (guint i = 0; i < disks->len; i++) {
		const SnapshotDisk *disk = g_ptr_array_index(disks, i);
		const char *path = disk->path;
		g_autoptr(GError) local = NULL;
		HgBlockBackend *blk = snapshot_disk_open(disk, true, &local);
		g_autoptr(GPtrArray) list = blk ? hg_block_snapshot_list(blk, &local) : NULL;
		bool found = false;
		if (blk)
			hg_block_close(blk);
		if (!list)
			return block_error(error, local, path);
		for (guint j = 0; j < list->len && !found; j++)
			found = strcmp(((HgBlockSnapshot *)g_ptr_array_index(list, j))->name,
				       disk_name) == 0;
		if (!found) {
			g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_BROKEN,
				    "%s has no snapshot %s: it was changed outside Hangar", path,
				    disk_name);
			return false;
		}
	}
	return true;
}

bool hg_vm_snapshot_revert(HgVmLibrary *lib, HgVmEntry *entry, const char *id_or_name,
			   bool *live, GError **error)
{
	g_autoptr(HgVmSnapshotTree) tree = NULL;
	g_autoptr(HgVmConfig) saved = NULL;
	g_autoptr(GPtrArray) disks = NULL;
	g_autofree char *dir = NULL, *saved_path = NULL, *disk_name = NULL, *vars = NULL;
	g_autofree char *state = NULL;
	HgVmSnapshot *snap;

	*live = false;
	if (!entry->config) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_BROKEN, "%s is broken", entry->id);
		return false;
	}
	if (!hg_vm_refuse_if_running(entry, "revert", error))
		return false;
	tree = hg_vm_snapshots_load(entry, error);
	snap = tree ? hg_vm_snapshot_tree_find(tree, id_or_name, error) : NULL;
	if (!snap)
		return false;
	dir = hg_vm_snapshot_dir(entry, snap);
	saved_path = g_build_filename(dir, "vm.json", NULL);
	saved = hg_vm_config_load(saved_path, error);
	if (!saved)
		return false;
	/* A snapshot taken before formats were recorded: its images have the
	 * formats recorded since, never read from their content again. */
	hg_vm_config_fill_formats(saved, entry->config);
	disk_name = hg_vm_snapshot_disk_name(snap);
	disks = snapshot_disks(entry, saved);
	if (!disks_can_snapshot(disks, error) || !disks_have_snapshot(disks, disk_name, error))
		return false;
	for (guint i = 0; i < disks->len; i++) {
		const SnapshotDisk *disk = g_ptr_array_index(disks, i);
		const char *path = disk->path;
		g_autoptr(GError) local = NULL;
		HgBlockBackend *blk = snapshot_disk_open(disk, false, &local);
		bool ok = blk && hg_block_snapshot_apply(blk, disk_name, &local);
		if (blk)
			hg_block_close(blk);
		if (!ok)
			return block_error(error, local, path);
	}
	/* The machine as it was, under the name it has now. */
	g_free(saved->name);
	saved->name = g_strdup(entry->config->name);
	hg_vm_config_free(entry->config);
	entry->config = g_steal_pointer(&saved);
	if (!hg_vm_library_save(lib, entry, error))
		return false;
	vars = g_build_filename(dir, "OVMF_VARS.fd", NULL);
	if (g_file_test(vars, G_FILE_TEST_IS_REGULAR)) {
		g_autofree char *target = g_build_filename(entry->dir, "OVMF_VARS.fd", NULL);
		if (!copy_file(vars, target, error))
			return false;
	}
	g_free(tree->current);
	tree->current = g_strdup(snap->id);
	if (!tree_save(entry, tree, error))
		return false;
	state = g_build_filename(dir, "state", NULL);
	*live = snap->live && g_file_test(state, G_FILE_TEST_IS_REGULAR);
	return true;
}

/* ---- delete, rename ---- */

bool hg_vm_snapshot_delete(HgVmLibrary *lib, const HgVmEntry *entry, const char *id_or_name,
			   GError **error)
{
	g_autoptr(HgVmSnapshotTree) tree = NULL;
	g_autofree char *dir = NULL, *disk_name = NULL, *id = NULL, *parent = NULL;
	HgVmSnapshot *snap;

	if (!entry->config) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_BROKEN, "%s is broken", entry->id);
		return false;
	}
	tree = hg_vm_snapshots_load(entry, error);
	snap = tree ? hg_vm_snapshot_tree_find(tree, id_or_name, error) : NULL;
	if (!snap)
		return false;
	id = g_strdup(snap->id);
	parent = g_strdup(snap->parent);
	g_autoptr(GPtrArray) clones = hg_vm_library_dependents(lib, entry, id);
	if (clones->len) {
		g_ptr_array_add(clones, NULL);
		g_autofree char *list = g_strjoinv("\", \"", (char **)clones->pdata);
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_IN_USE,
			    "snapshot \"%s\" cannot be deleted: the linked clones \"%s\" are "
			    "made from it (delete them first)",
			    snap->name, list);
		return false;
	}
	dir = hg_vm_snapshot_dir(entry, snap);
	disk_name = hg_vm_snapshot_disk_name(snap);
	if (!delete_disk_part(entry, disk_name, error))
		return false;
	/* Its children hang from its parent now. */
	for (guint i = 0; i < tree->snapshots->len; i++) {
		HgVmSnapshot *other = g_ptr_array_index(tree->snapshots, i);
		if (g_strcmp0(other->parent, id) == 0) {
			g_free(other->parent);
			other->parent = g_strdup(parent);
		}
	}
	if (g_strcmp0(tree->current, id) == 0) {
		g_free(tree->current);
		tree->current = g_strdup(parent);
	}
	g_ptr_array_remove(tree->snapshots, snap);
	if (!tree_save(entry, tree, error))
		return false;
	return hg_vm_remove_tree(dir, error);
}

bool hg_vm_snapshot_set_info(HgVmLibrary *lib, const HgVmEntry *entry, const char *id_or_name,
			     const char *name, const char *description, GError **error)
{
	g_autoptr(HgVmSnapshotTree) tree = hg_vm_snapshots_load(entry, error);
	HgVmSnapshot *snap = tree ? hg_vm_snapshot_tree_find(tree, id_or_name, error) : NULL;

	if (!snap)
		return false;
	if ((name && !name_acceptable(name)) ||
	    (description && !text_acceptable(description, SNAPSHOT_DESCRIPTION_MAX))) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID,
			    "a snapshot needs a name of 1 to %u characters without control "
			    "characters (and a description of at most %u)",
			    SNAPSHOT_NAME_MAX, SNAPSHOT_DESCRIPTION_MAX);
		return false;
	}
	if (name) {
		g_free(snap->name);
		snap->name = g_strdup(name);
	}
	if (description) {
		g_free(snap->description);
		snap->description = g_strdup(description);
	}
	return tree_save(entry, tree, error);
}
