/* The "vm" action group of a tile or row (hangar-vm-actions.h). */
#include "ui/window/hangar-vm-actions.h"

#include <glib/gi18n.h>

#include "ui/hangar-application.h"
#include "ui/window/hangar-window.h"

typedef struct {
	GtkWidget *owner; /* weak: the group dies with it */
	HangarVm *vm;
	GSimpleActionGroup *group;
} VmActions;

static void vm_actions_free(VmActions *actions)
{
	g_signal_handlers_disconnect_by_data(actions->vm, actions);
	g_object_unref(actions->vm);
	g_free(actions);
}

static GtkWindow *vm_actions_window(VmActions *actions)
{
	GtkWidget *toplevel = gtk_widget_get_toplevel(actions->owner);

	return GTK_IS_WINDOW(toplevel) ? GTK_WINDOW(toplevel) : NULL;
}

static HangarApplication *vm_actions_app(void)
{
	return HANGAR_APPLICATION(g_application_get_default());
}

/* Dialogs run without a nested main loop (gtk_dialog_run would block the
 * accessibility bus and anything else waiting on the main loop): each gets
 * a callback with the VM and the response.  The tile that opened it may be
 * gone by then (the library list is rebuilt on changes), so nothing here
 * refers to the tile. */
typedef void (*VmDialogDone)(HangarVm *vm, GtkDialog *dialog, int response);

typedef struct {
	HangarVm *vm;
	VmDialogDone done;
} VmDialog;

static void vm_dialog_response(GtkDialog *dialog, int response, gpointer user_data)
{
	VmDialog *call = user_data;

	call->done(call->vm, dialog, response);
	gtk_widget_destroy(GTK_WIDGET(dialog));
	g_object_unref(call->vm);
	g_free(call);
}

static void vm_dialog_show(GtkWidget *dialog, HangarVm *vm, VmDialogDone done)
{
	VmDialog *call = g_new0(VmDialog, 1);

	call->vm = g_object_ref(vm);
	call->done = done;
	g_signal_connect(dialog, "response", G_CALLBACK(vm_dialog_response), call);
	gtk_widget_show_all(dialog);
}

static void vm_dialog_show_error(GtkDialog *dialog, const char *summary, const GError *error)
{
	GtkWindow *window = gtk_window_get_transient_for(GTK_WINDOW(dialog));

	if (HANGAR_IS_WINDOW(window))
		hangar_window_show_error(HANGAR_WINDOW(window), summary, error->message);
}

/* ---- rename and duplicate: a name, asked in a small dialog ---- */

static GtkWidget *name_dialog_new(GtkWindow *parent, const char *title, const char *button,
				  const char *initial)
{
	GtkWidget *dialog = gtk_dialog_new_with_buttons(
		title, parent, GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT |
				       GTK_DIALOG_USE_HEADER_BAR,
		_("_Cancel"), GTK_RESPONSE_CANCEL, button, GTK_RESPONSE_ACCEPT, NULL);
	GtkWidget *entry = gtk_entry_new();
	GtkWidget *content = gtk_dialog_get_content_area(GTK_DIALOG(dialog));

	gtk_entry_set_text(GTK_ENTRY(entry), initial);
	gtk_entry_set_activates_default(GTK_ENTRY(entry), TRUE);
	gtk_container_set_border_width(GTK_CONTAINER(content), 18);
	gtk_container_add(GTK_CONTAINER(content), entry);
	gtk_dialog_set_default_response(GTK_DIALOG(dialog), GTK_RESPONSE_ACCEPT);
	g_object_set_data(G_OBJECT(dialog), "hangar-name-entry", entry);
	return dialog;
}

/* The name typed, stripped; NULL when cancelled or empty. */
static char *name_dialog_get_name(GtkDialog *dialog, int response)
{
	GtkEntry *entry = g_object_get_data(G_OBJECT(dialog), "hangar-name-entry");
	char *name;

	if (response != GTK_RESPONSE_ACCEPT)
		return NULL;
	name = g_strstrip(g_strdup(gtk_entry_get_text(entry)));
	if (!*name)
		g_clear_pointer(&name, g_free);
	return name;
}

static void rename_done(HangarVm *vm, GtkDialog *dialog, int response)
{
	HangarApplication *app = vm_actions_app();
	g_autofree char *name = name_dialog_get_name(dialog, response);
	g_autoptr(HgVmEntry) entry = NULL;
	g_autoptr(GError) error = NULL;

	if (!name)
		return;
	entry = hg_vm_entry_copy(hangar_vm_get_entry(vm));
	if (!hg_vm_library_rename(hangar_application_get_library(app), entry, name, &error))
		vm_dialog_show_error(dialog, _("The virtual machine could not be renamed"), error);
	hangar_application_reload(app);
}

static void action_rename(GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
	VmActions *actions = user_data;

	vm_dialog_show(name_dialog_new(vm_actions_window(actions), _("Rename Virtual Machine"),
				       _("_Rename"), hangar_vm_get_name(actions->vm)),
		       actions->vm, rename_done);
}

/* Copying disks takes a while: in a thread, with its own library handle
 * (HgVmLibrary is one per thread). */
typedef struct {
	char *root;
	HgVmEntry *entry;
	char *new_name;
} DuplicateJob;

static void duplicate_job_free(DuplicateJob *job)
{
	g_free(job->root);
	hg_vm_entry_free(job->entry);
	g_free(job->new_name);
	g_free(job);
}

static void duplicate_thread(GTask *task, gpointer source, gpointer task_data,
			     GCancellable *cancellable)
{
	DuplicateJob *job = task_data;
	GError *error = NULL;
	g_autoptr(HgVmLibrary) library = hg_vm_library_open(job->root, &error);
	g_autoptr(HgVmEntry) copy = NULL;

	if (library)
		copy = hg_vm_library_duplicate(library, job->entry, job->new_name, cancellable,
					       &error);
	if (copy)
		g_task_return_boolean(task, TRUE);
	else
		g_task_return_error(task, error);
}

static void duplicate_finished(GObject *source, GAsyncResult *result, gpointer user_data)
{
	HangarApplication *app = vm_actions_app();
	g_autoptr(GError) error = NULL;
	GtkWindow *window = gtk_application_get_active_window(GTK_APPLICATION(app));

	if (!g_task_propagate_boolean(G_TASK(result), &error) && HANGAR_IS_WINDOW(window))
		hangar_window_show_error(HANGAR_WINDOW(window),
					 _("The virtual machine could not be duplicated"),
					 error->message);
	hangar_application_reload(app);
}

static void duplicate_done(HangarVm *vm, GtkDialog *dialog, int response)
{
	HangarApplication *app = vm_actions_app();
	g_autofree char *name = name_dialog_get_name(dialog, response);
	DuplicateJob *job;
	g_autoptr(GTask) task = NULL;

	if (!name)
		return;
	job = g_new0(DuplicateJob, 1);
	job->root = g_strdup(hg_vm_library_root(hangar_application_get_library(app)));
	job->entry = hg_vm_entry_copy(hangar_vm_get_entry(vm));
	job->new_name = g_steal_pointer(&name);
	task = g_task_new(NULL, NULL, duplicate_finished, NULL);
	g_task_set_task_data(task, job, (GDestroyNotify)duplicate_job_free);
	g_task_run_in_thread(task, duplicate_thread);
}

static void action_duplicate(GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
	VmActions *actions = user_data;
	g_autofree char *suggestion =
		g_strdup_printf(_("%s (copy)"), hangar_vm_get_name(actions->vm));

	vm_dialog_show(name_dialog_new(vm_actions_window(actions), _("Duplicate Virtual Machine"),
				       _("_Duplicate"), suggestion),
		       actions->vm, duplicate_done);
}

/* ---- delete: asks, and offers the trash or deleting the files ---- */

enum { DELETE_CANCEL, DELETE_TO_TRASH, DELETE_FILES };

static void delete_done(HangarVm *vm, GtkDialog *dialog, int response)
{
	HangarApplication *app = vm_actions_app();
	g_autoptr(GError) error = NULL;

	if (response != DELETE_TO_TRASH && response != DELETE_FILES)
		return;
	if (!hg_vm_library_delete(hangar_application_get_library(app), hangar_vm_get_entry(vm),
				  response == DELETE_FILES ? HG_VM_DELETE_FILES : HG_VM_DELETE_TO_TRASH,
				  &error))
		vm_dialog_show_error(dialog, _("The virtual machine could not be deleted"), error);
	hangar_application_reload(app);
}

static void action_delete(GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
	VmActions *actions = user_data;
	GtkWidget *dialog = gtk_message_dialog_new(
		vm_actions_window(actions), GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
		GTK_MESSAGE_WARNING, GTK_BUTTONS_NONE, _("Delete “%s”?"),
		hangar_vm_get_name(actions->vm));

	gtk_message_dialog_format_secondary_text(
		GTK_MESSAGE_DIALOG(dialog), "%s",
		_("Its folder — configuration, disks it owns and snapshots — can go to the trash, "
		  "where you can restore it, or be deleted for good. Disk images used in place "
		  "from elsewhere are not touched."));
	gtk_dialog_add_buttons(GTK_DIALOG(dialog), _("_Cancel"), DELETE_CANCEL,
			       _("Delete _Files"), DELETE_FILES, _("Move to _Trash"),
			       DELETE_TO_TRASH, NULL);
	gtk_dialog_set_default_response(GTK_DIALOG(dialog), DELETE_CANCEL);
	gtk_style_context_add_class(
		gtk_widget_get_style_context(
			gtk_dialog_get_widget_for_response(GTK_DIALOG(dialog), DELETE_FILES)),
		"destructive-action");
	vm_dialog_show(dialog, actions->vm, delete_done);
}

/* ---- lifecycle ---- */

static GtkWidget *confirm_dialog_new(VmActions *actions, const char *question,
				     const char *explanation, const char *button)
{
	GtkWidget *dialog = gtk_message_dialog_new(
		vm_actions_window(actions), GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
		GTK_MESSAGE_QUESTION, GTK_BUTTONS_NONE, "%s", question);

	gtk_message_dialog_format_secondary_text(GTK_MESSAGE_DIALOG(dialog), "%s", explanation);
	gtk_dialog_add_buttons(GTK_DIALOG(dialog), _("_Cancel"), GTK_RESPONSE_CANCEL, button,
			       GTK_RESPONSE_ACCEPT, NULL);
	return dialog;
}

static void force_off_done(HangarVm *vm, GtkDialog *dialog, int response)
{
	if (response == GTK_RESPONSE_ACCEPT)
		hangar_vm_force_off(vm);
}

static void reset_done(HangarVm *vm, GtkDialog *dialog, int response)
{
	if (response == GTK_RESPONSE_ACCEPT)
		hangar_vm_reset(vm);
}

static void action_open(GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
	VmActions *actions = user_data;

	g_action_group_activate_action(G_ACTION_GROUP(vm_actions_app()), "open-vm",
				       g_variant_new_string(hangar_vm_get_id(actions->vm)));
}

static void action_start(GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
	hangar_vm_start(((VmActions *)user_data)->vm);
}

static void action_pause(GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
	hangar_vm_pause(((VmActions *)user_data)->vm);
}

static void action_resume(GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
	hangar_vm_resume(((VmActions *)user_data)->vm);
}

static void action_shut_down(GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
	hangar_vm_shut_down(((VmActions *)user_data)->vm);
}

static void action_force_off(GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
	VmActions *actions = user_data;

	vm_dialog_show(confirm_dialog_new(actions, _("Turn off the virtual machine?"),
					  _("This is like pulling the plug: unsaved work in the "
					    "guest is lost."),
					  _("_Turn Off")),
		       actions->vm, force_off_done);
}

static void action_reset(GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
	VmActions *actions = user_data;

	vm_dialog_show(confirm_dialog_new(actions, _("Reset the virtual machine?"),
					  _("This is like pressing the reset button: unsaved work "
					    "in the guest is lost."),
					  _("_Reset")),
		       actions->vm, reset_done);
}

static const GActionEntry vm_action_entries[] = {
	{"open", action_open},	      {"start", action_start},
	{"pause", action_pause},      {"resume", action_resume},
	{"shut-down", action_shut_down}, {"force-off", action_force_off},
	{"reset", action_reset},      {"rename", action_rename},
	{"duplicate", action_duplicate}, {"delete", action_delete},
};

static void vm_actions_set_enabled(VmActions *actions, const char *name, gboolean enabled)
{
	GAction *action = g_action_map_lookup_action(G_ACTION_MAP(actions->group), name);

	g_simple_action_set_enabled(G_SIMPLE_ACTION(action), enabled);
}

static void vm_actions_update(VmActions *actions)
{
	HangarVm *vm = actions->vm;
	HgVmState state = hangar_vm_get_state(vm);
	gboolean broken = hangar_vm_is_broken(vm), busy = hangar_vm_get_busy(vm);
	gboolean active = hangar_vm_is_active(vm);

	vm_actions_set_enabled(actions, "open", !broken);
	vm_actions_set_enabled(actions, "start", !broken && !busy && !active);
	vm_actions_set_enabled(actions, "pause", !busy && state == HG_VM_STATE_RUNNING);
	vm_actions_set_enabled(actions, "resume", !busy && state == HG_VM_STATE_PAUSED);
	vm_actions_set_enabled(actions, "shut-down", state == HG_VM_STATE_RUNNING);
	vm_actions_set_enabled(actions, "force-off", active);
	vm_actions_set_enabled(actions, "reset", !busy && active);
	vm_actions_set_enabled(actions, "rename", !broken);
	vm_actions_set_enabled(actions, "duplicate", !broken && !active && !busy);
	vm_actions_set_enabled(actions, "delete", !active && !busy);
}

void hangar_vm_actions_install(GtkWidget *owner, HangarVm *vm)
{
	VmActions *actions = g_new0(VmActions, 1);

	actions->owner = owner;
	actions->vm = g_object_ref(vm);
	actions->group = g_simple_action_group_new();
	g_action_map_add_action_entries(G_ACTION_MAP(actions->group), vm_action_entries,
					G_N_ELEMENTS(vm_action_entries), actions);
	g_signal_connect_swapped(vm, "notify::state", G_CALLBACK(vm_actions_update), actions);
	g_signal_connect_swapped(vm, "notify::busy", G_CALLBACK(vm_actions_update), actions);
	vm_actions_update(actions);
	gtk_widget_insert_action_group(owner, "vm", G_ACTION_GROUP(actions->group));
	g_object_set_data_full(G_OBJECT(actions->group), "hangar-vm-actions", actions,
			       (GDestroyNotify)vm_actions_free);
	g_object_unref(actions->group); /* the widget holds it */
}

GMenuModel *hangar_vm_actions_menu(void)
{
	GMenu *menu = g_menu_new();
	GMenu *run = g_menu_new(), *manage = g_menu_new();

	g_menu_append(run, _("_Open"), "vm.open");
	g_menu_append(run, _("_Start"), "vm.start");
	g_menu_append(run, _("_Pause"), "vm.pause");
	g_menu_append(run, _("Re_sume"), "vm.resume");
	g_menu_append(run, _("Shut _Down"), "vm.shut-down");
	g_menu_append(run, _("_Reset…"), "vm.reset");
	g_menu_append(run, _("_Turn Off…"), "vm.force-off");
	g_menu_append(manage, _("Re_name…"), "vm.rename");
	g_menu_append(manage, _("D_uplicate…"), "vm.duplicate");
	g_menu_append(manage, _("_Delete…"), "vm.delete");
	g_menu_append_section(menu, NULL, G_MENU_MODEL(run));
	g_menu_append_section(menu, NULL, G_MENU_MODEL(manage));
	g_object_unref(run);
	g_object_unref(manage);
	return G_MENU_MODEL(menu);
}

/* A popover menu is some twenty widgets: built at start-up for every tile
 * and row, they were a quarter of the time to show a library of 100 VMs and
 * much of its memory (issue 5, tests/bench/app). */
static void vm_actions_menu_toggled(GtkMenuButton *button)
{
	GtkPopover *popover = gtk_menu_button_get_popover(button);
	g_autoptr(GMenuModel) menu = NULL;

	if (!gtk_toggle_button_get_active(GTK_TOGGLE_BUTTON(button)) ||
	    g_object_get_data(G_OBJECT(popover), "hangar-menu-built"))
		return;
	menu = hangar_vm_actions_menu();
	gtk_popover_bind_model(popover, menu, NULL);
	g_object_set_data(G_OBJECT(popover), "hangar-menu-built", GINT_TO_POINTER(TRUE));
}

void hangar_vm_actions_attach_menu(GtkMenuButton *button)
{
	gtk_menu_button_set_popover(button, gtk_popover_new(GTK_WIDGET(button)));
	g_signal_connect(button, "toggled", G_CALLBACK(vm_actions_menu_toggled), NULL);
}

void hangar_vm_actions_show_state(GtkLabel *label, HangarVm *vm, gboolean with_os)
{
	GtkStyleContext *style = gtk_widget_get_style_context(GTK_WIDGET(label));
	const char *classes[] = {"vm-state-running", "vm-state-paused", "vm-state-stopped",
				 "vm-state-crashed", "vm-state-broken"};
	const char *os = hangar_vm_get_os_name(vm);
	g_autofree char *text = NULL;

	for (guint i = 0; i < G_N_ELEMENTS(classes); i++)
		gtk_style_context_remove_class(style, classes[i]);
	gtk_style_context_add_class(style, hangar_vm_get_state_css_class(vm));
	if (with_os && os)
		/* TRANSLATORS: a VM's system and state, e.g. "Debian 12 · Running" */
		text = g_strdup_printf(_("%s · %s"), os, hangar_vm_describe_state(vm));
	else
		text = g_strdup(hangar_vm_describe_state(vm));
	gtk_label_set_text(label, text);
	gtk_widget_set_tooltip_text(GTK_WIDGET(label), hangar_vm_get_problem(vm));
}

void hangar_vm_actions_show_thumbnail(GtkImage *image, HangarVm *vm, int width, int height)
{
	GdkPixbuf *thumbnail = hangar_vm_get_thumbnail(vm);
	g_autoptr(GdkPixbuf) scaled = NULL;
	double scale;

	if (!thumbnail) {
		gtk_image_set_from_icon_name(image, hangar_vm_is_broken(vm) ? "dialog-warning-symbolic"
									    : "computer-symbolic",
					     GTK_ICON_SIZE_DIALOG);
		return;
	}
	scale = MIN((double)width / gdk_pixbuf_get_width(thumbnail),
		    (double)height / gdk_pixbuf_get_height(thumbnail));
	scaled = gdk_pixbuf_scale_simple(thumbnail,
					 MAX(1, (int)(gdk_pixbuf_get_width(thumbnail) * scale)),
					 MAX(1, (int)(gdk_pixbuf_get_height(thumbnail) * scale)),
					 GDK_INTERP_BILINEAR);
	gtk_image_set_from_pixbuf(image, scaled);
}
