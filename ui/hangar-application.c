/* HangarApplication (hangar-application.h).
 *
 * Actions, so that menus, the desktop (org.gtk.Actions over D-Bus, e.g.
 * `gapplication action org.hangar.Hangar start-vm "'my-vm'"`) and the UI
 * tests drive the same code:
 *   app.new-vm, app.about, app.quit
 *   app.open-vm(s)      show that VM in the window
 *   app.import(s)       a file by its path, as `hangar FILE` opens it:
 *                       an ISO in the create wizard, a disk image imported
 *   app.start-vm(s), app.pause-vm(s), app.resume-vm(s), app.shut-down-vm(s),
 *   app.force-off-vm(s), app.reset-vm(s)            by vm-id */
#include "ui/hangar-application.h"

#include <glib/gi18n.h>

#include "ui/window/hangar-window.h"
#include "ui/wizard/hangar-wizard.h"

struct _HangarApplication {
	GtkApplication parent_instance;

	HgVmLibrary *library;
	GListStore *vms; /* of HangarVm, sorted by name */
	GFileMonitor *library_monitor;
	guint reload_idle;
	GSettings *settings; /* NULL when the schema is not installed */
	char *library_error; /* why the library could not be opened */
};

G_DEFINE_TYPE(HangarApplication, hangar_application, GTK_TYPE_APPLICATION)

/* ---- the VM list ---- */

static int compare_vms(gconstpointer a, gconstpointer b, gpointer user_data)
{
	g_autofree char *name_a = g_utf8_casefold(hangar_vm_get_name((HangarVm *)a), -1);
	g_autofree char *name_b = g_utf8_casefold(hangar_vm_get_name((HangarVm *)b), -1);

	return g_utf8_collate(name_a, name_b);
}

HangarVm *hangar_application_find_vm(HangarApplication *app, const char *vm_id)
{
	guint n = g_list_model_get_n_items(G_LIST_MODEL(app->vms));

	for (guint i = 0; i < n; i++) {
		g_autoptr(HangarVm) vm = g_list_model_get_item(G_LIST_MODEL(app->vms), i);

		if (g_strcmp0(hangar_vm_get_id(vm), vm_id) == 0)
			return vm; /* the store keeps its reference */
	}
	return NULL;
}

/* Brings the list in step with the folders: new VMs appear (and reattach to
 * an engine already running), changed ones update, removed ones go. */
void hangar_application_reload(HangarApplication *app)
{
	g_autoptr(GPtrArray) entries = NULL;
	g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
	gboolean renamed = FALSE;

	if (!app->library)
		return;
	entries = hg_vm_library_list(app->library);
	for (guint i = 0; i < entries->len; i++) {
		HgVmEntry *entry = entries->pdata[i];
		HangarVm *vm = hangar_application_find_vm(app, entry->id);

		g_hash_table_add(seen, entry->id);
		if (vm) {
			g_autofree char *old_name = g_strdup(hangar_vm_get_name(vm));

			hangar_vm_update_entry(vm, entry);
			renamed |= g_strcmp0(old_name, hangar_vm_get_name(vm)) != 0;
		} else {
			g_autoptr(HangarVm) added = hangar_vm_new(app->library, entry);

			if (app->settings)
				hangar_vm_set_thumbnail_interval(
					added, g_settings_get_uint(app->settings, "thumbnail-interval"));
			g_list_store_insert_sorted(app->vms, added, compare_vms, NULL);
			hangar_vm_reattach(added);
		}
	}
	for (guint i = g_list_model_get_n_items(G_LIST_MODEL(app->vms)); i-- > 0;) {
		g_autoptr(HangarVm) vm = g_list_model_get_item(G_LIST_MODEL(app->vms), i);

		if (!g_hash_table_contains(seen, hangar_vm_get_id(vm)))
			g_list_store_remove(app->vms, i);
	}
	if (renamed)
		g_list_store_sort(app->vms, compare_vms, NULL);
}

static gboolean reload_idle(gpointer user_data)
{
	HangarApplication *app = user_data;

	app->reload_idle = 0;
	hangar_application_reload(app);
	return G_SOURCE_REMOVE;
}

/* vms/ changed (a VM created, renamed or deleted by anyone): reload once the
 * burst of changes settles. */
static void library_changed(GFileMonitor *monitor, GFile *file, GFile *other,
			    GFileMonitorEvent event, gpointer user_data)
{
	HangarApplication *app = user_data;

	if (app->reload_idle)
		g_source_remove(app->reload_idle);
	app->reload_idle = g_timeout_add(200, reload_idle, app);
}

static void application_open_library(HangarApplication *app)
{
	g_autoptr(GError) error = NULL;
	const char *root = g_getenv("HANGAR_LIBRARY");
	g_autofree char *vms_dir = NULL;
	g_autoptr(GFile) vms = NULL;

	app->library = hg_vm_library_open(root && *root ? root : NULL, &error);
	if (!app->library) {
		app->library_error = g_strdup(error->message);
		g_warning("%s", error->message);
		return;
	}
	hangar_application_reload(app);
	vms_dir = g_build_filename(hg_vm_library_root(app->library), "vms", NULL);
	vms = g_file_new_for_path(vms_dir);
	/* A folder's vm.json changing is one level down: watch both levels
	 * cheaply by also reloading on any change of the vms folder, which a
	 * rename of vm.json's temporary file into place does not touch; the
	 * window reloads when it is focused, too. */
	app->library_monitor = g_file_monitor_directory(vms, G_FILE_MONITOR_WATCH_MOVES, NULL, NULL);
	if (app->library_monitor)
		g_signal_connect(app->library_monitor, "changed", G_CALLBACK(library_changed), app);
}

/* ---- actions ---- */

static HangarVm *action_vm(HangarApplication *app, GVariant *parameter)
{
	const char *vm_id = g_variant_get_string(parameter, NULL);
	HangarVm *vm = hangar_application_find_vm(app, vm_id);

	if (!vm)
		g_warning("no virtual machine with the id %s", vm_id);
	return vm;
}

static HangarWindow *application_window(HangarApplication *app)
{
	GtkWindow *window = gtk_application_get_active_window(GTK_APPLICATION(app));

	if (!window)
		window = GTK_WINDOW(hangar_window_new(app));
	return HANGAR_WINDOW(window);
}

#define VM_ACTION(action_name, function)                                                      \
	static void action_name(GSimpleAction *action, GVariant *parameter, gpointer user_data) \
	{                                                                                       \
		HangarVm *vm = action_vm(user_data, parameter);                                  \
		if (vm)                                                                          \
			function(vm);                                                            \
	}
VM_ACTION(action_start_vm, hangar_vm_start)
VM_ACTION(action_pause_vm, hangar_vm_pause)
VM_ACTION(action_resume_vm, hangar_vm_resume)
VM_ACTION(action_shut_down_vm, hangar_vm_shut_down)
VM_ACTION(action_force_off_vm, hangar_vm_force_off)
VM_ACTION(action_reset_vm, hangar_vm_reset)

static void action_open_vm(GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
	HangarApplication *app = user_data;
	HangarVm *vm = action_vm(app, parameter);
	HangarWindow *window;

	if (!vm)
		return;
	window = application_window(app);
	hangar_window_show_vm(window, vm);
	gtk_window_present(GTK_WINDOW(window));
}

static void wizard_created(HangarWizard *wizard, const char *vm_id, gboolean start,
			   gpointer user_data)
{
	HangarApplication *app = user_data;
	HangarVm *vm;

	hangar_application_reload(app);
	vm = hangar_application_find_vm(app, vm_id);
	if (!vm)
		return;
	hangar_window_show_vm(application_window(app), vm);
	if (start)
		hangar_vm_start(vm);
}

static void application_new_vm(HangarApplication *app, GFile *iso)
{
	HangarWindow *window = application_window(app);
	HangarWizard *wizard;

	if (!app->library) {
		hangar_window_show_error(window, _("The VM library cannot be opened"),
					 app->library_error);
		return;
	}
	wizard = hangar_wizard_new(GTK_WINDOW(window), app->library, iso);
	g_signal_connect_object(wizard, "created", G_CALLBACK(wizard_created), app, 0);
	gtk_window_present(GTK_WINDOW(wizard));
}

static void action_new_vm(GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
	application_new_vm(user_data, NULL);
}

static void application_open_file(HangarApplication *app, GFile *file);

static void action_import(GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
	g_autoptr(GFile) file = g_file_new_for_commandline_arg(g_variant_get_string(parameter, NULL));

	application_open_file(user_data, file);
}

static void action_about(GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
	HangarApplication *app = user_data;
	const char *authors[] = {"The Hangar developers", NULL};

	gtk_show_about_dialog(GTK_WINDOW(application_window(app)),
			      "program-name", "Hangar",
			      "logo-icon-name", "org.hangar.Hangar",
			      "version", HANGAR_VERSION,
			      "comments", _("Run many operating systems side by side"),
			      "license-type", GTK_LICENSE_GPL_2_0,
			      "authors", authors,
			      NULL);
}

/* ---- quitting ---- */

static guint application_count_active(HangarApplication *app)
{
	guint n = g_list_model_get_n_items(G_LIST_MODEL(app->vms)), active = 0;

	for (guint i = 0; i < n; i++) {
		g_autoptr(HangarVm) vm = g_list_model_get_item(G_LIST_MODEL(app->vms), i);

		active += hangar_vm_is_active(vm);
	}
	return active;
}

static void application_force_off_all(HangarApplication *app)
{
	guint n = g_list_model_get_n_items(G_LIST_MODEL(app->vms));

	for (guint i = 0; i < n; i++) {
		g_autoptr(HangarVm) vm = g_list_model_get_item(G_LIST_MODEL(app->vms), i);

		if (hangar_vm_is_active(vm))
			hangar_vm_force_off(vm);
	}
}

enum { QUIT_CANCEL, QUIT_KEEP_RUNNING, QUIT_TURN_OFF };

/* What quitting does to running VMs, from the "keep-running-on-quit"
 * setting: "ask", "keep" or "stop". */
static char *application_quit_policy(HangarApplication *app)
{
	return app->settings ? g_settings_get_string(app->settings, "keep-running-on-quit")
			     : g_strdup("ask");
}

gboolean hangar_application_quit_needs_question(HangarApplication *app)
{
	g_autofree char *policy = application_quit_policy(app);

	return application_count_active(app) > 0 && g_str_equal(policy, "ask");
}

static void quit_question_response(GtkDialog *dialog, int response, gpointer user_data)
{
	HangarApplication *app = user_data;

	gtk_widget_destroy(GTK_WIDGET(dialog));
	if (response == QUIT_TURN_OFF)
		application_force_off_all(app);
	if (response == QUIT_KEEP_RUNNING || response == QUIT_TURN_OFF)
		g_application_quit(G_APPLICATION(app));
}

/* VMs are separate processes: they may keep running after the app closes
 * (the next start reattaches), or be turned off with it.  Asks when the
 * setting says so, then quits unless the user cancels. */
void hangar_application_quit(HangarApplication *app, GtkWindow *parent)
{
	guint active = application_count_active(app);
	g_autofree char *policy = application_quit_policy(app);
	GtkWidget *dialog;

	if (active == 0 || !g_str_equal(policy, "ask")) {
		if (active && g_str_equal(policy, "stop"))
			application_force_off_all(app);
		g_application_quit(G_APPLICATION(app));
		return;
	}
	dialog = gtk_message_dialog_new(parent, GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
					GTK_MESSAGE_QUESTION, GTK_BUTTONS_NONE,
					ngettext("A virtual machine is still running",
						 "%u virtual machines are still running", active),
					active);
	gtk_message_dialog_format_secondary_text(
		GTK_MESSAGE_DIALOG(dialog), "%s",
		_("Each virtual machine runs in its own process and can keep running after "
		  "Hangar closes; Hangar reconnects to it when it starts again. Turning it off "
		  "is like pulling the plug: unsaved work in the guest is lost."));
	gtk_dialog_add_buttons(GTK_DIALOG(dialog), _("_Cancel"), QUIT_CANCEL, _("_Turn Off"),
			       QUIT_TURN_OFF, _("_Keep Running"), QUIT_KEEP_RUNNING, NULL);
	gtk_dialog_set_default_response(GTK_DIALOG(dialog), QUIT_KEEP_RUNNING);
	g_signal_connect(dialog, "response", G_CALLBACK(quit_question_response), app);
	gtk_widget_show(dialog);
}

static void action_quit(GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
	HangarApplication *app = user_data;

	hangar_application_quit(app, gtk_application_get_active_window(GTK_APPLICATION(app)));
}

static const GActionEntry app_actions[] = {
	{"new-vm", action_new_vm},
	{"about", action_about},
	{"quit", action_quit},
	{"open-vm", action_open_vm, "s"},
	{"import", action_import, "s"},
	{"start-vm", action_start_vm, "s"},
	{"pause-vm", action_pause_vm, "s"},
	{"resume-vm", action_resume_vm, "s"},
	{"shut-down-vm", action_shut_down_vm, "s"},
	{"force-off-vm", action_force_off_vm, "s"},
	{"reset-vm", action_reset_vm, "s"},
};

/* ---- GApplication ---- */

static GSettings *application_settings_new(void)
{
	GSettingsSchemaSource *source = g_settings_schema_source_get_default();
	g_autoptr(GSettingsSchema) schema =
		source ? g_settings_schema_source_lookup(source, "org.hangar.Hangar", TRUE) : NULL;

	/* Uninstalled without GSETTINGS_SCHEMA_DIR: run with the defaults
	 * rather than abort as g_settings_new would. */
	if (!schema) {
		g_message("the GSettings schema org.hangar.Hangar is not installed: "
			  "settings are not remembered");
		return NULL;
	}
	return g_settings_new_full(schema, NULL, NULL);
}

GSettings *hangar_application_get_settings(HangarApplication *app)
{
	return app->settings;
}

static void thumbnail_interval_changed(GSettings *settings, const char *key, gpointer user_data)
{
	HangarApplication *app = user_data;
	guint seconds = g_settings_get_uint(settings, key);
	guint n = g_list_model_get_n_items(G_LIST_MODEL(app->vms));

	for (guint i = 0; i < n; i++) {
		g_autoptr(HangarVm) vm = g_list_model_get_item(G_LIST_MODEL(app->vms), i);

		hangar_vm_set_thumbnail_interval(vm, seconds);
	}
}

static void hangar_application_startup(GApplication *application)
{
	HangarApplication *app = HANGAR_APPLICATION(application);
	const char *quit_accels[] = {"<Control>q", NULL};
	const char *new_accels[] = {"<Control>n", NULL};
	const char *import_accels[] = {"<Control>i", NULL};

	G_APPLICATION_CLASS(hangar_application_parent_class)->startup(application);
	g_action_map_add_action_entries(G_ACTION_MAP(app), app_actions, G_N_ELEMENTS(app_actions),
					app);
	gtk_application_set_accels_for_action(GTK_APPLICATION(app), "app.quit", quit_accels);
	gtk_application_set_accels_for_action(GTK_APPLICATION(app), "app.new-vm", new_accels);
	gtk_application_set_accels_for_action(GTK_APPLICATION(app), "win.import", import_accels);
	gtk_window_set_default_icon_name("org.hangar.Hangar");
	app->settings = application_settings_new();
	if (app->settings)
		g_signal_connect(app->settings, "changed::thumbnail-interval",
				 G_CALLBACK(thumbnail_interval_changed), app);
	application_open_library(app);
}

static void hangar_application_activate(GApplication *application)
{
	gtk_window_present(GTK_WINDOW(application_window(HANGAR_APPLICATION(application))));
}

/* An ISO 9660 image has "CD001" at byte 32769 (the primary volume
 * descriptor); by content, not by file name. */
static gboolean file_is_iso9660(GFile *file)
{
	g_autoptr(GFileInputStream) stream = g_file_read(file, NULL, NULL);
	char magic[5];
	gsize got = 0;

	if (!stream || !g_seekable_seek(G_SEEKABLE(stream), 32769, G_SEEK_SET, NULL, NULL))
		return FALSE;
	if (!g_input_stream_read_all(G_INPUT_STREAM(stream), magic, sizeof(magic), &got, NULL,
				     NULL))
		return FALSE;
	return got == sizeof(magic) && memcmp(magic, "CD001", 5) == 0;
}

/* An ISO starts the create wizard with it; anything else is imported (the
 * import says what it is, and why not when it cannot be). */
static void application_open_file(HangarApplication *app, GFile *file)
{
	HangarWindow *window = application_window(app);

	gtk_window_present(GTK_WINDOW(window));
	if (file_is_iso9660(file)) {
		application_new_vm(app, file);
	} else if (!app->library) {
		hangar_window_show_error(window, _("The VM library cannot be opened"),
					 app->library_error);
	} else if (!g_file_is_native(file)) {
		g_autofree char *uri = g_file_get_uri(file);

		hangar_window_show_error(window,
					 _("Only files on this computer can be imported: download "
					   "it first"),
					 uri);
	} else {
		hangar_window_import(window, file);
	}
}

/* `hangar FILE`, "Open With", and files dropped on the window or chosen
 * with Import…. */
static void hangar_application_open(GApplication *application, GFile **files, int n_files,
				    const char *hint)
{
	HangarApplication *app = HANGAR_APPLICATION(application);

	gtk_window_present(GTK_WINDOW(application_window(app)));
	for (int i = 0; i < n_files; i++)
		application_open_file(app, files[i]);
}

static void hangar_application_shutdown(GApplication *application)
{
	HangarApplication *app = HANGAR_APPLICATION(application);

	g_clear_handle_id(&app->reload_idle, g_source_remove);
	g_clear_object(&app->library_monitor);
	/* The engines keep running (or were turned off by confirm_quit); drop
	 * our connections before the library goes. */
	g_list_store_remove_all(app->vms);
	G_APPLICATION_CLASS(hangar_application_parent_class)->shutdown(application);
}

static void hangar_application_finalize(GObject *object)
{
	HangarApplication *app = HANGAR_APPLICATION(object);

	g_clear_object(&app->vms);
	g_clear_object(&app->settings);
	g_clear_pointer(&app->library, hg_vm_library_free);
	g_free(app->library_error);
	G_OBJECT_CLASS(hangar_application_parent_class)->finalize(object);
}

static void hangar_application_class_init(HangarApplicationClass *klass)
{
	GApplicationClass *app_class = G_APPLICATION_CLASS(klass);

	G_OBJECT_CLASS(klass)->finalize = hangar_application_finalize;
	app_class->startup = hangar_application_startup;
	app_class->activate = hangar_application_activate;
	app_class->open = hangar_application_open;
	app_class->shutdown = hangar_application_shutdown;
}

static void hangar_application_init(HangarApplication *app)
{
	app->vms = g_list_store_new(HANGAR_TYPE_VM);
}

HangarApplication *hangar_application_new(void)
{
	return g_object_new(HANGAR_TYPE_APPLICATION, "application-id", "org.hangar.Hangar",
			    "flags", G_APPLICATION_HANDLES_OPEN, NULL);
}

HgVmLibrary *hangar_application_get_library(HangarApplication *app)
{
	return app->library;
}

GListModel *hangar_application_get_vms(HangarApplication *app)
{
	return G_LIST_MODEL(app->vms);
}
