/* HangarLibraryPage (hangar-library-page.h). */
#include "ui/window/hangar-library-page.h"

#include "ui/hangar-vm.h"
#include "ui/import/hangar-import-mode-dialog.h"
#include "ui/import/hangar-import-row.h"
#include "ui/window/hangar-vm-row.h"
#include "ui/window/hangar-vm-tile.h"

struct _HangarLibraryPage {
	GtkBox parent_instance;

	GtkSearchBar *search_bar;
	GtkSearchEntry *search_entry;
	GtkStack *view_stack;
	GtkFlowBox *grid;
	GtkListBox *list;
	GtkRevealer *imports_revealer;
	GtkListBox *imports_list;

	GListStore *imports; /* of HangarImport: the rows of imports_list */
	GQueue asking;       /* HangarImports waiting to ask "Import as" (references) */
	GtkWidget *mode_dialog; /* asking for the head of asking; NULL when none */
	HangarImport *leaving;  /* the last row, kept while the list slides away */

	GListModel *vms;   /* every VM (the application's) */
	GListStore *shown; /* those the search matches: what the views show */
	char *view;        /* "grid" or "list" */
	char *search_text; /* case-folded, NULL when empty */
};

enum { PROP_0, PROP_SEARCH_MODE, PROP_HAS_IMPORTS, N_PROPS };
static GParamSpec *properties[N_PROPS];
enum { SIGNAL_VM_ACTIVATED, SIGNAL_VM_IMPORTED, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_TYPE(HangarLibraryPage, hangar_library_page, GTK_TYPE_BOX)

static gboolean vm_matches(HangarVm *vm, const char *search_text)
{
	g_autofree char *name = NULL, *os = NULL;

	if (!search_text)
		return TRUE;
	name = g_utf8_casefold(hangar_vm_get_name(vm), -1);
	if (strstr(name, search_text))
		return TRUE;
	os = hangar_vm_get_os_name(vm) ? g_utf8_casefold(hangar_vm_get_os_name(vm), -1) : NULL;
	return os && strstr(os, search_text);
}

static gboolean library_page_shows(HangarLibraryPage *page, GPtrArray *vms)
{
	if (g_list_model_get_n_items(G_LIST_MODEL(page->shown)) != vms->len)
		return FALSE;
	for (guint i = 0; i < vms->len; i++) {
		g_autoptr(GObject) shown = g_list_model_get_object(G_LIST_MODEL(page->shown), i);

		if (shown != vms->pdata[i])
			return FALSE;
	}
	return TRUE;
}

/* GTK 3's boxes ignore filter functions once bound to a model, so the
 * views show a second list: the VMs the search matches, rebuilt when the
 * search or the library changes.  Then the chosen view, or "no-match"
 * when the search hides every VM. */
static void library_page_refilter(HangarLibraryPage *page)
{
	guint n = page->vms ? g_list_model_get_n_items(page->vms) : 0;
	g_autoptr(GPtrArray) matching = g_ptr_array_new_with_free_func(g_object_unref);

	for (guint i = 0; i < n; i++) {
		HangarVm *vm = g_list_model_get_item(page->vms, i);

		if (vm_matches(vm, page->search_text))
			g_ptr_array_add(matching, vm);
		else
			g_object_unref(vm);
	}
	/* Unchanged (a reload, the view switched): the views keep their widgets. */
	if (!library_page_shows(page, matching))
		g_list_store_splice(page->shown, 0,
				    g_list_model_get_n_items(G_LIST_MODEL(page->shown)),
				    matching->pdata, matching->len);
	gtk_stack_set_visible_child_name(page->view_stack,
					 matching->len || n == 0 ? page->view : "no-match");
}

static void library_page_search_changed(HangarLibraryPage *page)
{
	const char *text = gtk_entry_get_text(GTK_ENTRY(page->search_entry));

	g_free(page->search_text);
	page->search_text = *text ? g_utf8_casefold(text, -1) : NULL;
	library_page_refilter(page);
}

static void library_page_grid_activated(HangarLibraryPage *page, GtkFlowBoxChild *child)
{
	HangarVmTile *tile = HANGAR_VM_TILE(gtk_bin_get_child(GTK_BIN(child)));

	g_signal_emit(page, signals[SIGNAL_VM_ACTIVATED], 0, hangar_vm_tile_get_vm(tile));
}

static void library_page_list_activated(HangarLibraryPage *page, GtkListBoxRow *row)
{
	g_signal_emit(page, signals[SIGNAL_VM_ACTIVATED], 0, hangar_vm_row_get_vm(HANGAR_VM_ROW(row)));
}

static GtkWidget *create_tile(gpointer item, gpointer user_data)
{
	return GTK_WIDGET(hangar_vm_tile_new(item));
}

static GtkWidget *create_row(gpointer item, gpointer user_data)
{
	return GTK_WIDGET(hangar_vm_row_new(item));
}

static void library_page_items_changed(GListModel *vms, guint position, guint removed,
				       guint added, HangarLibraryPage *page)
{
	library_page_refilter(page);
}

void hangar_library_page_set_model(HangarLibraryPage *page, GListModel *vms)
{
	g_set_object(&page->vms, vms);
	g_signal_connect_object(vms, "items-changed", G_CALLBACK(library_page_items_changed),
				page, G_CONNECT_AFTER);
	library_page_refilter(page);
}

/* Only the view shown has a widget per VM: the hidden view's were a sixth
 * of the time to show a library of 100 VMs (issue 5, tests/bench/app). */
static void library_page_bind_view(HangarLibraryPage *page)
{
	gboolean list = g_str_equal(page->view, "list");

	gtk_flow_box_bind_model(page->grid, list ? NULL : G_LIST_MODEL(page->shown), create_tile,
				page, NULL);
	gtk_list_box_bind_model(page->list, list ? G_LIST_MODEL(page->shown) : NULL, create_row,
				page, NULL);
}

void hangar_library_page_set_view(HangarLibraryPage *page, const char *view)
{
	const char *chosen = g_str_equal(view, "list") ? "list" : "grid";

	if (!g_str_equal(page->view, chosen)) {
		g_free(page->view);
		page->view = g_strdup(chosen);
		library_page_bind_view(page);
	}
	library_page_refilter(page);
}

/* ---- imports ---- */

static void library_page_remove_import(HangarLibraryPage *page, HangarImport *import)
{
	guint position;

	g_signal_handlers_disconnect_by_data(import, page);
	if (!g_list_store_find(page->imports, import, &position))
		return;
	/* The last one: the list slides away with its row still in it (an
	 * empty list would show as a bare frame), and then the row goes. */
	if (g_list_model_get_n_items(G_LIST_MODEL(page->imports)) == 1 &&
	    gtk_revealer_get_child_revealed(page->imports_revealer)) {
		g_set_object(&page->leaving, import);
		gtk_revealer_set_reveal_child(page->imports_revealer, FALSE);
		return;
	}
	g_list_store_remove(page->imports, position);
}

static void library_page_drop_leaving(HangarLibraryPage *page)
{
	g_autoptr(HangarImport) leaving = g_steal_pointer(&page->leaving);
	guint position;

	if (leaving && g_list_store_find(page->imports, leaving, &position))
		g_list_store_remove(page->imports, position);
}

static void library_page_imports_revealed(HangarLibraryPage *page)
{
	if (!gtk_revealer_get_child_revealed(page->imports_revealer))
		library_page_drop_leaving(page);
}

static void library_page_ask_next(HangarLibraryPage *page);

/* The user chose how to import the head of the queue (or cancelled). */
static void library_page_mode_response(GtkDialog *dialog, int response, HangarLibraryPage *page)
{
	g_autoptr(HangarImport) import = g_queue_pop_head(&page->asking);
	HgImportMode mode =
		hangar_import_mode_dialog_get_mode(HANGAR_IMPORT_MODE_DIALOG(dialog));

	page->mode_dialog = NULL;
	gtk_widget_destroy(GTK_WIDGET(dialog));
	if (response == GTK_RESPONSE_ACCEPT)
		hangar_import_start(import, mode);
	else
		hangar_import_cancel(import);
	library_page_ask_next(page);
}

/* One "Import as" dialog at a time, for the imports in the order they
 * were checked. */
static void library_page_ask_next(HangarLibraryPage *page)
{
	HangarImport *import = g_queue_peek_head(&page->asking);
	GtkWidget *toplevel = gtk_widget_get_toplevel(GTK_WIDGET(page));

	if (page->mode_dialog || !import)
		return;
	page->mode_dialog = GTK_WIDGET(hangar_import_mode_dialog_new(
		GTK_IS_WINDOW(toplevel) ? GTK_WINDOW(toplevel) : NULL,
		hangar_import_get_display_name(import), hangar_import_get_format(import)));
	g_signal_connect(page->mode_dialog, "response", G_CALLBACK(library_page_mode_response),
			 page);
	gtk_widget_show(page->mode_dialog);
}

/* An import cancelled from its row while it waited for the question, or
 * while the question was open. */
static void library_page_stop_asking(HangarLibraryPage *page, HangarImport *import)
{
	if (!g_queue_find(&page->asking, import))
		return;
	if (page->mode_dialog && g_queue_peek_head(&page->asking) == import) {
		GtkWidget *dialog = g_steal_pointer(&page->mode_dialog);

		g_signal_handlers_disconnect_by_data(dialog, page);
		gtk_widget_destroy(dialog);
	}
	g_queue_remove(&page->asking, import);
	g_object_unref(import);
	library_page_ask_next(page);
}

static void library_page_import_changed(HangarImport *import, HangarLibraryPage *page)
{
	switch (hangar_import_get_state(import)) {
	case HANGAR_IMPORT_ASKING:
		if (!g_queue_find(&page->asking, import)) {
			g_queue_push_tail(&page->asking, g_object_ref(import));
			library_page_ask_next(page);
		}
		break;
	case HANGAR_IMPORT_DONE:
		g_signal_emit(page, signals[SIGNAL_VM_IMPORTED], 0, hangar_import_get_vm_id(import));
		/* A row with notes stays until the user has read and closed it. */
		if (!hangar_import_get_notes(import))
			library_page_remove_import(page, import);
		break;
	case HANGAR_IMPORT_CANCELLED:
		library_page_stop_asking(page, import);
		library_page_remove_import(page, import);
		break;
	default:
		break;
	}
}

static void library_page_import_dismissed(HangarImportRow *row, HangarLibraryPage *page)
{
	library_page_remove_import(page, hangar_import_row_get_import(row));
}

static GtkWidget *create_import_row(gpointer item, gpointer user_data)
{
	HangarImportRow *row = hangar_import_row_new(item);

	g_signal_connect_object(row, "dismissed", G_CALLBACK(library_page_import_dismissed),
				user_data, 0);
	return GTK_WIDGET(row);
}

static void library_page_imports_changed(GListModel *imports, guint position, guint removed,
					 guint added, HangarLibraryPage *page)
{
	guint n = g_list_model_get_n_items(imports);

	gtk_revealer_set_reveal_child(page->imports_revealer, n > 0);
	if (n == added || n == 0)
		g_object_notify_by_pspec(G_OBJECT(page), properties[PROP_HAS_IMPORTS]);
}

void hangar_library_page_import(HangarLibraryPage *page, const char *library_root, GFile *file)
{
	g_autoptr(HangarImport) import = hangar_import_new(library_root, file);

	library_page_drop_leaving(page);
	g_signal_connect(import, "changed", G_CALLBACK(library_page_import_changed), page);
	g_list_store_append(page->imports, import);
}

gboolean hangar_library_page_has_imports(HangarLibraryPage *page)
{
	return g_list_model_get_n_items(G_LIST_MODEL(page->imports)) > 0;
}

static void hangar_library_page_get_property(GObject *object, guint prop_id, GValue *value,
					     GParamSpec *pspec)
{
	HangarLibraryPage *page = HANGAR_LIBRARY_PAGE(object);

	if (prop_id == PROP_SEARCH_MODE)
		g_value_set_boolean(value, gtk_search_bar_get_search_mode(page->search_bar));
	else if (prop_id == PROP_HAS_IMPORTS)
		g_value_set_boolean(value, hangar_library_page_has_imports(page));
	else
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
}

static void hangar_library_page_set_property(GObject *object, guint prop_id, const GValue *value,
					     GParamSpec *pspec)
{
	HangarLibraryPage *page = HANGAR_LIBRARY_PAGE(object);

	if (prop_id == PROP_SEARCH_MODE)
		gtk_search_bar_set_search_mode(page->search_bar, g_value_get_boolean(value));
	else
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
}

static void search_mode_changed(HangarLibraryPage *page)
{
	g_object_notify_by_pspec(G_OBJECT(page), properties[PROP_SEARCH_MODE]);
}

static void hangar_library_page_dispose(GObject *object)
{
	HangarLibraryPage *page = HANGAR_LIBRARY_PAGE(object);
	guint n = page->imports ? g_list_model_get_n_items(G_LIST_MODEL(page->imports)) : 0;

	/* Imports still running stop (the library removes what they made). */
	for (guint i = 0; i < n; i++) {
		g_autoptr(HangarImport) import =
			g_list_model_get_item(G_LIST_MODEL(page->imports), i);

		g_signal_handlers_disconnect_by_data(import, page);
		hangar_import_cancel(import);
	}
	g_queue_clear_full(&page->asking, g_object_unref);
	if (page->mode_dialog) {
		g_signal_handlers_disconnect_by_data(page->mode_dialog, page);
		gtk_widget_destroy(g_steal_pointer(&page->mode_dialog));
	}
	g_clear_object(&page->leaving);
	g_clear_object(&page->imports);
	g_clear_object(&page->vms);
	g_clear_object(&page->shown);
	G_OBJECT_CLASS(hangar_library_page_parent_class)->dispose(object);
}

static void hangar_library_page_finalize(GObject *object)
{
	HangarLibraryPage *page = HANGAR_LIBRARY_PAGE(object);

	g_free(page->view);
	g_free(page->search_text);
	G_OBJECT_CLASS(hangar_library_page_parent_class)->finalize(object);
}

static void hangar_library_page_class_init(HangarLibraryPageClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);
	GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

	object_class->get_property = hangar_library_page_get_property;
	object_class->set_property = hangar_library_page_set_property;
	object_class->dispose = hangar_library_page_dispose;
	object_class->finalize = hangar_library_page_finalize;
	properties[PROP_SEARCH_MODE] = g_param_spec_boolean(
		"search-mode", NULL, NULL, FALSE, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
	properties[PROP_HAS_IMPORTS] = g_param_spec_boolean(
		"has-imports", NULL, NULL, FALSE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
	g_object_class_install_properties(object_class, N_PROPS, properties);
	signals[SIGNAL_VM_ACTIVATED] =
		g_signal_new("vm-activated", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
			     NULL, NULL, G_TYPE_NONE, 1, HANGAR_TYPE_VM);
	signals[SIGNAL_VM_IMPORTED] =
		g_signal_new("vm-imported", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
			     NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

	gtk_widget_class_set_template_from_resource(
		widget_class, "/org/hangar/Hangar/ui/window/hangar-library-page.ui");
	gtk_widget_class_bind_template_child(widget_class, HangarLibraryPage, search_bar);
	gtk_widget_class_bind_template_child(widget_class, HangarLibraryPage, search_entry);
	gtk_widget_class_bind_template_child(widget_class, HangarLibraryPage, view_stack);
	gtk_widget_class_bind_template_child(widget_class, HangarLibraryPage, grid);
	gtk_widget_class_bind_template_child(widget_class, HangarLibraryPage, list);
	gtk_widget_class_bind_template_child(widget_class, HangarLibraryPage, imports_revealer);
	gtk_widget_class_bind_template_child(widget_class, HangarLibraryPage, imports_list);
	gtk_widget_class_bind_template_callback(widget_class, library_page_search_changed);
	gtk_widget_class_bind_template_callback(widget_class, library_page_grid_activated);
	gtk_widget_class_bind_template_callback(widget_class, library_page_list_activated);
}

static void hangar_library_page_init(HangarLibraryPage *page)
{
	gtk_widget_init_template(GTK_WIDGET(page));
	page->view = g_strdup("grid");
	page->shown = g_list_store_new(HANGAR_TYPE_VM);
	library_page_bind_view(page);
	page->imports = g_list_store_new(HANGAR_TYPE_IMPORT);
	gtk_list_box_bind_model(page->imports_list, G_LIST_MODEL(page->imports),
				create_import_row, page, NULL);
	g_signal_connect_object(page->imports, "items-changed",
				G_CALLBACK(library_page_imports_changed), page, G_CONNECT_AFTER);
	g_signal_connect_swapped(page->imports_revealer, "notify::child-revealed",
				 G_CALLBACK(library_page_imports_revealed), page);
	gtk_search_bar_connect_entry(page->search_bar, GTK_ENTRY(page->search_entry));
	g_signal_connect_swapped(page->search_bar, "notify::search-mode-enabled",
				 G_CALLBACK(search_mode_changed), page);
}
