/* The create wizard: a new VM from an installer ISO (the OS detected with
 * libosinfo fills in the defaults), from an existing disk image (used in
 * place or copied), or blank.  On "Create" the VM is added to the library
 * and, when it has installation media, started right away. */
#pragma once

#include <gtk/gtk.h>

#include "library/vm/vm_library.h"

G_BEGIN_DECLS

#define HANGAR_TYPE_WIZARD (hangar_wizard_get_type())
G_DECLARE_FINAL_TYPE(HangarWizard, hangar_wizard, HANGAR, WIZARD, GtkDialog)

/* iso: preselected installation media (a file dropped or opened), or NULL. */
HangarWizard *hangar_wizard_new(GtkWindow *parent, HgVmLibrary *library, GFile *iso);

/* Emitted signal "created" (const char *vm_id, gboolean start): the VM is in
 * the library; start it when start is TRUE. */

G_END_DECLS
