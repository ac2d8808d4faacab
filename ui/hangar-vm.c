/* HangarVm: a library VM and its engine, as the app sees them (hangar-vm.h).
 *
 * The engine is the source of truth: the state follows its control-socket
 * events (STOP, RESUME) and the socket closing; the reason it ended comes
 * from the process we started (hg_engine_watch) or, for an engine an
 * earlier app started, from the exit.json it left. */
#include "ui/hangar-vm.h"

#include <glib/gi18n.h>
#include <sys/wait.h>

/* How often a running VM's thumbnail is refreshed until the application
 * passes on the "thumbnail-interval" setting. */
#define DEFAULT_THUMBNAIL_INTERVAL_SECONDS 3
#define THUMBNAIL_WIDTH 256
#define THUMBNAIL_HEIGHT 192
/* Lines of engine.log shown with a crash. */
#define PROBLEM_LOG_LINES 12

struct _HangarVm {
	GObject parent_instance;

	HgVmLibrary *library; /* not owned: the application's, outlives us */
	HgVmEntry *entry;
	HgVmState state;
	gboolean busy;
	char *problem;
	GdkPixbuf *thumbnail;

	HangarControlClient *control; /* NULL while no engine is attached */
	gboolean connecting;
	gboolean engine_watched; /* we started it: its exit reason comes from the watch */
	guint thumbnail_timeout;
	guint thumbnail_interval; /* seconds */
	gboolean thumbnail_in_flight;
	GCancellable *cancellable; /* cancelled on dispose */
};

enum {
	PROP_0,
	PROP_ID,
	PROP_NAME,
	PROP_OS_NAME,
	PROP_STATE,
	PROP_BUSY,
	PROP_PROBLEM,
	PROP_THUMBNAIL,
	N_PROPS
};
static GParamSpec *properties[N_PROPS];

enum { SIGNAL_ERROR, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_TYPE(HangarVm, hangar_vm, G_TYPE_OBJECT)

static void vm_attach(HangarVm *vm);

/* ---- state ---- */

static void vm_set_state(HangarVm *vm, HgVmState state)
{
	if (vm->state == state)
		return;
	vm->state = state;
	g_object_notify_by_pspec(G_OBJECT(vm), properties[PROP_STATE]);
}

static void vm_set_busy(HangarVm *vm, gboolean busy)
{
	if (vm->busy == busy)
		return;
	vm->busy = busy;
	g_object_notify_by_pspec(G_OBJECT(vm), properties[PROP_BUSY]);
}

static void vm_set_problem(HangarVm *vm, const char *problem)
{
	if (g_strcmp0(vm->problem, problem) == 0)
		return;
	g_free(vm->problem);
	vm->problem = g_strdup(problem);
	g_object_notify_by_pspec(G_OBJECT(vm), properties[PROP_PROBLEM]);
}

static void vm_set_thumbnail(HangarVm *vm, GdkPixbuf *thumbnail)
{
	if (vm->thumbnail == thumbnail)
		return;
	g_set_object(&vm->thumbnail, thumbnail);
	g_object_notify_by_pspec(G_OBJECT(vm), properties[PROP_THUMBNAIL]);
}

static void vm_report_error(HangarVm *vm, const char *summary, const GError *error)
{
	g_signal_emit(vm, signals[SIGNAL_ERROR], 0, summary, error ? error->message : "");
}

/* The problem text for an engine that ended badly: the reason, then the
 * last lines it logged and the guest's last serial output (what a
 * developer needs to see what went wrong). */
static char *vm_describe_crash(HangarVm *vm, const char *reason)
{
	g_autofree char *log = hg_vm_log_tail(vm->entry->id, PROBLEM_LOG_LINES);
	g_autofree char *serial = hg_vm_serial_tail(vm->entry->id, PROBLEM_LOG_LINES);
	GString *text = g_string_new(NULL);

	g_string_append_printf(text, _("The engine stopped: %s."), reason);
	if (log && *log)
		g_string_append_printf(text, _("\n\nIts last messages:\n%s"), log);
	if (serial && *serial)
		g_string_append_printf(text, _("\n\nThe guest’s last serial output:\n%s"), serial);
	return g_string_free(text, FALSE);
}

/* ---- thumbnails ---- */

static void vm_thumbnail_loaded(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(HangarVm) vm = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new_from_stream_finish(result, &error);

	vm->thumbnail_in_flight = FALSE;
	if (pixbuf && hangar_vm_is_active(vm))
		vm_set_thumbnail(vm, pixbuf);
	else if (error && !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		g_debug("thumbnail of %s: %s", vm->entry->id, error->message);
}

static void vm_thumbnail_opened(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(HangarVm) vm = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GFileInputStream) stream = g_file_read_finish(G_FILE(source), result, &error);

	if (!stream) {
		vm->thumbnail_in_flight = FALSE;
		return;
	}
	gdk_pixbuf_new_from_stream_at_scale_async(G_INPUT_STREAM(stream), THUMBNAIL_WIDTH,
						  THUMBNAIL_HEIGHT, TRUE, vm->cancellable,
						  vm_thumbnail_loaded, g_object_ref(vm));
}

static void vm_thumbnail_dumped(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(HangarVm) vm = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) reply =
		hangar_control_client_execute_finish(HANGAR_CONTROL_CLIENT(source), result, &error);
	g_autofree char *path = NULL;
	g_autoptr(GFile) file = NULL;

	if (!reply) {
		vm->thumbnail_in_flight = FALSE;
		return;
	}
	path = hg_vm_runtime_file(vm->entry->id, "thumbnail.png");
	file = g_file_new_for_path(path);
	g_file_read_async(file, G_PRIORITY_LOW, vm->cancellable, vm_thumbnail_opened,
			  g_object_ref(vm));
}

static void vm_refresh_thumbnail(HangarVm *vm)
{
	g_autofree char *path = NULL;
	g_autoptr(JsonObject) args = NULL;

	if (!vm->control || vm->thumbnail_in_flight)
		return;
	path = hg_vm_runtime_file(vm->entry->id, "thumbnail.png");
	args = json_object_new();
	json_object_set_string_member(args, "filename", path);
	vm->thumbnail_in_flight = TRUE;
	hangar_control_client_execute_async(vm->control, "screendump", args, vm->cancellable,
					    vm_thumbnail_dumped, g_object_ref(vm));
}

static gboolean vm_thumbnail_tick(gpointer user_data)
{
	vm_refresh_thumbnail(user_data);
	return G_SOURCE_CONTINUE;
}

static void vm_stop_thumbnails(HangarVm *vm)
{
	g_clear_handle_id(&vm->thumbnail_timeout, g_source_remove);
}

static void vm_start_thumbnails(HangarVm *vm)
{
	if (vm->thumbnail_timeout)
		return;
	vm->thumbnail_timeout =
		g_timeout_add_seconds(vm->thumbnail_interval, vm_thumbnail_tick, vm);
	vm_refresh_thumbnail(vm);
}

void hangar_vm_set_thumbnail_interval(HangarVm *vm, guint seconds)
{
	g_return_if_fail(HANGAR_IS_VM(vm) && seconds > 0);
	if (vm->thumbnail_interval == seconds)
		return;
	vm->thumbnail_interval = seconds;
	if (vm->thumbnail_timeout) {
		vm_stop_thumbnails(vm);
		vm_start_thumbnails(vm);
	}
}

/* ---- the engine's control connection ---- */

static void vm_detach(HangarVm *vm)
{
	vm_stop_thumbnails(vm);
	if (vm->control) {
		g_signal_handlers_disconnect_by_data(vm->control, vm);
		hangar_control_client_close(vm->control);
		g_clear_object(&vm->control);
	}
	vm_set_thumbnail(vm, NULL);
}

/* A VM with no engine: crashed, with the reason, when the exit.json of
 * its last run says it ended badly; else stopped. */
static void vm_show_last_exit(HangarVm *vm)
{
	int wait_status = 0;
	g_autofree char *reason = NULL;

	if (hg_vm_last_exit(vm->entry->id, &wait_status, &reason)) {
		g_autofree char *problem = vm_describe_crash(vm, reason);

		vm_set_problem(vm, problem);
		vm_set_state(vm, HG_VM_STATE_CRASHED);
	} else {
		vm_set_state(vm, HG_VM_STATE_STOPPED);
	}
}

/* The engine is gone.  Its reason: from the watch when we started it (that
 * callback sets the state), else from the exit.json it left. */
static void vm_engine_gone(HangarVm *vm)
{
	vm_detach(vm);
	if (vm->engine_watched)
		return;
	vm_show_last_exit(vm);
	vm_set_busy(vm, FALSE);
}

static void vm_on_closed(HangarControlClient *client, gpointer user_data)
{
	vm_engine_gone(user_data);
}

static void vm_on_event(HangarControlClient *client, const char *name, JsonObject *data,
			gint64 timestamp, gpointer user_data)
{
	HangarVm *vm = user_data;

	if (g_str_equal(name, "STOP"))
		vm_set_state(vm, HG_VM_STATE_PAUSED);
	else if (g_str_equal(name, "RESUME"))
		vm_set_state(vm, HG_VM_STATE_RUNNING);
}

static void vm_status_received(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(HangarVm) vm = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) reply =
		hangar_control_client_execute_finish(HANGAR_CONTROL_CLIENT(source), result, &error);

	if (!reply) {
		if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
			g_debug("query-status of %s: %s", vm->entry->id, error->message);
		return;
	}
	if (json_object_get_boolean_member_with_default(reply, "running", FALSE))
		vm_set_state(vm, HG_VM_STATE_RUNNING);
	else
		vm_set_state(vm, HG_VM_STATE_PAUSED);
	vm_set_busy(vm, FALSE);
}

static void vm_connected(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(HangarVm) vm = user_data;
	g_autoptr(GError) error = NULL;
	HangarControlClient *client = hangar_control_client_connect_finish(result, &error);

	vm->connecting = FALSE;
	if (!client) {
		if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
			return;
		/* A stale socket: the engine died without removing it. */
		vm_engine_gone(vm);
		return;
	}
	vm->control = client;
	vm_set_problem(vm, NULL);
	g_signal_connect(client, "event", G_CALLBACK(vm_on_event), vm);
	g_signal_connect(client, "closed", G_CALLBACK(vm_on_closed), vm);
	hangar_control_client_execute_async(client, "query-status", NULL, vm->cancellable,
					    vm_status_received, g_object_ref(vm));
	vm_start_thumbnails(vm);
}

static void vm_attach(HangarVm *vm)
{
	g_autofree char *path = NULL;

	if (vm->control || vm->connecting)
		return;
	path = hg_vm_runtime_file(vm->entry->id, "control.sock");
	vm->connecting = TRUE;
	hangar_control_client_connect_async(path, vm->cancellable, vm_connected, g_object_ref(vm));
}

void hangar_vm_reattach(HangarVm *vm)
{
	g_autofree char *path = NULL;

	g_return_if_fail(HANGAR_IS_VM(vm));
	if (hangar_vm_is_broken(vm))
		return;
	path = hg_vm_runtime_file(vm->entry->id, "control.sock");
	if (g_file_test(path, G_FILE_TEST_EXISTS))
		vm_attach(vm);
	else
		vm_show_last_exit(vm); /* not running: say so if its last run ended badly */
}

/* ---- starting ---- */

static void vm_engine_exited(const char *vm_id, int wait_status, const char *reason,
			     gpointer user_data)
{
	g_autoptr(HangarVm) vm = user_data;
	gboolean clean = WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0;

	vm->engine_watched = FALSE;
	vm_detach(vm);
	if (clean) {
		vm_set_problem(vm, NULL);
		vm_set_state(vm, HG_VM_STATE_STOPPED);
	} else {
		g_autofree char *problem = vm_describe_crash(vm, reason);

		vm_set_problem(vm, problem);
		vm_set_state(vm, HG_VM_STATE_CRASHED);
	}
	vm_set_busy(vm, FALSE);
}

/* What the start thread needs: the entry, and the saved machine to continue
 * (a live snapshot's folder) or NULL to boot. */
typedef struct {
	HgVmEntry *entry;
	char *restore_dir;
} StartJob;

static void start_job_free(StartJob *job)
{
	hg_vm_entry_free(job->entry);
	g_free(job->restore_dir);
	g_free(job);
}

static void vm_start_thread(GTask *task, gpointer source, gpointer task_data,
			    GCancellable *cancellable)
{
	StartJob *job = task_data;
	GError *error = NULL;
	GSubprocess *engine = job->restore_dir
				      ? hg_engine_start_restore(job->entry, job->restore_dir, FALSE,
								cancellable, &error)
				      : hg_engine_start(job->entry, FALSE, cancellable, &error);

	if (engine)
		g_task_return_pointer(task, engine, g_object_unref);
	else
		g_task_return_error(task, error);
}

/* A start records the formats of disks that had none in vm.json
 * (hg_engine_start); the entry takes them in, so that a later save of it
 * keeps them. */
static void vm_reload_entry(HangarVm *vm)
{
	g_autoptr(HgVmEntry) fresh =
		vm->library ? hg_vm_library_lookup(vm->library, vm->entry->id, NULL) : NULL;

	if (fresh && fresh->config && g_strcmp0(fresh->id, vm->entry->id) == 0)
		hangar_vm_update_entry(vm, fresh);
}

static void vm_start_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
	HangarVm *vm = HANGAR_VM(source);
	g_autoptr(GError) error = NULL;
	g_autoptr(GSubprocess) engine = g_task_propagate_pointer(G_TASK(result), &error);

	vm_reload_entry(vm);

	if (!engine) {
		vm_set_busy(vm, FALSE);
		if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
			return;
		if (g_error_matches(error, HG_VM_ERROR, HG_VM_ERROR_RUNNING)) {
			vm_attach(vm); /* someone else started it: follow it */
			return;
		}
		vm_set_problem(vm, error->message);
		vm_set_state(vm, HG_VM_STATE_CRASHED);
		vm_report_error(vm, _("The virtual machine could not start"), error);
		return;
	}
	vm->engine_watched = TRUE;
	hg_engine_watch(engine, vm->entry->id, vm_engine_exited, g_object_ref(vm));
	vm_attach(vm);
}

/* Both ways of starting: the engine is supervised the same way, whether it
 * boots or continues a saved machine. */
static void vm_start_engine(HangarVm *vm, const char *restore_dir)
{
	g_autoptr(GTask) task = NULL;
	StartJob *job;

	if (vm->busy || hangar_vm_is_active(vm) || hangar_vm_is_broken(vm))
		return;
	vm_set_busy(vm, TRUE);
	vm_set_problem(vm, NULL);
	job = g_new0(StartJob, 1);
	job->entry = hg_vm_entry_copy(vm->entry);
	job->restore_dir = g_strdup(restore_dir);
	task = g_task_new(vm, vm->cancellable, vm_start_done, NULL);
	g_task_set_task_data(task, job, (GDestroyNotify)start_job_free);
	g_task_run_in_thread(task, vm_start_thread);
}

void hangar_vm_start(HangarVm *vm)
{
	g_return_if_fail(HANGAR_IS_VM(vm));
	vm_start_engine(vm, NULL);
}

void hangar_vm_start_restore(HangarVm *vm, const char *restore_dir)
{
	g_return_if_fail(HANGAR_IS_VM(vm) && restore_dir);
	vm_start_engine(vm, restore_dir);
}

/* ---- commands to a running engine ---- */

typedef struct {
	HangarVm *vm;
	const char *summary; /* what failed, for the user (translated) */
	gboolean busy_until_exit; /* shut down / force off: busy until the engine ends */
} CommandCall;

static void vm_command_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
	CommandCall *call = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) reply =
		hangar_control_client_execute_finish(HANGAR_CONTROL_CLIENT(source), result, &error);

	if (!reply) {
		if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED) &&
		    !(call->busy_until_exit && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CLOSED))) {
			vm_set_busy(call->vm, FALSE);
			vm_report_error(call->vm, call->summary, error);
		}
	} else if (!call->busy_until_exit) {
		vm_set_busy(call->vm, FALSE);
	}
	g_object_unref(call->vm);
	g_free(call);
}

static void vm_send_command(HangarVm *vm, const char *command, const char *summary,
			    gboolean busy_until_exit)
{
	CommandCall *call;

	if (!vm->control) {
		GError error = {HG_VM_ERROR, HG_VM_ERROR_NOT_RUNNING,
				(char *)_("The virtual machine is not running.")};

		vm_report_error(vm, summary, &error);
		return;
	}
	call = g_new0(CommandCall, 1);
	call->vm = g_object_ref(vm);
	call->summary = summary;
	call->busy_until_exit = busy_until_exit;
	vm_set_busy(vm, TRUE);
	hangar_control_client_execute_async(vm->control, command, NULL, vm->cancellable,
					    vm_command_done, call);
}

void hangar_vm_pause(HangarVm *vm)
{
	vm_send_command(vm, "stop", _("The virtual machine could not be paused"), FALSE);
}

void hangar_vm_resume(HangarVm *vm)
{
	vm_send_command(vm, "cont", _("The virtual machine could not be resumed"), FALSE);
}

/* The guest decides whether it powers off: stay not-busy so the user can
 * still force it off when the guest ignores the button. */
void hangar_vm_shut_down(HangarVm *vm)
{
	vm_send_command(vm, "system_powerdown", _("The virtual machine could not be shut down"),
			FALSE);
}

void hangar_vm_force_off(HangarVm *vm)
{
	vm_send_command(vm, "quit", _("The virtual machine could not be turned off"), TRUE);
}

void hangar_vm_reset(HangarVm *vm)
{
	vm_send_command(vm, "system_reset", _("The virtual machine could not be reset"), FALSE);
}

static void vm_screendump_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	GError *error = NULL;
	g_autoptr(JsonObject) reply =
		hangar_control_client_execute_finish(HANGAR_CONTROL_CLIENT(source), result, &error);

	if (reply)
		g_task_return_boolean(task, TRUE);
	else
		g_task_return_error(task, error);
}

void hangar_vm_screenshot_async(HangarVm *vm, const char *path, GCancellable *cancellable,
				GAsyncReadyCallback callback, gpointer user_data)
{
	g_autoptr(GTask) task = g_task_new(vm, cancellable, callback, user_data);
	g_autoptr(JsonObject) args = NULL;

	if (!vm->control) {
		g_task_return_new_error(task, HG_VM_ERROR, HG_VM_ERROR_NOT_RUNNING, "%s",
					_("The virtual machine is not running."));
		return;
	}
	args = json_object_new();
	json_object_set_string_member(args, "filename", path);
	hangar_control_client_execute_async(vm->control, "screendump", args, cancellable,
					    vm_screendump_done, g_steal_pointer(&task));
}

gboolean hangar_vm_screenshot_finish(HangarVm *vm, GAsyncResult *result, GError **error)
{
	return g_task_propagate_boolean(G_TASK(result), error);
}

/* ---- configuration ---- */

/* Everything but the name needs the engine to start again. */
static gboolean config_differs_beyond_name(const HgVmConfig *a, const HgVmConfig *b)
{
	g_autoptr(HgVmConfig) renamed = hg_vm_config_copy(b);
	g_autofree char *json_a = NULL, *json_b = NULL;

	g_free(renamed->name);
	renamed->name = g_strdup(a->name);
	json_a = hg_vm_config_to_json(a);
	json_b = hg_vm_config_to_json(renamed);
	return g_strcmp0(json_a, json_b) != 0;
}

gboolean hangar_vm_save_config(HangarVm *vm, const HgVmConfig *config, gboolean *needs_restart,
			       GError **error)
{
	g_autoptr(HgVmEntry) updated = NULL;
	gboolean restart;

	g_return_val_if_fail(HANGAR_IS_VM(vm), FALSE);
	if (hangar_vm_is_broken(vm)) {
		g_set_error_literal(error, HG_VM_ERROR, HG_VM_ERROR_BROKEN,
				    vm->entry->error->message);
		return FALSE;
	}
	if (!hg_vm_config_validate(config, error))
		return FALSE;
	restart = hangar_vm_is_active(vm) && config_differs_beyond_name(vm->entry->config, config);
	updated = hg_vm_entry_copy(vm->entry);
	hg_vm_config_free(updated->config);
	updated->config = hg_vm_config_copy(config);
	if (g_strcmp0(vm->entry->config->name, config->name) != 0) {
		/* The library keeps names unique. */
		if (!hg_vm_library_rename(vm->library, updated, config->name, error))
			return FALSE;
	}
	if (!hg_vm_library_save(vm->library, updated, error))
		return FALSE;
	hangar_vm_update_entry(vm, updated);
	if (needs_restart)
		*needs_restart = restart;
	return TRUE;
}

void hangar_vm_update_entry(HangarVm *vm, const HgVmEntry *entry)
{
	g_autofree char *old_name = g_strdup(hangar_vm_get_name(vm));
	g_autofree char *old_os = g_strdup(hangar_vm_get_os_name(vm));

	g_return_if_fail(g_strcmp0(entry->id, vm->entry->id) == 0);
	hg_vm_entry_free(vm->entry);
	vm->entry = hg_vm_entry_copy(entry);
	if (g_strcmp0(old_name, hangar_vm_get_name(vm)) != 0)
		g_object_notify_by_pspec(G_OBJECT(vm), properties[PROP_NAME]);
	if (g_strcmp0(old_os, hangar_vm_get_os_name(vm)) != 0)
		g_object_notify_by_pspec(G_OBJECT(vm), properties[PROP_OS_NAME]);
	if (entry->error)
		vm_set_problem(vm, entry->error->message);
}

/* ---- getters ---- */

const char *hangar_vm_get_id(HangarVm *vm)
{
	return vm->entry->id;
}

/* A broken VM has no configuration: show its folder name. */
const char *hangar_vm_get_name(HangarVm *vm)
{
	return vm->entry->config ? vm->entry->config->name : vm->entry->id;
}

const char *hangar_vm_get_os_name(HangarVm *vm)
{
	return vm->entry->config ? vm->entry->config->os_name : NULL;
}

HgVmState hangar_vm_get_state(HangarVm *vm)
{
	return vm->state;
}

gboolean hangar_vm_is_active(HangarVm *vm)
{
	return vm->state == HG_VM_STATE_RUNNING || vm->state == HG_VM_STATE_PAUSED;
}

gboolean hangar_vm_is_broken(HangarVm *vm)
{
	return vm->entry->config == NULL;
}

gboolean hangar_vm_get_busy(HangarVm *vm)
{
	return vm->busy;
}

const char *hangar_vm_get_problem(HangarVm *vm)
{
	return vm->problem;
}

const char *hangar_vm_describe_state(HangarVm *vm)
{
	if (hangar_vm_is_broken(vm))
		return _("Cannot be loaded");
	switch (vm->state) {
	case HG_VM_STATE_RUNNING:
		return _("Running");
	case HG_VM_STATE_PAUSED:
		return _("Paused");
	case HG_VM_STATE_CRASHED:
		return _("Crashed");
	case HG_VM_STATE_STOPPED:
	default:
		return _("Stopped");
	}
}

const char *hangar_vm_get_state_css_class(HangarVm *vm)
{
	if (hangar_vm_is_broken(vm))
		return "vm-state-broken";
	switch (vm->state) {
	case HG_VM_STATE_RUNNING:
		return "vm-state-running";
	case HG_VM_STATE_PAUSED:
		return "vm-state-paused";
	case HG_VM_STATE_CRASHED:
		return "vm-state-crashed";
	case HG_VM_STATE_STOPPED:
	default:
		return "vm-state-stopped";
	}
}

GdkPixbuf *hangar_vm_get_thumbnail(HangarVm *vm)
{
	return vm->thumbnail;
}

const HgVmEntry *hangar_vm_get_entry(HangarVm *vm)
{
	return vm->entry;
}

const char *hangar_vm_get_library_root(HangarVm *vm)
{
	return hg_vm_library_root(vm->library);
}

HangarControlClient *hangar_vm_get_control(HangarVm *vm)
{
	return vm->control;
}

char *hangar_vm_get_runtime_file(HangarVm *vm, const char *name)
{
	return hg_vm_runtime_file(vm->entry->id, name);
}

/* ---- GObject ---- */

HangarVm *hangar_vm_new(HgVmLibrary *library, const HgVmEntry *entry)
{
	HangarVm *vm = g_object_new(HANGAR_TYPE_VM, NULL);

	vm->library = library;
	vm->entry = hg_vm_entry_copy(entry);
	if (entry->error)
		vm->problem = g_strdup(entry->error->message);
	return vm;
}

static void hangar_vm_get_property(GObject *object, guint prop_id, GValue *value,
				   GParamSpec *pspec)
{
	HangarVm *vm = HANGAR_VM(object);

	switch (prop_id) {
	case PROP_ID:
		g_value_set_string(value, hangar_vm_get_id(vm));
		break;
	case PROP_NAME:
		g_value_set_string(value, hangar_vm_get_name(vm));
		break;
	case PROP_OS_NAME:
		g_value_set_string(value, hangar_vm_get_os_name(vm));
		break;
	case PROP_STATE:
		g_value_set_int(value, vm->state);
		break;
	case PROP_BUSY:
		g_value_set_boolean(value, vm->busy);
		break;
	case PROP_PROBLEM:
		g_value_set_string(value, vm->problem);
		break;
	case PROP_THUMBNAIL:
		g_value_set_object(value, vm->thumbnail);
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
	}
}

static void hangar_vm_dispose(GObject *object)
{
	HangarVm *vm = HANGAR_VM(object);

	g_cancellable_cancel(vm->cancellable);
	vm_detach(vm);
	G_OBJECT_CLASS(hangar_vm_parent_class)->dispose(object);
}

static void hangar_vm_finalize(GObject *object)
{
	HangarVm *vm = HANGAR_VM(object);

	g_clear_object(&vm->cancellable);
	hg_vm_entry_free(vm->entry);
	g_free(vm->problem);
	G_OBJECT_CLASS(hangar_vm_parent_class)->finalize(object);
}

static void hangar_vm_class_init(HangarVmClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);
	const GParamFlags flags = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;

	object_class->get_property = hangar_vm_get_property;
	object_class->dispose = hangar_vm_dispose;
	object_class->finalize = hangar_vm_finalize;

	properties[PROP_ID] = g_param_spec_string("id", NULL, NULL, NULL, flags);
	properties[PROP_NAME] = g_param_spec_string("name", NULL, NULL, NULL, flags);
	properties[PROP_OS_NAME] = g_param_spec_string("os-name", NULL, NULL, NULL, flags);
	properties[PROP_STATE] = g_param_spec_int("state", NULL, NULL, HG_VM_STATE_STOPPED,
						  HG_VM_STATE_CRASHED, HG_VM_STATE_STOPPED, flags);
	properties[PROP_BUSY] = g_param_spec_boolean("busy", NULL, NULL, FALSE, flags);
	properties[PROP_PROBLEM] = g_param_spec_string("problem", NULL, NULL, NULL, flags);
	properties[PROP_THUMBNAIL] =
		g_param_spec_object("thumbnail", NULL, NULL, GDK_TYPE_PIXBUF, flags);
	g_object_class_install_properties(object_class, N_PROPS, properties);

	signals[SIGNAL_ERROR] = g_signal_new("error", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST,
					     0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING,
					     G_TYPE_STRING);
}

static void hangar_vm_init(HangarVm *vm)
{
	vm->state = HG_VM_STATE_STOPPED;
	vm->thumbnail_interval = DEFAULT_THUMBNAIL_INTERVAL_SECONDS;
	vm->cancellable = g_cancellable_new();
}
