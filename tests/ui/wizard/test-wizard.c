/* The create wizard and the settings dialog, driven as a user would (under
 * Xvfb): small ISO images built with xorriso carry the volume ids of real
 * installers, the wizard detects them, and the VM it creates is checked in
 * a temporary library.
 *
 * Environment (tests/ui/wizard/meson.build): GSETTINGS_SCHEMA_DIR at the
 * build's compiled schema with GSETTINGS_BACKEND=memory, HANGAR_OSINFO_DIR
 * at data/osinfo.  HANGAR_TEST_SCREENSHOTS=<folder> saves a PNG of each
 * dialog there. */
#include <glib/gstdio.h>
#include <gtk/gtk.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "library/block/block.h"
#include "library/vm/vm_library.h"
#include "ui/hangar-vm.h"
#include "ui/vm/hangar-vm-settings.h"
#include "ui/wizard/hangar-wizard.h"

enum { RESPONSE_NEXT = 2 };

static char *work_dir; /* this run's images and libraries */

/* ---- helpers ---- */

static void remove_tree(const char *path)
{
	g_autoptr(GFile) file = g_file_new_for_path(path);
	g_autoptr(GFileEnumerator) children =
		g_file_enumerate_children(file, G_FILE_ATTRIBUTE_STANDARD_NAME,
					  G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, NULL);
	GFileInfo *info;

	while (children && (info = g_file_enumerator_next_file(children, NULL, NULL))) {
		g_autofree char *child = g_build_filename(path, g_file_info_get_name(info), NULL);
		if (g_file_test(child, G_FILE_TEST_IS_DIR) &&
		    !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
			remove_tree(child);
		else
			g_unlink(child);
		g_object_unref(info);
	}
	g_rmdir(path);
}

/* An ISO image carrying volume_id, made by xorriso. */
static char *make_iso(const char *name, const char *volume_id)
{
	g_autofree char *content = g_build_filename(work_dir, "iso-content", NULL);
	char *iso = g_build_filename(work_dir, name, NULL);
	g_autofree char *readme = g_build_filename(content, "README.TXT", NULL);
	g_autofree char *err_text = NULL;
	g_autoptr(GError) error = NULL;
	int status = 0;
	const char *argv[] = {"xorriso", "-as", "mkisofs", "-quiet", "-V",
			      volume_id, "-o",	iso,	   content,  NULL};

	g_assert_cmpint(g_mkdir_with_parents(content, 0700), ==, 0);
	g_assert_true(g_file_set_contents(readme, "Hangar test media\n", -1, NULL));
	g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL,
				   G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
				   NULL, &err_text, &status, &error));
	g_assert_no_error(error);
	if (!g_spawn_check_wait_status(status, &error))
		g_error("xorriso failed: %s\n%s", error->message, err_text);
	return iso;
}

static gboolean timeout_reached(gpointer data)
{
	*(gboolean *)data = TRUE;
	return G_SOURCE_REMOVE;
}

/* Runs the main loop until cond(data) or about 20 s. */
static void wait_for(gboolean (*cond)(gpointer), gpointer data)
{
	gboolean timed_out = FALSE;
	guint timer = g_timeout_add_seconds(20, timeout_reached, &timed_out);

	while (!cond(data) && !timed_out)
		g_main_context_iteration(NULL, TRUE);
	if (!timed_out)
		g_source_remove(timer);
	g_assert_true(cond(data));
}

static void flush_events(void)
{
	/* Let the dialog map, lay out and draw. */
	for (int i = 0; i < 20; i++) {
		while (g_main_context_iteration(NULL, FALSE))
			;
		g_usleep(10000);
	}
}

static GtkWidget *child(gpointer widget, GType type, const char *name)
{
	GObject *object = gtk_widget_get_template_child(GTK_WIDGET(widget), type, name);

	g_assert_nonnull(object);
	return GTK_WIDGET(object);
}
#define WIZARD_CHILD(w, name) child(w, HANGAR_TYPE_WIZARD, name)
#define SETTINGS_CHILD(w, name) child(w, HANGAR_TYPE_VM_SETTINGS, name)

static void screenshot(GtkWidget *widget, const char *name)
{
	const char *dir = g_getenv("HANGAR_TEST_SCREENSHOTS");
	g_autofree char *path = NULL;
	g_autoptr(GdkPixbuf) pixbuf = NULL;
	g_autoptr(GError) error = NULL;
	GdkWindow *window;

	if (!dir)
		return;
	flush_events();
	window = gtk_widget_get_window(widget);
	g_assert_nonnull(window);
	pixbuf = gdk_pixbuf_get_from_window(window, 0, 0, gdk_window_get_width(window),
					    gdk_window_get_height(window));
	g_assert_nonnull(pixbuf);
	path = g_build_filename(dir, name, NULL);
	g_assert_true(gdk_pixbuf_save(pixbuf, path, "png", &error, NULL));
	g_test_message("screenshot: %s", path);
}

/* ---- a temporary library per test ---- */

typedef struct {
	char *root;
	HgVmLibrary *library;
	/* "created" */
	char *created_id;
	gboolean created_start;
	int created_count;
	gboolean destroyed;
} Fixture;

static void fixture_set_up(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *template = g_build_filename(work_dir, "library-XXXXXX", NULL);

	f->root = g_strdup(g_mkdtemp(template));
	g_assert_nonnull(f->root);
	f->library = hg_vm_library_open(f->root, &error);
	g_assert_no_error(error);
}

static void fixture_tear_down(Fixture *f, gconstpointer data)
{
	GList *toplevels = gtk_window_list_toplevels();

	/* Dialogs a test left open. */
	for (GList *l = toplevels; l; l = l->next)
		if (HANGAR_IS_WIZARD(l->data) || HANGAR_IS_VM_SETTINGS(l->data))
			gtk_widget_destroy(l->data);
	g_list_free(toplevels);
	flush_events();
	hg_vm_library_free(f->library);
	remove_tree(f->root);
	g_free(f->root);
	g_free(f->created_id);
}

static void on_created(HangarWizard *wizard, const char *vm_id, gboolean start, Fixture *f)
{
	g_free(f->created_id);
	f->created_id = g_strdup(vm_id);
	f->created_start = start;
	f->created_count++;
}

static void on_destroyed(GtkWidget *widget, Fixture *f)
{
	f->destroyed = TRUE;
}

static HangarWizard *open_wizard(Fixture *f, const char *iso)
{
	g_autoptr(GFile) file = iso ? g_file_new_for_path(iso) : NULL;
	HangarWizard *wizard = hangar_wizard_new(NULL, f->library, file);

	g_signal_connect(wizard, "created", G_CALLBACK(on_created), f);
	g_signal_connect(wizard, "destroy", G_CALLBACK(on_destroyed), f);
	gtk_widget_show(GTK_WIDGET(wizard));
	return wizard;
}

static gboolean next_is_sensitive(gpointer data)
{
	GtkWidget *next = gtk_dialog_get_widget_for_response(GTK_DIALOG(data), RESPONSE_NEXT);

	return next && gtk_widget_is_sensitive(next);
}

static gboolean source_error_shown(gpointer data)
{
	return gtk_widget_get_visible(WIZARD_CHILD(data, "source_error_bar"));
}

/* Detection done, then Next: page 2. */
static void go_to_settings(HangarWizard *wizard)
{
	wait_for(next_is_sensitive, wizard);
	gtk_dialog_response(GTK_DIALOG(wizard), RESPONSE_NEXT);
	g_assert_cmpstr(gtk_stack_get_visible_child_name(GTK_STACK(WIZARD_CHILD(wizard, "stack"))),
			==, "settings");
}

static const char *label_text(gpointer wizard, const char *name)
{
	return gtk_label_get_text(GTK_LABEL(WIZARD_CHILD(wizard, name)));
}

static int spin_value(gpointer widget, GType type, const char *name)
{
	return gtk_spin_button_get_value_as_int(GTK_SPIN_BUTTON(child(widget, type, name)));
}

static unsigned count_vm_folders(Fixture *f, gboolean hidden_too)
{
	g_autofree char *vms = g_build_filename(f->root, "vms", NULL);
	g_autoptr(GDir) dir = g_dir_open(vms, 0, NULL);
	const char *name;
	unsigned n = 0;

	g_assert_nonnull(dir);
	while ((name = g_dir_read_name(dir)))
		n += hidden_too || name[0] != '.';
	return n;
}

static HgVmEntry *created_entry(Fixture *f)
{
	g_autoptr(GError) error = NULL;
	HgVmEntry *entry;

	g_assert_nonnull(f->created_id);
	entry = hg_vm_library_lookup(f->library, f->created_id, &error);
	g_assert_no_error(error);
	g_assert_nonnull(entry->config);
	return entry;
}

/* A new VM's disk: a qcow2 image of size bytes with next to nothing
 * allocated. */
static void assert_new_qcow2_disk(const HgVmEntry *entry, const char *name, guint64 size)
{
	g_autofree char *path = g_build_filename(entry->dir, name, NULL);
	g_autoptr(GError) error = NULL;
	HgBlockBackend *blk = hg_block_open(path, TRUE, &error);
	struct stat st;

	g_assert_no_error(error);
	g_assert_cmpstr(hg_block_format(blk), ==, "qcow2");
	g_assert_cmpuint(hg_block_size(blk), ==, size);
	hg_block_close(blk);
	g_assert_cmpint(g_stat(path, &st), ==, 0);
	g_assert_cmpuint((guint64)st.st_blocks * 512, <, 1024 * 1024);
}

/* ---- wizard: from an ISO ---- */

static void test_iso_debian_detected_and_created(Fixture *f, gconstpointer data)
{
	g_autofree char *iso = make_iso("debian.iso", "Debian 12.8.0 amd64 n");
	g_autoptr(HangarWizard) wizard = g_object_ref(open_wizard(f, iso));
	g_autoptr(HgVmEntry) entry = NULL;
	g_autoptr(GSettings) settings = g_settings_new("org.hangar.Hangar");
	g_auto(GStrv) recent = NULL;
	const HgVmDisk *disk, *cdrom;
	unsigned cpus = MIN(2u, g_get_num_processors());

	go_to_settings(wizard);
	g_assert_cmpstr(label_text(wizard, "os_label"), ==, "Debian 12");
	g_assert_cmpstr(gtk_entry_get_text(GTK_ENTRY(WIZARD_CHILD(wizard, "name_entry"))), ==,
			"Debian 12");
	g_assert_cmpint(spin_value(wizard, HANGAR_TYPE_WIZARD, "memory_spin"), ==, 2048);
	g_assert_cmpint(spin_value(wizard, HANGAR_TYPE_WIZARD, "cpus_spin"), ==, (int)cpus);
	g_assert_cmpint(spin_value(wizard, HANGAR_TYPE_WIZARD, "disk_spin"), ==, 20);
	g_assert_cmpstr(
		gtk_combo_box_get_active_id(GTK_COMBO_BOX(WIZARD_CHILD(wizard, "firmware_combo"))),
		==, "bios");
	g_assert_cmpstr(
		gtk_combo_box_get_active_id(GTK_COMBO_BOX(WIZARD_CHILD(wizard, "display_combo"))),
		==, "spice");
	g_assert_true(gtk_widget_get_visible(WIZARD_CHILD(wizard, "disk_spin")));
	screenshot(GTK_WIDGET(wizard), "wizard-settings-debian.png");

	gtk_dialog_response(GTK_DIALOG(wizard), GTK_RESPONSE_OK);
	g_assert_cmpint(f->created_count, ==, 1);
	g_assert_true(f->created_start);
	g_assert_true(f->destroyed);

	entry = created_entry(f);
	g_assert_cmpstr(entry->config->name, ==, "Debian 12");
	g_assert_cmpstr(entry->config->os_id, ==, "debian12");
	g_assert_cmpstr(entry->config->os_name, ==, "Debian 12");
	g_assert_cmpuint(entry->config->memory_mib, ==, 2048);
	g_assert_cmpuint(entry->config->cpus, ==, cpus);
	g_assert_cmpint(entry->config->firmware, ==, HG_FIRMWARE_BIOS);
	g_assert_cmpint(entry->config->display, ==, HG_DISPLAY_SPICE);
	g_assert_cmpuint(entry->config->disks->len, ==, 2);
	disk = entry->config->disks->pdata[0];
	cdrom = entry->config->disks->pdata[1];
	g_assert_cmpstr(disk->path, ==, "disk.qcow2");
	g_assert_cmpstr(disk->format, ==, "qcow2");
	g_assert_cmpint(disk->media, ==, HG_DISK_MEDIA_DISK);
	g_assert_cmpint(disk->bus, ==, HG_DISK_BUS_VIRTIO); /* Debian has virtio drivers */
	g_assert_cmpint(disk->boot_index, ==, 1);
	g_assert_cmpstr(cdrom->path, ==, iso);
	g_assert_cmpstr(cdrom->format, ==, "raw");
	g_assert_cmpint(cdrom->media, ==, HG_DISK_MEDIA_CDROM);
	g_assert_cmpint(cdrom->bus, ==, HG_DISK_BUS_SATA);
	g_assert_true(cdrom->read_only);
	g_assert_cmpint(cdrom->boot_index, ==, 0);
	assert_new_qcow2_disk(entry, "disk.qcow2", 20ull << 30);
	g_assert_cmpuint(count_vm_folders(f, TRUE), ==, 1);

	recent = g_settings_get_strv(settings, "recent-isos");
	g_assert_nonnull(recent[0]);
	g_assert_cmpstr(recent[0], ==, iso);
}

/* Ubuntu 24.04's recommendations differ from the defaults (4 GiB, 25 GiB):
 * they reach the fields, and the user's changes win. */
static void test_iso_recommendations_fill_fields_and_user_changes_win(Fixture *f,
								      gconstpointer data)
{
	g_autofree char *iso = make_iso("ubuntu.iso", "Ubuntu 24.04 LTS amd64");
	g_autoptr(HangarWizard) wizard = g_object_ref(open_wizard(f, iso));
	g_autoptr(HgVmEntry) entry = NULL;

	go_to_settings(wizard);
	g_assert_cmpstr(label_text(wizard, "os_label"), ==, "Ubuntu 24.04 LTS");
	g_assert_cmpint(spin_value(wizard, HANGAR_TYPE_WIZARD, "memory_spin"), ==, 4096);
	g_assert_cmpint(spin_value(wizard, HANGAR_TYPE_WIZARD, "disk_spin"), ==, 25);
	g_assert_cmpstr(gtk_entry_get_text(GTK_ENTRY(WIZARD_CHILD(wizard, "memory_spin"))), ==,
			"4 GiB");

	/* Typed as a user would: "3 GiB" in the memory field. */
	gtk_entry_set_text(GTK_ENTRY(WIZARD_CHILD(wizard, "memory_spin")), "3 GiB");
	gtk_spin_button_update(GTK_SPIN_BUTTON(WIZARD_CHILD(wizard, "memory_spin")));
	gtk_spin_button_set_value(GTK_SPIN_BUTTON(WIZARD_CHILD(wizard, "disk_spin")), 8);
	gtk_combo_box_set_active_id(GTK_COMBO_BOX(WIZARD_CHILD(wizard, "firmware_combo")), "uefi");
	gtk_combo_box_set_active_id(GTK_COMBO_BOX(WIZARD_CHILD(wizard, "display_combo")), "vnc");
	gtk_entry_set_text(GTK_ENTRY(WIZARD_CHILD(wizard, "name_entry")), "  My Ubuntu ");
	/* Back and Next keep them. */
	gtk_dialog_response(GTK_DIALOG(wizard), 1);
	gtk_dialog_response(GTK_DIALOG(wizard), RESPONSE_NEXT);
	g_assert_cmpint(spin_value(wizard, HANGAR_TYPE_WIZARD, "memory_spin"), ==, 3072);

	gtk_dialog_response(GTK_DIALOG(wizard), GTK_RESPONSE_OK);
	g_assert_cmpint(f->created_count, ==, 1);
	entry = created_entry(f);
	g_assert_cmpstr(entry->config->name, ==, "My Ubuntu");
	g_assert_cmpstr(entry->config->os_id, ==, "ubuntu24.04");
	g_assert_cmpuint(entry->config->memory_mib, ==, 3072);
	g_assert_cmpint(entry->config->firmware, ==, HG_FIRMWARE_UEFI);
	g_assert_cmpint(entry->config->display, ==, HG_DISPLAY_VNC);
	assert_new_qcow2_disk(entry, "disk.qcow2", 8ull << 30);
}

static void test_iso_unknown_gets_defaults(Fixture *f, gconstpointer data)
{
	g_autofree char *iso = make_iso("mystery.iso", "HANGAR MYSTERY 1");
	g_autoptr(HangarWizard) wizard = g_object_ref(open_wizard(f, iso));
	g_autoptr(HgVmEntry) entry = NULL;
	const HgVmDisk *disk;

	go_to_settings(wizard);
	g_assert_cmpstr(label_text(wizard, "os_label"), ==,
			"Unknown operating system — defaults are used");
	g_assert_cmpstr(gtk_entry_get_text(GTK_ENTRY(WIZARD_CHILD(wizard, "name_entry"))), ==,
			"New VM");
	g_assert_cmpint(spin_value(wizard, HANGAR_TYPE_WIZARD, "memory_spin"), ==, 2048);
	g_assert_cmpint(spin_value(wizard, HANGAR_TYPE_WIZARD, "disk_spin"), ==, 20);
	screenshot(GTK_WIDGET(wizard), "wizard-settings-unknown.png");

	gtk_dialog_response(GTK_DIALOG(wizard), GTK_RESPONSE_OK);
	g_assert_cmpint(f->created_count, ==, 1);
	g_assert_true(f->created_start);
	entry = created_entry(f);
	g_assert_null(entry->config->os_id);
	g_assert_cmpuint(entry->config->memory_mib, ==, 2048);
	disk = entry->config->disks->pdata[0];
	g_assert_cmpint(disk->bus, ==, HG_DISK_BUS_SATA); /* unknown OS: no virtio assumed */
	g_assert_cmpint(((HgVmDisk *)entry->config->disks->pdata[1])->boot_index, ==, 0);
}

static void test_name_taken_is_refused_and_nothing_made(Fixture *f, gconstpointer data)
{
	g_autofree char *iso = make_iso("debian.iso", "Debian 12.8.0 amd64 n");
	g_autoptr(HgVmConfig) existing = hg_vm_config_new("Debian 12");
	g_autoptr(HgVmEntry) existing_entry = NULL;
	g_autoptr(HangarWizard) wizard = NULL;
	g_autoptr(GError) error = NULL;
	GtkWidget *bar;

	existing_entry = hg_vm_library_create(f->library, existing, &error);
	g_assert_no_error(error);
	wizard = g_object_ref(open_wizard(f, iso));
	go_to_settings(wizard);
	/* Prefilled to a free name... */
	g_assert_cmpstr(gtk_entry_get_text(GTK_ENTRY(WIZARD_CHILD(wizard, "name_entry"))), ==,
			"Debian 12 (2)");
	/* ...but the user takes the existing one (in other case). */
	gtk_entry_set_text(GTK_ENTRY(WIZARD_CHILD(wizard, "name_entry")), "debian 12");
	gtk_dialog_response(GTK_DIALOG(wizard), GTK_RESPONSE_OK);

	g_assert_cmpint(f->created_count, ==, 0);
	g_assert_false(f->destroyed);
	bar = WIZARD_CHILD(wizard, "settings_error_bar");
	g_assert_true(gtk_widget_get_visible(bar));
	g_assert_nonnull(strstr(label_text(wizard, "settings_error_label"), "already exists"));
	g_assert_cmpuint(count_vm_folders(f, TRUE), ==, 1);
	screenshot(GTK_WIDGET(wizard), "wizard-name-taken.png");

	/* Typing clears the message; a free name then works. */
	gtk_entry_set_text(GTK_ENTRY(WIZARD_CHILD(wizard, "name_entry")), "Debian 12 test");
	g_assert_false(gtk_widget_get_visible(bar));
	gtk_dialog_response(GTK_DIALOG(wizard), GTK_RESPONSE_OK);
	g_assert_cmpint(f->created_count, ==, 1);
	g_assert_cmpuint(count_vm_folders(f, TRUE), ==, 2);
}

static void test_unreadable_iso_is_refused_on_first_page(Fixture *f, gconstpointer data)
{
	g_autofree char *iso = make_iso("locked.iso", "Debian 12.8.0 amd64 n");
	g_autoptr(HangarWizard) wizard = NULL;

	if (getuid() == 0) {
		/* root reads anything: a folder stands in for unreadable media. */
		g_free(iso);
		iso = g_build_filename(work_dir, "iso-content", NULL);
	} else {
		g_assert_cmpint(g_chmod(iso, 0), ==, 0);
	}
	wizard = g_object_ref(open_wizard(f, iso));
	wait_for(source_error_shown, wizard);
	g_assert_false(next_is_sensitive(wizard));
	g_assert_nonnull(strstr(label_text(wizard, "source_error_label"), "cannot be read"));
	screenshot(GTK_WIDGET(wizard), "wizard-unreadable-iso.png");
	gtk_dialog_response(GTK_DIALOG(wizard), GTK_RESPONSE_CANCEL);
	g_assert_true(f->destroyed);
	g_assert_cmpint(f->created_count, ==, 0);
	g_assert_cmpuint(count_vm_folders(f, TRUE), ==, 0);
}

static void test_source_page_lists_recent_isos_that_exist(Fixture *f, gconstpointer data)
{
	g_autofree char *iso = make_iso("recent.iso", "Debian 12.8.0 amd64 n");
	g_autofree char *gone = g_build_filename(work_dir, "gone.iso", NULL);
	g_autoptr(GSettings) settings = g_settings_new("org.hangar.Hangar");
	const char *recent[] = {gone, iso, NULL};
	g_autoptr(HangarWizard) wizard = NULL;
	g_autoptr(GList) rows = NULL;

	g_settings_set_strv(settings, "recent-isos", recent);
	wizard = g_object_ref(open_wizard(f, NULL));
	rows = gtk_container_get_children(GTK_CONTAINER(WIZARD_CHILD(wizard, "recent_list")));
	g_assert_cmpuint(g_list_length(rows), ==, 1);
	g_assert_cmpstr(g_object_get_data(rows->data, "path"), ==, iso);
	g_assert_false(next_is_sensitive(wizard));
	screenshot(GTK_WIDGET(wizard), "wizard-source.png");

	/* Choosing it starts detection like the file chooser. */
	g_signal_emit_by_name(WIZARD_CHILD(wizard, "recent_list"), "row-activated", rows->data);
	go_to_settings(wizard);
	g_assert_cmpstr(label_text(wizard, "os_label"), ==, "Debian 12");
	gtk_dialog_response(GTK_DIALOG(wizard), GTK_RESPONSE_CANCEL);
	g_assert_cmpint(f->created_count, ==, 0);
}

/* ---- wizard: blank and existing images ---- */

static void test_blank_vm_has_disk_and_empty_cdrom(Fixture *f, gconstpointer data)
{
	g_autoptr(HangarWizard) wizard = g_object_ref(open_wizard(f, NULL));
	g_autoptr(HgVmEntry) entry = NULL;
	const HgVmDisk *cdrom;

	gtk_toggle_button_set_active(GTK_TOGGLE_BUTTON(WIZARD_CHILD(wizard, "blank_radio")), TRUE);
	go_to_settings(wizard);
	gtk_spin_button_set_value(GTK_SPIN_BUTTON(WIZARD_CHILD(wizard, "disk_spin")), 2);
	gtk_dialog_response(GTK_DIALOG(wizard), GTK_RESPONSE_OK);
	g_assert_cmpint(f->created_count, ==, 1);
	g_assert_false(f->created_start);
	entry = created_entry(f);
	g_assert_cmpstr(entry->config->name, ==, "New VM");
	g_assert_cmpuint(entry->config->disks->len, ==, 2);
	cdrom = entry->config->disks->pdata[1];
	g_assert_cmpint(cdrom->media, ==, HG_DISK_MEDIA_CDROM);
	g_assert_null(cdrom->path);
	assert_new_qcow2_disk(entry, "disk.qcow2", 2ull << 30);
}

static void choose_image(HangarWizard *wizard, const char *path)
{
	GtkWidget *chooser = WIZARD_CHILD(wizard, "image_chooser");

	gtk_toggle_button_set_active(GTK_TOGGLE_BUTTON(WIZARD_CHILD(wizard, "image_radio")), TRUE);
	g_assert_true(gtk_file_chooser_set_filename(GTK_FILE_CHOOSER(chooser), path));
	g_signal_emit_by_name(chooser, "file-set");
}

static void test_broken_vmdk_is_refused_in_plain_words(Fixture *f, gconstpointer data)
{
	g_autofree char *path = g_build_filename(work_dir, "disk.vmdk", NULL);
	g_autoptr(HangarWizard) wizard = NULL;
	char header[512] = "KDMV\1\0\0\0";

	g_assert_true(g_file_set_contents(path, header, sizeof(header), NULL));
	wizard = g_object_ref(open_wizard(f, NULL));
	choose_image(wizard, path);
	wait_for(source_error_shown, wizard);
	g_assert_nonnull(strstr(label_text(wizard, "source_error_label"), "VMDK"));
	g_assert_nonnull(strstr(label_text(wizard, "source_error_label"), "cannot be read"));
	g_assert_false(next_is_sensitive(wizard));
	screenshot(GTK_WIDGET(wizard), "wizard-vmdk-refused.png");
}

/* A qcow2 header with nothing behind it: the image layer's own error, at
 * once, not at the VM's first start. */
static void test_broken_qcow2_image_is_refused(Fixture *f, gconstpointer data)
{
	g_autofree char *path = g_build_filename(work_dir, "broken.qcow2", NULL);
	g_autoptr(HangarWizard) wizard = NULL;
	char header[512] = "QFI\xfb\0\0\0\3";

	g_assert_true(g_file_set_contents(path, header, sizeof(header), NULL));
	wizard = g_object_ref(open_wizard(f, NULL));
	choose_image(wizard, path);
	wait_for(source_error_shown, wizard);
	g_assert_nonnull(strstr(label_text(wizard, "source_error_label"), "cannot be used"));
	g_assert_false(next_is_sensitive(wizard));
}

static gboolean wizard_destroyed(gpointer data)
{
	return ((Fixture *)data)->destroyed;
}

static void make_raw_image(const char *path, guint64 size)
{
	FILE *file = fopen(path, "wb");

	g_assert_nonnull(file);
	g_assert_cmpint(ftruncate(fileno(file), (off_t)size), ==, 0);
	/* Some data in the middle, holes around it. */
	g_assert_cmpint(fseek(file, 1 << 20, SEEK_SET), ==, 0);
	g_assert_cmpint(fputs("HANGAR IMAGE DATA", file), >=, 0);
	g_assert_cmpint(fclose(file), ==, 0);
}

static void test_image_copied_into_vm_folder_stays_sparse(Fixture *f, gconstpointer data)
{
	g_autofree char *path = g_build_filename(work_dir, "existing.img", NULL);
	g_autoptr(HangarWizard) wizard = NULL;
	g_autoptr(HgVmEntry) entry = NULL;
	g_autofree char *copy = NULL;
	g_autoptr(GError) error = NULL;
	HgBlockBackend *blk;
	char sector[512];
	struct iovec iov = {sector, sizeof(sector)};
	const HgVmDisk *disk;
	struct stat st;

	make_raw_image(path, 64ull << 20);
	wizard = g_object_ref(open_wizard(f, NULL));
	choose_image(wizard, path);
	gtk_toggle_button_set_active(GTK_TOGGLE_BUTTON(WIZARD_CHILD(wizard, "image_copy_radio")),
				     TRUE);
	go_to_settings(wizard);
	g_assert_false(gtk_widget_get_visible(WIZARD_CHILD(wizard, "disk_spin")));
	g_assert_cmpstr(gtk_entry_get_text(GTK_ENTRY(WIZARD_CHILD(wizard, "name_entry"))), ==,
			"existing");
	screenshot(GTK_WIDGET(wizard), "wizard-settings-image.png");
	gtk_dialog_response(GTK_DIALOG(wizard), GTK_RESPONSE_OK);
	wait_for(wizard_destroyed, f);

	g_assert_cmpint(f->created_count, ==, 1);
	g_assert_false(f->created_start);
	entry = created_entry(f);
	disk = entry->config->disks->pdata[0];
	g_assert_cmpstr(disk->path, ==, "disk.qcow2");
	g_assert_cmpstr(disk->format, ==, "qcow2");
	g_assert_cmpint(disk->boot_index, ==, 0);
	/* A qcow2 copy: the same 64 MiB disk, the data where it was, the holes
	 * not allocated. */
	copy = g_build_filename(entry->dir, "disk.qcow2", NULL);
	g_assert_cmpint(g_stat(copy, &st), ==, 0);
	g_assert_cmpuint((guint64)st.st_blocks * 512, <, 4u << 20);
	blk = hg_block_open(copy, TRUE, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(hg_block_format(blk), ==, "qcow2");
	g_assert_cmpuint(hg_block_size(blk), ==, 64ull << 20);
	g_assert_cmpint(hg_block_readv(blk, 1 << 20, &iov, 1), ==, 0);
	hg_block_close(blk);
	g_assert_cmpmem(sector, 17, "HANGAR IMAGE DATA", 17);
	/* No staging folder left behind. */
	g_assert_cmpuint(count_vm_folders(f, TRUE), ==, 1);
}

static void test_image_used_in_place(Fixture *f, gconstpointer data)
{
	g_autofree char *path = g_build_filename(work_dir, "in-place.img", NULL);
	g_autoptr(HangarWizard) wizard = NULL;
	g_autoptr(HgVmEntry) entry = NULL;
	const HgVmDisk *disk;

	make_raw_image(path, 8ull << 20);
	wizard = g_object_ref(open_wizard(f, NULL));
	choose_image(wizard, path);
	go_to_settings(wizard);
	gtk_dialog_response(GTK_DIALOG(wizard), GTK_RESPONSE_OK);
	g_assert_cmpint(f->created_count, ==, 1);
	entry = created_entry(f);
	g_assert_cmpuint(entry->config->disks->len, ==, 1);
	disk = entry->config->disks->pdata[0];
	g_assert_cmpstr(disk->path, ==, path);
	/* Recorded as found when chosen: the engine never probes it. */
	g_assert_cmpstr(disk->format, ==, "raw");
	g_assert_cmpint(disk->media, ==, HG_DISK_MEDIA_DISK);
}

/* An import format opens read-only: the wizard copies it, never uses it
 * in place. */
static void test_vmdk_is_copied_to_qcow2(Fixture *f, gconstpointer data)
{
	g_autofree char *raw = g_build_filename(work_dir, "vmware.img", NULL);
	g_autofree char *vmdk = g_build_filename(work_dir, "vmware.vmdk", NULL);
	g_autoptr(HangarWizard) wizard = NULL;
	g_autoptr(HgVmEntry) entry = NULL;
	g_autofree char *cmd = NULL;
	const HgVmDisk *disk;

	make_raw_image(raw, 8ull << 20);
	cmd = g_strdup_printf("qemu-img convert -O vmdk '%s' '%s'", raw, vmdk);
	g_assert_cmpint(system(cmd), ==, 0);
	wizard = g_object_ref(open_wizard(f, NULL));
	choose_image(wizard, vmdk);
	go_to_settings(wizard);
	g_assert_false(gtk_widget_get_sensitive(WIZARD_CHILD(wizard, "image_in_place_radio")));
	g_assert_true(gtk_toggle_button_get_active(
		GTK_TOGGLE_BUTTON(WIZARD_CHILD(wizard, "image_copy_radio"))));
	gtk_dialog_response(GTK_DIALOG(wizard), GTK_RESPONSE_OK);
	wait_for(wizard_destroyed, f);
	entry = created_entry(f);
	disk = entry->config->disks->pdata[0];
	g_assert_cmpstr(disk->path, ==, "disk.qcow2");
	g_assert_cmpstr(disk->format, ==, "qcow2");
	g_autofree char *copy = g_build_filename(entry->dir, "disk.qcow2", NULL);
	g_autofree char *compare = g_strdup_printf("qemu-img compare -q '%s' '%s'", raw, copy);
	g_assert_cmpint(system(compare), ==, 0);
}

static void test_qcow2_image_used_in_place(Fixture *f, gconstpointer data)
{
	g_autofree char *path = g_build_filename(work_dir, "in-place.qcow2", NULL);
	g_autoptr(HangarWizard) wizard = NULL;
	g_autoptr(HgVmEntry) entry = NULL;
	g_autoptr(GError) error = NULL;
	const HgVmDisk *disk;

	g_assert_true(hg_block_create_qcow2(path, 16u << 20, NULL, 16, &error));
	wizard = g_object_ref(open_wizard(f, NULL));
	choose_image(wizard, path);
	go_to_settings(wizard);
	gtk_dialog_response(GTK_DIALOG(wizard), GTK_RESPONSE_OK);
	g_assert_cmpint(f->created_count, ==, 1);
	entry = created_entry(f);
	disk = entry->config->disks->pdata[0];
	g_assert_cmpstr(disk->path, ==, path);
	g_assert_cmpstr(disk->format, ==, "qcow2");
}

/* ---- settings ---- */

static HgVmEntry *make_vm(Fixture *f, const char *name, const char *iso)
{
	g_autoptr(HgVmConfig) config = hg_vm_config_new(name);
	g_autoptr(GError) error = NULL;
	HgVmDisk *disk;
	HgVmEntry *entry;

	disk = hg_vm_config_add_disk(config, "disk.img", HG_DISK_BUS_VIRTIO, HG_DISK_MEDIA_DISK);
	disk->boot_index = 1;
	disk = hg_vm_config_add_disk(config, iso, HG_DISK_BUS_SATA, HG_DISK_MEDIA_CDROM);
	disk->read_only = true;
	disk->boot_index = 0;
	entry = hg_vm_library_create_with_disk(f->library, config, "disk.img", 1 << 20, &error);
	g_assert_no_error(error);
	return entry;
}

static HgVmEntry *reload(Fixture *f, const char *id)
{
	g_autoptr(GError) error = NULL;
	HgVmEntry *entry = hg_vm_library_lookup(f->library, id, &error);

	g_assert_no_error(error);
	g_assert_nonnull(entry->config);
	return entry;
}

static void test_settings_saves_stopped_vm(Fixture *f, gconstpointer data)
{
	g_autofree char *iso = make_iso("settings.iso", "Debian 12.8.0 amd64 n");
	g_autoptr(HgVmEntry) entry = make_vm(f, "Test VM", NULL);
	g_autoptr(HangarVm) vm = hangar_vm_new(f->library, entry);
	g_autoptr(HgVmEntry) saved = NULL;
	g_autoptr(HangarVmSettings) dialog = NULL;
	GtkListBox *list;
	const HgVmDisk *disk, *cdrom;
	gboolean destroyed = FALSE;

	dialog = g_object_ref(hangar_vm_settings_new(NULL, vm));
	g_signal_connect_swapped(dialog, "destroy", G_CALLBACK(timeout_reached), &destroyed);
	gtk_widget_show(GTK_WIDGET(dialog));
	g_assert_cmpint(spin_value(dialog, HANGAR_TYPE_VM_SETTINGS, "memory_spin"), ==, 1024);
	/* Shown in boot order: the CD-ROM drive (boot 0) first. */
	list = GTK_LIST_BOX(SETTINGS_CHILD(dialog, "disk_list"));
	g_assert_true(hangar_vm_settings_set_disc(dialog, 0, iso));
	g_assert_false(hangar_vm_settings_set_disc(dialog, 1, iso)); /* a disk */
	screenshot(GTK_WIDGET(dialog), "settings-stopped.png");

	gtk_spin_button_set_value(GTK_SPIN_BUTTON(SETTINGS_CHILD(dialog, "memory_spin")), 3072);
	gtk_spin_button_set_value(GTK_SPIN_BUTTON(SETTINGS_CHILD(dialog, "cpus_spin")), 2);
	gtk_switch_set_active(GTK_SWITCH(SETTINGS_CHILD(dialog, "boot_menu_switch")), TRUE);
	/* Stopped: nothing says "restart". */
	g_assert_false(gtk_widget_get_visible(SETTINGS_CHILD(dialog, "memory_note")));
	/* The disk boots first now. */
	gtk_list_box_select_row(list, gtk_list_box_get_row_at_index(list, 1));
	gtk_button_clicked(GTK_BUTTON(SETTINGS_CHILD(dialog, "up_button")));
	gtk_dialog_response(GTK_DIALOG(dialog), GTK_RESPONSE_OK);
	g_assert_true(destroyed);

	saved = reload(f, entry->id);
	g_assert_cmpuint(saved->config->memory_mib, ==, 3072);
	g_assert_cmpuint(saved->config->cpus, ==, 2);
	g_assert_true(saved->config->boot_menu);
	g_assert_cmpuint(saved->config->disks->len, ==, 2);
	/* Bus order kept, boot order changed. */
	disk = saved->config->disks->pdata[0];
	cdrom = saved->config->disks->pdata[1];
	g_assert_cmpstr(disk->path, ==, "disk.img");
	/* The recorded format goes through the dialog. */
	g_assert_cmpstr(disk->format, ==, "raw");
	g_assert_cmpint(disk->boot_index, ==, 0);
	g_assert_cmpint(cdrom->media, ==, HG_DISK_MEDIA_CDROM);
	g_assert_cmpstr(cdrom->path, ==, iso);
	g_assert_cmpint(cdrom->boot_index, ==, 1);
}

static void test_settings_adds_and_removes_drives(Fixture *f, gconstpointer data)
{
	g_autoptr(HgVmEntry) entry = make_vm(f, "Drives", NULL);
	g_autoptr(HangarVm) vm = hangar_vm_new(f->library, entry);
	g_autoptr(HgVmEntry) saved = NULL;
	g_autoptr(HangarVmSettings) dialog = g_object_ref(hangar_vm_settings_new(NULL, vm));
	GtkListBox *list = GTK_LIST_BOX(SETTINGS_CHILD(dialog, "disk_list"));
	const HgVmDisk *disk;

	gtk_widget_show(GTK_WIDGET(dialog));
	/* Remove the CD-ROM drive (first in the list), add another. */
	gtk_list_box_select_row(list, gtk_list_box_get_row_at_index(list, 0));
	gtk_button_clicked(GTK_BUTTON(SETTINGS_CHILD(dialog, "remove_button")));
	gtk_button_clicked(GTK_BUTTON(SETTINGS_CHILD(dialog, "add_cdrom_button")));
	g_assert_nonnull(gtk_list_box_get_row_at_index(list, 1));
	screenshot(GTK_WIDGET(dialog), "settings-drives.png");
	gtk_dialog_response(GTK_DIALOG(dialog), GTK_RESPONSE_OK);

	saved = reload(f, entry->id);
	g_assert_cmpuint(saved->config->disks->len, ==, 2);
	disk = saved->config->disks->pdata[0];
	g_assert_cmpstr(disk->path, ==, "disk.img");
	g_assert_cmpint(disk->boot_index, ==, 0);
	disk = saved->config->disks->pdata[1];
	g_assert_cmpint(disk->media, ==, HG_DISK_MEDIA_CDROM);
	g_assert_cmpstr(disk->format, ==, "raw");
	g_assert_null(disk->path);
	g_assert_cmpint(disk->boot_index, ==, 1);
}

static void test_settings_name_taken_shows_error(Fixture *f, gconstpointer data)
{
	g_autoptr(HgVmEntry) other = make_vm(f, "Other", NULL);
	g_autoptr(HgVmEntry) entry = make_vm(f, "Mine", NULL);
	g_autoptr(HangarVm) vm = hangar_vm_new(f->library, entry);
	g_autoptr(HgVmEntry) saved = NULL;
	g_autoptr(HangarVmSettings) dialog = g_object_ref(hangar_vm_settings_new(NULL, vm));
	gboolean destroyed = FALSE;

	g_signal_connect_swapped(dialog, "destroy", G_CALLBACK(timeout_reached), &destroyed);
	gtk_widget_show(GTK_WIDGET(dialog));
	gtk_entry_set_text(GTK_ENTRY(SETTINGS_CHILD(dialog, "name_entry")), "Other");
	gtk_dialog_response(GTK_DIALOG(dialog), GTK_RESPONSE_OK);
	g_assert_false(destroyed);
	g_assert_true(gtk_widget_get_visible(SETTINGS_CHILD(dialog, "error_bar")));
	g_assert_nonnull(
		strstr(gtk_label_get_text(GTK_LABEL(SETTINGS_CHILD(dialog, "error_label"))),
		       "already exists"));
	screenshot(GTK_WIDGET(dialog), "settings-name-taken.png");
	saved = reload(f, entry->id);
	g_assert_cmpstr(saved->config->name, ==, "Mine");
	gtk_dialog_response(GTK_DIALOG(dialog), GTK_RESPONSE_CANCEL);
	g_assert_true(destroyed);
}

/* ---- settings of a running VM (the engine: $HANGAR_ENGINE) ---- */

static gboolean vm_settled_active(gpointer data)
{
	return hangar_vm_is_active(data) && !hangar_vm_get_busy(data);
}

static gboolean vm_settled_stopped(gpointer data)
{
	return !hangar_vm_is_active(data) && !hangar_vm_get_busy(data);
}

typedef struct {
	Fixture *f;
	const char *id;
	const char *want; /* the CD-ROM's path, NULL: ejected */
	GtkWidget *error_bar;
} DiscWait;

static gboolean disc_saved_or_error(gpointer data)
{
	DiscWait *w = data;
	g_autoptr(HgVmEntry) entry = hg_vm_library_lookup(w->f->library, w->id, NULL);
	const HgVmDisk *cdrom;

	if (gtk_widget_get_visible(w->error_bar))
		return TRUE;
	if (!entry || !entry->config)
		return FALSE;
	cdrom = entry->config->disks->pdata[1];
	return g_strcmp0(cdrom->path, w->want) == 0;
}

static void test_settings_running_vm_changes_disc_at_once(Fixture *f, gconstpointer data)
{
	g_autofree char *first = make_iso("first.iso", "HANGAR FIRST");
	g_autofree char *second = make_iso("second.iso", "HANGAR SECOND");
	g_autoptr(HgVmEntry) entry = NULL;
	g_autoptr(HgVmEntry) saved = NULL;
	g_autoptr(HangarVm) vm = NULL;
	g_autoptr(HangarVmSettings) dialog = NULL;
	g_autoptr(HgVmConfig) config = NULL;
	GtkWidget *error_bar;
	DiscWait wait;

	if (!g_getenv("HANGAR_ENGINE") || !g_file_test("/dev/kvm", G_FILE_TEST_EXISTS)) {
		g_test_skip("needs HANGAR_ENGINE and /dev/kvm");
		return;
	}
	entry = make_vm(f, "Running", first);
	/* Small and quick to start. */
	config = hg_vm_config_copy(entry->config);
	config->memory_mib = 64;
	hg_vm_config_free(entry->config);
	entry->config = g_steal_pointer(&config);
	g_assert_true(hg_vm_library_save(f->library, entry, NULL));
	vm = hangar_vm_new(f->library, entry);
	hangar_vm_start(vm);
	wait_for(vm_settled_active, vm);

	dialog = g_object_ref(hangar_vm_settings_new(NULL, vm));
	gtk_widget_show(GTK_WIDGET(dialog));
	error_bar = SETTINGS_CHILD(dialog, "error_bar");
	wait = (DiscWait){f, entry->id, second, error_bar};
	/* Drive 0 in the list (boot order) is the CD-ROM drive; the disk is
	 * virtio, so the CD-ROM is the first SATA drive: sata0. */
	g_assert_true(hangar_vm_settings_set_disc(dialog, 0, second));
	wait_for(disc_saved_or_error, &wait);
	g_assert_false(gtk_widget_get_visible(error_bar));

	wait.want = NULL;
	g_assert_true(hangar_vm_settings_set_disc(dialog, 0, NULL));
	wait_for(disc_saved_or_error, &wait);
	g_assert_false(gtk_widget_get_visible(error_bar));

	/* Memory needs a restart: said next to it, and after saving. */
	g_assert_true(gtk_widget_get_visible(SETTINGS_CHILD(dialog, "disks_note")));
	gtk_spin_button_set_value(GTK_SPIN_BUTTON(SETTINGS_CHILD(dialog, "memory_spin")), 128);
	g_assert_true(gtk_widget_get_visible(SETTINGS_CHILD(dialog, "memory_note")));
	screenshot(GTK_WIDGET(dialog), "settings-running.png");
	gtk_dialog_response(GTK_DIALOG(dialog), GTK_RESPONSE_OK);
	g_assert_true(gtk_widget_get_visible(SETTINGS_CHILD(dialog, "restart_bar")));
	screenshot(GTK_WIDGET(dialog), "settings-running-saved.png");
	saved = reload(f, entry->id);
	g_assert_cmpuint(saved->config->memory_mib, ==, 128);
	g_assert_null(((HgVmDisk *)saved->config->disks->pdata[1])->path);

	hangar_vm_force_off(vm);
	wait_for(vm_settled_stopped, vm);
}

int main(int argc, char **argv)
{
	int status;

	g_setenv("GSETTINGS_BACKEND", "memory", TRUE);
	gtk_test_init(&argc, &argv, NULL);
	work_dir = g_dir_make_tmp("hangar-test-wizard-XXXXXX", NULL);
	g_assert_nonnull(work_dir);
	{
		/* Engines' runtime folders stay inside this run. */
		g_autofree char *run = g_build_filename(work_dir, "run", NULL);
		g_assert_cmpint(g_mkdir(run, 0700), ==, 0);
		g_setenv("XDG_RUNTIME_DIR", run, TRUE);
	}

#define TEST(path, fn) g_test_add(path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
	TEST("/wizard/iso/debian-is-detected-and-created", test_iso_debian_detected_and_created);
	TEST("/wizard/iso/recommendations-fill-fields-and-user-changes-win",
	     test_iso_recommendations_fill_fields_and_user_changes_win);
	TEST("/wizard/iso/unknown-media-gets-defaults", test_iso_unknown_gets_defaults);
	TEST("/wizard/iso/unreadable-media-is-refused-on-first-page",
	     test_unreadable_iso_is_refused_on_first_page);
	TEST("/wizard/source/lists-recent-isos-that-exist",
	     test_source_page_lists_recent_isos_that_exist);
	TEST("/wizard/name-taken-is-refused-and-nothing-made",
	     test_name_taken_is_refused_and_nothing_made);
	TEST("/wizard/blank/has-disk-and-empty-cdrom", test_blank_vm_has_disk_and_empty_cdrom);
	TEST("/wizard/image/broken-vmdk-is-refused-in-plain-words",
	     test_broken_vmdk_is_refused_in_plain_words);
	TEST("/wizard/image/vmdk-is-copied-to-qcow2", test_vmdk_is_copied_to_qcow2);
	TEST("/wizard/image/broken-qcow2-is-refused", test_broken_qcow2_image_is_refused);
	TEST("/wizard/image/copied-into-vm-folder-stays-sparse",
	     test_image_copied_into_vm_folder_stays_sparse);
	TEST("/wizard/image/used-in-place", test_image_used_in_place);
	TEST("/wizard/image/qcow2-used-in-place", test_qcow2_image_used_in_place);
	TEST("/settings/stopped-vm-changes-are-saved", test_settings_saves_stopped_vm);
	TEST("/settings/drives-are-added-and-removed", test_settings_adds_and_removes_drives);
	TEST("/settings/name-taken-shows-error", test_settings_name_taken_shows_error);
	TEST("/settings/running-vm-changes-disc-at-once",
	     test_settings_running_vm_changes_disc_at_once);
#undef TEST

	status = g_test_run();
	remove_tree(work_dir);
	g_free(work_dir);
	return status;
}
