/* HangarImportRow (hangar-import-row.h). */
#include "ui/import/hangar-import-row.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

struct _HangarImportRow {
	GtkListBoxRow parent_instance;

	GtkImage *icon;
	GtkLabel *title_label;
	GtkProgressBar *progress_bar;
	GtkLabel *status_label;
	GtkButton *action_button;

	HangarImport *import;
	gboolean cancelling;
};

G_DEFINE_TYPE(HangarImportRow, hangar_import_row, GTK_TYPE_LIST_BOX_ROW)

enum { SIGNAL_DISMISSED, N_SIGNALS };
static guint signals[N_SIGNALS];

/* "about 40 s left", rounded so that it does not flicker. */
static char *import_row_time_left(double seconds)
{
	guint s = (guint)ceil(seconds);

	if (s < 60)
		/* Translators: the time an import still needs, in seconds */
		return g_strdup_printf(_("about %u s left"), s < 10 ? s : (s + 4) / 5 * 5);
	if (s < 3600)
		/* Translators: the time an import still needs, in minutes */
		return g_strdup_printf(_("about %u min left"), (s + 59) / 60);
	/* Translators: the time an import still needs, in hours and minutes */
	return g_strdup_printf(_("about %u h %u min left"), s / 3600, (s % 3600 + 59) / 60);
}

/* "123.0 MB of 4.0 GB · 85.2 MB/s · about 40 s left". */
static char *import_row_progress_text(HangarImport *import)
{
	guint64 done, total;
	double rate = hangar_import_get_rate(import);
	g_autofree char *done_text = NULL, *total_text = NULL, *rate_text = NULL;
	g_autofree char *left = NULL;

	hangar_import_get_progress(import, &done, &total);
	done_text = g_format_size(done);
	total_text = g_format_size(total);
	if (rate <= 0)
		/* Translators: bytes copied of the disk's size, and the speed
		 * not known yet */
		return g_strdup_printf(_("%s of %s · estimating…"), done_text, total_text);
	rate_text = g_format_size((guint64)rate);
	left = import_row_time_left((double)(total - done) / rate);
	/* Translators: bytes copied of the disk's size · bytes a second ·
	 * the time left ("about 40 s left") */
	return g_strdup_printf(_("%s of %s · %s/s · %s"), done_text, total_text, rate_text, left);
}

/* What the error says after the file's name, which the row shows above
 * it ("debian.gz: a gzip file: ..." -> "a gzip file: ..."). */
static const char *import_row_reason(HangarImport *import)
{
	const char *message = hangar_import_get_error(import);
	g_autofree char *base =
		g_path_get_basename(g_file_peek_path(hangar_import_get_file(import)));
	gsize length = strlen(base);

	if (g_str_has_prefix(message, base) && g_str_has_prefix(message + length, ": "))
		return message + length + 2;
	return message;
}

static char *import_row_status(HangarImportRow *row)
{
	HangarImport *import = row->import;
	guint64 done, total;
	char *text;

	if (row->cancelling)
		return g_strdup(_("Cancelling…"));
	switch (hangar_import_get_state(import)) {
	case HANGAR_IMPORT_CHECKING:
		return g_strdup(_("Checking the file…"));
	case HANGAR_IMPORT_ASKING:
		return g_strdup(_("Waiting for your choice…"));
	case HANGAR_IMPORT_WORKING:
		hangar_import_get_progress(import, &done, &total);
		if (total)
			return import_row_progress_text(import);
		return g_strdup(hangar_import_get_mode(import) == HG_IMPORT_COPY
					? _("Preparing the copy…")
					: _("Adding it to the library…"));
	case HANGAR_IMPORT_DONE:
		if (hangar_import_get_notes(import))
			/* Translators: %s is a note from the import (in English) */
			return g_strdup_printf(_("Imported. %s"), hangar_import_get_notes(import));
		return g_strdup(_("Imported"));
	case HANGAR_IMPORT_FAILED:
		text = g_strdup(import_row_reason(import));
		*text = g_ascii_toupper(*text);
		return text;
	case HANGAR_IMPORT_CANCELLED:
		return g_strdup(_("Cancelled"));
	}
	return g_strdup("");
}

static void import_row_set_button(HangarImportRow *row, const char *label,
				  const char *accessible_name)
{
	gtk_button_set_label(row->action_button, label);
	atk_object_set_name(gtk_widget_get_accessible(GTK_WIDGET(row->action_button)),
			    accessible_name);
}

static void import_row_update(HangarImportRow *row)
{
	HangarImport *import = row->import;
	HangarImportState state = hangar_import_get_state(import);
	const char *name = hangar_import_get_display_name(import);
	gboolean failed = state == HANGAR_IMPORT_FAILED;
	gboolean noted = state == HANGAR_IMPORT_DONE && hangar_import_get_notes(import);
	GtkStyleContext *status_style = gtk_widget_get_style_context(GTK_WIDGET(row->status_label));
	g_autofree char *status = import_row_status(row);
	g_autofree char *title = NULL, *button_name = NULL;
	guint64 done, total;

	/* Translators: a failed import's title; %s is the file's name */
	title = failed ? g_strdup_printf(_("“%s” cannot be imported"), name) : g_strdup(name);
	gtk_label_set_text(row->title_label, title);
	gtk_label_set_text(row->status_label, status);
	gtk_image_set_from_icon_name(row->icon,
				     failed ? "dialog-error-symbolic" : "drive-harddisk-symbolic",
				     GTK_ICON_SIZE_BUTTON);
	gtk_widget_set_visible(GTK_WIDGET(row->progress_bar), !failed);
	if (failed) {
		gtk_style_context_remove_class(status_style, "dim-label");
		gtk_style_context_add_class(status_style, "error");
		gtk_style_context_remove_class(gtk_widget_get_style_context(GTK_WIDGET(row->icon)),
					       "dim-label");
	}
	hangar_import_get_progress(import, &done, &total);
	if (state == HANGAR_IMPORT_DONE)
		gtk_progress_bar_set_fraction(row->progress_bar, 1.0);
	else
		gtk_progress_bar_set_fraction(row->progress_bar,
					      total ? (double)done / (double)total : 0.0);
	if (failed) {
		/* Translators: the accessible name of the button that closes a
		 * failed import's row; %s is the file's name */
		button_name = g_strdup_printf(_("Close the error about %s"), name);
		import_row_set_button(row, _("_Close"), button_name);
	} else if (noted) {
		/* Translators: the accessible name of the button that closes a
		 * finished import's row and its notes; %s is the file's name */
		button_name = g_strdup_printf(_("Close the notes about %s"), name);
		import_row_set_button(row, _("_Close"), button_name);
	} else {
		/* Translators: %s is the file's name */
		button_name = g_strdup_printf(_("Cancel import of %s"), name);
		import_row_set_button(row, _("_Cancel"), button_name);
	}
	gtk_widget_set_sensitive(GTK_WIDGET(row->action_button),
				 failed || noted ||
					 (!row->cancelling && state != HANGAR_IMPORT_DONE &&
					  state != HANGAR_IMPORT_CANCELLED));
}

static void import_row_action_clicked(HangarImportRow *row)
{
	HangarImportState state = hangar_import_get_state(row->import);

	if (state == HANGAR_IMPORT_FAILED || state == HANGAR_IMPORT_DONE) {
		g_signal_emit(row, signals[SIGNAL_DISMISSED], 0);
		return;
	}
	row->cancelling = TRUE;
	import_row_update(row);
	hangar_import_cancel(row->import);
}

HangarImportRow *hangar_import_row_new(HangarImport *import)
{
	HangarImportRow *row = g_object_new(HANGAR_TYPE_IMPORT_ROW, NULL);
	g_autofree char *bar_name = g_strdup_printf(
		/* Translators: the accessible name of an import's progress bar; %s
		 * is the file's name */
		_("Progress of importing %s"), hangar_import_get_display_name(import));

	row->import = g_object_ref(import);
	atk_object_set_name(gtk_widget_get_accessible(GTK_WIDGET(row->progress_bar)), bar_name);
	g_signal_connect_object(import, "changed", G_CALLBACK(import_row_update), row,
				G_CONNECT_SWAPPED);
	import_row_update(row);
	return row;
}

HangarImport *hangar_import_row_get_import(HangarImportRow *row)
{
	return row->import;
}

static void hangar_import_row_dispose(GObject *object)
{
	HangarImportRow *row = HANGAR_IMPORT_ROW(object);

	g_clear_object(&row->import);
	G_OBJECT_CLASS(hangar_import_row_parent_class)->dispose(object);
}

static void hangar_import_row_class_init(HangarImportRowClass *klass)
{
	GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

	G_OBJECT_CLASS(klass)->dispose = hangar_import_row_dispose;
	signals[SIGNAL_DISMISSED] =
		g_signal_new("dismissed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
			     NULL, NULL, G_TYPE_NONE, 0);

	gtk_widget_class_set_template_from_resource(
		widget_class, "/org/hangar/Hangar/ui/import/hangar-import-row.ui");
	gtk_widget_class_bind_template_child(widget_class, HangarImportRow, icon);
	gtk_widget_class_bind_template_child(widget_class, HangarImportRow, title_label);
	gtk_widget_class_bind_template_child(widget_class, HangarImportRow, progress_bar);
	gtk_widget_class_bind_template_child(widget_class, HangarImportRow, status_label);
	gtk_widget_class_bind_template_child(widget_class, HangarImportRow, action_button);
	gtk_widget_class_bind_template_callback(widget_class, import_row_action_clicked);
}

static void hangar_import_row_init(HangarImportRow *row)
{
	gtk_widget_init_template(GTK_WIDGET(row));
}
