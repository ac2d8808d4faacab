/* HangarLibraryPage (hangar-library-page.h). */
#include "ui/window/hangar-library-page.h"

#include "ui/hangar-vm.h"
#include "ui/window/hangar-vm-row.h"
#include "ui/window/hangar-vm-tile.h"

struct _HangarLibraryPage {
	GtkBox parent_instance;

	GtkSearchBar *search_bar;
	GtkSearchEntry *search_entry;
	GtkStack *view_stack;
	GtkFlowBox *grid;
	GtkListBox *list;

	GListModel *vms;   /* every VM (the application's) */
	GListStore *shown; /* those the search matches: what the views show */
	char *view;        /* "grid" or "list" */
	char *search_text; /* case-folded, NULL when empty */
};

enum { PROP_0, PROP_SEARCH_MODE, N_PROPS };
static GParamSpec *properties[N_PROPS];
enum { SIGNAL_VM_ACTIVATED, N_SIGNALS };
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

static void hangar_library_page_get_property(GObject *object, guint prop_id, GValue *value,
					     GParamSpec *pspec)
{
	HangarLibraryPage *page = HANGAR_LIBRARY_PAGE(object);

	if (prop_id == PROP_SEARCH_MODE)
		g_value_set_boolean(value, gtk_search_bar_get_search_mode(page->search_bar));
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
	g_object_class_install_properties(object_class, N_PROPS, properties);
	signals[SIGNAL_VM_ACTIVATED] =
		g_signal_new("vm-activated", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
			     NULL, NULL, G_TYPE_NONE, 1, HANGAR_TYPE_VM);

	gtk_widget_class_set_template_from_resource(
		widget_class, "/org/hangar/Hangar/ui/window/hangar-library-page.ui");
	gtk_widget_class_bind_template_child(widget_class, HangarLibraryPage, search_bar);
	gtk_widget_class_bind_template_child(widget_class, HangarLibraryPage, search_entry);
	gtk_widget_class_bind_template_child(widget_class, HangarLibraryPage, view_stack);
	gtk_widget_class_bind_template_child(widget_class, HangarLibraryPage, grid);
	gtk_widget_class_bind_template_child(widget_class, HangarLibraryPage, list);
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
	gtk_search_bar_connect_entry(page->search_bar, GTK_ENTRY(page->search_entry));
	g_signal_connect_swapped(page->search_bar, "notify::search-mode-enabled",
				 G_CALLBACK(search_mode_changed), page);
}
