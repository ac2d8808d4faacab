/* The create wizard: page "source" (ISO, existing image or blank), page
 * "settings" (name, memory, CPUs, disk size, firmware, display) and, while an
 * existing image is copied into the VM's folder, page "copy".
 *
 * Everything that reads a file the user chose (OS detection on an ISO, the
 * format check of an image, the copy of an image) runs in a GTask thread;
 * the wizard's cancellable stops it when the user chooses again or the
 * wizard goes away.  The library itself is only touched on the main thread
 * (HgVmLibrary is not thread-safe).
 *
 * The wizard handles its own responses: Next/Back move between pages,
 * Create makes the VM, emits "created" and destroys the wizard, Cancel (or
 * closing the window) destroys it.  Whoever opens it only shows it and
 * listens to "created". */
#include "ui/wizard/hangar-wizard.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "library/block/block.h"
#include "library/os/os_detect.h"
#include "ui/hangar-recent-isos.h"
#include "ui/wizard/hangar-image-format.h"
#include "ui/wizard/hangar-machine-fields.h"
#include "ui/wizard/hangar-memory-spin.h"

/* The disk a new VM gets or an image is copied to: qcow2, so that the VM
 * can take snapshots. */
#define WIZARD_DISK_NAME "disk.qcow2"
#define SETTINGS_SCHEMA "org.hangar.Hangar"

/* Defaults for blank VMs and existing images (media libosinfo does not
 * know gets hg_os_defaults(), the same numbers). */
#define DEFAULT_MEMORY_MIB HG_OS_DEFAULT_MEMORY_MIB
#define DEFAULT_CPUS HG_OS_DEFAULT_CPUS
#define DEFAULT_DISK_GIB HG_OS_DEFAULT_DISK_GIB

enum {
	RESPONSE_BACK = 1,
	RESPONSE_NEXT = 2,
};

typedef enum {
	SOURCE_ISO,
	SOURCE_IMAGE,
	SOURCE_BLANK,
} SourceKind;

/* What the inspection thread found out about the chosen file. */
typedef struct {
	char *path;
	gboolean is_iso;
	guint64 size; /* bytes */
	gboolean writable; /* raw or qcow2: can be used in place */
	/* The image's format ("raw", "qcow2", ...; static): recorded when it
	 * is used in place. */
	const char *format;
	/* ISO: what libosinfo recognised (NULL when unknown) and suggests. */
	HgOsGuess *guess;
} Inspection;

static void inspection_free(Inspection *in)
{
	g_free(in->path);
	g_clear_pointer(&in->guess, hg_os_guess_free);
	g_free(in);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Inspection, inspection_free)

struct _HangarWizard {
	GtkDialog parent_instance;

	HgVmLibrary *library; /* not owned: the app's */
	GSettings *settings; /* NULL when the schema is not installed */
	/* The chosen ISO and the chosen image, once inspected, and the jobs
	 * inspecting them (a cancellable is replaced when cancelled). */
	Inspection *iso, *image;
	GCancellable *iso_cancellable, *image_cancellable;
	gboolean iso_inspecting, image_inspecting;
	/* Copying an image into the VM's folder. */
	GCancellable *copy_cancellable;
	gboolean copying;
	char *staging_dir; /* a copied image's hidden folder, between copy and create */
	char *filled_for; /* the source page 2 was filled for */

	GtkWidget *back_button, *next_button, *create_button, *cancel_button;

	GtkStack *stack;
	GtkInfoBar *source_error_bar, *settings_error_bar;
	GtkLabel *source_error_label, *settings_error_label;
	GtkToggleButton *iso_radio, *image_radio, *blank_radio;
	GtkWidget *iso_box, *image_box;
	GtkFileChooser *iso_chooser, *image_chooser;
	GtkWidget *detect_box;
	GtkSpinner *detect_spinner;
	GtkLabel *detect_label;
	GtkWidget *recent_label, *recent_scroll;
	GtkListBox *recent_list;
	GtkToggleButton *image_in_place_radio, *image_copy_radio;
	GtkImage *os_icon;
	GtkLabel *os_label, *source_label;
	GtkEntry *name_entry;
	GtkSpinButton *memory_spin, *cpus_spin, *disk_spin;
	GtkLabel *memory_hint, *cpus_hint, *disk_hint, *firmware_hint;
	GtkWidget *disk_label;
	GtkComboBoxText *firmware_combo, *display_combo;
	GtkProgressBar *copy_progress;
};

G_DEFINE_TYPE(HangarWizard, hangar_wizard, GTK_TYPE_DIALOG)

enum { SIGNAL_CREATED, N_SIGNALS };
static guint signals[N_SIGNALS];

/* ---- small helpers ---- */

static SourceKind wizard_source(HangarWizard *self)
{
	if (gtk_toggle_button_get_active(self->image_radio))
		return SOURCE_IMAGE;
	if (gtk_toggle_button_get_active(self->blank_radio))
		return SOURCE_BLANK;
	return SOURCE_ISO;
}

static void show_error(GtkInfoBar *bar, GtkLabel *label, const char *message)
{
	gtk_label_set_text(label, message);
	gtk_widget_set_no_show_all(GTK_WIDGET(bar), FALSE);
	gtk_widget_show_all(GTK_WIDGET(bar));
	gtk_info_bar_set_revealed(bar, TRUE);
}

static void hide_error(GtkInfoBar *bar)
{
	gtk_widget_hide(GTK_WIDGET(bar));
}

static void on_error_bar_response(GtkInfoBar *bar, int response, gpointer user_data)
{
	if (response == GTK_RESPONSE_CLOSE)
		hide_error(bar);
}

static void show_source_error(HangarWizard *self, const char *message)
{
	show_error(self->source_error_bar, self->source_error_label, message);
}

static void show_settings_error(HangarWizard *self, const char *message)
{
	show_error(self->settings_error_bar, self->settings_error_label, message);
}

static unsigned host_cpus(void)
{
	return CLAMP(g_get_num_processors(), 1u, HG_VM_CPUS_MAX);
}

/* A fresh cancellable for the next job, the old one cancelled. */
static void restart_cancellable(GCancellable **cancellable)
{
	g_cancellable_cancel(*cancellable);
	g_clear_object(cancellable);
	*cancellable = g_cancellable_new();
}

/* The inspected ISO or image the chosen source uses (NULL for blank, or
 * while nothing usable is chosen). */
static const Inspection *source_inspection(HangarWizard *self)
{
	switch (wizard_source(self)) {
	case SOURCE_ISO:
		return self->iso_inspecting ? NULL : self->iso;
	case SOURCE_IMAGE:
		return self->image_inspecting ? NULL : self->image;
	default:
		return NULL;
	}
}

static char *entry_name(HangarWizard *self)
{
	return g_strstrip(g_strdup(gtk_entry_get_text(self->name_entry)));
}

/* "Debian 12", "Debian 12 (2)", ... : the first name no VM in the library
 * has (case-insensitive, like the library's own lookup). */
static char *unique_name(HgVmLibrary *library, const char *base)
{
	g_autoptr(GPtrArray) entries = hg_vm_library_list(library);
	g_autoptr(GHashTable) taken = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

	for (guint i = 0; i < entries->len; i++) {
		const HgVmEntry *entry = entries->pdata[i];
		if (entry->config && entry->config->name)
			g_hash_table_add(taken, g_utf8_casefold(entry->config->name, -1));
		g_hash_table_add(taken, g_utf8_casefold(entry->id, -1));
	}
	for (unsigned n = 1;; n++) {
		g_autofree char *name =
			n == 1 ? g_strdup(base) : g_strdup_printf("%s (%u)", base, n);
		g_autofree char *folded = g_utf8_casefold(name, -1);
		if (!g_hash_table_contains(taken, folded))
			return g_steal_pointer(&name);
	}
}

/* ---- buttons ---- */

static void update_buttons(HangarWizard *self)
{
	const char *page = gtk_stack_get_visible_child_name(self->stack);
	gboolean on_source = g_strcmp0(page, "source") == 0;
	gboolean on_settings = g_strcmp0(page, "settings") == 0;
	gboolean source_ready = wizard_source(self) == SOURCE_BLANK || source_inspection(self);
	g_autofree char *name = entry_name(self);

	if (!self->next_button) /* still in init: constructed adds the buttons */
		return;

	gtk_widget_set_visible(self->back_button, on_settings);
	gtk_widget_set_visible(self->next_button, on_source);
	gtk_widget_set_sensitive(self->next_button, source_ready);
	gtk_widget_set_visible(self->create_button, on_settings);
	gtk_widget_set_sensitive(self->create_button, on_settings && *name);
	if (on_source && source_ready)
		gtk_widget_grab_default(self->next_button);
	else if (on_settings)
		gtk_widget_grab_default(self->create_button);
}

static void on_page_changed(HangarWizard *self)
{
	update_buttons(self);
}

static void on_name_changed(HangarWizard *self)
{
	hide_error(self->settings_error_bar);
	update_buttons(self);
}

static void on_source_toggled(HangarWizard *self, GtkToggleButton *button)
{
	SourceKind kind = wizard_source(self);

	gtk_widget_set_sensitive(self->iso_box, kind == SOURCE_ISO);
	gtk_widget_set_sensitive(self->image_box, kind == SOURCE_IMAGE);
	hide_error(self->source_error_bar);
	update_buttons(self);
}

/* ---- recent ISOs ---- */

static void populate_recent_isos(HangarWizard *self)
{
	g_auto(GStrv) paths = NULL;
	GList *children = gtk_container_get_children(GTK_CONTAINER(self->recent_list));
	unsigned shown = 0;

	for (GList *l = children; l; l = l->next)
		gtk_widget_destroy(l->data);
	g_list_free(children);

	if (self->settings)
		paths = g_settings_get_strv(self->settings, "recent-isos");
	for (char **p = paths; p && *p; p++) {
		/* One that is gone (deleted, on an unplugged drive) is not offered. */
		if (!g_file_test(*p, G_FILE_TEST_IS_REGULAR))
			continue;
		g_autofree char *base = g_path_get_basename(*p);
		g_autofree char *dir = g_path_get_dirname(*p);
		GtkWidget *row = gtk_list_box_row_new();
		GtkWidget *box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 10);
		GtkWidget *icon = gtk_image_new_from_icon_name("media-optical-symbolic",
							       GTK_ICON_SIZE_BUTTON);
		GtkWidget *name = gtk_label_new(base);
		GtkWidget *where = gtk_label_new(dir);

		gtk_widget_set_margin_start(box, 8);
		gtk_widget_set_margin_end(box, 8);
		gtk_widget_set_margin_top(box, 6);
		gtk_widget_set_margin_bottom(box, 6);
		gtk_label_set_xalign(GTK_LABEL(name), 0);
		gtk_label_set_ellipsize(GTK_LABEL(name), PANGO_ELLIPSIZE_MIDDLE);
		gtk_label_set_xalign(GTK_LABEL(where), 1);
		gtk_label_set_ellipsize(GTK_LABEL(where), PANGO_ELLIPSIZE_START);
		gtk_widget_set_hexpand(where, TRUE);
		gtk_style_context_add_class(gtk_widget_get_style_context(where), "dim-label");
		gtk_container_add(GTK_CONTAINER(box), icon);
		gtk_container_add(GTK_CONTAINER(box), name);
		gtk_container_add(GTK_CONTAINER(box), where);
		gtk_container_add(GTK_CONTAINER(row), box);
		gtk_widget_set_tooltip_text(row, *p);
		g_object_set_data_full(G_OBJECT(row), "path", g_strdup(*p), g_free);
		gtk_widget_show_all(row);
		gtk_list_box_insert(self->recent_list, row, -1);
		shown++;
	}
	gtk_widget_set_visible(self->recent_label, shown > 0);
	gtk_widget_set_visible(self->recent_scroll, shown > 0);
}


/* ---- inspecting the chosen file (a thread) ---- */

static void inspect_thread(GTask *task, gpointer source_object, gpointer task_data,
			   GCancellable *cancellable)
{
	const Inspection *want = task_data;
	g_autoptr(Inspection) in = g_new0(Inspection, 1);
	g_autoptr(GError) error = NULL;
	g_autofree char *base = g_path_get_basename(want->path);

	in->path = g_strdup(want->path);
	in->is_iso = want->is_iso;
	if (!want->is_iso) {
		if (!hangar_image_check_usable(want->path, &in->size, &in->writable, &in->format,
					       &error)) {
			g_task_return_error(task, g_steal_pointer(&error));
			return;
		}
		g_task_return_pointer(task, g_steal_pointer(&in), (GDestroyNotify)inspection_free);
		return;
	}

	/* Reads the volume descriptor and looks it up in the osinfo database:
	 * can take a while on a slow drive, which is why this is a thread. */
	in->guess = hg_os_detect_media(want->path, cancellable, &error);
	if (!in->guess && g_error_matches(error, HG_OS_ERROR, HG_OS_ERROR_DATABASE)) {
		/* Detection is a help, not a must: defaults then. */
		g_message("OS detection is not available: %s", error->message);
		in->guess = hg_os_defaults();
	} else if (!in->guess) {
		if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
			g_task_return_error(task, g_steal_pointer(&error));
		else
			g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_FAILED,
						_("“%s” cannot be read: %s"), base, error->message);
		return;
	}
	if (!in->guess->is_iso) {
		g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
					_("“%s” is not a CD or DVD image (ISO 9660). Choose an "
					  "installation image, or use the file as an existing disk "
					  "image."),
					base);
		return;
	}
	g_task_return_pointer(task, g_steal_pointer(&in), (GDestroyNotify)inspection_free);
}

/* "Debian 12", "Unknown operating system — defaults are used", with a
 * warning for media that is not for x86_64 PCs. */
static char *describe_guess(const HgOsGuess *guess)
{
	const char *name = guess->known && guess->name
				   ? guess->name
				   : _("Unknown operating system — defaults are used");

	if (guess->architecture && strcmp(guess->architecture, "x86_64") != 0 &&
	    strcmp(guess->architecture, "i686") != 0 && strcmp(guess->architecture, "i386") != 0)
		return g_strdup_printf(_("%s (for %s: this computer runs only x86 guests)"), name,
				       guess->architecture);
	return g_strdup(name);
}

/* Fills page 2 from what is known about the source. */
static void fill_settings(HangarWizard *self)
{
	const Inspection *in = source_inspection(self);
	SourceKind kind = wizard_source(self);
	g_autofree char *source_key = g_strdup_printf("%d:%s", kind, in ? in->path : "");
	unsigned memory = DEFAULT_MEMORY_MIB, cpus = DEFAULT_CPUS, disk_gib = DEFAULT_DISK_GIB;
	HgFirmware firmware = HG_FIRMWARE_BIOS;
	gboolean known = FALSE;
	g_autofree char *name = NULL;
	g_autofree char *memory_text = NULL;

	/* Back and Next again keeps what the user changed. */
	if (g_strcmp0(source_key, self->filled_for) == 0)
		return;
	g_free(self->filled_for);
	self->filled_for = g_steal_pointer(&source_key);

	if (kind == SOURCE_ISO && in) {
		g_autofree char *base = g_path_get_basename(in->path);
		g_autofree char *description = describe_guess(in->guess);
		known = in->guess->known;
		memory = in->guess->memory_mib ? in->guess->memory_mib : DEFAULT_MEMORY_MIB;
		cpus = in->guess->cpus ? in->guess->cpus : DEFAULT_CPUS;
		disk_gib = in->guess->disk_gib ? in->guess->disk_gib : DEFAULT_DISK_GIB;
		firmware = in->guess->firmware;
		gtk_image_set_from_icon_name(self->os_icon, "media-optical-symbolic",
					     GTK_ICON_SIZE_DIALOG);
		gtk_label_set_text(self->os_label, description);
		gtk_label_set_text(self->source_label, base);
		name = unique_name(self->library,
				   known && in->guess->name ? in->guess->name : _("New VM"));
	} else if (kind == SOURCE_IMAGE && in) {
		g_autofree char *base = g_path_get_basename(in->path);
		g_autofree char *size = g_format_size_full(in->size, G_FORMAT_SIZE_IEC_UNITS);
		g_autofree char *description = g_strdup_printf(_("%s, %s"), base, size);
		char *dot;
		gtk_image_set_from_icon_name(self->os_icon, "drive-harddisk-symbolic",
					     GTK_ICON_SIZE_DIALOG);
		gtk_label_set_text(self->os_label, _("Existing disk image"));
		gtk_label_set_text(self->source_label, description);
		dot = strrchr(base, '.');
		if (dot && dot != base)
			*dot = '\0';
		name = unique_name(self->library, base);
	} else {
		gtk_image_set_from_icon_name(self->os_icon, "computer-symbolic",
					     GTK_ICON_SIZE_DIALOG);
		gtk_label_set_text(self->os_label, _("Blank virtual machine"));
		gtk_label_set_text(self->source_label,
				   _("An empty disk and an empty CD-ROM drive"));
		name = unique_name(self->library, _("New VM"));
	}
	gtk_image_set_pixel_size(self->os_icon, 48);

	gtk_entry_set_text(self->name_entry, name);
	gtk_spin_button_set_value(self->memory_spin, memory);
	memory_text = hangar_memory_format(memory);
	if (known) {
		g_autofree char *hint = g_strdup_printf(_("Recommended: %s"), memory_text);
		gtk_label_set_text(self->memory_hint, hint);
	} else {
		gtk_label_set_text(self->memory_hint, "");
	}
	gtk_spin_button_set_value(self->cpus_spin, MIN(cpus, host_cpus()));
	gtk_spin_button_set_value(self->disk_spin, disk_gib);
	gtk_combo_box_set_active_id(GTK_COMBO_BOX(self->firmware_combo),
				    hg_firmware_to_string(firmware));
	if (known)
		gtk_label_set_text(self->firmware_hint, firmware == HG_FIRMWARE_UEFI
								? _("Recommended: UEFI")
								: _("Recommended: BIOS"));
	else
		gtk_label_set_text(self->firmware_hint, _("BIOS suits most installers"));
	gtk_widget_set_visible(self->disk_label, kind != SOURCE_IMAGE);
	gtk_widget_set_visible(GTK_WIDGET(self->disk_spin), kind != SOURCE_IMAGE);
	gtk_widget_set_visible(GTK_WIDGET(self->disk_hint), kind != SOURCE_IMAGE);
}

static void inspect_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(GError) error = NULL;
	gboolean is_iso = GPOINTER_TO_INT(user_data);
	g_autoptr(Inspection) in = g_task_propagate_pointer(G_TASK(result), &error);
	HangarWizard *self;

	/* A cancelled job (the task checks its cancellable, so a job that
	 * finished anyway reads as cancelled too): the wizard is gone or
	 * another file was chosen. */
	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return;
	self = HANGAR_WIZARD(source);
	if (is_iso) {
		self->iso_inspecting = FALSE;
		gtk_spinner_stop(self->detect_spinner);
		gtk_widget_hide(self->detect_box);
	} else {
		self->image_inspecting = FALSE;
	}
	if (!in) {
		show_source_error(self, error->message);
		update_buttons(self);
		return;
	}
	if (is_iso) {
		g_autofree char *what = describe_guess(in->guess);
		gtk_label_set_text(self->detect_label, what);
		gtk_widget_show(self->detect_box);
		gtk_widget_hide(GTK_WIDGET(self->detect_spinner));
		g_clear_pointer(&self->iso, inspection_free);
		self->iso = g_steal_pointer(&in);
	} else {
		/* VMDK, VDI, VHD: read-only here, so the VM gets a copy. */
		gtk_widget_set_sensitive(GTK_WIDGET(self->image_in_place_radio), in->writable);
		gtk_widget_set_tooltip_text(GTK_WIDGET(self->image_in_place_radio),
					    in->writable ? NULL
							 : _("This format is copied to qcow2: only "
							     "raw and qcow2 images can be used where "
							     "they are"));
		if (!in->writable)
			gtk_toggle_button_set_active(self->image_copy_radio, TRUE);
		g_clear_pointer(&self->image, inspection_free);
		self->image = g_steal_pointer(&in);
	}
	update_buttons(self);
}

static void inspect_file(HangarWizard *self, const char *path, gboolean is_iso)
{
	g_autoptr(GTask) task = NULL;
	Inspection *want = g_new0(Inspection, 1);
	GCancellable **cancellable = is_iso ? &self->iso_cancellable : &self->image_cancellable;

	restart_cancellable(cancellable);
	if (is_iso) {
		g_clear_pointer(&self->iso, inspection_free);
		self->iso_inspecting = TRUE;
	} else {
		g_clear_pointer(&self->image, inspection_free);
		self->image_inspecting = TRUE;
	}
	hide_error(self->source_error_bar);
	want->path = g_strdup(path);
	want->is_iso = is_iso;
	if (is_iso) {
		gtk_label_set_text(self->detect_label, _("Looking at the installation media…"));
		gtk_widget_show(self->detect_box);
		gtk_widget_show(GTK_WIDGET(self->detect_spinner));
		gtk_spinner_start(self->detect_spinner);
	}
	update_buttons(self);

	task = g_task_new(self, *cancellable, inspect_done, GINT_TO_POINTER(is_iso));
	g_task_set_source_tag(task, inspect_file);
	g_task_set_task_data(task, want, (GDestroyNotify)inspection_free);
	g_task_run_in_thread(task, inspect_thread);
}

static void on_iso_file_set(HangarWizard *self)
{
	g_autofree char *path = gtk_file_chooser_get_filename(self->iso_chooser);

	if (path)
		inspect_file(self, path, TRUE);
}

static void on_image_file_set(HangarWizard *self)
{
	g_autofree char *path = gtk_file_chooser_get_filename(self->image_chooser);

	if (path)
		inspect_file(self, path, FALSE);
}

static void on_recent_row_activated(HangarWizard *self, GtkListBoxRow *row)
{
	const char *path = g_object_get_data(G_OBJECT(row), "path");

	gtk_toggle_button_set_active(self->iso_radio, TRUE);
	gtk_file_chooser_set_filename(self->iso_chooser, path);
	inspect_file(self, path, TRUE);
}

/* ---- copying an image (a thread) ---- */

typedef struct {
	char *source;
	char *staging_dir; /* a hidden folder in vms/; the copy is WIZARD_DISK_NAME in it */
	GWeakRef wizard; /* for progress reports */
	gint64 last_report; /* monotonic time of the last one */
} CopyJob;

static void copy_job_free(CopyJob *job)
{
	g_free(job->source);
	g_free(job->staging_dir);
	g_weak_ref_clear(&job->wizard);
	g_free(job);
}

typedef struct {
	HangarWizard *wizard; /* a strong reference, dropped on the main thread */
	gdouble fraction;
} CopyProgress;

static gboolean copy_progress_idle(gpointer data)
{
	CopyProgress *p = data;

	if (p->wizard->copying)
		gtk_progress_bar_set_fraction(p->wizard->copy_progress, p->fraction);
	g_object_unref(p->wizard);
	g_free(p);
	return G_SOURCE_REMOVE;
}

static void report_copy_progress(CopyJob *job, gdouble fraction)
{
	HangarWizard *wizard = g_weak_ref_get(&job->wizard);
	CopyProgress *p;

	if (!wizard)
		return;
	p = g_new0(CopyProgress, 1);
	p->wizard = wizard;
	p->fraction = fraction;
	g_idle_add(copy_progress_idle, p);
}

static void on_convert_progress(guint64 done, guint64 total, gpointer data)
{
	CopyJob *job = data;
	gint64 now = g_get_monotonic_time();

	if (now - job->last_report > G_USEC_PER_SEC / 8 && total) {
		report_copy_progress(job, (gdouble)done / (gdouble)total);
		job->last_report = now;
	}
}

/* The image layer copies the disk into a new qcow2 image (blocks of zeros
 * stay unallocated, so a sparse image stays sparse; a qcow2 source is
 * flattened with its backing files).  On failure or cancel the copy and
 * its folder are removed here, so the main thread never races the
 * writer. */
static void copy_thread(GTask *task, gpointer source_object, gpointer task_data,
			GCancellable *cancellable)
{
	CopyJob *job = task_data;
	g_autofree char *base = g_path_get_basename(job->source);
	g_autofree char *target = g_build_filename(job->staging_dir, WIZARD_DISK_NAME, NULL);
	g_autoptr(GError) error = NULL;
	HgBlockBackend *src = hg_block_open(job->source, TRUE, &error);
	bool ok;

	if (!src) {
		g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_FAILED,
					_("“%s” cannot be read: %s."), base, error->message);
		g_rmdir(job->staging_dir);
		return;
	}
	ok = hg_block_convert(src, target, HG_BLOCK_FORMAT_QCOW2, cancellable, on_convert_progress,
			      job, &error);
	hg_block_close(src);
	if (ok) {
		g_task_return_boolean(task, TRUE);
		return;
	}
	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		g_task_return_error(task, g_steal_pointer(&error));
	else if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NO_SPACE))
		g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
					_("There is not enough free space to copy “%s”. Free some "
					  "space, or use the image where it is."),
					base);
	else
		g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_FAILED,
					_("The copy of “%s” cannot be written: %s."), base,
					error->message);
	g_rmdir(job->staging_dir);
}

/* ---- creating the VM ---- */

static void remove_staging_dir(HangarWizard *self)
{
	g_autofree char *disk = NULL;

	if (!self->staging_dir)
		return;
	disk = g_build_filename(self->staging_dir, WIZARD_DISK_NAME, NULL);
	g_unlink(disk);
	g_rmdir(self->staging_dir);
	g_clear_pointer(&self->staging_dir, g_free);
}

/* The configuration page 2 describes, disks included.  The disk
 * WIZARD_DISK_NAME (relative) is made or moved in once the VM folder exists. */
static HgVmConfig *build_config(HangarWizard *self, const char *name)
{
	g_autoptr(HgVmConfig) config = hg_vm_config_new(name);
	const Inspection *in = source_inspection(self);
	SourceKind kind = wizard_source(self);
	/* An image from elsewhere or an OS still to come: SATA, which every
	 * OS drives without extra drivers. */
	HgDiskBus bus = in && kind == SOURCE_ISO ? in->guess->disk_bus : HG_DISK_BUS_SATA;
	HgVmDisk *disk;

	hangar_machine_fields_read(config, self->memory_spin, self->cpus_spin,
				   GTK_COMBO_BOX(self->firmware_combo),
				   GTK_COMBO_BOX(self->display_combo));
	if (kind == SOURCE_ISO && in && in->guess->known) {
		config->os_id = g_strdup(in->guess->short_id);
		config->os_name = g_strdup(in->guess->name);
	}

	switch (kind) {
	case SOURCE_ISO:
		disk = hg_vm_config_add_disk(config, WIZARD_DISK_NAME, bus, HG_DISK_MEDIA_DISK);
		hg_vm_disk_set_format(disk, "qcow2");
		disk->boot_index = 1;
		disk = hg_vm_config_add_disk(config, in->path, HG_DISK_BUS_SATA,
					     HG_DISK_MEDIA_CDROM);
		disk->read_only = true;
		disk->boot_index = 0;
		break;
	case SOURCE_IMAGE: {
		gboolean copy = gtk_toggle_button_get_active(self->image_copy_radio);

		disk = hg_vm_config_add_disk(config, copy ? WIZARD_DISK_NAME : in->path, bus,
					     HG_DISK_MEDIA_DISK);
		/* The copy is made as qcow2; in place, the image keeps the
		 * format it was found to have when chosen. */
		hg_vm_disk_set_format(disk, copy ? "qcow2" : in->format);
		disk->boot_index = 0;
		break;
	}
	case SOURCE_BLANK:
		disk = hg_vm_config_add_disk(config, WIZARD_DISK_NAME, bus, HG_DISK_MEDIA_DISK);
		hg_vm_disk_set_format(disk, "qcow2");
		disk->boot_index = 1;
		/* An empty drive, ready for an installer chosen in the settings. */
		disk = hg_vm_config_add_disk(config, NULL, HG_DISK_BUS_SATA, HG_DISK_MEDIA_CDROM);
		disk->read_only = true;
		disk->boot_index = 0;
		break;
	}
	return g_steal_pointer(&config);
}

static char *create_error_message(const GError *error, const char *name)
{
	if (g_error_matches(error, HG_VM_ERROR, HG_VM_ERROR_EXISTS))
		return g_strdup_printf(_("A virtual machine named “%s” already exists. "
					 "Choose another name."),
				       name);
	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NO_SPACE) ||
	    g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOSPC))
		return g_strdup(_("There is not enough free space for the new virtual machine. "
				  "Free some space and try again."));
	if (error->domain == HG_VM_ERROR && error->code == HG_VM_ERROR_INVALID)
		return g_strdup_printf(_("These settings cannot be used: %s"), error->message);
	return g_strdup_printf(_("The virtual machine cannot be created: %s"), error->message);
}

static void show_create_error(HangarWizard *self, const GError *error, const char *name)
{
	g_autofree char *message = create_error_message(error, name);

	gtk_stack_set_visible_child_name(self->stack, "settings");
	show_settings_error(self, message);
	if (g_error_matches(error, HG_VM_ERROR, HG_VM_ERROR_EXISTS))
		gtk_widget_grab_focus(GTK_WIDGET(self->name_entry));
}

/* Adds the VM to the library (main thread): the folder, then its disk.  A
 * step that fails takes the folder away again, so nothing half-made stays
 * in the library. */
static void finish_create(HangarWizard *self)
{
	g_autofree char *name = entry_name(self);
	g_autoptr(HgVmConfig) config = build_config(self, name);
	g_autoptr(GError) error = NULL;
	g_autoptr(GError) delete_error = NULL;
	g_autoptr(HgVmEntry) entry = NULL;
	SourceKind kind = wizard_source(self);
	const Inspection *in = source_inspection(self);
	g_autofree char *recent = kind == SOURCE_ISO ? g_strdup(in->path) : NULL;

	if (kind == SOURCE_ISO || kind == SOURCE_BLANK) {
		/* The library makes the disk in its staging folder: the VM
		 * appears with it or not at all. */
		guint64 size = (guint64)gtk_spin_button_get_value_as_int(self->disk_spin) << 30;
		entry = hg_vm_library_create_with_disk(self->library, config, WIZARD_DISK_NAME, size,
						       &error);
	} else {
		entry = hg_vm_library_create(self->library, config, &error);
	}
	if (!entry) {
		remove_staging_dir(self);
		show_create_error(self, error, name);
		return;
	}
	if (self->staging_dir) {
		g_autofree char *from = g_build_filename(self->staging_dir, WIZARD_DISK_NAME, NULL);
		g_autofree char *to = g_build_filename(entry->dir, WIZARD_DISK_NAME, NULL);
		if (g_rename(from, to) != 0) {
			int saved = errno;
			g_set_error(&error, G_IO_ERROR, g_io_error_from_errno(saved), "%s",
				    g_strerror(saved));
			goto undo;
		}
		remove_staging_dir(self);
	}
	if (recent)
		hangar_recent_isos_add(self->settings, recent);

	g_signal_emit(self, signals[SIGNAL_CREATED], 0, entry->id, kind == SOURCE_ISO);
	gtk_widget_destroy(GTK_WIDGET(self));
	return;

undo:
	if (!hg_vm_library_delete(self->library, entry, HG_VM_DELETE_FILES, &delete_error))
		g_warning("the half-made VM %s could not be removed: %s", entry->id,
			  delete_error->message);
	remove_staging_dir(self);
	show_create_error(self, error, name);
}

static void copy_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
	HangarWizard *self = HANGAR_WIZARD(source);
	CopyJob *job = g_task_get_task_data(G_TASK(result));
	g_autoptr(GError) error = NULL;

	/* Cancelled: the wizard is gone, or Cancel took it back to page 2
	 * already.  The thread removed the copy. */
	if (!g_task_propagate_boolean(G_TASK(result), &error) &&
	    g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return;
	self->copying = FALSE;
	if (error) {
		gtk_stack_set_visible_child_name(self->stack, "settings");
		show_settings_error(self, error->message);
		return;
	}
	gtk_progress_bar_set_fraction(self->copy_progress, 1.0);
	self->staging_dir = g_strdup(job->staging_dir);
	finish_create(self);
}

static void start_copy(HangarWizard *self)
{
	g_autoptr(GTask) task = NULL;
	g_autofree char *template = g_build_filename(hg_vm_library_root(self->library), "vms",
						     ".new-wizard-XXXXXX", NULL);
	const Inspection *in = source_inspection(self);
	CopyJob *job;

	/* Hidden, in vms/ itself: the library lists no dot-folders, and the
	 * finished copy moves into the VM's folder with a rename. */
	if (!g_mkdtemp_full(template, 0700)) {
		g_autofree char *message = g_strdup_printf(
			_("The virtual machine cannot be created: %s."), g_strerror(errno));
		show_settings_error(self, message);
		return;
	}
	job = g_new0(CopyJob, 1);
	job->source = g_strdup(in->path);
	job->staging_dir = g_steal_pointer(&template);
	g_weak_ref_init(&job->wizard, self);

	restart_cancellable(&self->copy_cancellable);
	self->copying = TRUE;
	gtk_progress_bar_set_fraction(self->copy_progress, 0);
	gtk_stack_set_visible_child_name(self->stack, "copy");
	task = g_task_new(self, self->copy_cancellable, copy_done, NULL);
	g_task_set_source_tag(task, start_copy);
	g_task_set_task_data(task, job, (GDestroyNotify)copy_job_free);
	g_task_run_in_thread(task, copy_thread);
}

static void create_clicked(HangarWizard *self)
{
	g_autofree char *name = entry_name(self);
	g_autoptr(HgVmEntry) existing = NULL;

	hide_error(self->settings_error_bar);
	if (!*name)
		return;
	/* Checked before a long copy starts; the library checks again. */
	existing = hg_vm_library_lookup(self->library, name, NULL);
	if (existing && existing->config) {
		g_autofree char *a = g_utf8_casefold(existing->config->name, -1);
		g_autofree char *b = g_utf8_casefold(name, -1);
		if (strcmp(a, b) == 0) {
			g_autoptr(GError) error = g_error_new_literal(
				HG_VM_ERROR, HG_VM_ERROR_EXISTS, "the name is taken");
			show_create_error(self, error, name);
			return;
		}
	}
	if (wizard_source(self) == SOURCE_IMAGE &&
	    gtk_toggle_button_get_active(self->image_copy_radio))
		start_copy(self);
	else
		finish_create(self);
}

/* ---- responses ---- */

static void hangar_wizard_response(GtkDialog *dialog, int response)
{
	HangarWizard *self = HANGAR_WIZARD(dialog);

	switch (response) {
	case RESPONSE_NEXT:
		if (!gtk_widget_is_sensitive(self->next_button))
			return;
		fill_settings(self);
		hide_error(self->settings_error_bar);
		gtk_stack_set_visible_child_name(self->stack, "settings");
		gtk_widget_grab_focus(GTK_WIDGET(self->name_entry));
		break;
	case RESPONSE_BACK:
		gtk_stack_set_visible_child_name(self->stack, "source");
		break;
	case GTK_RESPONSE_OK:
		if (g_strcmp0(gtk_stack_get_visible_child_name(self->stack), "settings") == 0 &&
		    gtk_widget_is_sensitive(self->create_button))
			create_clicked(self);
		break;
	case GTK_RESPONSE_CANCEL:
		if (self->copying) {
			/* Stop the copy (its thread removes it), stay in the
			 * wizard. */
			restart_cancellable(&self->copy_cancellable);
			self->copying = FALSE;
			gtk_stack_set_visible_child_name(self->stack, "settings");
			break;
		}
		gtk_widget_destroy(GTK_WIDGET(self));
		break;
	default: /* GTK_RESPONSE_DELETE_EVENT and anything else: gone */
		gtk_widget_destroy(GTK_WIDGET(self));
		break;
	}
}

static void on_back_clicked(HangarWizard *self)
{
	gtk_dialog_response(GTK_DIALOG(self), RESPONSE_BACK);
}

/* ---- GObject ---- */

static void hangar_wizard_constructed(GObject *object)
{
	HangarWizard *self = HANGAR_WIZARD(object);
	GtkWidget *header;

	G_OBJECT_CLASS(hangar_wizard_parent_class)->constructed(object);

	self->cancel_button =
		gtk_dialog_add_button(GTK_DIALOG(self), _("_Cancel"), GTK_RESPONSE_CANCEL);
	self->next_button = gtk_dialog_add_button(GTK_DIALOG(self), _("_Next"), RESPONSE_NEXT);
	self->create_button =
		gtk_dialog_add_button(GTK_DIALOG(self), _("C_reate"), GTK_RESPONSE_OK);
	gtk_style_context_add_class(gtk_widget_get_style_context(self->next_button),
				    GTK_STYLE_CLASS_SUGGESTED_ACTION);
	gtk_style_context_add_class(gtk_widget_get_style_context(self->create_button),
				    GTK_STYLE_CLASS_SUGGESTED_ACTION);
	gtk_widget_set_can_default(self->next_button, TRUE);
	gtk_widget_set_can_default(self->create_button, TRUE);

	/* Back sits beside Cancel on the left, not with the action buttons. */
	self->back_button = gtk_button_new_with_mnemonic(_("_Back"));
	g_signal_connect_swapped(self->back_button, "clicked", G_CALLBACK(on_back_clicked), self);
	header = gtk_dialog_get_header_bar(GTK_DIALOG(self));
	if (header)
		gtk_header_bar_pack_start(GTK_HEADER_BAR(header), self->back_button);
	else
		gtk_dialog_add_action_widget(GTK_DIALOG(self), self->back_button, RESPONSE_BACK);
	gtk_widget_show(self->back_button);
	update_buttons(self);
}

static void hangar_wizard_dispose(GObject *object)
{
	HangarWizard *self = HANGAR_WIZARD(object);

	g_cancellable_cancel(self->iso_cancellable);
	g_cancellable_cancel(self->image_cancellable);
	g_cancellable_cancel(self->copy_cancellable);
	g_clear_object(&self->iso_cancellable);
	g_clear_object(&self->image_cancellable);
	g_clear_object(&self->copy_cancellable);
	remove_staging_dir(self);
	g_clear_object(&self->settings);
	g_clear_pointer(&self->iso, inspection_free);
	g_clear_pointer(&self->image, inspection_free);
	g_clear_pointer(&self->filled_for, g_free);
	G_OBJECT_CLASS(hangar_wizard_parent_class)->dispose(object);
}

static void hangar_wizard_class_init(HangarWizardClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);
	GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
	GtkDialogClass *dialog_class = GTK_DIALOG_CLASS(klass);

	object_class->constructed = hangar_wizard_constructed;
	object_class->dispose = hangar_wizard_dispose;
	dialog_class->response = hangar_wizard_response;

	signals[SIGNAL_CREATED] =
		g_signal_new("created", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
			     NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_BOOLEAN);

	gtk_widget_class_set_template_from_resource(
		widget_class, "/org/hangar/Hangar/ui/wizard/hangar-wizard.ui");
#define CHILD(name) gtk_widget_class_bind_template_child(widget_class, HangarWizard, name)
	CHILD(stack);
	CHILD(source_error_bar);
	CHILD(source_error_label);
	CHILD(settings_error_bar);
	CHILD(settings_error_label);
	CHILD(iso_radio);
	CHILD(image_radio);
	CHILD(blank_radio);
	CHILD(iso_box);
	CHILD(image_box);
	CHILD(iso_chooser);
	CHILD(image_chooser);
	CHILD(detect_box);
	CHILD(detect_spinner);
	CHILD(detect_label);
	CHILD(recent_label);
	CHILD(recent_scroll);
	CHILD(recent_list);
	CHILD(image_in_place_radio);
	CHILD(image_copy_radio);
	CHILD(os_icon);
	CHILD(os_label);
	CHILD(source_label);
	CHILD(name_entry);
	CHILD(memory_spin);
	CHILD(cpus_spin);
	CHILD(disk_spin);
	CHILD(memory_hint);
	CHILD(cpus_hint);
	CHILD(disk_hint);
	CHILD(firmware_hint);
	CHILD(disk_label);
	CHILD(firmware_combo);
	CHILD(display_combo);
	CHILD(copy_progress);
#undef CHILD
	gtk_widget_class_bind_template_callback(widget_class, on_page_changed);
	gtk_widget_class_bind_template_callback(widget_class, on_error_bar_response);
	gtk_widget_class_bind_template_callback(widget_class, on_source_toggled);
	gtk_widget_class_bind_template_callback(widget_class, on_iso_file_set);
	gtk_widget_class_bind_template_callback(widget_class, on_image_file_set);
	gtk_widget_class_bind_template_callback(widget_class, on_recent_row_activated);
	gtk_widget_class_bind_template_callback(widget_class, on_name_changed);
}

static GtkFileFilter *file_filter(const char *name, const char *const *mime_types,
				  const char *const *patterns)
{
	GtkFileFilter *filter = gtk_file_filter_new();

	gtk_file_filter_set_name(filter, name);
	for (const char *const *m = mime_types; m && *m; m++)
		gtk_file_filter_add_mime_type(filter, *m);
	for (const char *const *p = patterns; p && *p; p++)
		gtk_file_filter_add_pattern(filter, *p);
	return filter;
}

static void hangar_wizard_init(HangarWizard *self)
{
	static const char *const iso_types[] = {"application/x-cd-image",
						"application/x-iso9660-image", NULL};
	static const char *const iso_patterns[] = {"*.iso", "*.ISO", NULL};
	static const char *const image_patterns[] = {"*.img",  "*.raw", "*.qcow2", "*.vmdk", "*.vdi",
						     "*.vhd",  "*.vhdx", "*.IMG", "*.RAW", "*.QCOW2",
						     "*.VMDK", "*.VDI", "*.VHD", "*.VHDX", NULL};
	static const char *const all[] = {"*", NULL};
	GSettingsSchemaSource *schemas = g_settings_schema_source_get_default();
	g_autoptr(GSettingsSchema) schema = NULL;
	g_autofree char *cpus_text = NULL;
	g_autofree char *disk_text = NULL;

	gtk_widget_init_template(GTK_WIDGET(self));
	self->iso_cancellable = g_cancellable_new();
	self->image_cancellable = g_cancellable_new();
	self->copy_cancellable = g_cancellable_new();

	if (schemas)
		schema = g_settings_schema_source_lookup(schemas, SETTINGS_SCHEMA, TRUE);
	if (schema)
		self->settings = g_settings_new(SETTINGS_SCHEMA);

	gtk_file_chooser_add_filter(self->iso_chooser, file_filter(_("Installation images (ISO)"),
								   iso_types, iso_patterns));
	gtk_file_chooser_add_filter(self->iso_chooser, file_filter(_("All files"), NULL, all));
	gtk_file_chooser_add_filter(self->image_chooser,
				    file_filter(_("Disk images"), NULL, image_patterns));
	gtk_file_chooser_add_filter(self->image_chooser, file_filter(_("All files"), NULL, all));

	hangar_memory_spin_setup(self->memory_spin, HG_VM_MEMORY_MIN_MIB,
				 MIN(hangar_memory_host_mib(), HG_VM_MEMORY_MAX_MIB));
	gtk_spin_button_set_range(self->cpus_spin, 1, host_cpus());
	cpus_text = g_strdup_printf(g_dngettext(GETTEXT_PACKAGE, "of %u on this computer",
						"of %u on this computer", host_cpus()),
				    host_cpus());
	gtk_label_set_text(self->cpus_hint, cpus_text);
	disk_text = g_strdup(_("GiB, allocated as the guest writes"));
	gtk_label_set_text(self->disk_hint, disk_text);
	gtk_combo_box_set_active_id(GTK_COMBO_BOX(self->firmware_combo), "bios");
	gtk_combo_box_set_active_id(
		GTK_COMBO_BOX(self->display_combo),
		self->settings && g_settings_get_enum(self->settings, "default-display") ==
					  HG_DISPLAY_VNC
			? "vnc"
			: "spice");

	populate_recent_isos(self);
	on_source_toggled(self, self->iso_radio);
}

HangarWizard *hangar_wizard_new(GtkWindow *parent, HgVmLibrary *library, GFile *iso)
{
	HangarWizard *self = g_object_new(HANGAR_TYPE_WIZARD, "use-header-bar", TRUE,
					  "transient-for", parent, NULL);

	self->library = library;
	if (iso) {
		g_autofree char *path = g_file_get_path(iso);
		if (path) {
			gtk_file_chooser_set_filename(self->iso_chooser, path);
			inspect_file(self, path, TRUE);
		}
	}
	return self;
}
