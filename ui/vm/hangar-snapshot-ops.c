/* The snapshot operations on a HangarVm (hangar-snapshot-ops.h).
 *
 * Every operation is one SnapshotJob: filled on the main thread (the
 * library's folder, a copy of the entry, the arguments), worked on in a
 * GTask thread that opens its own HgVmLibrary (vm_library.h: one per
 * thread), and read back on the main thread when the task completes.
 * Revert adds a step before the thread (turning a running VM off and
 * waiting for HangarVm to see it stopped) and one after (the new
 * configuration, and the engine that continues a live snapshot). */
#include "ui/vm/hangar-snapshot-ops.h"

#include <glib/gi18n.h>

#include "library/vm/vm_clone.h"

/* How long a forced-off engine may take to go before revert gives up. */
#define FORCE_OFF_TIMEOUT_SECONDS 60

typedef enum {
	SNAPSHOT_TAKE,
	SNAPSHOT_REVERT,
	SNAPSHOT_DELETE,
	SNAPSHOT_RENAME,
	SNAPSHOT_CONVERT,
	SNAPSHOT_CLONE,
} SnapshotOperation;

typedef struct {
	SnapshotOperation operation;
	char *library_root;
	HgVmEntry *entry; /* the thread's own copy; revert updates its config */
	char *snapshot_id;
	char *name, *description;

	/* revert: filled in by the thread */
	gboolean live;
	char *restore_dir;

	/* convert: progress reports, posted to the main thread */
	HangarSnapshotProgressFunc progress;
	GObject *progress_object;
	gint64 last_report;
	int converted;
	gboolean linked; /* clone */

	/* revert: waiting for the VM to stop (main thread) */
	HangarVm *vm; /* not a reference: the task's source object keeps it */
	gulong state_handler, busy_handler;
	guint timeout_id;
} SnapshotJob;

static void snapshot_job_stop_waiting(SnapshotJob *job)
{
	if (job->state_handler)
		g_signal_handler_disconnect(job->vm, job->state_handler);
	if (job->busy_handler)
		g_signal_handler_disconnect(job->vm, job->busy_handler);
	job->state_handler = job->busy_handler = 0;
	g_clear_handle_id(&job->timeout_id, g_source_remove);
}

static void snapshot_job_free(SnapshotJob *job)
{
	snapshot_job_stop_waiting(job);
	g_free(job->library_root);
	hg_vm_entry_free(job->entry);
	g_free(job->snapshot_id);
	g_free(job->name);
	g_free(job->description);
	g_free(job->restore_dir);
	g_clear_object(&job->progress_object);
	g_free(job);
}

static SnapshotJob *snapshot_job_new(HangarVm *vm, SnapshotOperation operation,
				     const char *snapshot_id)
{
	SnapshotJob *job = g_new0(SnapshotJob, 1);

	job->operation = operation;
	job->library_root = g_strdup(hangar_vm_get_library_root(vm));
	job->entry = hg_vm_entry_copy(hangar_vm_get_entry(vm));
	job->snapshot_id = g_strdup(snapshot_id);
	job->vm = vm;
	return job;
}

/* ---- the thread ---- */

static gboolean snapshot_job_revert(SnapshotJob *job, HgVmLibrary *library, GError **error)
{
	g_autoptr(HgVmSnapshotTree) tree = NULL;
	HgVmSnapshot *snap;
	bool live = false;

	if (!hg_vm_snapshot_revert(library, job->entry, job->snapshot_id, &live, error))
		return FALSE;
	job->live = live;
	if (!live)
		return TRUE;
	tree = hg_vm_snapshots_load(job->entry, error);
	snap = tree ? hg_vm_snapshot_tree_find(tree, job->snapshot_id, error) : NULL;
	if (!snap)
		return FALSE;
	job->restore_dir = hg_vm_snapshot_dir(job->entry, snap);
	return TRUE;
}

typedef struct {
	HangarSnapshotProgressFunc progress;
	GObject *object;
	gdouble fraction;
} ProgressReport;

static gboolean progress_report_idle(gpointer data)
{
	ProgressReport *report = data;

	report->progress(report->fraction, report->object);
	g_object_unref(report->object);
	g_free(report);
	return G_SOURCE_REMOVE;
}

/* From the converting thread: at most eight reports a second. */
static void snapshot_job_on_progress(guint64 done, guint64 total, gpointer data)
{
	SnapshotJob *job = data;
	gint64 now = g_get_monotonic_time();
	ProgressReport *report;

	if (!job->progress || !total || (now - job->last_report < G_USEC_PER_SEC / 8 &&
					 done < total))
		return;
	job->last_report = now;
	report = g_new0(ProgressReport, 1);
	report->progress = job->progress;
	report->object = g_object_ref(job->progress_object);
	report->fraction = (gdouble)done / (gdouble)total;
	g_idle_add(progress_report_idle, report);
}

static void snapshot_job_thread(GTask *task, gpointer source, gpointer task_data,
				GCancellable *cancellable)
{
	SnapshotJob *job = task_data;
	GError *error = NULL;
	g_autoptr(HgVmLibrary) library = hg_vm_library_open(job->library_root, &error);
	HgVmSnapshot *taken;
	gboolean ok = FALSE;

	if (!library) {
		g_task_return_error(task, error);
		return;
	}
	switch (job->operation) {
	case SNAPSHOT_TAKE:
		taken = hg_vm_snapshot_take(library, job->entry, job->name, job->description,
					    &error);
		if (taken)
			g_task_return_pointer(task, taken, (GDestroyNotify)hg_vm_snapshot_free);
		else
			g_task_return_error(task, error);
		return;
	case SNAPSHOT_REVERT:
		ok = snapshot_job_revert(job, library, &error);
		break;
	case SNAPSHOT_DELETE:
		ok = hg_vm_snapshot_delete(library, job->entry, job->snapshot_id, &error);
		break;
	case SNAPSHOT_RENAME:
		ok = hg_vm_snapshot_set_info(library, job->entry, job->snapshot_id, job->name,
					     job->description, &error);
		break;
	case SNAPSHOT_CLONE: {
		g_autoptr(HgVmEntry) clone = hg_vm_library_clone(
			library, job->entry, job->snapshot_id, job->name,
			job->linked ? HG_VM_CLONE_LINKED : HG_VM_CLONE_FULL, cancellable,
			snapshot_job_on_progress, job, &error);
		if (clone)
			g_task_return_pointer(task, g_strdup(clone->id), g_free);
		else
			g_task_return_error(task, error);
		return;
	}
	case SNAPSHOT_CONVERT:
		job->converted = hg_vm_convert_disks(library, job->entry, cancellable,
						     snapshot_job_on_progress, job, &error);
		ok = job->converted >= 0;
		break;
	}
	if (ok)
		g_task_return_boolean(task, TRUE);
	else
		g_task_return_error(task, error);
}

static void snapshot_job_run(HangarVm *vm, SnapshotJob *job, gpointer source_tag,
			     GCancellable *cancellable, GAsyncReadyCallback callback,
			     gpointer user_data)
{
	g_autoptr(GTask) task = g_task_new(vm, cancellable, callback, user_data);

	g_task_set_source_tag(task, source_tag);
	g_task_set_task_data(task, job, (GDestroyNotify)snapshot_job_free);
	g_task_run_in_thread(task, snapshot_job_thread);
}

/* ---- take, delete, rename ---- */

void hangar_snapshot_take_async(HangarVm *vm, const char *name, const char *description,
				GCancellable *cancellable, GAsyncReadyCallback callback,
				gpointer user_data)
{
	SnapshotJob *job;

	g_return_if_fail(HANGAR_IS_VM(vm) && name);
	job = snapshot_job_new(vm, SNAPSHOT_TAKE, NULL);
	job->name = g_strdup(name);
	job->description = g_strdup(description);
	snapshot_job_run(vm, job, hangar_snapshot_take_async, cancellable, callback, user_data);
}

HgVmSnapshot *hangar_snapshot_take_finish(HangarVm *vm, GAsyncResult *result, GError **error)
{
	g_return_val_if_fail(g_task_is_valid(result, vm), NULL);
	return g_task_propagate_pointer(G_TASK(result), error);
}

void hangar_snapshot_delete_async(HangarVm *vm, const char *snapshot_id, GCancellable *cancellable,
				  GAsyncReadyCallback callback, gpointer user_data)
{
	g_return_if_fail(HANGAR_IS_VM(vm) && snapshot_id);
	snapshot_job_run(vm, snapshot_job_new(vm, SNAPSHOT_DELETE, snapshot_id),
			 hangar_snapshot_delete_async, cancellable, callback, user_data);
}

gboolean hangar_snapshot_delete_finish(HangarVm *vm, GAsyncResult *result, GError **error)
{
	g_return_val_if_fail(g_task_is_valid(result, vm), FALSE);
	return g_task_propagate_boolean(G_TASK(result), error);
}

void hangar_snapshot_rename_async(HangarVm *vm, const char *snapshot_id, const char *name,
				  const char *description, GCancellable *cancellable,
				  GAsyncReadyCallback callback, gpointer user_data)
{
	SnapshotJob *job;

	g_return_if_fail(HANGAR_IS_VM(vm) && snapshot_id);
	job = snapshot_job_new(vm, SNAPSHOT_RENAME, snapshot_id);
	job->name = g_strdup(name);
	job->description = g_strdup(description);
	snapshot_job_run(vm, job, hangar_snapshot_rename_async, cancellable, callback, user_data);
}

gboolean hangar_snapshot_rename_finish(HangarVm *vm, GAsyncResult *result, GError **error)
{
	g_return_val_if_fail(g_task_is_valid(result, vm), FALSE);
	return g_task_propagate_boolean(G_TASK(result), error);
}

/* ---- revert ---- */

/* The thread's part is done: the VM takes the configuration it had then,
 * and a live snapshot's machine continues. */
static void revert_thread_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(GTask) task = user_data; /* the caller's */
	HangarVm *vm = HANGAR_VM(source);
	SnapshotJob *job = g_task_get_task_data(task);
	GError *error = NULL;

	if (!g_task_propagate_boolean(G_TASK(result), &error)) {
		g_task_return_error(task, error);
		return;
	}
	hangar_vm_update_entry(vm, job->entry);
	if (job->live)
		hangar_vm_start_restore(vm, job->restore_dir);
	g_task_return_boolean(task, TRUE);
}

static void revert_in_thread(GTask *task)
{
	SnapshotJob *job = g_task_get_task_data(task);
	g_autoptr(GTask) thread_task = NULL;

	/* The entry as it is now, after the VM stopped. */
	hg_vm_entry_free(job->entry);
	job->entry = hg_vm_entry_copy(hangar_vm_get_entry(job->vm));
	thread_task = g_task_new(job->vm, g_task_get_cancellable(task), revert_thread_done,
				 g_object_ref(task));
	g_task_set_task_data(thread_task, job, NULL); /* owned by task, which outlives it */
	g_task_run_in_thread(thread_task, snapshot_job_thread);
}

/* Called whenever the VM's state or busy flag changes while it is being
 * turned off: stopped and idle is the go-ahead; idle but still running
 * means the force-off failed (HangarVm has emitted "error" for it). */
static gboolean revert_check_stopped(GTask *task)
{
	SnapshotJob *job = g_task_get_task_data(task);
	HangarVm *vm = job->vm;

	if (hangar_vm_get_busy(vm))
		return FALSE;
	snapshot_job_stop_waiting(job);
	if (hangar_vm_is_active(vm))
		g_task_return_new_error(task, HG_VM_ERROR, HG_VM_ERROR_RUNNING, "%s",
					_("The virtual machine could not be turned off."));
	else
		revert_in_thread(task);
	g_object_unref(task); /* the reference the waiting held */
	return TRUE;
}

static void revert_on_vm_notify(GObject *vm, GParamSpec *pspec, gpointer user_data)
{
	revert_check_stopped(user_data);
}

static gboolean revert_on_timeout(gpointer user_data)
{
	GTask *task = user_data;
	SnapshotJob *job = g_task_get_task_data(task);

	job->timeout_id = 0;
	snapshot_job_stop_waiting(job);
	g_task_return_new_error(task, HG_VM_ERROR, HG_VM_ERROR_RUNNING,
				_("The virtual machine did not stop within %u seconds."),
				FORCE_OFF_TIMEOUT_SECONDS);
	g_object_unref(task);
	return G_SOURCE_REMOVE;
}

void hangar_snapshot_revert_async(HangarVm *vm, const char *snapshot_id, GCancellable *cancellable,
				  GAsyncReadyCallback callback, gpointer user_data)
{
	g_autoptr(GTask) task = NULL;
	SnapshotJob *job;

	g_return_if_fail(HANGAR_IS_VM(vm) && snapshot_id);
	task = g_task_new(vm, cancellable, callback, user_data);
	g_task_set_source_tag(task, hangar_snapshot_revert_async);
	job = snapshot_job_new(vm, SNAPSHOT_REVERT, snapshot_id);
	g_task_set_task_data(task, job, (GDestroyNotify)snapshot_job_free);

	if (!hangar_vm_is_active(vm)) {
		if (hangar_vm_get_busy(vm)) {
			g_task_return_new_error(task, HG_VM_ERROR, HG_VM_ERROR_RUNNING, "%s",
						_("The virtual machine is starting; try again "
						  "once it runs or has stopped."));
			return;
		}
		revert_in_thread(task);
		return;
	}
	/* Like hangarctl's snapshot-revert --force: the engine ends first.
	 * The waiting holds a reference to the task until it is over. */
	job->state_handler =
		g_signal_connect(vm, "notify::state", G_CALLBACK(revert_on_vm_notify), task);
	job->busy_handler =
		g_signal_connect(vm, "notify::busy", G_CALLBACK(revert_on_vm_notify), task);
	job->timeout_id = g_timeout_add_seconds(FORCE_OFF_TIMEOUT_SECONDS, revert_on_timeout, task);
	g_object_ref(task);
	hangar_vm_force_off(vm);
	/* Not even sent (no connection): HangarVm did not become busy. */
	revert_check_stopped(task);
}

gboolean hangar_snapshot_revert_finish(HangarVm *vm, GAsyncResult *result, gboolean *live,
				       GError **error)
{
	SnapshotJob *job;

	g_return_val_if_fail(g_task_is_valid(result, vm), FALSE);
	job = g_task_get_task_data(G_TASK(result));
	if (live)
		*live = job->live;
	return g_task_propagate_boolean(G_TASK(result), error);
}

/* ---- convert ---- */

static void convert_thread_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(GTask) task = user_data; /* the caller's */
	SnapshotJob *job = g_task_get_task_data(task);
	GError *error = NULL;

	if (!g_task_propagate_boolean(G_TASK(result), &error)) {
		g_task_return_error(task, error);
		return;
	}
	/* vm.json names the new disks now. */
	hangar_vm_update_entry(HANGAR_VM(source), job->entry);
	g_task_return_int(task, job->converted);
}

void hangar_snapshot_convert_async(HangarVm *vm, HangarSnapshotProgressFunc progress,
				   gpointer progress_object, GCancellable *cancellable,
				   GAsyncReadyCallback callback, gpointer user_data)
{
	g_autoptr(GTask) task = NULL;
	g_autoptr(GTask) thread_task = NULL;
	SnapshotJob *job;

	g_return_if_fail(HANGAR_IS_VM(vm));
	g_return_if_fail(!progress || G_IS_OBJECT(progress_object));
	task = g_task_new(vm, cancellable, callback, user_data);
	g_task_set_source_tag(task, hangar_snapshot_convert_async);
	job = snapshot_job_new(vm, SNAPSHOT_CONVERT, NULL);
	job->progress = progress;
	job->progress_object = progress_object ? g_object_ref(progress_object) : NULL;
	g_task_set_task_data(task, job, (GDestroyNotify)snapshot_job_free);
	thread_task = g_task_new(vm, cancellable, convert_thread_done, g_object_ref(task));
	g_task_set_task_data(thread_task, job, NULL); /* owned by task, which outlives it */
	g_task_run_in_thread(thread_task, snapshot_job_thread);
}

int hangar_snapshot_convert_finish(HangarVm *vm, GAsyncResult *result, GError **error)
{
	g_return_val_if_fail(g_task_is_valid(result, vm), -1);
	return (int)g_task_propagate_int(G_TASK(result), error);
}

/* ---- clone ---- */

void hangar_snapshot_clone_async(HangarVm *vm, const char *snapshot_id, const char *new_name,
				 gboolean linked, HangarSnapshotProgressFunc progress,
				 gpointer progress_object, GCancellable *cancellable,
				 GAsyncReadyCallback callback, gpointer user_data)
{
	SnapshotJob *job;

	g_return_if_fail(HANGAR_IS_VM(vm) && snapshot_id && new_name);
	g_return_if_fail(!progress || G_IS_OBJECT(progress_object));
	job = snapshot_job_new(vm, SNAPSHOT_CLONE, snapshot_id);
	job->name = g_strdup(new_name);
	job->linked = linked;
	job->progress = progress;
	job->progress_object = progress_object ? g_object_ref(progress_object) : NULL;
	snapshot_job_run(vm, job, hangar_snapshot_clone_async, cancellable, callback, user_data);
}

char *hangar_snapshot_clone_finish(HangarVm *vm, GAsyncResult *result, GError **error)
{
	g_return_val_if_fail(g_task_is_valid(result, vm), NULL);
	return g_task_propagate_pointer(G_TASK(result), error);
}
