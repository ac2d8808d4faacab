/* HangarWindow (hangar-window.h). */
#include "ui/window/hangar-window.h"

#include <glib/gi18n.h>

#include "ui/vm/hangar-vm-page.h"
#include "ui/window/hangar-library-page.h"

struct _HangarWindow {
	GtkApplicationWindow parent_instance;

	GtkHeaderBar *header_bar;
	GtkWidget *back_button;
	GtkWidget *new_button;
	GtkToggleButton *search_button;
	GtkToggleButton *list_view_button;
	GtkInfoBar *error_bar;
	GtkLabel *error_summary;
	GtkLabel *error_detail;
	GtkStack *main_stack;
	HangarLibraryPage *library_page;
	GtkWidget *empty_page;
	HangarVmPage *vm_page;

	GListModel *vms;    /* the application's */
	HangarVm *shown_vm; /* the VM page's, for the title; weak */
};

G_DEFINE_TYPE(HangarWindow, hangar_window, GTK_TYPE_APPLICATION_WINDOW)

void hangar_window_show_error(HangarWindow *window, const char *summary, const char *detail)
{
	gtk_label_set_text(window->error_summary, summary);
	gtk_label_set_text(window->error_detail, detail ? detail : "");
	gtk_widget_set_visible(GTK_WIDGET(window->error_detail), detail && *detail);
	gtk_widget_show(GTK_WIDGET(window->error_bar));
}

static void window_error_response(HangarWindow *window, int response)
{
	gtk_widget_hide(GTK_WIDGET(window->error_bar));
}

/* The library page, or its empty state when there is nothing to show (no
 * VMs, and no imports under way). */
static void window_update_library_page(HangarWindow *window)
{
	gboolean any = g_list_model_get_n_items(window->vms) ||
		       hangar_library_page_has_imports(window->library_page);
	const char *page = any ? "library" : "empty";
	const char *current = gtk_stack_get_visible_child_name(window->main_stack);

	if (g_strcmp0(current, "vm") != 0)
		gtk_stack_set_visible_child_name(window->main_stack, page);
}

static void window_update_title(HangarWindow *window)
{
	if (window->shown_vm) {
		gtk_header_bar_set_title(window->header_bar, hangar_vm_get_name(window->shown_vm));
		gtk_header_bar_set_subtitle(window->header_bar, hangar_vm_get_os_name(window->shown_vm));
	} else {
		gtk_header_bar_set_title(window->header_bar, _("Hangar"));
		gtk_header_bar_set_subtitle(window->header_bar, NULL);
	}
}

static void window_set_shown_vm(HangarWindow *window, HangarVm *vm)
{
	if (window->shown_vm) {
		g_signal_handlers_disconnect_by_data(window->shown_vm, window);
		g_object_remove_weak_pointer(G_OBJECT(window->shown_vm), (gpointer *)&window->shown_vm);
	}
	window->shown_vm = vm;
	if (vm) {
		g_object_add_weak_pointer(G_OBJECT(vm), (gpointer *)&window->shown_vm);
		g_signal_connect_swapped(vm, "notify::name", G_CALLBACK(window_update_title), window);
	}
	window_update_title(window);
}

/* ---- importing: drops, Import… ---- */

static void window_accept_drops(HangarWindow *window, gboolean accept);

void hangar_window_import(HangarWindow *window, GFile *file)
{
	GtkApplication *app = gtk_window_get_application(GTK_WINDOW(window));
	HgVmLibrary *library = app ? hangar_application_get_library(HANGAR_APPLICATION(app)) : NULL;

	if (!library) {
		hangar_window_show_error(window, _("The VM library cannot be opened"), NULL);
		return;
	}
	/* Asked for from outside (`hangar FILE`): show where it goes. */
	if (window->shown_vm)
		hangar_window_show_library(window);
	hangar_library_page_import(window->library_page, hg_vm_library_root(library), file);
	window_update_library_page(window);
}

/* Files from a drop or the file chooser go where `hangar FILE` sends them
 * (the application's "open"): an installation disc to the wizard, anything
 * else to an import. */
static void window_open_files(HangarWindow *window, GPtrArray *files)
{
	GApplication *app = G_APPLICATION(gtk_window_get_application(GTK_WINDOW(window)));

	if (app && files->len)
		g_application_open(app, (GFile **)files->pdata, (int)files->len, "");
}

static void window_drag_data_received(GtkWidget *widget, GdkDragContext *context, int x, int y,
				      GtkSelectionData *data, guint info, guint time)
{
	HangarWindow *window = HANGAR_WINDOW(widget);
	g_auto(GStrv) uris = gtk_selection_data_get_uris(data);
	g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func(g_object_unref);
	g_autoptr(GString) ignored = g_string_new(NULL);

	for (guint i = 0; uris && uris[i]; i++) {
		g_autoptr(GFile) file = g_file_new_for_uri(uris[i]);

		if (g_file_is_native(file))
			g_ptr_array_add(files, g_steal_pointer(&file));
		else
			g_string_append_printf(ignored, "%s%s", ignored->len ? "\n" : "", uris[i]);
	}
	if (ignored->len)
		hangar_window_show_error(
			window,
			_("Only files on this computer can be imported: download these first"),
			ignored->str);
	window_open_files(window, files);
}

/* The library takes files dropped anywhere on the window; a VM's page does
 * not (its display may take them for the guest). */
static void window_accept_drops(HangarWindow *window, gboolean accept)
{
	if (!accept) {
		gtk_drag_dest_unset(GTK_WIDGET(window));
		return;
	}
	gtk_drag_dest_set(GTK_WIDGET(window), GTK_DEST_DEFAULT_ALL, NULL, 0, GDK_ACTION_COPY);
	gtk_drag_dest_add_uri_targets(GTK_WIDGET(window));
}

static void window_import_chosen(GtkNativeDialog *chooser, int response, HangarWindow *window)
{
	g_autoptr(GSList) chosen = NULL;
	g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func(g_object_unref);

	if (response == GTK_RESPONSE_ACCEPT)
		chosen = gtk_file_chooser_get_files(GTK_FILE_CHOOSER(chooser));
	for (GSList *l = chosen; l; l = l->next)
		g_ptr_array_add(files, l->data); /* takes the list's reference */
	g_object_unref(chooser);
	window_open_files(window, files);
	g_object_unref(window);
}

static void window_add_filter(GtkFileChooser *chooser, const char *name,
			      const char *const *mime_types, const char *pattern)
{
	GtkFileFilter *filter = gtk_file_filter_new();

	gtk_file_filter_set_name(filter, name);
	for (guint i = 0; mime_types && mime_types[i]; i++)
		gtk_file_filter_add_mime_type(filter, mime_types[i]);
	if (pattern)
		gtk_file_filter_add_pattern(filter, pattern);
	gtk_file_chooser_add_filter(chooser, filter);
}

/* win.import: a file chooser (the portal's when sandboxed), several files
 * at once. */
static void window_import_action(GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
	HangarWindow *window = user_data;
	static const char *const images[] = {
		"application/x-qemu-disk", "application/x-raw-disk-image",
		"application/x-vmdk-disk", "application/x-vdi-disk",
		"application/x-vhd-disk",  "application/x-vhdx-disk",
		"application/x-cd-image",  "application/ovf",
		"application/x-virtualbox-ova", NULL,
	};
	static const char *const archives[] = {
		"application/x-tar", "application/zip",	  "application/gzip",	 "application/x-xz",
		"application/zstd",  "application/x-bzip", "application/x-bzip2", NULL,
	};
	GtkFileChooserNative *chooser = gtk_file_chooser_native_new(
		_("Import Disk Images"), GTK_WINDOW(window), GTK_FILE_CHOOSER_ACTION_OPEN,
		_("_Import"), _("_Cancel"));

	gtk_file_chooser_set_select_multiple(GTK_FILE_CHOOSER(chooser), TRUE);
	/* What a file is comes from its content: a raw image may be called
	 * anything, so every file can be chosen too. */
	window_add_filter(GTK_FILE_CHOOSER(chooser),
			  _("Disk images, appliances and installation discs"), images, "*.raw");
	window_add_filter(GTK_FILE_CHOOSER(chooser), _("Archives and compressed images"), archives,
			  NULL);
	window_add_filter(GTK_FILE_CHOOSER(chooser), _("All files"), NULL, "*");
	g_signal_connect(chooser, "response", G_CALLBACK(window_import_chosen),
			 g_object_ref(window));
	gtk_native_dialog_show(GTK_NATIVE_DIALOG(chooser));
}

static const GActionEntry window_actions[] = {
	{"import", window_import_action},
};

static void window_vm_imported(HangarWindow *window, const char *vm_id)
{
	GtkApplication *app = gtk_window_get_application(GTK_WINDOW(window));

	/* Now rather than when the folder monitor settles. */
	if (app)
		hangar_application_reload(HANGAR_APPLICATION(app));
}

/* ---- pages ---- */

void hangar_window_show_vm(HangarWindow *window, HangarVm *vm)
{
	hangar_vm_page_set_vm(window->vm_page, vm);
	window_set_shown_vm(window, vm);
	gtk_stack_set_visible_child_name(window->main_stack, "vm");
	gtk_widget_show(window->back_button);
	gtk_widget_hide(GTK_WIDGET(window->search_button));
	gtk_widget_hide(GTK_WIDGET(window->list_view_button));
	gtk_widget_hide(window->new_button);
	window_accept_drops(window, FALSE);
}

void hangar_window_show_library(HangarWindow *window)
{
	hangar_vm_page_set_vm(window->vm_page, NULL);
	window_set_shown_vm(window, NULL);
	gtk_stack_set_visible_child_name(window->main_stack, "library");
	window_update_library_page(window);
	gtk_widget_hide(window->back_button);
	gtk_widget_show(GTK_WIDGET(window->search_button));
	gtk_widget_show(GTK_WIDGET(window->list_view_button));
	gtk_widget_show(window->new_button);
	window_accept_drops(window, TRUE);
}

static void window_back_clicked(HangarWindow *window)
{
	hangar_window_show_library(window);
}

static void window_vm_activated(HangarWindow *window, HangarVm *vm)
{
	hangar_window_show_vm(window, vm);
}

static void window_view_toggled(HangarWindow *window)
{
	gboolean list = gtk_toggle_button_get_active(window->list_view_button);
	GSettings *settings = hangar_application_get_settings(
		HANGAR_APPLICATION(gtk_window_get_application(GTK_WINDOW(window))));

	hangar_library_page_set_view(window->library_page, list ? "list" : "grid");
	if (settings)
		g_settings_set_string(settings, "library-view", list ? "list" : "grid");
}

/* A VM in the list reported a failure: show it here, where the user acted,
 * unless its own page is showing it. */
static void window_vm_error(HangarVm *vm, const char *summary, const char *detail,
			    HangarWindow *window)
{
	if (window->shown_vm == vm)
		return; /* the VM page has its own error bar */
	hangar_window_show_error(window, summary, detail);
}

static void window_watch_vms(HangarWindow *window, guint position, guint n_items)
{
	for (guint i = position; i < position + n_items; i++) {
		g_autoptr(HangarVm) vm = g_list_model_get_item(window->vms, i);

		g_signal_handlers_disconnect_by_func(vm, window_vm_error, window);
		g_signal_connect_object(vm, "error", G_CALLBACK(window_vm_error), window, 0);
	}
}

static void window_vms_changed(GListModel *vms, guint position, guint removed, guint added,
			       HangarWindow *window)
{
	window_watch_vms(window, position, added);
	/* The shown VM was deleted (here or by hangarctl): back to the list. */
	if (g_strcmp0(gtk_stack_get_visible_child_name(window->main_stack), "vm") == 0 &&
	    window->shown_vm == NULL)
		hangar_window_show_library(window);
	window_update_library_page(window);
}

static void window_save_size(HangarWindow *window)
{
	GtkApplication *app = gtk_window_get_application(GTK_WINDOW(window));
	GSettings *settings = app ? hangar_application_get_settings(HANGAR_APPLICATION(app)) : NULL;
	int width, height;

	if (!settings)
		return;
	gtk_window_get_size(GTK_WINDOW(window), &width, &height);
	g_settings_set_int(settings, "window-width", width);
	g_settings_set_int(settings, "window-height", height);
	g_settings_set_boolean(settings, "window-maximized",
			       gtk_window_is_maximized(GTK_WINDOW(window)));
}

/* Closing the last window quits: the application asks about running VMs
 * first, and quits (or not) when the user has answered. */
static gboolean window_delete_event(GtkWidget *widget, GdkEventAny *event)
{
	HangarWindow *window = HANGAR_WINDOW(widget);
	GtkApplication *app = gtk_window_get_application(GTK_WINDOW(window));
	GList *windows = app ? gtk_application_get_windows(app) : NULL;

	window_save_size(window);
	if (windows && !windows->next &&
	    hangar_application_quit_needs_question(HANGAR_APPLICATION(app))) {
		hangar_application_quit(HANGAR_APPLICATION(app), GTK_WINDOW(window));
		return GDK_EVENT_STOP;
	}
	return GDK_EVENT_PROPAGATE;
}

/* Focus coming back: the library may have changed on disk in ways the
 * folder monitor does not see (a vm.json edited in place). */
static gboolean window_focus_in(GtkWidget *widget, GdkEventFocus *event)
{
	GtkApplication *app = gtk_window_get_application(GTK_WINDOW(widget));

	if (app)
		hangar_application_reload(HANGAR_APPLICATION(app));
	return GTK_WIDGET_CLASS(hangar_window_parent_class)->focus_in_event(widget, event);
}

static void window_restore_settings(HangarWindow *window, GSettings *settings)
{
	g_autofree char *view = NULL;

	if (!settings)
		return;
	gtk_window_set_default_size(GTK_WINDOW(window), g_settings_get_int(settings, "window-width"),
				    g_settings_get_int(settings, "window-height"));
	if (g_settings_get_boolean(settings, "window-maximized"))
		gtk_window_maximize(GTK_WINDOW(window));
	view = g_settings_get_string(settings, "library-view");
	gtk_toggle_button_set_active(window->list_view_button, g_str_equal(view, "list"));
}

/* HANGAR_STARTUP_REPORT=FILE (tests/bench/app): once the first frame is
 * drawn, FILE gets "<g_get_monotonic_time() in us> <VMs in the library>". */
static gboolean window_report_first_frame(GtkWidget *widget, cairo_t *cr, HangarWindow *window)
{
	g_autofree char *report = g_strdup_printf("%" G_GINT64_FORMAT " %u\n", g_get_monotonic_time(),
						  g_list_model_get_n_items(window->vms));

	g_file_set_contents(g_getenv("HANGAR_STARTUP_REPORT"), report, -1, NULL);
	g_signal_handlers_disconnect_by_func(widget, window_report_first_frame, window);
	return GDK_EVENT_PROPAGATE;
}

HangarWindow *hangar_window_new(HangarApplication *app)
{
	HangarWindow *window = g_object_new(HANGAR_TYPE_WINDOW, "application", app, NULL);

	window->vms = g_object_ref(hangar_application_get_vms(app));
	/* The view first, so that only its widgets are made for the VMs. */
	window_restore_settings(window, hangar_application_get_settings(app));
	hangar_library_page_set_model(window->library_page, window->vms);
	g_signal_connect_object(window->vms, "items-changed", G_CALLBACK(window_vms_changed),
				window, 0);
	window_watch_vms(window, 0, g_list_model_get_n_items(window->vms));
	hangar_window_show_library(window);
	if (g_getenv("HANGAR_STARTUP_REPORT"))
		g_signal_connect_after(window, "draw", G_CALLBACK(window_report_first_frame), window);
	return window;
}

static void hangar_window_dispose(GObject *object)
{
	HangarWindow *window = HANGAR_WINDOW(object);

	window_set_shown_vm(window, NULL);
	g_clear_object(&window->vms);
	G_OBJECT_CLASS(hangar_window_parent_class)->dispose(object);
}

static void hangar_window_class_init(HangarWindowClass *klass)
{
	GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

	G_OBJECT_CLASS(klass)->dispose = hangar_window_dispose;
	widget_class->delete_event = window_delete_event;
	widget_class->focus_in_event = window_focus_in;
	widget_class->drag_data_received = window_drag_data_received;

	g_type_ensure(HANGAR_TYPE_LIBRARY_PAGE);
	g_type_ensure(HANGAR_TYPE_VM_PAGE);
	gtk_widget_class_set_template_from_resource(widget_class,
						    "/org/hangar/Hangar/ui/window/hangar-window.ui");
	gtk_widget_class_bind_template_child(widget_class, HangarWindow, header_bar);
	gtk_widget_class_bind_template_child(widget_class, HangarWindow, back_button);
	gtk_widget_class_bind_template_child(widget_class, HangarWindow, new_button);
	gtk_widget_class_bind_template_child(widget_class, HangarWindow, search_button);
	gtk_widget_class_bind_template_child(widget_class, HangarWindow, list_view_button);
	gtk_widget_class_bind_template_child(widget_class, HangarWindow, error_bar);
	gtk_widget_class_bind_template_child(widget_class, HangarWindow, error_summary);
	gtk_widget_class_bind_template_child(widget_class, HangarWindow, error_detail);
	gtk_widget_class_bind_template_child(widget_class, HangarWindow, main_stack);
	gtk_widget_class_bind_template_child(widget_class, HangarWindow, library_page);
	gtk_widget_class_bind_template_child(widget_class, HangarWindow, empty_page);
	gtk_widget_class_bind_template_child(widget_class, HangarWindow, vm_page);
	gtk_widget_class_bind_template_callback(widget_class, window_back_clicked);
	gtk_widget_class_bind_template_callback(widget_class, window_vm_activated);
	gtk_widget_class_bind_template_callback(widget_class, window_view_toggled);
	gtk_widget_class_bind_template_callback(widget_class, window_error_response);
	gtk_widget_class_bind_template_callback(widget_class, window_vm_imported);
	gtk_widget_class_bind_template_callback(widget_class, window_update_library_page);
}

static void hangar_window_init(HangarWindow *window)
{
	g_autoptr(GtkCssProvider) css = gtk_css_provider_new();

	gtk_widget_init_template(GTK_WIDGET(window));
	g_action_map_add_action_entries(G_ACTION_MAP(window), window_actions,
					G_N_ELEMENTS(window_actions), window);
	gtk_css_provider_load_from_resource(css, "/org/hangar/Hangar/ui/window/style.css");
	gtk_style_context_add_provider_for_screen(gdk_screen_get_default(), GTK_STYLE_PROVIDER(css),
						  GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
	g_object_bind_property(window->search_button, "active", window->library_page,
			       "search-mode", G_BINDING_BIDIRECTIONAL);
}
