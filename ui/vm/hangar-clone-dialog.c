/* The clone dialog (hangar-clone-dialog.h). */
#include "ui/vm/hangar-clone-dialog.h"

#include <glib/gi18n.h>

#include "ui/vm/hangar-snapshot-ops.h"

struct _HangarCloneDialog {
	GtkDialog parent_instance;

	HangarVm *vm;
	char *snapshot_id;
	GCancellable *cancellable; /* the clone under way */

	GtkWidget *name_entry, *linked_radio, *full_radio;
	GtkWidget *progress_bar, *error_label, *clone_button;
};

G_DEFINE_TYPE(HangarCloneDialog, hangar_clone_dialog, GTK_TYPE_DIALOG)

enum { SIGNAL_CLONED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void clone_dialog_set_working(HangarCloneDialog *self, gboolean working)
{
	gtk_widget_set_sensitive(self->name_entry, !working);
	gtk_widget_set_sensitive(self->linked_radio, !working);
	gtk_widget_set_sensitive(self->full_radio, !working);
	gtk_widget_set_sensitive(self->clone_button, !working);
	gtk_widget_set_visible(self->progress_bar, working);
}

static void clone_dialog_on_progress(gdouble fraction, gpointer object)
{
	HangarCloneDialog *self = object;

	gtk_progress_bar_set_fraction(GTK_PROGRESS_BAR(self->progress_bar), fraction);
}

static void clone_dialog_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(HangarCloneDialog) self = user_data;
	g_autoptr(GError) error = NULL;
	g_autofree char *id = hangar_snapshot_clone_finish(HANGAR_VM(source), result, &error);

	/* Cancelled: the dialog was closed, and is going. */
	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return;
	g_clear_object(&self->cancellable);
	clone_dialog_set_working(self, FALSE);
	if (!id) {
		gtk_label_set_text(GTK_LABEL(self->error_label), error->message);
		gtk_widget_show(self->error_label);
		return;
	}
	g_signal_emit(self, signals[SIGNAL_CLONED], 0, id);
	gtk_widget_destroy(GTK_WIDGET(self));
}

static void clone_dialog_start(HangarCloneDialog *self)
{
	g_autofree char *name = g_strstrip(g_strdup(gtk_entry_get_text(GTK_ENTRY(self->name_entry))));
	gboolean linked = gtk_toggle_button_get_active(GTK_TOGGLE_BUTTON(self->linked_radio));

	if (!*name || self->cancellable)
		return;
	gtk_widget_hide(self->error_label);
	gtk_progress_bar_set_fraction(GTK_PROGRESS_BAR(self->progress_bar), 0);
	clone_dialog_set_working(self, TRUE);
	self->cancellable = g_cancellable_new();
	hangar_snapshot_clone_async(self->vm, self->snapshot_id, name, linked,
				    clone_dialog_on_progress, self, self->cancellable,
				    clone_dialog_done, g_object_ref(self));
}

static void clone_dialog_response(GtkDialog *dialog, int response)
{
	HangarCloneDialog *self = HANGAR_CLONE_DIALOG(dialog);

	if (response == GTK_RESPONSE_ACCEPT) {
		clone_dialog_start(self);
		return;
	}
	/* Cancel or close: a copy under way stops and leaves nothing. */
	if (self->cancellable)
		g_cancellable_cancel(self->cancellable);
	gtk_widget_destroy(GTK_WIDGET(self));
}

static void clone_dialog_on_name_changed(GtkEditable *entry, HangarCloneDialog *self)
{
	g_autofree char *name = g_strstrip(g_strdup(gtk_entry_get_text(GTK_ENTRY(entry))));

	gtk_widget_set_sensitive(self->clone_button, *name && !self->cancellable);
}

static GtkWidget *clone_dialog_note(const char *text)
{
	GtkWidget *label = gtk_label_new(text);

	gtk_label_set_line_wrap(GTK_LABEL(label), TRUE);
	gtk_label_set_max_width_chars(GTK_LABEL(label), 48);
	gtk_label_set_xalign(GTK_LABEL(label), 0);
	gtk_widget_set_margin_start(label, 26);
	gtk_style_context_add_class(gtk_widget_get_style_context(label), "dim-label");
	return label;
}

static void clone_dialog_build(HangarCloneDialog *self, const char *vm_name,
			       const char *snapshot_name)
{
	GtkWidget *content = gtk_dialog_get_content_area(GTK_DIALOG(self));
	GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 6);
	GtkWidget *label;
	g_autofree char *title = g_strdup_printf(_("Clone “%s”"), snapshot_name);
	/* Translators: the suggested name of a clone; %s is the VM's name */
	g_autofree char *suggestion = g_strdup_printf(_("%s Clone"), vm_name);

	gtk_window_set_title(GTK_WINDOW(self), title);
	gtk_window_set_resizable(GTK_WINDOW(self), FALSE);
	gtk_container_set_border_width(GTK_CONTAINER(content), 18);
	gtk_container_add(GTK_CONTAINER(content), box);

	label = gtk_label_new_with_mnemonic(_("_Name of the new virtual machine"));
	gtk_label_set_xalign(GTK_LABEL(label), 0);
	gtk_container_add(GTK_CONTAINER(box), label);
	self->name_entry = gtk_entry_new();
	gtk_entry_set_text(GTK_ENTRY(self->name_entry), suggestion);
	gtk_entry_set_activates_default(GTK_ENTRY(self->name_entry), TRUE);
	gtk_label_set_mnemonic_widget(GTK_LABEL(label), self->name_entry);
	atk_object_set_name(gtk_widget_get_accessible(self->name_entry), _("Name"));
	g_signal_connect(self->name_entry, "changed", G_CALLBACK(clone_dialog_on_name_changed),
			 self);
	gtk_container_add(GTK_CONTAINER(box), self->name_entry);

	self->linked_radio = gtk_radio_button_new_with_mnemonic(NULL, _("_Linked clone"));
	gtk_widget_set_margin_top(self->linked_radio, 12);
	gtk_container_add(GTK_CONTAINER(box), self->linked_radio);
	gtk_container_add(GTK_CONTAINER(box),
			  clone_dialog_note(_("Shares a copy of the snapshot’s disks with its other "
					      "linked clones and keeps only its own changes: quick "
					      "and small. This VM and the snapshot cannot be deleted "
					      "while the clone exists.")));
	self->full_radio = gtk_radio_button_new_with_mnemonic_from_widget(
		GTK_RADIO_BUTTON(self->linked_radio), _("_Full clone"));
	gtk_container_add(GTK_CONTAINER(box), self->full_radio);
	gtk_container_add(GTK_CONTAINER(box),
			  clone_dialog_note(_("Copies the disks: independent of this VM, and as "
					      "large as the data on them.")));

	self->progress_bar = gtk_progress_bar_new();
	gtk_widget_set_margin_top(self->progress_bar, 12);
	gtk_widget_set_no_show_all(self->progress_bar, TRUE);
	gtk_container_add(GTK_CONTAINER(box), self->progress_bar);
	self->error_label = gtk_label_new(NULL);
	gtk_label_set_line_wrap(GTK_LABEL(self->error_label), TRUE);
	gtk_label_set_max_width_chars(GTK_LABEL(self->error_label), 48);
	gtk_label_set_xalign(GTK_LABEL(self->error_label), 0);
	gtk_label_set_selectable(GTK_LABEL(self->error_label), TRUE);
	gtk_style_context_add_class(gtk_widget_get_style_context(self->error_label), "error");
	gtk_widget_set_no_show_all(self->error_label, TRUE);
	gtk_container_add(GTK_CONTAINER(box), self->error_label);

	gtk_dialog_add_button(GTK_DIALOG(self), _("_Cancel"), GTK_RESPONSE_CANCEL);
	self->clone_button = gtk_dialog_add_button(GTK_DIALOG(self), _("C_lone"),
						   GTK_RESPONSE_ACCEPT);
	gtk_style_context_add_class(gtk_widget_get_style_context(self->clone_button),
				    "suggested-action");
	gtk_dialog_set_default_response(GTK_DIALOG(self), GTK_RESPONSE_ACCEPT);
	gtk_widget_show_all(content);
}

HangarCloneDialog *hangar_clone_dialog_new(GtkWindow *parent, HangarVm *vm,
					   const char *snapshot_id, const char *snapshot_name)
{
	HangarCloneDialog *self = g_object_new(HANGAR_TYPE_CLONE_DIALOG, "use-header-bar", TRUE,
					       "modal", TRUE, "transient-for", parent,
					       "destroy-with-parent", TRUE, NULL);

	self->vm = g_object_ref(vm);
	self->snapshot_id = g_strdup(snapshot_id);
	clone_dialog_build(self, hangar_vm_get_name(vm), snapshot_name);
	return self;
}

static void hangar_clone_dialog_finalize(GObject *object)
{
	HangarCloneDialog *self = HANGAR_CLONE_DIALOG(object);

	g_clear_object(&self->vm);
	g_clear_object(&self->cancellable);
	g_free(self->snapshot_id);
	G_OBJECT_CLASS(hangar_clone_dialog_parent_class)->finalize(object);
}

static void hangar_clone_dialog_class_init(HangarCloneDialogClass *klass)
{
	G_OBJECT_CLASS(klass)->finalize = hangar_clone_dialog_finalize;
	GTK_DIALOG_CLASS(klass)->response = clone_dialog_response;
	signals[SIGNAL_CLONED] = g_signal_new("cloned", G_TYPE_FROM_CLASS(klass),
					      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
					      G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void hangar_clone_dialog_init(HangarCloneDialog *self)
{
}
