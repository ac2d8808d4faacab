/* The "Import as" dialog (hangar-import-mode-dialog.h). */
#include "ui/import/hangar-import-mode-dialog.h"

#include <glib/gi18n.h>

struct _HangarImportModeDialog {
	GtkDialog parent_instance;

	GtkWidget *copy_radio, *in_place_radio, *overlay_radio;
};

G_DEFINE_TYPE(HangarImportModeDialog, hangar_import_mode_dialog, GTK_TYPE_DIALOG)

HgImportMode hangar_import_mode_dialog_get_mode(HangarImportModeDialog *self)
{
	if (gtk_toggle_button_get_active(GTK_TOGGLE_BUTTON(self->in_place_radio)))
		return HG_IMPORT_IN_PLACE;
	if (gtk_toggle_button_get_active(GTK_TOGGLE_BUTTON(self->overlay_radio)))
		return HG_IMPORT_OVERLAY;
	return HG_IMPORT_COPY;
}

static GtkWidget *mode_dialog_note(const char *text)
{
	GtkWidget *label = gtk_label_new(text);

	gtk_label_set_line_wrap(GTK_LABEL(label), TRUE);
	gtk_label_set_max_width_chars(GTK_LABEL(label), 52);
	gtk_label_set_xalign(GTK_LABEL(label), 0);
	gtk_widget_set_margin_start(label, 26);
	gtk_widget_set_margin_bottom(label, 6);
	gtk_style_context_add_class(gtk_widget_get_style_context(label), "dim-label");
	return label;
}

static GtkWidget *mode_dialog_add_choice(GtkWidget *box, GtkWidget *group, const char *label,
					 const char *note)
{
	GtkWidget *radio = group ? gtk_radio_button_new_with_mnemonic_from_widget(
					   GTK_RADIO_BUTTON(group), label)
				 : gtk_radio_button_new_with_mnemonic(NULL, label);

	gtk_container_add(GTK_CONTAINER(box), radio);
	gtk_container_add(GTK_CONTAINER(box), mode_dialog_note(note));
	return radio;
}

static void mode_dialog_build(HangarImportModeDialog *self, const char *file_name,
			      const char *format)
{
	GtkWidget *content = gtk_dialog_get_content_area(GTK_DIALOG(self));
	GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 6);
	GtkWidget *label, *button;
	g_autofree char *title = g_strdup_printf(_("Import “%s”"), file_name);
	g_autofree char *intro = g_strdup_printf(
		/* Translators: %s is an image format, "raw" or "qcow2" */
		_("This %s disk image can be copied into the library or used where it is."),
		format);

	gtk_window_set_title(GTK_WINDOW(self), title);
	gtk_window_set_resizable(GTK_WINDOW(self), FALSE);
	gtk_container_set_border_width(GTK_CONTAINER(content), 18);
	gtk_container_add(GTK_CONTAINER(content), box);

	label = gtk_label_new(intro);
	gtk_label_set_line_wrap(GTK_LABEL(label), TRUE);
	gtk_label_set_max_width_chars(GTK_LABEL(label), 52);
	gtk_label_set_xalign(GTK_LABEL(label), 0);
	gtk_widget_set_margin_bottom(label, 12);
	gtk_container_add(GTK_CONTAINER(box), label);

	self->copy_radio = mode_dialog_add_choice(
		box, NULL, _("_Copy into the library"),
		_("The image stays as it is; the virtual machine gets a qcow2 copy, which can "
		  "take snapshots. It needs as much free space as the image holds data."));
	self->in_place_radio = mode_dialog_add_choice(
		box, self->copy_radio, _("_Use the file where it is"),
		_("No copy: the virtual machine writes to this file, which must stay where it "
		  "is."));
	self->overlay_radio = mode_dialog_add_choice(
		box, self->copy_radio, _("_Keep the file unchanged"),
		_("The virtual machine starts from this file and writes its changes to a qcow2 "
		  "overlay in the library. The file must stay where it is, unchanged."));

	gtk_dialog_add_button(GTK_DIALOG(self), _("_Cancel"), GTK_RESPONSE_CANCEL);
	button = gtk_dialog_add_button(GTK_DIALOG(self), _("_Import"), GTK_RESPONSE_ACCEPT);
	gtk_style_context_add_class(gtk_widget_get_style_context(button), "suggested-action");
	gtk_dialog_set_default_response(GTK_DIALOG(self), GTK_RESPONSE_ACCEPT);
	gtk_widget_show_all(content);
}

HangarImportModeDialog *hangar_import_mode_dialog_new(GtkWindow *parent, const char *file_name,
						      const char *format)
{
	HangarImportModeDialog *self =
		g_object_new(HANGAR_TYPE_IMPORT_MODE_DIALOG, "use-header-bar", TRUE, "modal", TRUE,
			     "transient-for", parent, "destroy-with-parent", TRUE, NULL);

	mode_dialog_build(self, file_name, format);
	return self;
}

static void hangar_import_mode_dialog_class_init(HangarImportModeDialogClass *klass)
{
}

static void hangar_import_mode_dialog_init(HangarImportModeDialog *self)
{
}
