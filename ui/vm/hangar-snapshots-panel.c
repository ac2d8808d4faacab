/* The snapshots panel (hangar-snapshots-panel.h).
 *
 * The tree is read in a thread (snapshots.json and the live snapshots'
 * screen.png, scaled to thumbnails) whenever the panel gets a VM, after
 * each of its operations, and when snapshots.json changes on disk (a
 * GFileMonitor: hangarctl or another window may change it).  Filling the
 * store keeps the selection where it was, or moves it to the snapshot an
 * operation made or went to.
 *
 * One operation runs at a time (hangar-snapshot-ops.h does the work):
 * while it does, a spinner says what is under way and the buttons are
 * insensitive.  Every question is an async dialog: a nested
 * gtk_dialog_run would block the accessibility bus.
 *
 * Main thread only, but for the loading thread's function. */
#include "ui/vm/hangar-snapshots-panel.h"

#include <glib/gi18n.h>

#include "library/vm/vm_snapshot.h"
#include "ui/vm/hangar-clone-dialog.h"
#include "ui/vm/hangar-snapshot-ops.h"

#define THUMBNAIL_WIDTH 96
#define THUMBNAIL_HEIGHT 72
#define THUMBNAIL_PLACEHOLDER_HEIGHT 54 /* a 16:9 box */
/* snapshots.json is replaced by a rename: a few events come at once. */
#define RELOAD_DELAY_MS 150

enum {
	COLUMN_ID,
	COLUMN_NAME,
	COLUMN_DETAILS,
	COLUMN_MARKER,
	COLUMN_THUMBNAIL,
	COLUMN_TOOLTIP,
	COLUMN_CURRENT,
	COLUMN_LIVE,
	COLUMN_DESCRIPTION,
};

struct _HangarSnapshotsPanel {
	GtkBox parent_instance;

	HangarVm *vm;
	GFileMonitor *monitor; /* on the VM's snapshots.json */
	guint reload_timeout;
	GCancellable *load_cancellable; /* the load under way */
	char *select_after_load; /* the snapshot to select once the tree is read */
	guint64 next_id; /* of the tree last read: names the next default name */
	gboolean working; /* an operation is under way */

	GdkPixbuf *disks_placeholder, *live_placeholder; /* made when first shown */

	/* template children */
	GtkTreeStore *store;
	GtkWidget *stack, *tree_view;
	GtkWidget *error_bar, *error_label, *error_detail_label;
	GtkWidget *convert_button; /* in the error bar, for a raw disk */
	GtkWidget *progress_box, *progress_spinner, *progress_label;
	GtkWidget *take_button, *revert_button, *rename_button, *delete_button, *clone_button;
};

G_DEFINE_TYPE(HangarSnapshotsPanel, hangar_snapshots_panel, GTK_TYPE_BOX)

static void snapshots_panel_reload(HangarSnapshotsPanel *self);

static GtkWindow *snapshots_panel_get_window(HangarSnapshotsPanel *self)
{
	GtkWidget *toplevel = gtk_widget_get_toplevel(GTK_WIDGET(self));

	return GTK_IS_WINDOW(toplevel) ? GTK_WINDOW(toplevel) : NULL;
}

/* ---- the selection ---- */

/* The selected snapshot's id and name (either may be NULL); FALSE when
 * none is selected. */
static gboolean snapshots_panel_get_selected(HangarSnapshotsPanel *self, char **id, char **name)
{
	GtkTreeSelection *selection = gtk_tree_view_get_selection(GTK_TREE_VIEW(self->tree_view));
	GtkTreeModel *model;
	GtkTreeIter iter;

	if (!gtk_tree_selection_get_selected(selection, &model, &iter))
		return FALSE;
	if (id)
		gtk_tree_model_get(model, &iter, COLUMN_ID, id, -1);
	if (name)
		gtk_tree_model_get(model, &iter, COLUMN_NAME, name, -1);
	return TRUE;
}

typedef struct {
	const char *id;
	GtkTreePath *path;
} FindRow;

static gboolean find_row(GtkTreeModel *model, GtkTreePath *path, GtkTreeIter *iter, gpointer data)
{
	FindRow *find = data;
	g_autofree char *id = NULL;

	gtk_tree_model_get(model, iter, COLUMN_ID, &id, -1);
	if (g_strcmp0(id, find->id) != 0)
		return FALSE;
	find->path = gtk_tree_path_copy(path);
	return TRUE;
}

static GtkTreePath *snapshots_panel_find(HangarSnapshotsPanel *self, const char *id)
{
	FindRow find = {id, NULL};

	if (id)
		gtk_tree_model_foreach(GTK_TREE_MODEL(self->store), find_row, &find);
	return find.path;
}

static gboolean snapshots_panel_select(HangarSnapshotsPanel *self, const char *id)
{
	g_autoptr(GtkTreePath) path = snapshots_panel_find(self, id);

	if (!path)
		return FALSE;
	gtk_tree_view_expand_to_path(GTK_TREE_VIEW(self->tree_view), path);
	gtk_tree_selection_select_path(gtk_tree_view_get_selection(GTK_TREE_VIEW(self->tree_view)),
				       path);
	gtk_tree_view_scroll_to_cell(GTK_TREE_VIEW(self->tree_view), path, NULL, FALSE, 0, 0);
	return TRUE;
}

/* ---- what the buttons can do ---- */

static void snapshots_panel_sync(HangarSnapshotsPanel *self)
{
	HangarVm *vm = self->vm;
	gboolean usable = vm && !hangar_vm_is_broken(vm) && !self->working;
	gboolean active = vm && hangar_vm_is_active(vm);
	/* Starting or stopping: a snapshot now would catch it halfway. */
	gboolean vm_busy = vm && hangar_vm_get_busy(vm);
	gboolean selected = snapshots_panel_get_selected(self, NULL, NULL);

	gtk_widget_set_sensitive(self->take_button, usable && !vm_busy);
	gtk_widget_set_tooltip_text(self->take_button,
				    active ? _("Save the running machine and its disks; it runs on")
					   : _("Save the disks (the virtual machine is stopped)"));
	gtk_widget_set_sensitive(self->revert_button, usable && selected && (active || !vm_busy));
	gtk_widget_set_sensitive(self->rename_button, usable && selected);
	gtk_widget_set_sensitive(self->delete_button, usable && selected && (active || !vm_busy));
	gtk_widget_set_sensitive(self->clone_button, usable && selected);
}

static void snapshots_panel_on_selection_changed(GtkTreeSelection *selection,
						 HangarSnapshotsPanel *self)
{
	snapshots_panel_sync(self);
}

static void snapshots_panel_on_vm_notify(GObject *vm, GParamSpec *pspec, HangarSnapshotsPanel *self)
{
	snapshots_panel_sync(self);
}

/* ---- messages and progress ---- */

static void snapshots_panel_hide_error(HangarSnapshotsPanel *self)
{
	gtk_info_bar_set_revealed(GTK_INFO_BAR(self->error_bar), FALSE);
}

#define RESPONSE_CONVERT 1

static void snapshots_panel_convert(HangarSnapshotsPanel *self);

static void snapshots_panel_on_error_response(GtkInfoBar *bar, int response,
					      HangarSnapshotsPanel *self)
{
	snapshots_panel_hide_error(self);
	if (response == RESPONSE_CONVERT)
		snapshots_panel_convert(self);
}

static void snapshots_panel_show_error(HangarSnapshotsPanel *self, const char *summary,
				       const GError *error)
{
	g_autofree char *detail = NULL;

	gboolean raw = g_error_matches(error, HG_VM_ERROR, HG_VM_ERROR_UNSUPPORTED);

	if (raw) {
		/* The one a user can do something about: offer it. */
		summary = _("This VM’s disk is a raw image; snapshots need qcow2.");
		detail = g_strdup_printf(
			_("Convert it to qcow2 (a copy is made beside it, then the raw file is "
			  "removed if it was in the VM’s folder). The virtual machine must be "
			  "stopped.\n\n%s"),
			error->message);
	} else {
		detail = g_strdup(error ? error->message : "");
	}
	gtk_label_set_text(GTK_LABEL(self->error_label), summary);
	gtk_label_set_text(GTK_LABEL(self->error_detail_label), detail);
	gtk_widget_set_visible(self->error_detail_label, *detail != '\0');
	gtk_widget_set_visible(self->convert_button, raw);
	gtk_info_bar_set_revealed(GTK_INFO_BAR(self->error_bar), TRUE);
}

static void snapshots_panel_begin(HangarSnapshotsPanel *self, const char *what)
{
	self->working = TRUE;
	snapshots_panel_hide_error(self);
	gtk_label_set_text(GTK_LABEL(self->progress_label), what);
	gtk_spinner_start(GTK_SPINNER(self->progress_spinner));
	gtk_widget_show(self->progress_box);
	snapshots_panel_sync(self);
}

static void snapshots_panel_end(HangarSnapshotsPanel *self, const char *select)
{
	self->working = FALSE;
	gtk_spinner_stop(GTK_SPINNER(self->progress_spinner));
	gtk_widget_hide(self->progress_box);
	g_free(self->select_after_load);
	self->select_after_load = g_strdup(select);
	snapshots_panel_reload(self);
	snapshots_panel_sync(self);
}

/* ---- reading the tree ---- */

typedef struct {
	HgVmSnapshotTree *tree;
	GHashTable *thumbnails; /* id -> GdkPixbuf, live snapshots with a screen */
} LoadedTree;

static void loaded_tree_free(LoadedTree *loaded)
{
	hg_vm_snapshot_tree_free(loaded->tree);
	g_hash_table_unref(loaded->thumbnails);
	g_free(loaded);
}

static void load_thread(GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
	const HgVmEntry *entry = task_data;
	GError *error = NULL;
	HgVmSnapshotTree *tree = hg_vm_snapshots_load(entry, &error);
	LoadedTree *loaded;

	if (!tree) {
		g_task_return_error(task, error);
		return;
	}
	loaded = g_new0(LoadedTree, 1);
	loaded->tree = tree;
	loaded->thumbnails = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_object_unref);
	for (guint i = 0; i < tree->snapshots->len; i++) {
		HgVmSnapshot *snap = g_ptr_array_index(tree->snapshots, i);
		g_autofree char *screen = snap->live ? hg_vm_snapshot_screen(entry, snap) : NULL;
		g_autoptr(GError) local = NULL;
		GdkPixbuf *pixbuf;

		if (!screen || g_cancellable_is_cancelled(cancellable))
			continue;
		pixbuf = gdk_pixbuf_new_from_file_at_scale(screen, THUMBNAIL_WIDTH,
							   THUMBNAIL_HEIGHT, TRUE, &local);
		if (pixbuf)
			g_hash_table_insert(loaded->thumbnails, g_strdup(snap->id), pixbuf);
		else
			g_debug("thumbnail %s: %s", screen, local->message);
	}
	g_task_return_pointer(task, loaded, (GDestroyNotify)loaded_tree_free);
}

/* "Today, 14:03", "Yesterday, 09:12", "3 Mar, 18:40", "3 Mar 2023". */
static char *format_when(gint64 created)
{
	g_autoptr(GDateTime) when = g_date_time_new_from_unix_local(created);
	g_autoptr(GDateTime) now = g_date_time_new_now_local();
	g_autoptr(GDateTime) yesterday = g_date_time_add_days(now, -1);
	g_autofree char *time = NULL;
	int y, m, d, ny, nm, nd, yy, ym, yd;

	if (!when)
		return g_strdup("?");
	g_date_time_get_ymd(when, &y, &m, &d);
	g_date_time_get_ymd(now, &ny, &nm, &nd);
	g_date_time_get_ymd(yesterday, &yy, &ym, &yd);
	time = g_date_time_format(when, "%H:%M");
	if (y == ny && m == nm && d == nd)
		/* Translators: %s is the time of day */
		return g_strdup_printf(_("Today, %s"), time);
	if (y == yy && m == ym && d == yd)
		/* Translators: %s is the time of day */
		return g_strdup_printf(_("Yesterday, %s"), time);
	if (y == ny)
		/* Translators: a date in this year, with the time (g_date_time_format) */
		return g_strstrip(g_date_time_format(when, _("%e %b, %H:%M")));
	/* Translators: a date in another year (g_date_time_format) */
	return g_strstrip(g_date_time_format(when, _("%e %b %Y")));
}

static char *snapshot_tooltip(const HgVmSnapshot *snap)
{
	g_autoptr(GDateTime) when = g_date_time_new_from_unix_local(snap->created);
	g_autofree char *date = when ? g_date_time_format(when, "%c") : g_strdup("?");
	GString *text = g_string_new(NULL);
	g_autofree char *name = g_markup_escape_text(snap->name, -1);
	g_autofree char *taken = g_markup_printf_escaped(_("Taken %s"), date);

	g_string_append_printf(text, "<b>%s</b>", name);
	if (*snap->description) {
		g_autofree char *description = g_markup_escape_text(snap->description, -1);

		g_string_append_printf(text, "\n%s", description);
	}
	g_string_append_printf(text, "\n<small>%s\n%s</small>", taken,
			       snap->live ? _("Live: the running machine was saved; reverting "
					      "continues it from there.")
					  : _("Disks only: it was taken while the virtual machine "
					      "was stopped."));
	return g_string_free(text, FALSE);
}

/* The children of parent_id under parent, and theirs below them (the
 * library guarantees a tree: a parent comes before its children). */
static void snapshots_panel_add(HangarSnapshotsPanel *self, const LoadedTree *loaded,
				const char *parent_id, GtkTreeIter *parent)
{
	g_autoptr(GPtrArray) children = hg_vm_snapshot_tree_children(loaded->tree, parent_id);

	for (guint i = 0; i < children->len; i++) {
		HgVmSnapshot *snap = g_ptr_array_index(children, i);
		gboolean current = g_strcmp0(loaded->tree->current, snap->id) == 0;
		g_autofree char *when = format_when(snap->created);
		g_autofree char *details =
			g_strdup_printf("%s · %s", when, snap->live ? _("Live") : _("Disks only"));
		g_autofree char *tooltip = snapshot_tooltip(snap);
		GtkTreeIter iter;

		gtk_tree_store_insert_with_values(
			self->store, &iter, parent, -1, COLUMN_ID, snap->id, COLUMN_NAME,
			snap->name, COLUMN_DETAILS, details, COLUMN_MARKER,
			current ? _("You are here") : "", COLUMN_THUMBNAIL,
			g_hash_table_lookup(loaded->thumbnails, snap->id), COLUMN_TOOLTIP, tooltip,
			COLUMN_CURRENT, current, COLUMN_LIVE, snap->live, COLUMN_DESCRIPTION,
			snap->description, -1);
		snapshots_panel_add(self, loaded, snap->id, &iter);
	}
}

static void snapshots_panel_fill(HangarSnapshotsPanel *self, const LoadedTree *loaded)
{
	g_autofree char *selected = NULL;

	if (self->select_after_load)
		selected = g_steal_pointer(&self->select_after_load);
	else
		snapshots_panel_get_selected(self, &selected, NULL);
	gtk_tree_store_clear(self->store);
	snapshots_panel_add(self, loaded, NULL, NULL);
	gtk_tree_view_expand_all(GTK_TREE_VIEW(self->tree_view));
	if (!snapshots_panel_select(self, selected))
		snapshots_panel_select(self, loaded->tree->current);
	self->next_id = loaded->tree->next_id;
	gtk_stack_set_visible_child_name(GTK_STACK(self->stack),
					 loaded->tree->snapshots->len ? "tree" : "empty");
	snapshots_panel_sync(self);
}

static void snapshots_panel_loaded(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(HangarSnapshotsPanel) self = user_data;
	g_autoptr(GError) error = NULL;
	LoadedTree *loaded = g_task_propagate_pointer(G_TASK(result), &error);

	if (!loaded) {
		if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
			return;
		gtk_tree_store_clear(self->store);
		gtk_stack_set_visible_child_name(GTK_STACK(self->stack), "tree");
		snapshots_panel_show_error(self, _("The snapshots could not be read"), error);
		snapshots_panel_sync(self);
		return;
	}
	snapshots_panel_fill(self, loaded);
	loaded_tree_free(loaded);
}

static void snapshots_panel_reload(HangarSnapshotsPanel *self)
{
	g_autoptr(GTask) task = NULL;

	g_clear_handle_id(&self->reload_timeout, g_source_remove);
	if (self->load_cancellable)
		g_cancellable_cancel(self->load_cancellable);
	g_clear_object(&self->load_cancellable);
	if (!self->vm || hangar_vm_is_broken(self->vm)) {
		gtk_tree_store_clear(self->store);
		gtk_stack_set_visible_child_name(GTK_STACK(self->stack), "empty");
		return;
	}
	self->load_cancellable = g_cancellable_new();
	task = g_task_new(NULL, self->load_cancellable, snapshots_panel_loaded, g_object_ref(self));
	g_task_set_task_data(task, hg_vm_entry_copy(hangar_vm_get_entry(self->vm)),
			     (GDestroyNotify)hg_vm_entry_free);
	g_task_run_in_thread(task, load_thread);
}

static gboolean snapshots_panel_on_reload_timeout(gpointer data)
{
	HangarSnapshotsPanel *self = data;

	self->reload_timeout = 0;
	snapshots_panel_reload(self);
	return G_SOURCE_REMOVE;
}

static void snapshots_panel_on_file_changed(GFileMonitor *monitor, GFile *file, GFile *other,
					    GFileMonitorEvent event, HangarSnapshotsPanel *self)
{
	if (event == G_FILE_MONITOR_EVENT_ATTRIBUTE_CHANGED)
		return;
	g_clear_handle_id(&self->reload_timeout, g_source_remove);
	self->reload_timeout =
		g_timeout_add(RELOAD_DELAY_MS, snapshots_panel_on_reload_timeout, self);
}

static void snapshots_panel_watch(HangarSnapshotsPanel *self)
{
	g_autofree char *path = NULL;
	g_autoptr(GFile) file = NULL;
	g_autoptr(GError) error = NULL;

	if (self->monitor) {
		g_signal_handlers_disconnect_by_data(self->monitor, self);
		g_file_monitor_cancel(self->monitor);
		g_clear_object(&self->monitor);
	}
	if (!self->vm)
		return;
	path = g_build_filename(hangar_vm_get_entry(self->vm)->dir, "snapshots.json", NULL);
	file = g_file_new_for_path(path);
	self->monitor = g_file_monitor_file(file, G_FILE_MONITOR_WATCH_MOVES, NULL, &error);
	if (!self->monitor) {
		g_debug("cannot watch %s: %s", path, error->message);
		return;
	}
	g_signal_connect(self->monitor, "changed", G_CALLBACK(snapshots_panel_on_file_changed),
			 self);
}

/* ---- async dialogs ---- */

/* A question with Cancel and a destructive button; done runs on accept
 * with the snapshot it was about. */
typedef void (*SnapshotQuestionDone)(HangarSnapshotsPanel *self, HangarVm *vm, const char *id,
				     const char *name);

typedef struct {
	HangarSnapshotsPanel *panel; /* a reference */
	HangarVm *vm; /* a reference: the VM the user was asked about */
	char *id, *name;
	SnapshotQuestionDone done;
} SnapshotQuestion;

static void snapshot_question_on_response(GtkDialog *dialog, int response, gpointer data)
{
	SnapshotQuestion *question = data;

	gtk_widget_destroy(GTK_WIDGET(dialog));
	if (response == GTK_RESPONSE_ACCEPT && question->panel->vm == question->vm &&
	    !question->panel->working)
		question->done(question->panel, question->vm, question->id, question->name);
	g_object_unref(question->panel);
	g_object_unref(question->vm);
	g_free(question->id);
	g_free(question->name);
	g_free(question);
}

static void snapshots_panel_ask(HangarSnapshotsPanel *self, const char *id, const char *name,
				const char *text, const char *explanation, const char *button,
				SnapshotQuestionDone done)
{
	SnapshotQuestion *question = g_new0(SnapshotQuestion, 1);
	GtkWidget *dialog, *accept;

	dialog = gtk_message_dialog_new(snapshots_panel_get_window(self),
					GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
					GTK_MESSAGE_QUESTION, GTK_BUTTONS_NONE, "%s", text);
	gtk_message_dialog_format_secondary_text(GTK_MESSAGE_DIALOG(dialog), "%s", explanation);
	gtk_dialog_add_button(GTK_DIALOG(dialog), _("_Cancel"), GTK_RESPONSE_CANCEL);
	accept = gtk_dialog_add_button(GTK_DIALOG(dialog), button, GTK_RESPONSE_ACCEPT);
	gtk_style_context_add_class(gtk_widget_get_style_context(accept), "destructive-action");
	gtk_dialog_set_default_response(GTK_DIALOG(dialog), GTK_RESPONSE_CANCEL);

	question->panel = g_object_ref(self);
	question->vm = g_object_ref(self->vm);
	question->id = g_strdup(id);
	question->name = g_strdup(name);
	question->done = done;
	g_signal_connect(dialog, "response", G_CALLBACK(snapshot_question_on_response), question);
	gtk_widget_show(dialog);
}

/* ---- take and rename: a name and a description, asked in a dialog ---- */

typedef void (*SnapshotFormDone)(HangarSnapshotsPanel *self, HangarVm *vm, const char *id,
				 const char *name, const char *description);

typedef struct {
	HangarSnapshotsPanel *panel; /* a reference */
	HangarVm *vm; /* a reference: the VM the dialog is about */
	char *id; /* the snapshot renamed; NULL for a new one */
	GtkEntry *name_entry;
	GtkTextView *description_view;
	SnapshotFormDone done;
} SnapshotForm;

static void snapshot_form_on_response(GtkDialog *dialog, int response, gpointer data)
{
	SnapshotForm *form = data;
	HangarSnapshotsPanel *self = form->panel;
	g_autofree char *name = g_strstrip(g_strdup(gtk_entry_get_text(form->name_entry)));
	GtkTextBuffer *buffer = gtk_text_view_get_buffer(form->description_view);
	GtkTextIter start, end;
	g_autofree char *description = NULL;

	gtk_text_buffer_get_bounds(buffer, &start, &end);
	description = g_strstrip(gtk_text_buffer_get_text(buffer, &start, &end, FALSE));
	gtk_widget_destroy(GTK_WIDGET(dialog));
	if (response == GTK_RESPONSE_ACCEPT && *name && self->vm == form->vm && !self->working)
		form->done(self, form->vm, form->id, name, description);
	g_object_unref(form->panel);
	g_object_unref(form->vm);
	g_free(form->id);
	g_free(form);
}

static void snapshot_form_on_name_changed(GtkEntry *entry, GtkDialog *dialog)
{
	g_autofree char *name = g_strstrip(g_strdup(gtk_entry_get_text(entry)));

	gtk_dialog_set_response_sensitive(dialog, GTK_RESPONSE_ACCEPT, *name != '\0');
}

static GtkWidget *snapshot_form_label(GtkWidget *grid, int row, const char *text, GtkWidget *widget,
				      GtkWidget *target)
{
	GtkWidget *label = gtk_label_new_with_mnemonic(text);

	gtk_label_set_xalign(GTK_LABEL(label), 1);
	gtk_label_set_mnemonic_widget(GTK_LABEL(label), target);
	gtk_style_context_add_class(gtk_widget_get_style_context(label), "dim-label");
	gtk_grid_attach(GTK_GRID(grid), label, 0, row, 1, 1);
	gtk_grid_attach(GTK_GRID(grid), widget, 1, row, 1, 1);
	return label;
}

/* The fields have accessible names of their own ("Name", "Description"):
 * that is how the UI tests find them. */
static void snapshots_panel_ask_form(HangarSnapshotsPanel *self, const char *title,
				     const char *button, const char *id, const char *name,
				     const char *description, const char *note,
				     SnapshotFormDone done)
{
	SnapshotForm *form;
	GtkWidget *dialog, *content, *grid, *entry, *scrolled, *view, *label;

	dialog = gtk_dialog_new_with_buttons(
		title, snapshots_panel_get_window(self),
		GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT | GTK_DIALOG_USE_HEADER_BAR,
		_("_Cancel"), GTK_RESPONSE_CANCEL, button, GTK_RESPONSE_ACCEPT, NULL);
	gtk_style_context_add_class(gtk_widget_get_style_context(gtk_dialog_get_widget_for_response(
					    GTK_DIALOG(dialog), GTK_RESPONSE_ACCEPT)),
				    "suggested-action");
	gtk_dialog_set_default_response(GTK_DIALOG(dialog), GTK_RESPONSE_ACCEPT);
	gtk_window_set_resizable(GTK_WINDOW(dialog), FALSE);

	content = gtk_dialog_get_content_area(GTK_DIALOG(dialog));
	gtk_container_set_border_width(GTK_CONTAINER(content), 18);
	grid = gtk_grid_new();
	gtk_grid_set_row_spacing(GTK_GRID(grid), 12);
	gtk_grid_set_column_spacing(GTK_GRID(grid), 12);
	gtk_container_add(GTK_CONTAINER(content), grid);

	entry = gtk_entry_new();
	gtk_entry_set_text(GTK_ENTRY(entry), name);
	gtk_entry_set_activates_default(GTK_ENTRY(entry), TRUE);
	gtk_entry_set_width_chars(GTK_ENTRY(entry), 32);
	gtk_widget_set_hexpand(entry, TRUE);
	atk_object_set_name(gtk_widget_get_accessible(entry), _("Name"));
	g_signal_connect(entry, "changed", G_CALLBACK(snapshot_form_on_name_changed), dialog);
	snapshot_form_label(grid, 0, _("_Name"), entry, entry);

	view = gtk_text_view_new();
	gtk_text_buffer_set_text(gtk_text_view_get_buffer(GTK_TEXT_VIEW(view)), description, -1);
	gtk_text_view_set_wrap_mode(GTK_TEXT_VIEW(view), GTK_WRAP_WORD_CHAR);
	gtk_text_view_set_accepts_tab(GTK_TEXT_VIEW(view), FALSE);
	gtk_text_view_set_left_margin(GTK_TEXT_VIEW(view), 6);
	gtk_text_view_set_right_margin(GTK_TEXT_VIEW(view), 6);
	gtk_text_view_set_top_margin(GTK_TEXT_VIEW(view), 4);
	gtk_text_view_set_bottom_margin(GTK_TEXT_VIEW(view), 4);
	atk_object_set_name(gtk_widget_get_accessible(view), _("Description"));
	scrolled = gtk_scrolled_window_new(NULL, NULL);
	gtk_scrolled_window_set_shadow_type(GTK_SCROLLED_WINDOW(scrolled), GTK_SHADOW_IN);
	gtk_scrolled_window_set_policy(GTK_SCROLLED_WINDOW(scrolled), GTK_POLICY_NEVER,
				       GTK_POLICY_AUTOMATIC);
	gtk_widget_set_size_request(scrolled, -1, 72);
	gtk_container_add(GTK_CONTAINER(scrolled), view);
	label = snapshot_form_label(grid, 1, _("_Description"), scrolled, view);
	gtk_label_set_yalign(GTK_LABEL(label), 0);
	gtk_widget_set_margin_top(label, 4);

	if (note) {
		label = gtk_label_new(note);
		gtk_label_set_line_wrap(GTK_LABEL(label), TRUE);
		gtk_label_set_max_width_chars(GTK_LABEL(label), 44);
		gtk_label_set_xalign(GTK_LABEL(label), 0);
		gtk_style_context_add_class(gtk_widget_get_style_context(label), "dim-label");
		gtk_grid_attach(GTK_GRID(grid), label, 1, 2, 1, 1);
	}

	form = g_new0(SnapshotForm, 1);
	form->panel = g_object_ref(self);
	form->vm = g_object_ref(self->vm);
	form->id = g_strdup(id);
	form->name_entry = GTK_ENTRY(entry);
	form->description_view = GTK_TEXT_VIEW(view);
	form->done = done;
	g_signal_connect(dialog, "response", G_CALLBACK(snapshot_form_on_response), form);
	gtk_widget_show_all(dialog);
	gtk_widget_grab_focus(entry);
}

/* ---- converting raw disks ---- */

static void snapshots_panel_on_convert_progress(gdouble fraction, gpointer object)
{
	HangarSnapshotsPanel *self = object;
	g_autofree char *text = NULL;

	if (!self->working)
		return;
	/* Translators: %d is a percentage */
	text = g_strdup_printf(_("Converting the disks to qcow2… %d %%"), (int)(fraction * 100));
	gtk_label_set_text(GTK_LABEL(self->progress_label), text);
}

static void snapshots_panel_converted(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(HangarSnapshotsPanel) self = user_data;
	g_autoptr(GError) error = NULL;
	int converted = hangar_snapshot_convert_finish(HANGAR_VM(source), result, &error);

	snapshots_panel_end(self, NULL);
	if (converted < 0)
		snapshots_panel_show_error(self, _("The disks could not be converted"), error);
}

static void snapshots_panel_convert(HangarSnapshotsPanel *self)
{
	if (!self->vm || self->working)
		return;
	snapshots_panel_begin(self, _("Converting the disks to qcow2…"));
	hangar_snapshot_convert_async(self->vm, snapshots_panel_on_convert_progress, self, NULL,
				      snapshots_panel_converted, g_object_ref(self));
}

static void snapshots_panel_taken(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(HangarSnapshotsPanel) self = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(HgVmSnapshot) snap =
		hangar_snapshot_take_finish(HANGAR_VM(source), result, &error);

	snapshots_panel_end(self, snap ? snap->id : NULL);
	if (!snap)
		snapshots_panel_show_error(self, _("The snapshot could not be taken"), error);
}

static void snapshots_panel_take(HangarSnapshotsPanel *self, HangarVm *vm, const char *id,
				 const char *name, const char *description)
{
	snapshots_panel_begin(self, _("Taking snapshot…"));
	hangar_snapshot_take_async(vm, name, description, NULL, snapshots_panel_taken,
				   g_object_ref(self));
}

static void snapshots_panel_on_take_clicked(GtkButton *button, HangarSnapshotsPanel *self)
{
	g_autofree char *suggestion = NULL;

	if (!self->vm || self->working)
		return;
	/* Translators: the default name of a new snapshot; %u is its number */
	suggestion = g_strdup_printf(_("Snapshot %u"), (unsigned)MAX(self->next_id, 1));
	snapshots_panel_ask_form(
		self, _("Take Snapshot"), _("_Take"), NULL, suggestion, "",
		hangar_vm_is_active(self->vm)
			? _("The running machine is saved with its disks: reverting to this "
			    "snapshot later continues from this moment. The guest stands still "
			    "while it is saved.")
			: _("The virtual machine is stopped: the snapshot keeps its disks."),
		snapshots_panel_take);
}

/* ---- revert ---- */

static void snapshots_panel_reverted(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(HangarSnapshotsPanel) self = user_data;
	g_autoptr(GError) error = NULL;
	gboolean live = FALSE;

	/* The row stays selected: the snapshot the VM is at now. */
	snapshots_panel_end(self, NULL);
	if (!hangar_snapshot_revert_finish(HANGAR_VM(source), result, &live, &error))
		snapshots_panel_show_error(self, _("The virtual machine could not be reverted"),
					   error);
}

static void snapshots_panel_revert(HangarSnapshotsPanel *self, HangarVm *vm, const char *id,
				   const char *name)
{
	snapshots_panel_begin(self, hangar_vm_is_active(vm) ? _("Turning off and reverting…")
							    : _("Reverting…"));
	hangar_snapshot_revert_async(vm, id, NULL, snapshots_panel_reverted, g_object_ref(self));
}

static void snapshots_panel_on_revert_clicked(GtkButton *button, HangarSnapshotsPanel *self)
{
	g_autofree char *id = NULL, *name = NULL, *question = NULL;
	GtkTreeModel *model = GTK_TREE_MODEL(self->store);
	GString *explanation;
	gboolean live = FALSE;
	GtkTreeIter iter;
	g_autoptr(GtkTreePath) path = NULL;

	if (!self->vm || !snapshots_panel_get_selected(self, &id, &name))
		return;
	path = snapshots_panel_find(self, id);
	if (path && gtk_tree_model_get_iter(model, &iter, path))
		gtk_tree_model_get(model, &iter, COLUMN_LIVE, &live, -1);
	question = g_strdup_printf(_("Revert to “%s”?"), name);
	explanation = g_string_new(_("The present state of the virtual machine is lost: what "
				     "changed since the snapshot, unless another snapshot keeps "
				     "it."));
	if (hangar_vm_is_active(self->vm)) {
		g_string_append(explanation, " ");
		g_string_append(explanation,
				_("It is running: it will be turned off first, as with Force "
				  "Off."));
	}
	g_string_append(explanation, "\n\n");
	g_string_append(explanation,
			live ? _("It then continues from the moment the snapshot was taken.")
			     : _("This snapshot holds the disks only: the virtual machine stays "
				 "turned off, and boots from them when you start it."));
	snapshots_panel_ask(self, id, name, question, explanation->str, _("_Revert"),
			    snapshots_panel_revert);
	g_string_free(explanation, TRUE);
}

/* ---- delete ---- */

static void snapshots_panel_deleted(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(HangarSnapshotsPanel) self = user_data;
	g_autoptr(GError) error = NULL;
	gboolean deleted = hangar_snapshot_delete_finish(HANGAR_VM(source), result, &error);

	snapshots_panel_end(self, NULL);
	if (!deleted)
		snapshots_panel_show_error(self, _("The snapshot could not be deleted"), error);
}

static void snapshots_panel_delete(HangarSnapshotsPanel *self, HangarVm *vm, const char *id,
				   const char *name)
{
	snapshots_panel_begin(self, _("Deleting snapshot…"));
	hangar_snapshot_delete_async(vm, id, NULL, snapshots_panel_deleted, g_object_ref(self));
}

static void snapshots_panel_on_delete_clicked(GtkButton *button, HangarSnapshotsPanel *self)
{
	g_autofree char *id = NULL, *name = NULL, *question = NULL;

	if (!self->vm || !snapshots_panel_get_selected(self, &id, &name))
		return;
	question = g_strdup_printf(_("Delete “%s”?"), name);
	snapshots_panel_ask(self, id, name, question,
			    _("The virtual machine can no longer go back to it, and its space "
			      "is freed. Snapshots taken after it stay."),
			    _("_Delete"), snapshots_panel_delete);
}

/* ---- rename ---- */

static void snapshots_panel_renamed(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(HangarSnapshotsPanel) self = user_data;
	g_autoptr(GError) error = NULL;
	gboolean renamed = hangar_snapshot_rename_finish(HANGAR_VM(source), result, &error);

	snapshots_panel_end(self, NULL);
	if (!renamed)
		snapshots_panel_show_error(self, _("The snapshot could not be renamed"), error);
}

static void snapshots_panel_rename(HangarSnapshotsPanel *self, HangarVm *vm, const char *id,
				   const char *name, const char *description)
{
	snapshots_panel_begin(self, _("Renaming snapshot…"));
	hangar_snapshot_rename_async(vm, id, name, description, NULL, snapshots_panel_renamed,
				     g_object_ref(self));
}

static void snapshots_panel_on_clone_clicked(GtkButton *button, HangarSnapshotsPanel *self)
{
	g_autofree char *id = NULL, *name = NULL;

	if (!self->vm || self->working || !snapshots_panel_get_selected(self, &id, &name))
		return;
	/* The dialog does the work and shows its own progress; the library
	 * window shows the new VM when it is there. */
	gtk_widget_show(GTK_WIDGET(
		hangar_clone_dialog_new(snapshots_panel_get_window(self), self->vm, id, name)));
}

static void snapshots_panel_on_rename_clicked(GtkButton *button, HangarSnapshotsPanel *self)
{
	g_autofree char *id = NULL, *name = NULL, *description = NULL;
	g_autoptr(GtkTreePath) path = NULL;
	GtkTreeIter iter;

	if (!self->vm || self->working || !snapshots_panel_get_selected(self, &id, &name))
		return;
	path = snapshots_panel_find(self, id);
	if (path && gtk_tree_model_get_iter(GTK_TREE_MODEL(self->store), &iter, path))
		gtk_tree_model_get(GTK_TREE_MODEL(self->store), &iter, COLUMN_DESCRIPTION,
				   &description, -1);
	snapshots_panel_ask_form(self, _("Rename Snapshot"), _("_Rename"), id, name,
				 description ? description : "", NULL, snapshots_panel_rename);
}

static gboolean snapshots_panel_on_tree_key_press(GtkWidget *tree_view, GdkEventKey *event,
						  HangarSnapshotsPanel *self)
{
	if (event->keyval == GDK_KEY_F2 && gtk_widget_is_sensitive(self->rename_button)) {
		snapshots_panel_on_rename_clicked(NULL, self);
		return GDK_EVENT_STOP;
	}
	if (event->keyval == GDK_KEY_Delete && gtk_widget_is_sensitive(self->delete_button)) {
		snapshots_panel_on_delete_clicked(NULL, self);
		return GDK_EVENT_STOP;
	}
	return GDK_EVENT_PROPAGATE;
}

/* ---- the tree's columns ---- */

/* What a snapshot without a screen shows instead: a grey screen-sized box
 * with a dimmed disk (or display, for a live one whose screen.png is
 * missing) in the middle. */
static GdkPixbuf *snapshots_panel_placeholder(HangarSnapshotsPanel *self, gboolean live)
{
	GdkPixbuf **placeholder = live ? &self->live_placeholder : &self->disks_placeholder;
	g_autoptr(GdkPixbuf) icon = NULL;
	int size = THUMBNAIL_PLACEHOLDER_HEIGHT / 2;

	if (*placeholder)
		return *placeholder;
	*placeholder = gdk_pixbuf_new(GDK_COLORSPACE_RGB, TRUE, 8, THUMBNAIL_WIDTH,
				      THUMBNAIL_PLACEHOLDER_HEIGHT);
	gdk_pixbuf_fill(*placeholder, 0x8080801a); /* a light grey on light and dark themes */
	icon = gtk_icon_theme_load_icon(gtk_icon_theme_get_default(),
					live ? "video-display-symbolic" : "drive-harddisk-symbolic",
					size, GTK_ICON_LOOKUP_FORCE_SIZE, NULL);
	if (icon)
		gdk_pixbuf_composite(icon, *placeholder, (THUMBNAIL_WIDTH - size) / 2,
				     (THUMBNAIL_PLACEHOLDER_HEIGHT - size) / 2, size, size,
				     (THUMBNAIL_WIDTH - size) / 2,
				     (THUMBNAIL_PLACEHOLDER_HEIGHT - size) / 2, 1, 1,
				     GDK_INTERP_BILINEAR, 140);
	return *placeholder;
}

static void thumbnail_data(GtkTreeViewColumn *column, GtkCellRenderer *cell, GtkTreeModel *model,
			   GtkTreeIter *iter, gpointer data)
{
	HangarSnapshotsPanel *self = data;
	g_autoptr(GdkPixbuf) thumbnail = NULL;
	gboolean live = FALSE;

	gtk_tree_model_get(model, iter, COLUMN_THUMBNAIL, &thumbnail, COLUMN_LIVE, &live, -1);
	g_object_set(cell, "pixbuf",
		     thumbnail ? thumbnail : snapshots_panel_placeholder(self, live), NULL);
}

static void details_data(GtkTreeViewColumn *column, GtkCellRenderer *cell, GtkTreeModel *model,
			 GtkTreeIter *iter, gpointer data)
{
	g_autofree char *details = NULL;
	g_autofree char *markup = NULL;

	gtk_tree_model_get(model, iter, COLUMN_DETAILS, &details, -1);
	markup = g_markup_printf_escaped("<small><span alpha=\"70%%\">%s</span></small>",
					 details ? details : "");
	g_object_set(cell, "markup", markup, NULL);
}

static void snapshots_panel_build_columns(HangarSnapshotsPanel *self)
{
	GtkTreeView *view = GTK_TREE_VIEW(self->tree_view);
	GtkTreeViewColumn *thumbnail_column = gtk_tree_view_column_new();
	GtkCellArea *area = gtk_cell_area_box_new();
	GtkTreeViewColumn *snapshot_column;
	GtkCellRenderer *thumbnail = gtk_cell_renderer_pixbuf_new();
	GtkCellRenderer *name = gtk_cell_renderer_text_new();
	GtkCellRenderer *details = gtk_cell_renderer_text_new();
	GtkCellRenderer *marker = gtk_cell_renderer_text_new();

	g_object_set(thumbnail, "ypad", 4, NULL);
	gtk_cell_renderer_set_fixed_size(thumbnail, THUMBNAIL_WIDTH + 4, -1);
	gtk_tree_view_column_pack_start(thumbnail_column, thumbnail, FALSE);
	gtk_tree_view_column_set_cell_data_func(thumbnail_column, thumbnail, thumbnail_data, self,
						NULL);
	gtk_tree_view_append_column(view, thumbnail_column);

	/* Name, when and what kind, and the mark, stacked. */
	gtk_orientable_set_orientation(GTK_ORIENTABLE(area), GTK_ORIENTATION_VERTICAL);
	snapshot_column = gtk_tree_view_column_new_with_area(area);
	gtk_tree_view_column_set_expand(snapshot_column, TRUE);

	g_object_set(name, "ellipsize", PANGO_ELLIPSIZE_END, "weight", PANGO_WEIGHT_BOLD, "yalign",
		     1.0, NULL);
	gtk_tree_view_column_pack_start(snapshot_column, name, TRUE);
	gtk_tree_view_column_add_attribute(snapshot_column, name, "text", COLUMN_NAME);

	g_object_set(details, "ellipsize", PANGO_ELLIPSIZE_END, NULL);
	gtk_tree_view_column_pack_start(snapshot_column, details, FALSE);
	gtk_tree_view_column_set_cell_data_func(snapshot_column, details, details_data, NULL, NULL);

	g_object_set(marker, "weight", PANGO_WEIGHT_BOLD, "style", PANGO_STYLE_ITALIC, "scale",
		     PANGO_SCALE_SMALL, "yalign", 0.0, NULL);
	/* Always there (empty but on the current row), so that the name and
	 * the details stay together in the middle of a row with a thumbnail:
	 * the name's cell and this one take the spare height. */
	gtk_tree_view_column_pack_start(snapshot_column, marker, TRUE);
	gtk_tree_view_column_add_attribute(snapshot_column, marker, "text", COLUMN_MARKER);
	gtk_tree_view_append_column(view, snapshot_column);

	g_signal_connect(view, "key-press-event", G_CALLBACK(snapshots_panel_on_tree_key_press),
			 self);
}

/* ---- the panel ---- */

void hangar_snapshots_panel_set_vm(HangarSnapshotsPanel *self, HangarVm *vm)
{
	g_return_if_fail(HANGAR_IS_SNAPSHOTS_PANEL(self));
	g_return_if_fail(vm == NULL || HANGAR_IS_VM(vm));

	if (vm == self->vm)
		return;
	if (self->vm) {
		g_signal_handlers_disconnect_by_data(self->vm, self);
		g_clear_object(&self->vm);
	}
	/* An operation under way finishes on its own VM; this panel moves on. */
	self->working = FALSE;
	gtk_spinner_stop(GTK_SPINNER(self->progress_spinner));
	gtk_widget_hide(self->progress_box);
	snapshots_panel_hide_error(self);
	g_clear_pointer(&self->select_after_load, g_free);
	gtk_tree_store_clear(self->store);
	self->next_id = 1;
	if (vm) {
		self->vm = g_object_ref(vm);
		g_signal_connect_object(vm, "notify::state",
					G_CALLBACK(snapshots_panel_on_vm_notify), self, 0);
		g_signal_connect_object(vm, "notify::busy",
					G_CALLBACK(snapshots_panel_on_vm_notify), self, 0);
	}
	snapshots_panel_watch(self);
	snapshots_panel_reload(self);
	snapshots_panel_sync(self);
}

static void hangar_snapshots_panel_dispose(GObject *object)
{
	HangarSnapshotsPanel *self = HANGAR_SNAPSHOTS_PANEL(object);

	if (self->vm) {
		g_signal_handlers_disconnect_by_data(self->vm, self);
		g_clear_object(&self->vm);
	}
	snapshots_panel_watch(self); /* without a VM: stops watching */
	g_clear_handle_id(&self->reload_timeout, g_source_remove);
	if (self->load_cancellable) {
		g_cancellable_cancel(self->load_cancellable);
		g_clear_object(&self->load_cancellable);
	}
	g_clear_pointer(&self->select_after_load, g_free);
	g_clear_object(&self->disks_placeholder);
	g_clear_object(&self->live_placeholder);
	G_OBJECT_CLASS(hangar_snapshots_panel_parent_class)->dispose(object);
}

static void hangar_snapshots_panel_class_init(HangarSnapshotsPanelClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);
	GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

	object_class->dispose = hangar_snapshots_panel_dispose;

	gtk_widget_class_set_template_from_resource(
		widget_class, "/org/hangar/Hangar/ui/vm/hangar-snapshots-panel.ui");
	gtk_widget_class_bind_template_child(widget_class, HangarSnapshotsPanel, store);
	gtk_widget_class_bind_template_child(widget_class, HangarSnapshotsPanel, stack);
	gtk_widget_class_bind_template_child(widget_class, HangarSnapshotsPanel, tree_view);
	gtk_widget_class_bind_template_child(widget_class, HangarSnapshotsPanel, error_bar);
	gtk_widget_class_bind_template_child(widget_class, HangarSnapshotsPanel, error_label);
	gtk_widget_class_bind_template_child(widget_class, HangarSnapshotsPanel,
					     error_detail_label);
	gtk_widget_class_bind_template_child(widget_class, HangarSnapshotsPanel, progress_box);
	gtk_widget_class_bind_template_child(widget_class, HangarSnapshotsPanel, progress_spinner);
	gtk_widget_class_bind_template_child(widget_class, HangarSnapshotsPanel, progress_label);
	gtk_widget_class_bind_template_child(widget_class, HangarSnapshotsPanel, take_button);
	gtk_widget_class_bind_template_child(widget_class, HangarSnapshotsPanel, revert_button);
	gtk_widget_class_bind_template_child(widget_class, HangarSnapshotsPanel, rename_button);
	gtk_widget_class_bind_template_child(widget_class, HangarSnapshotsPanel, delete_button);
	gtk_widget_class_bind_template_child(widget_class, HangarSnapshotsPanel, clone_button);
	gtk_widget_class_bind_template_callback(widget_class, snapshots_panel_on_error_response);
	gtk_widget_class_bind_template_callback(widget_class, snapshots_panel_on_selection_changed);
	gtk_widget_class_bind_template_callback(widget_class, snapshots_panel_on_take_clicked);
	gtk_widget_class_bind_template_callback(widget_class, snapshots_panel_on_revert_clicked);
	gtk_widget_class_bind_template_callback(widget_class, snapshots_panel_on_rename_clicked);
	gtk_widget_class_bind_template_callback(widget_class, snapshots_panel_on_delete_clicked);
	gtk_widget_class_bind_template_callback(widget_class, snapshots_panel_on_clone_clicked);
	gtk_widget_class_set_css_name(widget_class, "hangar-snapshots-panel");
}

static void hangar_snapshots_panel_init(HangarSnapshotsPanel *self)
{
	gtk_widget_init_template(GTK_WIDGET(self));
	self->convert_button = gtk_info_bar_add_button(GTK_INFO_BAR(self->error_bar),
						       _("_Convert to qcow2"), RESPONSE_CONVERT);
	atk_object_set_name(gtk_widget_get_accessible(self->convert_button), _("Convert to qcow2"));
	gtk_widget_hide(self->convert_button);
	snapshots_panel_build_columns(self);
	self->next_id = 1;
	gtk_stack_set_visible_child_name(GTK_STACK(self->stack), "empty");
	snapshots_panel_sync(self);
}

GtkWidget *hangar_snapshots_panel_new(void)
{
	return g_object_new(HANGAR_TYPE_SNAPSHOTS_PANEL, NULL);
}
