/* HangarApplication: the GtkApplication.  Owns the VM library and the list
 * of HangarVm objects every window shows, keeps that list in step with the
 * folders on disk (hangarctl or another app may change them), and decides
 * what happens to running VMs when the app quits. */
#pragma once

#include <gtk/gtk.h>

#include "library/vm/vm_library.h"
#include "ui/hangar-vm.h"

G_BEGIN_DECLS

#define HANGAR_TYPE_APPLICATION (hangar_application_get_type())
G_DECLARE_FINAL_TYPE(HangarApplication, hangar_application, HANGAR, APPLICATION,
		     GtkApplication)

HangarApplication *hangar_application_new(void);
HgVmLibrary *hangar_application_get_library(HangarApplication *app);
/* A GListModel of HangarVm, sorted by name. */
GListModel *hangar_application_get_vms(HangarApplication *app);
HangarVm *hangar_application_find_vm(HangarApplication *app, const char *vm_id);
/* Read the library folder again now. */
void hangar_application_reload(HangarApplication *app);
/* NULL when the schema is not installed (running uninstalled). */
GSettings *hangar_application_get_settings(HangarApplication *app);
/* Quits, first asking what to do with running VMs (keep them running or
 * turn them off) when the "keep-running-on-quit" setting says so; the user
 * may cancel. */
void hangar_application_quit(HangarApplication *app, GtkWindow *parent);
/* Quitting now would ask that question. */
gboolean hangar_application_quit_needs_question(HangarApplication *app);

G_END_DECLS
