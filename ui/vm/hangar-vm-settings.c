/* Per-VM settings.  The dialog edits a copy of the VM's configuration and
 * saves it through hangar_vm_save_config on Save.  The drive list is shown
 * in boot order (up/down change the order the firmware tries them in); the
 * drives keep their bus order in the configuration, so moving one never
 * renumbers the SATA ports of a running engine.
 *
 * A CD-ROM drive's disc is the exception: while the VM runs, "Choose ISO…"
 * and "Eject" act at once through the control socket (blockdev-change-medium
 * and eject, the drive named "sata<N>" for the N-th SATA drive of the
 * configuration the engine started with: hg_engine_argv passes the drives in
 * configuration order and the engine numbers AHCI ports in that order), and
 * the result is saved to the configuration straight away.
 *
 * Main thread only. */
#include "ui/vm/hangar-vm-settings.h"

#include <glib/gi18n.h>
#include <string.h>

#include "ui/hangar-recent-isos.h"
#include "ui/wizard/hangar-image-format.h"
#include "ui/wizard/hangar-machine-fields.h"
#include "ui/wizard/hangar-memory-spin.h"

#define SETTINGS_SCHEMA "org.hangar.Hangar"

/* One drive as the dialog shows it. */
typedef struct {
	char *path; /* as in the configuration: relative to the VM folder, or absolute */
	char *format; /* the disk's recorded format (vm_config.h); NULL: not recorded yet */
	HgDiskBus bus;
	HgDiskMedia media;
	bool read_only;
	int boot_index; /* as loaded; renumbered on save when the order changed */
	int config_index; /* its index in the configuration at open, -1: added here */
	int added; /* order of adding, for drives added here */
	int port; /* the running engine's AHCI port (CD-ROMs), -1: none */
	bool bootable; /* gets a boot index on save */
	gboolean busy; /* a disc change is under way */
	GtkWidget *row; /* not owned */
} DriveItem;

static void drive_item_free(DriveItem *item)
{
	g_free(item->path);
	g_free(item->format);
	g_free(item);
}

struct _HangarVmSettings {
	GtkDialog parent_instance;

	HangarVm *vm;
	HgVmConfig *original; /* the configuration at open (what a running engine uses) */
	GPtrArray *drives; /* of DriveItem *, in boot order */
	gboolean order_changed;
	int n_added;
	GCancellable *cancellable;
	GSettings *settings; /* NULL when the schema is not installed */
	gboolean loading; /* filling the widgets: no "changed" handling */

	GtkWidget *save_button, *cancel_button;
	GtkInfoBar *error_bar, *restart_bar;
	GtkLabel *error_label, *restart_label;
	GtkWidget *content;
	GtkEntry *name_entry;
	GtkSpinButton *memory_spin, *cpus_spin;
	GtkComboBoxText *firmware_combo, *display_combo;
	GtkSwitch *boot_menu_switch;
	GtkWidget *memory_note, *cpus_note, *firmware_note, *display_note, *boot_menu_note;
	GtkListBox *disk_list;
	GtkWidget *disks_note;
	GtkWidget *add_disk_button, *add_cdrom_button, *up_button, *down_button, *remove_button;
};

G_DEFINE_TYPE(HangarVmSettings, hangar_vm_settings, GTK_TYPE_DIALOG)

static void rebuild_disk_list(HangarVmSettings *self, DriveItem *select);

/* ---- messages ---- */

static void show_error(HangarVmSettings *self, const char *message)
{
	gtk_label_set_text(self->error_label, message);
	gtk_widget_set_no_show_all(GTK_WIDGET(self->error_bar), FALSE);
	gtk_widget_show_all(GTK_WIDGET(self->error_bar));
}

static void on_info_bar_response(GtkInfoBar *bar, int response, gpointer user_data)
{
	if (response == GTK_RESPONSE_CLOSE)
		gtk_widget_hide(GTK_WIDGET(bar));
}

/* The engine's refusals in plain words. */
static char *disc_error_message(const GError *error, gboolean eject)
{
	if (strstr(error->message, "locked the tray"))
		return g_strdup(
			eject ? _("The guest is using the disc and has locked the drive. It was "
				  "asked to let go: eject the disc from inside the guest, or try "
				  "again in a moment.")
			      : _("The guest is using the disc and has locked the drive, so the "
				  "disc cannot be changed now. Eject it from inside the guest "
				  "first, "
				  "then try again."));
	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CLOSED))
		return g_strdup(_("The virtual machine stopped before the disc was changed."));
	return g_strdup_printf(eject ? _("The disc could not be ejected: %s")
				     : _("The disc could not be changed: %s"),
			       error->message);
}

/* ---- what needs a restart ---- */

static gboolean vm_active(HangarVmSettings *self)
{
	return hangar_vm_is_active(self->vm);
}

/* The drives as a configuration would hold them: bus order, boot indexes
 * from the list order when the user changed it. */
static gint compare_config_order(gconstpointer a, gconstpointer b)
{
	const DriveItem *x = *(DriveItem *const *)a, *y = *(DriveItem *const *)b;
	int kx = x->config_index >= 0 ? x->config_index : 100000 + x->added;
	int ky = y->config_index >= 0 ? y->config_index : 100000 + y->added;

	return (kx > ky) - (kx < ky);
}

static void drives_to_config(HangarVmSettings *self, HgVmConfig *config)
{
	/* Borrowed items: the copy must not free them. */
	g_autoptr(GPtrArray) ordered = g_ptr_array_sized_new(self->drives->len);
	int next_index = 0, max_index = -1;

	for (guint i = 0; i < self->drives->len; i++)
		g_ptr_array_add(ordered, self->drives->pdata[i]);

	if (!self->order_changed) {
		for (guint i = 0; i < self->drives->len; i++) {
			const DriveItem *item = self->drives->pdata[i];
			if (item->config_index >= 0)
				max_index = MAX(max_index, item->boot_index);
		}
	}
	for (guint i = 0; i < self->drives->len; i++) {
		DriveItem *item = self->drives->pdata[i];
		if (self->order_changed)
			item->boot_index = item->bootable ? next_index++ : -1;
		else if (item->config_index < 0)
			item->boot_index = ++max_index;
	}

	g_ptr_array_sort(ordered, compare_config_order);
	while (config->disks->len)
		hg_vm_config_remove_disk(config, config->disks->len - 1);
	for (guint i = 0; i < ordered->len; i++) {
		const DriveItem *item = ordered->pdata[i];
		HgVmDisk *disk = hg_vm_config_add_disk(config, item->path, item->bus, item->media);
		if (item->media == HG_DISK_MEDIA_DISK)
			hg_vm_disk_set_format(disk, item->format);
		disk->read_only = item->read_only || item->media == HG_DISK_MEDIA_CDROM;
		disk->boot_index = item->boot_index;
	}
}

static gboolean drives_changed(HangarVmSettings *self)
{
	const GPtrArray *disks = self->original->disks;
	guint kept = 0;

	if (self->order_changed || self->n_added > 0)
		return TRUE;
	for (guint i = 0; i < self->drives->len; i++) {
		const DriveItem *item = self->drives->pdata[i];
		const HgVmDisk *disk = disks->pdata[item->config_index];
		kept++;
		/* A disc change in a running VM is done at once, not on restart. */
		if (item->media == HG_DISK_MEDIA_DISK && g_strcmp0(item->path, disk->path) != 0)
			return TRUE;
	}
	return kept != disks->len;
}

static void update_notes(HangarVmSettings *self)
{
	gboolean active = vm_active(self);
	g_autoptr(HgVmConfig) shown = hg_vm_config_copy(self->original);

	hangar_machine_fields_read(shown, self->memory_spin, self->cpus_spin,
				   GTK_COMBO_BOX(self->firmware_combo),
				   GTK_COMBO_BOX(self->display_combo));
	gtk_widget_set_visible(self->memory_note,
			       active && shown->memory_mib != self->original->memory_mib);
	gtk_widget_set_visible(self->cpus_note, active && shown->cpus != self->original->cpus);
	gtk_widget_set_visible(self->firmware_note,
			       active && shown->firmware != self->original->firmware);
	gtk_widget_set_visible(self->display_note,
			       active && shown->display != self->original->display);
	gtk_widget_set_visible(self->boot_menu_note,
			       active && gtk_switch_get_active(self->boot_menu_switch) !=
						 self->original->boot_menu);
	gtk_widget_set_visible(self->disks_note, active);
	if (active && drives_changed(self))
		gtk_label_set_text(GTK_LABEL(self->disks_note),
				   _("The drive changes apply after the VM restarts. A CD-ROM "
				     "drive’s disc changes at once."));
	else
		gtk_label_set_text(GTK_LABEL(self->disks_note),
				   _("While the VM runs, a CD-ROM drive’s disc changes at once; "
				     "adding, removing or reordering drives applies after the VM "
				     "restarts."));
}

static void changed(HangarVmSettings *self)
{
	g_autofree char *name = NULL;

	if (self->loading)
		return;
	name = g_strstrip(g_strdup(gtk_entry_get_text(self->name_entry)));
	gtk_widget_set_sensitive(self->save_button, *name != '\0');
	gtk_button_set_label(GTK_BUTTON(self->cancel_button), _("_Cancel"));
	update_notes(self);
}

static void on_field_changed(HangarVmSettings *self)
{
	changed(self);
}

/* ---- recent ISOs ---- */


/* ---- disc changes ---- */

/* A running VM's disc change: the saved configuration follows at once
 * (only that drive's path; the dialog's other edits wait for Save). */
static void save_disc(HangarVmSettings *self, const DriveItem *item)
{
	const HgVmEntry *entry = hangar_vm_get_entry(self->vm);
	g_autoptr(HgVmConfig) config = NULL;
	g_autoptr(GError) error = NULL;
	HgVmDisk *disk;

	if (!entry || !entry->config || item->config_index < 0 ||
	    (guint)item->config_index >= entry->config->disks->len)
		return;
	config = hg_vm_config_copy(entry->config);
	disk = config->disks->pdata[item->config_index];
	if (disk->media != HG_DISK_MEDIA_CDROM)
		return;
	g_free(disk->path);
	disk->path = g_strdup(item->path);
	if (!hangar_vm_save_config(self->vm, config, NULL, &error)) {
		g_autofree char *message = g_strdup_printf(
			_("The disc was changed, but the settings could not be saved: %s"),
			error->message);
		show_error(self, message);
	}
}

typedef struct {
	HangarVmSettings *settings; /* a reference */
	DriveItem *item; /* owned by settings->drives; checked before use */
	char *path; /* the new disc, NULL: ejected */
} DiscChange;

static void disc_change_free(DiscChange *change)
{
	g_object_unref(change->settings);
	g_free(change->path);
	g_free(change);
}

static void disc_changed(GObject *source, GAsyncResult *result, gpointer user_data)
{
	DiscChange *change = user_data;
	HangarVmSettings *self = change->settings;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) reply =
		hangar_control_client_execute_finish(HANGAR_CONTROL_CLIENT(source), result, &error);

	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
	    !g_ptr_array_find(self->drives, change->item, NULL)) {
		disc_change_free(change);
		return;
	}
	change->item->busy = FALSE;
	if (!reply) {
		g_autofree char *message = disc_error_message(error, change->path == NULL);
		show_error(self, message);
	} else {
		g_free(change->item->path);
		change->item->path = g_strdup(change->path);
		save_disc(self, change->item);
		if (change->path)
			hangar_recent_isos_add(self->settings, change->path);
	}
	rebuild_disk_list(self, change->item);
	disc_change_free(change);
}

/* path NULL: eject. */
static void change_disc(HangarVmSettings *self, DriveItem *item, const char *path)
{
	HangarControlClient *control = hangar_vm_get_control(self->vm);
	g_autoptr(JsonObject) arguments = NULL;
	g_autofree char *id = NULL;
	DiscChange *change;

	gtk_widget_hide(GTK_WIDGET(self->error_bar));
	if (!vm_active(self) || item->port < 0 || !control) {
		/* Stopped, or a drive the engine does not have yet: the
		 * configuration only, on Save. */
		g_free(item->path);
		item->path = g_strdup(path);
		if (path)
			hangar_recent_isos_add(self->settings, path);
		rebuild_disk_list(self, item);
		changed(self);
		return;
	}
	id = g_strdup_printf("sata%d", item->port);
	arguments = json_object_new();
	json_object_set_string_member(arguments, "id", id);
	if (path)
		json_object_set_string_member(arguments, "filename", path);
	change = g_new0(DiscChange, 1);
	change->settings = g_object_ref(self);
	change->item = item;
	change->path = g_strdup(path);
	item->busy = TRUE;
	rebuild_disk_list(self, item);
	hangar_control_client_execute_async(control, path ? "blockdev-change-medium" : "eject",
					    arguments, self->cancellable, disc_changed, change);
}

static GtkFileFilter *iso_filter(void)
{
	GtkFileFilter *filter = gtk_file_filter_new();

	gtk_file_filter_set_name(filter, _("CD and DVD images (ISO)"));
	gtk_file_filter_add_mime_type(filter, "application/x-cd-image");
	gtk_file_filter_add_mime_type(filter, "application/x-iso9660-image");
	gtk_file_filter_add_pattern(filter, "*.iso");
	gtk_file_filter_add_pattern(filter, "*.ISO");
	return filter;
}

static GtkFileFilter *all_files_filter(void)
{
	GtkFileFilter *filter = gtk_file_filter_new();

	gtk_file_filter_set_name(filter, _("All files"));
	gtk_file_filter_add_pattern(filter, "*");
	return filter;
}

static void on_choose_iso_response(GtkNativeDialog *chooser, int response, gpointer user_data)
{
	HangarVmSettings *self = user_data;
	DriveItem *item = g_object_get_data(G_OBJECT(chooser), "drive");
	g_autofree char *path = NULL;

	if (response == GTK_RESPONSE_ACCEPT && g_ptr_array_find(self->drives, item, NULL))
		path = gtk_file_chooser_get_filename(GTK_FILE_CHOOSER(chooser));
	if (path)
		change_disc(self, item, path);
	g_object_unref(chooser);
	g_object_unref(self);
}

static void on_choose_iso_clicked(GtkButton *button, HangarVmSettings *self)
{
	DriveItem *item = g_object_get_data(G_OBJECT(button), "drive");
	GtkFileChooserNative *chooser = gtk_file_chooser_native_new(
		_("Choose a CD or DVD Image"), GTK_WINDOW(self), GTK_FILE_CHOOSER_ACTION_OPEN,
		_("_Choose"), _("_Cancel"));

	gtk_file_chooser_add_filter(GTK_FILE_CHOOSER(chooser), iso_filter());
	gtk_file_chooser_add_filter(GTK_FILE_CHOOSER(chooser), all_files_filter());
	g_object_set_data(G_OBJECT(chooser), "drive", item);
	g_signal_connect(chooser, "response", G_CALLBACK(on_choose_iso_response),
			 g_object_ref(self));
	gtk_native_dialog_show(GTK_NATIVE_DIALOG(chooser));
}

static void on_eject_clicked(GtkButton *button, HangarVmSettings *self)
{
	change_disc(self, g_object_get_data(G_OBJECT(button), "drive"), NULL);
}

/* ---- the drive list ---- */

static char *drive_display_path(HangarVmSettings *self, const DriveItem *item)
{
	const HgVmEntry *entry = hangar_vm_get_entry(self->vm);

	if (!item->path)
		return NULL;
	if (entry)
		return hg_vm_entry_resolve(entry, item->path);
	return g_strdup(item->path);
}

/* boot_position: 1 for the first drive the firmware tries, 0: not tried. */
static GtkWidget *drive_row_new(HangarVmSettings *self, DriveItem *item, unsigned boot_position)
{
	gboolean cdrom = item->media == HG_DISK_MEDIA_CDROM;
	g_autofree char *full = drive_display_path(self, item);
	g_autofree char *base = full ? g_path_get_basename(full) : NULL;
	g_autofree char *title = NULL;
	g_autofree char *details = NULL;
	const char *bus = item->bus == HG_DISK_BUS_SATA ? "SATA" : "VirtIO";
	GtkWidget *row = gtk_list_box_row_new();
	GtkWidget *box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 10);
	GtkWidget *labels = gtk_box_new(GTK_ORIENTATION_VERTICAL, 2);
	GtkWidget *icon = gtk_image_new_from_icon_name(
		cdrom ? "media-optical-symbolic" : "drive-harddisk-symbolic", GTK_ICON_SIZE_DND);
	GtkWidget *title_label, *details_label;

	if (cdrom)
		title = g_strdup_printf(_("CD-ROM: %s"), base ? base : _("no disc"));
	else
		title = g_strdup_printf(_("Disk: %s"), base);
	if (item->config_index < 0)
		/* TRANSLATORS: %s is the bus, "SATA" or "VirtIO". */
		details = g_strdup_printf(_("%s, added (applies when saved)"), bus);
	else if (cdrom && item->port >= 0)
		/* TRANSLATORS: %s is "SATA"; %d the port number. */
		details = g_strdup_printf(_("%s port %d"), bus, item->port);
	else
		details = g_strdup(bus);
	if (boot_position > 0) {
		g_autofree char *bus_text = g_steal_pointer(&details);
		/* TRANSLATORS: "SATA port 1 · boots 2nd"-like: %s the text
		 * before, %u the place in the boot order. */
		details = g_strdup_printf(_("%s · boot order %u"), bus_text, boot_position);
	}

	title_label = gtk_label_new(title);
	gtk_label_set_xalign(GTK_LABEL(title_label), 0);
	gtk_label_set_ellipsize(GTK_LABEL(title_label), PANGO_ELLIPSIZE_MIDDLE);
	details_label = gtk_label_new(details);
	gtk_label_set_xalign(GTK_LABEL(details_label), 0);
	gtk_style_context_add_class(gtk_widget_get_style_context(details_label), "dim-label");
	gtk_container_add(GTK_CONTAINER(labels), title_label);
	gtk_container_add(GTK_CONTAINER(labels), details_label);
	gtk_widget_set_hexpand(labels, TRUE);
	gtk_widget_set_valign(labels, GTK_ALIGN_CENTER);

	gtk_widget_set_margin_start(box, 8);
	gtk_widget_set_margin_end(box, 8);
	gtk_widget_set_margin_top(box, 6);
	gtk_widget_set_margin_bottom(box, 6);
	gtk_container_add(GTK_CONTAINER(box), icon);
	gtk_container_add(GTK_CONTAINER(box), labels);
	if (cdrom) {
		GtkWidget *choose = gtk_button_new_with_mnemonic(_("Choose _ISO…"));
		GtkWidget *eject =
			gtk_button_new_from_icon_name("media-eject-symbolic", GTK_ICON_SIZE_BUTTON);
		gtk_widget_set_tooltip_text(eject, _("Eject"));
		atk_object_set_name(gtk_widget_get_accessible(eject), _("Eject"));
		gtk_widget_set_valign(choose, GTK_ALIGN_CENTER);
		gtk_widget_set_valign(eject, GTK_ALIGN_CENTER);
		g_object_set_data(G_OBJECT(choose), "drive", item);
		g_object_set_data(G_OBJECT(eject), "drive", item);
		g_signal_connect(choose, "clicked", G_CALLBACK(on_choose_iso_clicked), self);
		g_signal_connect(eject, "clicked", G_CALLBACK(on_eject_clicked), self);
		gtk_widget_set_sensitive(choose, !item->busy);
		gtk_widget_set_sensitive(eject, !item->busy && item->path);
		gtk_widget_set_name(choose, "choose-iso");
		gtk_widget_set_name(eject, "eject");
		if (item->busy) {
			GtkWidget *spinner = gtk_spinner_new();
			gtk_spinner_start(GTK_SPINNER(spinner));
			gtk_container_add(GTK_CONTAINER(box), spinner);
		}
		gtk_container_add(GTK_CONTAINER(box), choose);
		gtk_container_add(GTK_CONTAINER(box), eject);
	}
	if (full)
		gtk_widget_set_tooltip_text(labels, full);
	gtk_container_add(GTK_CONTAINER(row), box);
	g_object_set_data(G_OBJECT(row), "drive", item);
	gtk_widget_show_all(row);
	item->row = row;
	return row;
}

static DriveItem *selected_drive(HangarVmSettings *self, guint *index)
{
	GtkListBoxRow *row = gtk_list_box_get_selected_row(self->disk_list);
	DriveItem *item = row ? g_object_get_data(G_OBJECT(row), "drive") : NULL;

	if (item && index && !g_ptr_array_find(self->drives, item, index))
		return NULL;
	return item;
}

static void update_list_buttons(HangarVmSettings *self)
{
	guint index = 0;
	DriveItem *item = selected_drive(self, &index);

	gtk_widget_set_sensitive(self->remove_button, item && !item->busy);
	gtk_widget_set_sensitive(self->up_button, item && index > 0);
	gtk_widget_set_sensitive(self->down_button, item && index + 1 < self->drives->len);
}

static void on_disk_selected(HangarVmSettings *self)
{
	update_list_buttons(self);
}

static void rebuild_disk_list(HangarVmSettings *self, DriveItem *select)
{
	GList *children = gtk_container_get_children(GTK_CONTAINER(self->disk_list));

	for (GList *l = children; l; l = l->next)
		gtk_widget_destroy(l->data);
	g_list_free(children);
	unsigned boot_position = 0;

	for (guint i = 0; i < self->drives->len; i++) {
		DriveItem *item = self->drives->pdata[i];
		GtkWidget *row = drive_row_new(self, item, item->bootable ? ++boot_position : 0);
		gtk_list_box_insert(self->disk_list, row, -1);
		if (item == select)
			gtk_list_box_select_row(self->disk_list, GTK_LIST_BOX_ROW(row));
	}
	update_list_buttons(self);
}

static void move_selected(HangarVmSettings *self, int delta)
{
	guint index;
	DriveItem *item = selected_drive(self, &index);
	DriveItem *other;

	if (!item || (delta < 0 && index == 0) || (delta > 0 && index + 1 >= self->drives->len))
		return;
	other = self->drives->pdata[index + delta];
	self->drives->pdata[index + delta] = item;
	self->drives->pdata[index] = other;
	/* What the user put in order, the firmware tries. */
	item->bootable = other->bootable = true;
	self->order_changed = TRUE;
	rebuild_disk_list(self, item);
	changed(self);
}

static void on_up_clicked(HangarVmSettings *self)
{
	move_selected(self, -1);
}

static void on_down_clicked(HangarVmSettings *self)
{
	move_selected(self, +1);
}

static void on_remove_clicked(HangarVmSettings *self)
{
	guint index;
	DriveItem *item = selected_drive(self, &index);

	if (!item || item->busy)
		return;
	g_ptr_array_remove_index(self->drives, index);
	self->order_changed = TRUE;
	rebuild_disk_list(self, NULL);
	changed(self);
}

static unsigned count_bus(HangarVmSettings *self, HgDiskBus bus)
{
	unsigned n = 0;

	for (guint i = 0; i < self->drives->len; i++)
		n += ((DriveItem *)self->drives->pdata[i])->bus == bus;
	return n;
}

static DriveItem *add_drive(HangarVmSettings *self, const char *path, const char *format,
			    HgDiskBus bus, HgDiskMedia media)
{
	DriveItem *item = g_new0(DriveItem, 1);

	item->path = g_strdup(path);
	item->format = g_strdup(format);
	item->bus = bus;
	item->media = media;
	item->read_only = media == HG_DISK_MEDIA_CDROM;
	item->config_index = -1;
	item->added = self->n_added++;
	item->port = -1;
	item->bootable = true;
	item->boot_index = -1;
	g_ptr_array_add(self->drives, item);
	rebuild_disk_list(self, item);
	changed(self);
	return item;
}

static void on_add_cdrom_clicked(HangarVmSettings *self)
{
	gtk_widget_hide(GTK_WIDGET(self->error_bar));
	if (count_bus(self, HG_DISK_BUS_SATA) >= 6) {
		show_error(self, _("There is no room for another CD-ROM drive: a virtual machine "
				   "has at most 6 SATA drives."));
		return;
	}
	add_drive(self, NULL, "raw", HG_DISK_BUS_SATA, HG_DISK_MEDIA_CDROM);
}

static void on_add_disk_response(GtkNativeDialog *chooser, int response, gpointer user_data)
{
	HangarVmSettings *self = user_data;
	g_autofree char *path = NULL;
	g_autoptr(GError) error = NULL;

	if (response == GTK_RESPONSE_ACCEPT)
		path = gtk_file_chooser_get_filename(GTK_FILE_CHOOSER(chooser));
	g_object_unref(chooser);
	if (path) {
		/* A new disk joins the bus of the VM's first disk (its OS
		 * drives that one), else virtio; a full bus takes the other. */
		HgDiskBus bus = HG_DISK_BUS_VIRTIO;
		for (guint i = 0; i < self->drives->len; i++) {
			const DriveItem *item = self->drives->pdata[i];
			if (item->media == HG_DISK_MEDIA_DISK) {
				bus = item->bus;
				break;
			}
		}
		if (bus == HG_DISK_BUS_SATA && count_bus(self, HG_DISK_BUS_SATA) >= 6)
			bus = HG_DISK_BUS_VIRTIO;
		if (bus == HG_DISK_BUS_VIRTIO && count_bus(self, HG_DISK_BUS_VIRTIO) >= 12)
			bus = HG_DISK_BUS_SATA;
		gboolean writable = FALSE;
		/* Its format as found now, when the user picks it, is what the
		 * VM records: the engine never reads it from the content. */
		const char *format = NULL;
		if (!hangar_image_check_usable(path, NULL, &writable, &format, &error))
			show_error(self, error->message);
		else if (!writable)
			show_error(self, _("Only raw and qcow2 images can be added as they are. Import "
					   "this image (drop it on Hangar’s window) to get a "
					   "qcow2 copy."));
		else if (count_bus(self, bus) >= (bus == HG_DISK_BUS_SATA ? 6u : 12u))
			show_error(self, _("There is no room for another disk: a virtual machine "
					   "has at most 6 SATA and 12 VirtIO drives."));
		else
			add_drive(self, path, format, bus, HG_DISK_MEDIA_DISK);
	}
	g_object_unref(self);
}

static void on_add_disk_clicked(HangarVmSettings *self)
{
	GtkFileChooserNative *chooser =
		gtk_file_chooser_native_new(_("Add a Disk Image"), GTK_WINDOW(self),
					    GTK_FILE_CHOOSER_ACTION_OPEN, _("_Add"), _("_Cancel"));
	GtkFileFilter *raw = gtk_file_filter_new();

	gtk_widget_hide(GTK_WIDGET(self->error_bar));
	gtk_file_filter_set_name(raw, _("Raw disk images"));
	gtk_file_filter_add_pattern(raw, "*.img");
	gtk_file_filter_add_pattern(raw, "*.raw");
	gtk_file_chooser_add_filter(GTK_FILE_CHOOSER(chooser), raw);
	gtk_file_chooser_add_filter(GTK_FILE_CHOOSER(chooser), all_files_filter());
	g_signal_connect(chooser, "response", G_CALLBACK(on_add_disk_response), g_object_ref(self));
	gtk_native_dialog_show(GTK_NATIVE_DIALOG(chooser));
}

/* ---- loading and saving ---- */

static gint compare_boot_order(gconstpointer a, gconstpointer b)
{
	const DriveItem *x = *(DriveItem *const *)a, *y = *(DriveItem *const *)b;

	/* Bootable first by index, then the rest in bus order. */
	if ((x->boot_index < 0) != (y->boot_index < 0))
		return x->boot_index < 0 ? 1 : -1;
	if (x->boot_index != y->boot_index)
		return x->boot_index < y->boot_index ? -1 : 1;
	return x->config_index - y->config_index;
}

static void load(HangarVmSettings *self)
{
	const HgVmConfig *config = self->original;
	g_autofree char *title = g_strdup_printf(_("%s — Settings"), config->name);
	int sata_port = 0;

	self->loading = TRUE;
	gtk_window_set_title(GTK_WINDOW(self), title);
	gtk_entry_set_text(self->name_entry, config->name);
	gtk_spin_button_set_value(self->memory_spin, config->memory_mib);
	gtk_spin_button_set_value(self->cpus_spin, config->cpus);
	gtk_combo_box_set_active_id(GTK_COMBO_BOX(self->firmware_combo),
				    hg_firmware_to_string(config->firmware));
	gtk_combo_box_set_active_id(GTK_COMBO_BOX(self->display_combo),
				    hg_display_protocol_to_string(config->display));
	gtk_switch_set_active(self->boot_menu_switch, config->boot_menu);

	for (guint i = 0; i < config->disks->len; i++) {
		const HgVmDisk *disk = config->disks->pdata[i];
		DriveItem *item = g_new0(DriveItem, 1);
		item->path = g_strdup(disk->path);
		item->format = g_strdup(disk->format);
		item->bus = disk->bus;
		item->media = disk->media;
		item->read_only = disk->read_only;
		item->boot_index = disk->boot_index;
		item->bootable = disk->boot_index >= 0;
		item->config_index = (int)i;
		item->port = -1;
		/* hg_engine_argv passes drives in this order; the engine
		 * numbers the SATA ones from port 0 (engine/platform.c). */
		if (disk->bus == HG_DISK_BUS_SATA) {
			if (disk->media == HG_DISK_MEDIA_CDROM)
				item->port = sata_port;
			sata_port++;
		}
		g_ptr_array_add(self->drives, item);
	}
	g_ptr_array_sort(self->drives, compare_boot_order);
	rebuild_disk_list(self, NULL);
	self->loading = FALSE;
	changed(self);
}

/* TRUE when saved (the dialog may close). */
static gboolean save(HangarVmSettings *self)
{
	const HgVmEntry *entry = hangar_vm_get_entry(self->vm);
	g_autoptr(HgVmConfig) config = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *name = g_strstrip(g_strdup(gtk_entry_get_text(self->name_entry)));
	gboolean needs_restart = FALSE;

	gtk_widget_hide(GTK_WIDGET(self->error_bar));
	if (!entry || !entry->config) {
		show_error(self, _("The virtual machine’s configuration cannot be read any more."));
		return FALSE;
	}
	/* The saved configuration, with disc changes made meanwhile, and the
	 * dialog's edits on top. */
	config = hg_vm_config_copy(entry->config);
	g_free(config->name);
	config->name = g_strdup(name);
	hangar_machine_fields_read(config, self->memory_spin, self->cpus_spin,
				   GTK_COMBO_BOX(self->firmware_combo),
				   GTK_COMBO_BOX(self->display_combo));
	config->boot_menu = gtk_switch_get_active(self->boot_menu_switch);
	drives_to_config(self, config);
	/* Formats a start recorded since the dialog opened stay recorded. */
	hg_vm_config_fill_formats(config, entry->config);

	if (!hangar_vm_save_config(self->vm, config, &needs_restart, &error)) {
		g_autofree char *message = NULL;
		if (g_error_matches(error, HG_VM_ERROR, HG_VM_ERROR_EXISTS))
			message = g_strdup_printf(_("A virtual machine named “%s” already exists. "
						    "Choose another name."),
						  name);
		else
			message = g_strdup_printf(_("The settings could not be saved: %s"),
						  error->message);
		show_error(self, message);
		if (g_error_matches(error, HG_VM_ERROR, HG_VM_ERROR_EXISTS))
			gtk_widget_grab_focus(GTK_WIDGET(self->name_entry));
		return FALSE;
	}
	if (needs_restart) {
		/* Say so here rather than vanish: the dialog stays, Save is
		 * done until the next edit. */
		gtk_widget_set_no_show_all(GTK_WIDGET(self->restart_bar), FALSE);
		gtk_widget_show_all(GTK_WIDGET(self->restart_bar));
		gtk_widget_set_sensitive(self->save_button, FALSE);
		gtk_button_set_label(GTK_BUTTON(self->cancel_button), _("_Close"));
		return FALSE;
	}
	return TRUE;
}

static void hangar_vm_settings_response(GtkDialog *dialog, int response)
{
	HangarVmSettings *self = HANGAR_VM_SETTINGS(dialog);

	if (response == GTK_RESPONSE_OK) {
		if (!gtk_widget_is_sensitive(self->save_button) || !save(self))
			return;
	}
	gtk_widget_destroy(GTK_WIDGET(self));
}

static void on_vm_state_changed(HangarVmSettings *self)
{
	update_notes(self);
	rebuild_disk_list(self, selected_drive(self, NULL));
}

/* ---- GObject ---- */

static void hangar_vm_settings_constructed(GObject *object)
{
	HangarVmSettings *self = HANGAR_VM_SETTINGS(object);

	G_OBJECT_CLASS(hangar_vm_settings_parent_class)->constructed(object);
	self->cancel_button =
		gtk_dialog_add_button(GTK_DIALOG(self), _("_Cancel"), GTK_RESPONSE_CANCEL);
	self->save_button = gtk_dialog_add_button(GTK_DIALOG(self), _("_Save"), GTK_RESPONSE_OK);
	gtk_style_context_add_class(gtk_widget_get_style_context(self->save_button),
				    GTK_STYLE_CLASS_SUGGESTED_ACTION);
	gtk_dialog_set_default_response(GTK_DIALOG(self), GTK_RESPONSE_OK);
}

static void hangar_vm_settings_dispose(GObject *object)
{
	HangarVmSettings *self = HANGAR_VM_SETTINGS(object);

	g_cancellable_cancel(self->cancellable);
	g_clear_object(&self->cancellable);
	g_clear_object(&self->vm);
	g_clear_object(&self->settings);
	G_OBJECT_CLASS(hangar_vm_settings_parent_class)->dispose(object);
}

static void hangar_vm_settings_finalize(GObject *object)
{
	HangarVmSettings *self = HANGAR_VM_SETTINGS(object);

	g_ptr_array_unref(self->drives);
	g_clear_pointer(&self->original, hg_vm_config_free);
	G_OBJECT_CLASS(hangar_vm_settings_parent_class)->finalize(object);
}

static void hangar_vm_settings_class_init(HangarVmSettingsClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);
	GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

	object_class->constructed = hangar_vm_settings_constructed;
	object_class->dispose = hangar_vm_settings_dispose;
	object_class->finalize = hangar_vm_settings_finalize;
	GTK_DIALOG_CLASS(klass)->response = hangar_vm_settings_response;

	gtk_widget_class_set_template_from_resource(
		widget_class, "/org/hangar/Hangar/ui/vm/hangar-vm-settings.ui");
#define CHILD(name) gtk_widget_class_bind_template_child(widget_class, HangarVmSettings, name)
	CHILD(error_bar);
	CHILD(error_label);
	CHILD(restart_bar);
	CHILD(restart_label);
	CHILD(content);
	CHILD(name_entry);
	CHILD(memory_spin);
	CHILD(cpus_spin);
	CHILD(firmware_combo);
	CHILD(display_combo);
	CHILD(boot_menu_switch);
	CHILD(memory_note);
	CHILD(cpus_note);
	CHILD(firmware_note);
	CHILD(display_note);
	CHILD(boot_menu_note);
	CHILD(disk_list);
	CHILD(disks_note);
	CHILD(add_disk_button);
	CHILD(add_cdrom_button);
	CHILD(up_button);
	CHILD(down_button);
	CHILD(remove_button);
#undef CHILD
	gtk_widget_class_bind_template_callback(widget_class, on_info_bar_response);
	gtk_widget_class_bind_template_callback(widget_class, on_field_changed);
	gtk_widget_class_bind_template_callback(widget_class, on_disk_selected);
	gtk_widget_class_bind_template_callback(widget_class, on_add_disk_clicked);
	gtk_widget_class_bind_template_callback(widget_class, on_add_cdrom_clicked);
	gtk_widget_class_bind_template_callback(widget_class, on_up_clicked);
	gtk_widget_class_bind_template_callback(widget_class, on_down_clicked);
	gtk_widget_class_bind_template_callback(widget_class, on_remove_clicked);
}

static void hangar_vm_settings_init(HangarVmSettings *self)
{
	GSettingsSchemaSource *schemas = g_settings_schema_source_get_default();
	g_autoptr(GSettingsSchema) schema = NULL;

	self->loading = TRUE;
	gtk_widget_init_template(GTK_WIDGET(self));
	self->drives = g_ptr_array_new_with_free_func((GDestroyNotify)drive_item_free);
	self->cancellable = g_cancellable_new();
	if (schemas)
		schema = g_settings_schema_source_lookup(schemas, SETTINGS_SCHEMA, TRUE);
	if (schema)
		self->settings = g_settings_new(SETTINGS_SCHEMA);
	hangar_memory_spin_setup(self->memory_spin, HG_VM_MEMORY_MIN_MIB, HG_VM_MEMORY_MAX_MIB);
	gtk_spin_button_set_range(self->cpus_spin, 1, HG_VM_CPUS_MAX);
}

gboolean hangar_vm_settings_set_disc(HangarVmSettings *self, unsigned n, const char *iso_path)
{
	DriveItem *item;

	g_return_val_if_fail(HANGAR_IS_VM_SETTINGS(self), FALSE);
	if (n >= self->drives->len)
		return FALSE;
	item = self->drives->pdata[n];
	if (item->media != HG_DISK_MEDIA_CDROM || item->busy)
		return FALSE;
	change_disc(self, item, iso_path);
	return TRUE;
}

HangarVmSettings *hangar_vm_settings_new(GtkWindow *parent, HangarVm *vm)
{
	HangarVmSettings *self = g_object_new(HANGAR_TYPE_VM_SETTINGS, "use-header-bar", TRUE,
					      "transient-for", parent, NULL);
	const HgVmEntry *entry = hangar_vm_get_entry(vm);

	self->vm = g_object_ref(vm);
	if (!entry || !entry->config) {
		g_autofree char *message = g_strdup_printf(
			_("This virtual machine’s configuration cannot be read: %s"),
			entry && entry->error ? entry->error->message : _("unknown reason"));
		gtk_window_set_title(GTK_WINDOW(self), _("Settings"));
		self->original = hg_vm_config_new(hangar_vm_get_name(vm));
		show_error(self, message);
		gtk_widget_set_sensitive(self->content, FALSE);
		gtk_widget_set_sensitive(self->save_button, FALSE);
		self->loading = FALSE;
		return self;
	}
	self->original = hg_vm_config_copy(entry->config);
	load(self);
	g_signal_connect_object(vm, "notify::state", G_CALLBACK(on_vm_state_changed), self,
				G_CONNECT_SWAPPED);
	return self;
}
