/* The VM page (hangar-vm-page.h).
 *
 * Everything on the page follows the HangarVm: vm_page_sync reads its state
 * and sets the stack, the actions' enabled states, the viewer and the serial
 * console from it, and runs on every change the VM notifies.  The toolbar,
 * menus and buttons drive the page's "vm." actions.
 *
 * The viewer connects while the VM runs or is paused.  When its connection
 * drops while the VM still runs, that is an error worth showing; when the
 * engine is going away, the VM's own state change follows within moments and
 * the drop is expected.  So a drop is reported only if the VM is still
 * active a second later. */
#include "ui/vm/hangar-vm-page.h"

#include <glib/gi18n.h>

#include "ui/vm/hangar-serial-view.h"
#include "ui/vm/hangar-snapshots-panel.h"
#include "ui/vm/hangar-viewer.h"
#include "ui/vm/hangar-vm-settings.h"

#define VIEWER_LOST_GRACE_MS 1000

struct _HangarVmPage {
	GtkBox parent_instance;

	HangarVm *vm;
	GSimpleActionGroup *actions;
	GtkWindow *window; /* the toplevel we follow for fullscreen; not a reference */
	GCancellable *screenshot_cancellable;

	gboolean was_active; /* the state vm_page_sync last saw */
	gboolean viewer_failed; /* the connection dropped during this run */
	guint viewer_lost_id; /* the grace period after a drop */
	char *viewer_lost_reason, *viewer_lost_detail;
	gboolean serial_opened; /* the console was connected during this run */

	/* template children */
	GtkWidget *stack;
	HangarViewer *viewer;
	HangarSerialView *serial_view;
	GtkWidget *paused_overlay;
	GtkWidget *info_bar, *info_summary_label, *info_detail_expander, *info_detail_label;
	GtkWidget *stopped_title_label, *stopped_icon, *problem_scrolled, *problem_label;
	GtkWidget *start_button, *busy_spinner, *connecting_spinner;
	GtkWidget *no_display_label;
	GtkWidget *pause_button, *power_menu_button, *keys_button;
	GtkWidget *snapshots_revealer;
	HangarSnapshotsPanel *snapshots_panel;
};

G_DEFINE_TYPE(HangarVmPage, hangar_vm_page, GTK_TYPE_BOX)

/* The "Send Key" menu's targets. */
static const struct {
	const char *name;
	guint keyvals[3];
	guint n_keyvals;
} key_combinations[] = {
	{"ctrl-alt-delete", {GDK_KEY_Control_L, GDK_KEY_Alt_L, GDK_KEY_Delete}, 3},
	{"ctrl-alt-backspace", {GDK_KEY_Control_L, GDK_KEY_Alt_L, GDK_KEY_BackSpace}, 3},
	{"ctrl-alt-f1", {GDK_KEY_Control_L, GDK_KEY_Alt_L, GDK_KEY_F1}, 3},
	{"ctrl-alt-f2", {GDK_KEY_Control_L, GDK_KEY_Alt_L, GDK_KEY_F2}, 3},
	{"ctrl-alt-f3", {GDK_KEY_Control_L, GDK_KEY_Alt_L, GDK_KEY_F3}, 3},
	{"ctrl-alt-f4", {GDK_KEY_Control_L, GDK_KEY_Alt_L, GDK_KEY_F4}, 3},
	{"ctrl-alt-f5", {GDK_KEY_Control_L, GDK_KEY_Alt_L, GDK_KEY_F5}, 3},
	{"ctrl-alt-f6", {GDK_KEY_Control_L, GDK_KEY_Alt_L, GDK_KEY_F6}, 3},
	{"ctrl-alt-f7", {GDK_KEY_Control_L, GDK_KEY_Alt_L, GDK_KEY_F7}, 3},
	{"print", {GDK_KEY_Print}, 1},
	/* A PC keyboard sends SysRq for Alt+Print Screen. */
	{"alt-sysrq", {GDK_KEY_Alt_L, GDK_KEY_Print}, 2},
	/* The viewers keep Ctrl+Alt for releasing the grab. */
	{"ctrl-alt", {GDK_KEY_Control_L, GDK_KEY_Alt_L}, 2},
};

static void vm_page_sync(HangarVmPage *self);

static GtkWindow *vm_page_get_window(HangarVmPage *self)
{
	GtkWidget *toplevel = gtk_widget_get_toplevel(GTK_WIDGET(self));

	return GTK_IS_WINDOW(toplevel) ? GTK_WINDOW(toplevel) : NULL;
}

static void vm_page_set_action_enabled(HangarVmPage *self, const char *name, gboolean enabled)
{
	GAction *action = g_action_map_lookup_action(G_ACTION_MAP(self->actions), name);

	g_simple_action_set_enabled(G_SIMPLE_ACTION(action), enabled);
}

static void vm_page_set_action_state(HangarVmPage *self, const char *name, gboolean state)
{
	GAction *action = g_action_map_lookup_action(G_ACTION_MAP(self->actions), name);

	g_simple_action_set_state(G_SIMPLE_ACTION(action), g_variant_new_boolean(state));
}

static gboolean vm_page_get_action_state(HangarVmPage *self, const char *name)
{
	g_autoptr(GVariant) state =
		g_action_group_get_action_state(G_ACTION_GROUP(self->actions), name);

	return state && g_variant_get_boolean(state);
}

/* ---- messages ---- */

static void vm_page_show_message(HangarVmPage *self, GtkMessageType type, const char *summary,
				 const char *detail)
{
	gboolean has_detail = detail && *detail;

	gtk_info_bar_set_message_type(GTK_INFO_BAR(self->info_bar), type);
	gtk_label_set_text(GTK_LABEL(self->info_summary_label), summary);
	gtk_label_set_text(GTK_LABEL(self->info_detail_label), has_detail ? detail : "");
	gtk_expander_set_expanded(GTK_EXPANDER(self->info_detail_expander), FALSE);
	gtk_widget_set_visible(self->info_detail_expander, has_detail);
	gtk_info_bar_set_revealed(GTK_INFO_BAR(self->info_bar), TRUE);
}

static void vm_page_hide_message(HangarVmPage *self)
{
	gtk_info_bar_set_revealed(GTK_INFO_BAR(self->info_bar), FALSE);
}

static void vm_page_on_info_bar_response(GtkInfoBar *info_bar, int response, HangarVmPage *self)
{
	vm_page_hide_message(self);
}

static void vm_page_on_vm_error(HangarVm *vm, const char *summary, const char *detail,
				HangarVmPage *self)
{
	vm_page_show_message(self, GTK_MESSAGE_ERROR, summary, detail);
}

/* ---- the viewer ---- */

static void vm_page_connect_viewer(HangarVmPage *self)
{
	const HgVmEntry *entry = hangar_vm_get_entry(self->vm);
	HgDisplayProtocol protocol =
		entry && entry->config ? entry->config->display : HG_DISPLAY_SPICE;
	g_autofree char *path = hangar_vm_get_runtime_file(
		self->vm, protocol == HG_DISPLAY_VNC ? "vnc.sock" : "spice.sock");

	hangar_viewer_connect(self->viewer, protocol, path);
}

static void vm_page_clear_viewer_lost(HangarVmPage *self)
{
	g_clear_handle_id(&self->viewer_lost_id, g_source_remove);
	g_clear_pointer(&self->viewer_lost_reason, g_free);
	g_clear_pointer(&self->viewer_lost_detail, g_free);
}

static void vm_page_on_viewer_connected(HangarViewer *viewer, HangarVmPage *self)
{
	vm_page_sync(self);
	hangar_viewer_focus(viewer);
}

static gboolean vm_page_on_viewer_lost_timeout(gpointer data)
{
	HangarVmPage *self = data;
	g_autofree char *reason = g_steal_pointer(&self->viewer_lost_reason);
	g_autofree char *detail = g_steal_pointer(&self->viewer_lost_detail);

	self->viewer_lost_id = 0;
	if (self->vm && hangar_vm_is_active(self->vm)) {
		gtk_label_set_text(GTK_LABEL(self->no_display_label), reason);
		vm_page_show_message(self, GTK_MESSAGE_ERROR, reason, detail);
	}
	vm_page_sync(self);
	return G_SOURCE_REMOVE;
}

static void vm_page_on_viewer_disconnected(HangarViewer *viewer, const char *reason,
					   const char *detail, HangarVmPage *self)
{
	if (!self->vm || !hangar_vm_is_active(self->vm))
		return;
	/* No reconnecting in a loop: the user asks with "Reconnect". */
	self->viewer_failed = TRUE;
	vm_page_clear_viewer_lost(self);
	self->viewer_lost_reason = g_strdup(reason);
	self->viewer_lost_detail = g_strdup(detail);
	self->viewer_lost_id =
		g_timeout_add(VIEWER_LOST_GRACE_MS, vm_page_on_viewer_lost_timeout, self);
	vm_page_sync(self);
}

static void vm_page_on_viewer_grab_changed(HangarViewer *viewer, gboolean grabbed,
					   HangarVmPage *self)
{
	/* The viewer shows the release hint itself; nothing else changes. */
}

/* ---- following the VM ---- */

static void vm_page_sync_stopped(HangarVmPage *self)
{
	const char *name = hangar_vm_get_name(self->vm);
	const char *problem = hangar_vm_get_problem(self->vm);
	HgVmState state = hangar_vm_get_state(self->vm);
	gboolean busy = hangar_vm_get_busy(self->vm);
	g_autofree char *title = NULL;

	if (hangar_vm_is_broken(self->vm))
		title = g_strdup_printf(_("“%s” cannot be started"), name);
	else if (busy)
		title = g_strdup_printf(_("Starting “%s”…"), name);
	else if (state == HG_VM_STATE_CRASHED)
		title = g_strdup_printf(_("“%s” stopped unexpectedly"), name);
	else
		title = g_strdup_printf(_("“%s” is not running"), name);
	gtk_label_set_text(GTK_LABEL(self->stopped_title_label), title);
	gtk_image_set_from_icon_name(GTK_IMAGE(self->stopped_icon),
				     state == HG_VM_STATE_CRASHED || hangar_vm_is_broken(self->vm)
					     ? "dialog-warning-symbolic"
					     : "computer-symbolic",
				     GTK_ICON_SIZE_INVALID);
	gtk_label_set_text(GTK_LABEL(self->problem_label), problem ? problem : "");
	gtk_widget_set_visible(self->problem_scrolled, problem && *problem);
	gtk_widget_set_visible(self->busy_spinner, busy);
	g_object_set(self->busy_spinner, "active", busy, NULL);
	gtk_stack_set_visible_child_name(GTK_STACK(self->stack), "stopped");
}

static void vm_page_sync_serial(HangarVmPage *self, gboolean active, gboolean started)
{
	gboolean shown = vm_page_get_action_state(self, "serial");

	if (started && self->was_active == FALSE) {
		g_autoptr(GDateTime) now = g_date_time_new_now_local();
		g_autofree char *time = g_date_time_format(now, "%X");
		g_autofree char *text = hangar_serial_view_get_text(self->serial_view);
		g_autofree char *note = NULL;

		if (text && *text) {
			note = g_strdup_printf(_("The machine started at %s"), time);
			hangar_serial_view_add_note(self->serial_view, note);
		}
	}
	if (!active) {
		if (self->serial_opened || hangar_serial_view_is_connected(self->serial_view))
			hangar_serial_view_disconnect(self->serial_view,
						      _("The machine is not running."));
		self->serial_opened = FALSE;
		return;
	}
	if (shown && !self->serial_opened) {
		g_autofree char *path = hangar_vm_get_runtime_file(self->vm, "serial.sock");

		hangar_serial_view_connect(self->serial_view, path);
		self->serial_opened = TRUE;
	} else if (!shown && self->serial_opened) {
		/* Let go, so hangarctl can attach; the engine keeps what the
		 * guest writes meanwhile. */
		hangar_serial_view_disconnect(self->serial_view, NULL);
		self->serial_opened = FALSE;
	}
}

static void vm_page_sync(HangarVmPage *self)
{
	HangarVm *vm = self->vm;
	gboolean active, busy, broken, running, started;
	HgVmState state;

	if (!vm) {
		hangar_viewer_disconnect(self->viewer);
		hangar_serial_view_disconnect(self->serial_view, NULL);
		self->serial_opened = FALSE;
		self->was_active = FALSE;
		gtk_label_set_text(GTK_LABEL(self->stopped_title_label), "");
		gtk_widget_hide(self->problem_scrolled);
		gtk_stack_set_visible_child_name(GTK_STACK(self->stack), "stopped");
		{
			g_auto(GStrv) names =
				g_action_group_list_actions(G_ACTION_GROUP(self->actions));
			for (char **n = names; *n; n++)
				vm_page_set_action_enabled(self, *n,
							   g_str_equal(*n, "fullscreen") ||
								   g_str_equal(*n, "serial"));
			vm_page_set_action_state(self, "snapshots", FALSE);
			gtk_revealer_set_reveal_child(GTK_REVEALER(self->snapshots_revealer),
						      FALSE);
		}
		gtk_widget_set_sensitive(self->keys_button, FALSE);
		gtk_widget_set_sensitive(self->power_menu_button, FALSE);
		return;
	}

	state = hangar_vm_get_state(vm);
	active = hangar_vm_is_active(vm);
	busy = hangar_vm_get_busy(vm);
	broken = hangar_vm_is_broken(vm);
	running = state == HG_VM_STATE_RUNNING;
	started = active && !self->was_active;

	if (active) {
		if (started) {
			self->viewer_failed = FALSE;
			vm_page_clear_viewer_lost(self);
		}
		if (!self->viewer_failed && !hangar_viewer_is_open(self->viewer))
			vm_page_connect_viewer(self);
		if (hangar_viewer_is_connected(self->viewer))
			gtk_stack_set_visible_child_name(GTK_STACK(self->stack), "display");
		else if (self->viewer_failed && !self->viewer_lost_id)
			gtk_stack_set_visible_child_name(GTK_STACK(self->stack), "no-display");
		else
			gtk_stack_set_visible_child_name(GTK_STACK(self->stack), "connecting");
		gtk_widget_set_visible(self->paused_overlay, state == HG_VM_STATE_PAUSED);
	} else {
		hangar_viewer_disconnect(self->viewer);
		self->viewer_failed = FALSE;
		vm_page_clear_viewer_lost(self);
		gtk_widget_hide(self->paused_overlay);
		vm_page_sync_stopped(self);
	}
	g_object_set(self->connecting_spinner, "active",
		     active && !hangar_viewer_is_connected(self->viewer), NULL);

	vm_page_sync_serial(self, active, started);
	self->was_active = active;

	vm_page_set_action_enabled(self, "start", !active && !busy && !broken);
	vm_page_set_action_enabled(self, "paused", active && !busy);
	vm_page_set_action_state(self, "paused", state == HG_VM_STATE_PAUSED);
	vm_page_set_action_enabled(self, "resume", state == HG_VM_STATE_PAUSED && !busy);
	vm_page_set_action_enabled(self, "shut-down", running && !busy);
	vm_page_set_action_enabled(self, "reset", active && !busy);
	/* The way out when anything hangs, busy or not. */
	vm_page_set_action_enabled(self, "force-off", active);
	vm_page_set_action_enabled(self, "send-keys",
				   running && hangar_viewer_is_connected(self->viewer));
	vm_page_set_action_enabled(self, "screenshot", active);
	vm_page_set_action_enabled(self, "reconnect", active && self->viewer_failed);
	vm_page_set_action_enabled(self, "settings", !broken);
	vm_page_set_action_enabled(self, "fullscreen", TRUE);
	vm_page_set_action_enabled(self, "serial", TRUE);
	vm_page_set_action_enabled(self, "snapshots", !broken);
	if (broken) {
		vm_page_set_action_state(self, "snapshots", FALSE);
		gtk_revealer_set_reveal_child(GTK_REVEALER(self->snapshots_revealer), FALSE);
	}

	/* Menu buttons do not follow their items' actions. */
	gtk_widget_set_sensitive(self->keys_button,
				 running && hangar_viewer_is_connected(self->viewer));
	gtk_widget_set_sensitive(self->power_menu_button, active);
	gtk_widget_set_tooltip_text(self->pause_button,
				    state == HG_VM_STATE_PAUSED ? _("Resume") : _("Pause"));
}

static void vm_page_on_vm_notify(GObject *vm, GParamSpec *pspec, HangarVmPage *self)
{
	vm_page_sync(self);
}

/* ---- actions ---- */

static void vm_page_start(GSimpleAction *action, GVariant *parameter, gpointer data)
{
	HangarVmPage *self = data;

	vm_page_hide_message(self);
	hangar_vm_start(self->vm);
}

static void vm_page_change_paused(GSimpleAction *action, GVariant *value, gpointer data)
{
	HangarVmPage *self = data;

	/* The state follows the engine's STOP and RESUME events. */
	if (g_variant_get_boolean(value))
		hangar_vm_pause(self->vm);
	else
		hangar_vm_resume(self->vm);
}

static void vm_page_resume(GSimpleAction *action, GVariant *parameter, gpointer data)
{
	HangarVmPage *self = data;

	hangar_vm_resume(self->vm);
}

static void vm_page_shut_down(GSimpleAction *action, GVariant *parameter, gpointer data)
{
	HangarVmPage *self = data;

	hangar_vm_shut_down(self->vm);
}

typedef void (*VmOperation)(HangarVm *vm);

typedef struct {
	HangarVmPage *page; /* a reference */
	HangarVm *vm; /* a reference: the one the user was asked about */
	VmOperation operation;
} Confirmation;

static void confirmation_on_response(GtkDialog *dialog, int response, gpointer data)
{
	Confirmation *confirmation = data;

	if (response == GTK_RESPONSE_ACCEPT && hangar_vm_is_active(confirmation->vm))
		confirmation->operation(confirmation->vm);
	gtk_widget_destroy(GTK_WIDGET(dialog));
	g_object_unref(confirmation->page);
	g_object_unref(confirmation->vm);
	g_free(confirmation);
}

static void vm_page_confirm(HangarVmPage *self, const char *question, const char *explanation,
			    const char *button, VmOperation operation)
{
	Confirmation *confirmation = g_new0(Confirmation, 1);
	GtkWidget *dialog, *accept;

	dialog = gtk_message_dialog_new(vm_page_get_window(self),
					GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
					GTK_MESSAGE_QUESTION, GTK_BUTTONS_NONE, "%s", question);
	gtk_message_dialog_format_secondary_text(GTK_MESSAGE_DIALOG(dialog), "%s", explanation);
	gtk_dialog_add_button(GTK_DIALOG(dialog), _("_Cancel"), GTK_RESPONSE_CANCEL);
	accept = gtk_dialog_add_button(GTK_DIALOG(dialog), button, GTK_RESPONSE_ACCEPT);
	gtk_style_context_add_class(gtk_widget_get_style_context(accept), "destructive-action");
	gtk_dialog_set_default_response(GTK_DIALOG(dialog), GTK_RESPONSE_CANCEL);

	confirmation->page = g_object_ref(self);
	confirmation->vm = g_object_ref(self->vm);
	confirmation->operation = operation;
	g_signal_connect(dialog, "response", G_CALLBACK(confirmation_on_response), confirmation);
	gtk_widget_show(dialog);
}

static void vm_page_force_off(GSimpleAction *action, GVariant *parameter, gpointer data)
{
	HangarVmPage *self = data;
	g_autofree char *question =
		g_strdup_printf(_("Force “%s” off?"), hangar_vm_get_name(self->vm));

	vm_page_confirm(self, question,
			_("The machine stops at once, as if its plug were pulled. Work not saved "
			  "in it is lost, and its disks may need checking on the next start."),
			_("_Force Off"), hangar_vm_force_off);
}

static void vm_page_reset(GSimpleAction *action, GVariant *parameter, gpointer data)
{
	HangarVmPage *self = data;
	g_autofree char *question = g_strdup_printf(_("Reset “%s”?"), hangar_vm_get_name(self->vm));

	vm_page_confirm(self, question,
			_("The machine restarts at once, as with a reset button. Work not saved in "
			  "it is lost."),
			_("_Reset"), hangar_vm_reset);
}

static void vm_page_send_keys(GSimpleAction *action, GVariant *parameter, gpointer data)
{
	HangarVmPage *self = data;
	const char *name = g_variant_get_string(parameter, NULL);

	for (guint i = 0; i < G_N_ELEMENTS(key_combinations); i++) {
		if (g_str_equal(key_combinations[i].name, name)) {
			hangar_viewer_send_keys(self->viewer, key_combinations[i].keyvals,
						key_combinations[i].n_keyvals);
			break;
		}
	}
	hangar_viewer_focus(self->viewer);
}

static void vm_page_change_fullscreen(GSimpleAction *action, GVariant *value, gpointer data)
{
	HangarVmPage *self = data;
	GtkWindow *window = vm_page_get_window(self);

	if (!window)
		return;
	/* The state follows the window's (window-state-event). */
	if (g_variant_get_boolean(value)) {
		gtk_window_fullscreen(window);
	} else {
		hangar_viewer_release_grab(self->viewer);
		gtk_window_unfullscreen(window);
	}
}

static gboolean vm_page_on_window_state(GtkWidget *window, GdkEventWindowState *event,
					HangarVmPage *self)
{
	if (event->changed_mask & GDK_WINDOW_STATE_FULLSCREEN)
		vm_page_set_action_state(self, "fullscreen",
					 (event->new_window_state & GDK_WINDOW_STATE_FULLSCREEN) !=
						 0);
	return GDK_EVENT_PROPAGATE;
}

static void vm_page_hierarchy_changed(GtkWidget *widget, GtkWidget *previous_toplevel)
{
	HangarVmPage *self = HANGAR_VM_PAGE(widget);
	GtkWindow *window = vm_page_get_window(self);

	if (GTK_WIDGET_CLASS(hangar_vm_page_parent_class)->hierarchy_changed)
		GTK_WIDGET_CLASS(hangar_vm_page_parent_class)
			->hierarchy_changed(widget, previous_toplevel);
	if (window == self->window)
		return;
	if (self->window)
		g_signal_handlers_disconnect_by_func(self->window, vm_page_on_window_state, self);
	self->window = window;
	if (window)
		g_signal_connect_object(window, "window-state-event",
					G_CALLBACK(vm_page_on_window_state), self, 0);
}

typedef struct {
	HangarVmPage *page; /* a reference */
	HangarVm *vm; /* a reference */
	char *path;
} Screenshot;

static void screenshot_free(Screenshot *screenshot)
{
	g_object_unref(screenshot->page);
	g_object_unref(screenshot->vm);
	g_free(screenshot->path);
	g_free(screenshot);
}

static void vm_page_on_screenshot_done(GObject *source, GAsyncResult *result, gpointer data)
{
	Screenshot *screenshot = data;
	HangarVmPage *self = screenshot->page;
	g_autoptr(GError) error = NULL;
	g_autofree char *summary = NULL;

	if (hangar_vm_screenshot_finish(HANGAR_VM(source), result, &error)) {
		summary = g_strdup_printf(_("Screenshot saved as “%s”."), screenshot->path);
		vm_page_show_message(self, GTK_MESSAGE_INFO, summary, NULL);
	} else if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
		/* The engine could not write it; the viewer's copy of the screen
		 * is the next best thing. */
		g_autoptr(GdkPixbuf) pixbuf = hangar_viewer_get_pixbuf(self->viewer);
		g_autoptr(GError) save_error = NULL;

		if (pixbuf && self->vm == screenshot->vm &&
		    gdk_pixbuf_save(pixbuf, screenshot->path, "png", &save_error, NULL)) {
			summary = g_strdup_printf(_("Screenshot saved as “%s”, from the viewer’s "
						    "copy of the screen."),
						  screenshot->path);
			vm_page_show_message(self, GTK_MESSAGE_WARNING, summary, error->message);
		} else {
			g_autofree char *detail =
				g_strdup_printf("screendump to %s: %s%s%s", screenshot->path,
						error->message, save_error ? "\nviewer copy: " : "",
						save_error ? save_error->message : "");
			vm_page_show_message(self, GTK_MESSAGE_ERROR,
					     _("Could not save the screenshot."), detail);
		}
	}
	screenshot_free(screenshot);
}

static void vm_page_on_screenshot_file(GtkNativeDialog *chooser, int response, gpointer data)
{
	HangarVmPage *self = data;
	g_autofree char *path = NULL;
	Screenshot *screenshot;

	if (response == GTK_RESPONSE_ACCEPT && self->vm)
		path = gtk_file_chooser_get_filename(GTK_FILE_CHOOSER(chooser));
	gtk_native_dialog_destroy(chooser);
	g_object_unref(chooser);
	if (!path) {
		g_object_unref(self);
		return;
	}

	screenshot = g_new0(Screenshot, 1);
	screenshot->page = self; /* the reference taken for the dialog */
	screenshot->vm = g_object_ref(self->vm);
	screenshot->path = g_steal_pointer(&path);
	g_cancellable_cancel(self->screenshot_cancellable);
	g_clear_object(&self->screenshot_cancellable);
	self->screenshot_cancellable = g_cancellable_new();
	hangar_vm_screenshot_async(self->vm, screenshot->path, self->screenshot_cancellable,
				   vm_page_on_screenshot_done, screenshot);
}

static void vm_page_screenshot(GSimpleAction *action, GVariant *parameter, gpointer data)
{
	HangarVmPage *self = data;
	GtkFileChooserNative *chooser;
	GtkFileFilter *filter = gtk_file_filter_new();
	g_autoptr(GDateTime) now = g_date_time_new_now_local();
	g_autofree char *stamp = g_date_time_format(now, "%Y-%m-%d %H-%M-%S");
	g_autofree char *name = g_strdup_printf("%s %s.png", hangar_vm_get_name(self->vm), stamp);
	const char *pictures = g_get_user_special_dir(G_USER_DIRECTORY_PICTURES);

	g_strdelimit(name, "/", '-');
	chooser =
		gtk_file_chooser_native_new(_("Save Screenshot"), vm_page_get_window(self),
					    GTK_FILE_CHOOSER_ACTION_SAVE, _("_Save"), _("_Cancel"));
	gtk_file_chooser_set_do_overwrite_confirmation(GTK_FILE_CHOOSER(chooser), TRUE);
	gtk_file_chooser_set_current_name(GTK_FILE_CHOOSER(chooser), name);
	gtk_file_chooser_set_current_folder(GTK_FILE_CHOOSER(chooser),
					    pictures ? pictures : g_get_home_dir());
	gtk_file_filter_set_name(filter, _("PNG images"));
	gtk_file_filter_add_mime_type(filter, "image/png");
	gtk_file_chooser_add_filter(GTK_FILE_CHOOSER(chooser), filter);
	gtk_native_dialog_set_modal(GTK_NATIVE_DIALOG(chooser), TRUE);
	g_signal_connect(chooser, "response", G_CALLBACK(vm_page_on_screenshot_file),
			 g_object_ref(self));
	gtk_native_dialog_show(GTK_NATIVE_DIALOG(chooser));
}

static void vm_page_change_serial(GSimpleAction *action, GVariant *value, gpointer data)
{
	HangarVmPage *self = data;
	gboolean shown = g_variant_get_boolean(value);

	g_simple_action_set_state(action, value);
	gtk_widget_set_visible(GTK_WIDGET(self->serial_view), shown);
	if (self->vm)
		vm_page_sync_serial(self, hangar_vm_is_active(self->vm), FALSE);
}

static void vm_page_change_snapshots(GSimpleAction *action, GVariant *value, gpointer data)
{
	HangarVmPage *self = data;

	g_simple_action_set_state(action, value);
	gtk_revealer_set_reveal_child(GTK_REVEALER(self->snapshots_revealer),
				      g_variant_get_boolean(value));
}

static void vm_page_settings(GSimpleAction *action, GVariant *parameter, gpointer data)
{
	HangarVmPage *self = data;
	HangarVmSettings *settings = hangar_vm_settings_new(vm_page_get_window(self), self->vm);

	gtk_widget_show(GTK_WIDGET(settings));
}

static void vm_page_reconnect(GSimpleAction *action, GVariant *parameter, gpointer data)
{
	HangarVmPage *self = data;

	self->viewer_failed = FALSE;
	vm_page_clear_viewer_lost(self);
	vm_page_hide_message(self);
	vm_page_sync(self);
}

static const GActionEntry vm_page_actions[] = {
	{"start", vm_page_start},
	{"paused", NULL, NULL, "false", vm_page_change_paused},
	{"resume", vm_page_resume},
	{"shut-down", vm_page_shut_down},
	{"force-off", vm_page_force_off},
	{"reset", vm_page_reset},
	{"send-keys", vm_page_send_keys, "s"},
	{"fullscreen", NULL, NULL, "false", vm_page_change_fullscreen},
	{"screenshot", vm_page_screenshot},
	{"serial", NULL, NULL, "false", vm_page_change_serial},
	{"snapshots", NULL, NULL, "false", vm_page_change_snapshots},
	{"settings", vm_page_settings},
	{"reconnect", vm_page_reconnect},
};

/* ---- the page ---- */

void hangar_vm_page_set_vm(HangarVmPage *self, HangarVm *vm)
{
	g_return_if_fail(HANGAR_IS_VM_PAGE(self));
	g_return_if_fail(vm == NULL || HANGAR_IS_VM(vm));

	if (vm == self->vm)
		return;
	if (self->vm) {
		g_signal_handlers_disconnect_by_data(self->vm, self);
		g_clear_object(&self->vm);
	}
	/* Another VM's screen and console start afresh. */
	hangar_viewer_disconnect(self->viewer);
	hangar_serial_view_disconnect(self->serial_view, NULL);
	hangar_serial_view_clear(self->serial_view);
	self->serial_opened = FALSE;
	self->was_active = FALSE;
	self->viewer_failed = FALSE;
	vm_page_clear_viewer_lost(self);
	vm_page_hide_message(self);
	if (self->screenshot_cancellable)
		g_cancellable_cancel(self->screenshot_cancellable);

	if (vm) {
		self->vm = g_object_ref(vm);
		g_signal_connect_object(vm, "notify::state", G_CALLBACK(vm_page_on_vm_notify), self,
					0);
		g_signal_connect_object(vm, "notify::busy", G_CALLBACK(vm_page_on_vm_notify), self,
					0);
		g_signal_connect_object(vm, "notify::problem", G_CALLBACK(vm_page_on_vm_notify),
					self, 0);
		g_signal_connect_object(vm, "notify::name", G_CALLBACK(vm_page_on_vm_notify), self,
					0);
		g_signal_connect_object(vm, "error", G_CALLBACK(vm_page_on_vm_error), self, 0);
	}
	hangar_snapshots_panel_set_vm(self->snapshots_panel, vm);
	vm_page_sync(self);
}

HangarVm *hangar_vm_page_get_vm(HangarVmPage *self)
{
	g_return_val_if_fail(HANGAR_IS_VM_PAGE(self), NULL);
	return self->vm;
}

static void hangar_vm_page_dispose(GObject *object)
{
	HangarVmPage *self = HANGAR_VM_PAGE(object);

	if (self->vm) {
		g_signal_handlers_disconnect_by_data(self->vm, self);
		g_clear_object(&self->vm);
	}
	if (self->window) {
		g_signal_handlers_disconnect_by_func(self->window, vm_page_on_window_state, self);
		self->window = NULL;
	}
	vm_page_clear_viewer_lost(self);
	if (self->screenshot_cancellable) {
		g_cancellable_cancel(self->screenshot_cancellable);
		g_clear_object(&self->screenshot_cancellable);
	}
	g_clear_object(&self->actions);
	G_OBJECT_CLASS(hangar_vm_page_parent_class)->dispose(object);
}

static void hangar_vm_page_class_init(HangarVmPageClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);
	GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

	object_class->dispose = hangar_vm_page_dispose;
	widget_class->hierarchy_changed = vm_page_hierarchy_changed;

	g_type_ensure(HANGAR_TYPE_VIEWER);
	g_type_ensure(HANGAR_TYPE_SERIAL_VIEW);
	g_type_ensure(HANGAR_TYPE_SNAPSHOTS_PANEL);
	gtk_widget_class_set_template_from_resource(widget_class,
						    "/org/hangar/Hangar/ui/vm/hangar-vm-page.ui");
	gtk_widget_class_bind_template_child(widget_class, HangarVmPage, stack);
	gtk_widget_class_bind_template_child(widget_class, HangarVmPage, viewer);
	gtk_widget_class_bind_template_child(widget_class, HangarVmPage, serial_view);
	gtk_widget_class_bind_template_child(widget_class, HangarVmPage, paused_overlay);
	gtk_widget_class_bind_template_child(widget_class, HangarVmPage, info_bar);
	gtk_widget_class_bind_template_child(widget_class, HangarVmPage, info_summary_label);
	gtk_widget_class_bind_template_child(widget_class, HangarVmPage, info_detail_expander);
	gtk_widget_class_bind_template_child(widget_class, HangarVmPage, info_detail_label);
	gtk_widget_class_bind_template_child(widget_class, HangarVmPage, stopped_title_label);
	gtk_widget_class_bind_template_child(widget_class, HangarVmPage, stopped_icon);
	gtk_widget_class_bind_template_child(widget_class, HangarVmPage, problem_scrolled);
	gtk_widget_class_bind_template_child(widget_class, HangarVmPage, problem_label);
	gtk_widget_class_bind_template_child(widget_class, HangarVmPage, start_button);
	gtk_widget_class_bind_template_child(widget_class, HangarVmPage, busy_spinner);
	gtk_widget_class_bind_template_child(widget_class, HangarVmPage, connecting_spinner);
	gtk_widget_class_bind_template_child(widget_class, HangarVmPage, no_display_label);
	gtk_widget_class_bind_template_child(widget_class, HangarVmPage, pause_button);
	gtk_widget_class_bind_template_child(widget_class, HangarVmPage, power_menu_button);
	gtk_widget_class_bind_template_child(widget_class, HangarVmPage, keys_button);
	gtk_widget_class_bind_template_child(widget_class, HangarVmPage, snapshots_revealer);
	gtk_widget_class_bind_template_child(widget_class, HangarVmPage, snapshots_panel);
	gtk_widget_class_bind_template_callback(widget_class, vm_page_on_info_bar_response);
	gtk_widget_class_bind_template_callback(widget_class, vm_page_on_viewer_connected);
	gtk_widget_class_bind_template_callback(widget_class, vm_page_on_viewer_disconnected);
	gtk_widget_class_bind_template_callback(widget_class, vm_page_on_viewer_grab_changed);
	gtk_widget_class_set_css_name(widget_class, "hangar-vm-page");
}

static void hangar_vm_page_init(HangarVmPage *self)
{
	gtk_widget_init_template(GTK_WIDGET(self));

	self->actions = g_simple_action_group_new();
	g_action_map_add_action_entries(G_ACTION_MAP(self->actions), vm_page_actions,
					G_N_ELEMENTS(vm_page_actions), self);
	gtk_widget_insert_action_group(GTK_WIDGET(self), "vm", G_ACTION_GROUP(self->actions));
	vm_page_sync(self);
}

GtkWidget *hangar_vm_page_new(void)
{
	return g_object_new(HANGAR_TYPE_VM_PAGE, NULL);
}
