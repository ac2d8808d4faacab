/* HangarImport (hangar-import.h).
 *
 * Each step that touches the file is one GTask whose data (ImportWork) is
 * filled on the main thread, owned by the task, and read back when it
 * completes.  Progress goes from the copying thread to the main thread as
 * idle callbacks holding a reference to the import. */
#include "ui/import/hangar-import.h"

#include <string.h>

/* Progress reports a second, at most. */
#define IMPORT_REPORTS_PER_SECOND 8
/* The rate is measured over this much of the recent past... */
#define IMPORT_RATE_WINDOW_US (5 * G_USEC_PER_SEC)
/* ...once at least this much has been seen. */
#define IMPORT_RATE_MINIMUM_US G_USEC_PER_SEC

typedef struct {
	gint64 time;
	guint64 done;
} ImportSample;

struct _HangarImport {
	GObject parent_instance;

	GFile *file;
	char *path;
	char *display_name;
	char *library_root;
	HangarImportState state;
	char *format;
	HgImportMode mode;
	GCancellable *cancellable;

	guint64 done, total;
	GArray *samples; /* of ImportSample, oldest first, within the rate window */

	char *error;
	char *vm_id;
	char *notes; /* what the import could not carry over, or NULL */
};

G_DEFINE_TYPE(HangarImport, hangar_import, G_TYPE_OBJECT)

enum { SIGNAL_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void import_set_state(HangarImport *import, HangarImportState state)
{
	import->state = state;
	g_signal_emit(import, signals[SIGNAL_CHANGED], 0);
}

static void import_fail(HangarImport *import, const GError *error)
{
	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
		import_set_state(import, HANGAR_IMPORT_CANCELLED);
		return;
	}
	g_free(import->error);
	import->error = g_strdup(error->message);
	import_set_state(import, HANGAR_IMPORT_FAILED);
}

/* ---- the threads ---- */

typedef struct {
	gboolean check_only;
	char *path, *library_root;
	HgImportMode mode;
	HangarImport *import; /* the task's source object, which keeps it */
	gint64 last_report; /* the thread's */

	/* filled in by the thread */
	HgImportKind kind;
	char *format;
	char *vm_id;
	GPtrArray *notes; /* what the library could not carry over */
} ImportWork;

static void import_work_free(ImportWork *work)
{
	g_free(work->path);
	g_free(work->library_root);
	g_free(work->format);
	g_free(work->vm_id);
	if (work->notes)
		g_ptr_array_unref(work->notes);
	g_free(work);
}

typedef struct {
	HangarImport *import; /* a reference */
	guint64 done, total;
} ImportReport;

static void import_add_sample(HangarImport *import, guint64 done)
{
	ImportSample sample = {g_get_monotonic_time(), done};

	g_array_append_val(import->samples, sample);
	/* Keep one sample at or before the window's start, so the window is
	 * always spanned. */
	while (import->samples->len > 2 && g_array_index(import->samples, ImportSample, 1).time <=
						   sample.time - IMPORT_RATE_WINDOW_US)
		g_array_remove_index(import->samples, 0);
}

static gboolean import_report_idle(gpointer data)
{
	ImportReport *report = data;
	HangarImport *import = report->import;

	/* The task may have completed before this report came through. */
	if (import->state == HANGAR_IMPORT_WORKING) {
		import->done = report->done;
		import->total = report->total;
		import_add_sample(import, report->done);
		g_signal_emit(import, signals[SIGNAL_CHANGED], 0);
	}
	g_object_unref(report->import);
	g_free(report);
	return G_SOURCE_REMOVE;
}

/* The copying thread: a few reports a second, and the last one. */
static void import_on_progress(guint64 done, guint64 total, gpointer data)
{
	ImportWork *work = data;
	gint64 now = g_get_monotonic_time();
	ImportReport *report;

	if (now - work->last_report < G_USEC_PER_SEC / IMPORT_REPORTS_PER_SECOND && done < total)
		return;
	work->last_report = now;
	report = g_new0(ImportReport, 1);
	report->import = g_object_ref(work->import);
	report->done = done;
	report->total = total;
	g_idle_add(import_report_idle, report);
}

static void import_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
	ImportWork *work = data;
	g_autoptr(HgVmLibrary) library = NULL;
	g_autoptr(HgVmEntry) entry = NULL;
	HgImportOptions options = {0};
	GError *error = NULL;

	if (work->check_only) {
		if (hg_import_identify(work->path, &work->kind, &work->format, &error))
			g_task_return_boolean(task, TRUE);
		else
			g_task_return_error(task, error);
		return;
	}
	library = hg_vm_library_open(work->library_root, &error);
	if (!library) {
		g_task_return_error(task, error);
		return;
	}
	/* Named as the library names it (after the file, or the appliance's
	 * own name), with a number added when that is taken. */
	options.unique_name = true;
	options.mode = work->mode;
	work->notes = g_ptr_array_new_with_free_func(g_free);
	options.notes = work->notes;
	entry = hg_import_disk_image(library, work->path, &options, cancellable, import_on_progress,
				     work, &error);
	if (!entry) {
		g_task_return_error(task, error);
		return;
	}
	work->vm_id = g_strdup(entry->id);
	g_task_return_boolean(task, TRUE);
}

static void import_run(HangarImport *import, ImportWork *work, GAsyncReadyCallback done)
{
	g_autoptr(GTask) task = g_task_new(import, import->cancellable, done, NULL);

	work->path = g_strdup(import->path);
	work->library_root = g_strdup(import->library_root);
	work->import = import;
	/* A cancel that comes after the VM was published does not undo it:
	 * report what happened.  (Checking has nothing to undo.) */
	g_task_set_check_cancellable(task, work->check_only);
	g_task_set_task_data(task, work, (GDestroyNotify)import_work_free);
	g_task_run_in_thread(task, import_thread);
}

/* ---- the steps ---- */

static void import_made(GObject *source, GAsyncResult *result, gpointer user_data)
{
	HangarImport *import = HANGAR_IMPORT(source);
	ImportWork *work = g_task_get_task_data(G_TASK(result));
	g_autoptr(GError) error = NULL;

	if (!g_task_propagate_boolean(G_TASK(result), &error)) {
		import_fail(import, error);
		return;
	}
	import->vm_id = g_strdup(work->vm_id);
	/* One text for the row: the library's sentences, in English. */
	if (work->notes && work->notes->len) {
		g_ptr_array_add(work->notes, NULL);
		import->notes = g_strjoinv(" ", (char **)work->notes->pdata);
		g_ptr_array_remove_index(work->notes, work->notes->len - 1);
	}
	import_set_state(import, HANGAR_IMPORT_DONE);
}

void hangar_import_start(HangarImport *import, HgImportMode mode)
{
	ImportWork *work = g_new0(ImportWork, 1);

	g_return_if_fail(import->state == HANGAR_IMPORT_ASKING ||
			 import->state == HANGAR_IMPORT_CHECKING);
	import->mode = mode;
	work->mode = mode;
	import_set_state(import, HANGAR_IMPORT_WORKING);
	import_run(import, work, import_made);
}

static void import_checked(GObject *source, GAsyncResult *result, gpointer user_data)
{
	HangarImport *import = HANGAR_IMPORT(source);
	ImportWork *work = g_task_get_task_data(G_TASK(result));
	g_autoptr(GError) error = NULL;

	if (!g_task_propagate_boolean(G_TASK(result), &error)) {
		import_fail(import, error);
		return;
	}
	import->format = g_strdup(work->format);
	if (work->kind == HG_IMPORT_KIND_DISK &&
	    (g_str_equal(work->format, "raw") || g_str_equal(work->format, "qcow2")))
		import_set_state(import, HANGAR_IMPORT_ASKING);
	else
		hangar_import_start(import, HG_IMPORT_COPY);
}

void hangar_import_cancel(HangarImport *import)
{
	g_cancellable_cancel(import->cancellable);
	/* Nothing runs while the user is asked; a running thread ends with
	 * G_IO_ERROR_CANCELLED once the library has cleaned up. */
	if (import->state == HANGAR_IMPORT_ASKING)
		import_set_state(import, HANGAR_IMPORT_CANCELLED);
}

HangarImport *hangar_import_new(const char *library_root, GFile *file)
{
	HangarImport *import = g_object_new(HANGAR_TYPE_IMPORT, NULL);
	ImportWork *work = g_new0(ImportWork, 1);

	import->file = g_object_ref(file);
	import->path = g_file_get_path(file);
	import->display_name = g_filename_display_basename(import->path);
	import->library_root = g_strdup(library_root);
	work->check_only = TRUE;
	import_run(import, work, import_checked);
	return import;
}

/* ---- reading it ---- */

GFile *hangar_import_get_file(HangarImport *import)
{
	return import->file;
}

const char *hangar_import_get_display_name(HangarImport *import)
{
	return import->display_name;
}

HangarImportState hangar_import_get_state(HangarImport *import)
{
	return import->state;
}

const char *hangar_import_get_format(HangarImport *import)
{
	return import->format;
}

HgImportMode hangar_import_get_mode(HangarImport *import)
{
	return import->mode;
}

void hangar_import_get_progress(HangarImport *import, guint64 *done, guint64 *total)
{
	*done = import->done;
	*total = import->total;
}

double hangar_import_get_rate(HangarImport *import)
{
	ImportSample *first, *last;

	if (import->samples->len < 2)
		return 0;
	first = &g_array_index(import->samples, ImportSample, 0);
	last = &g_array_index(import->samples, ImportSample, import->samples->len - 1);
	if (last->time - first->time < IMPORT_RATE_MINIMUM_US || last->done <= first->done)
		return 0;
	return (double)(last->done - first->done) * G_USEC_PER_SEC /
	       (double)(last->time - first->time);
}

const char *hangar_import_get_error(HangarImport *import)
{
	return import->error;
}

const char *hangar_import_get_vm_id(HangarImport *import)
{
	return import->vm_id;
}

const char *hangar_import_get_notes(HangarImport *import)
{
	return import->notes;
}

/* ---- GObject ---- */

static void hangar_import_dispose(GObject *object)
{
	HangarImport *import = HANGAR_IMPORT(object);

	/* Only reached when no task holds it: nothing runs any more. */
	g_clear_object(&import->file);
	g_clear_object(&import->cancellable);
	G_OBJECT_CLASS(hangar_import_parent_class)->dispose(object);
}

static void hangar_import_finalize(GObject *object)
{
	HangarImport *import = HANGAR_IMPORT(object);

	g_free(import->path);
	g_free(import->display_name);
	g_free(import->library_root);
	g_free(import->format);
	g_array_unref(import->samples);
	g_free(import->error);
	g_free(import->vm_id);
	g_free(import->notes);
	G_OBJECT_CLASS(hangar_import_parent_class)->finalize(object);
}

static void hangar_import_class_init(HangarImportClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);

	object_class->dispose = hangar_import_dispose;
	object_class->finalize = hangar_import_finalize;
	signals[SIGNAL_CHANGED] =
		g_signal_new("changed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
			     NULL, G_TYPE_NONE, 0);
}

static void hangar_import_init(HangarImport *import)
{
	import->cancellable = g_cancellable_new();
	import->samples = g_array_new(FALSE, FALSE, sizeof(ImportSample));
}
