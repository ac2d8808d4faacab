/* The library page: every VM as a tile (grid) or a row (list), filtered by
 * the search entry, and above them the imports under way.  Activating a VM
 * emits "vm-activated" (HangarVm *). */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define HANGAR_TYPE_LIBRARY_PAGE (hangar_library_page_get_type())
G_DECLARE_FINAL_TYPE(HangarLibraryPage, hangar_library_page, HANGAR, LIBRARY_PAGE, GtkBox)

/* Property "search-mode" (boolean): the search bar is shown.
 * Property "has-imports" (boolean, read-only): the list of imports at the
 * top is not empty (imports running, or failed ones not yet closed).
 * Signal "vm-imported" (const char *vm_id): an import made that VM. */

void hangar_library_page_set_model(HangarLibraryPage *page, GListModel *vms);
/* "grid" or "list". */
void hangar_library_page_set_view(HangarLibraryPage *page, const char *view);
/* Imports a disk image (ui/import/hangar-import.h) into the library at
 * library_root, with a row in the list of imports that shows its progress,
 * and asks first how to use a raw or qcow2 image.  The row goes when the VM
 * is made or the import cancelled; a failure stays until closed. */
void hangar_library_page_import(HangarLibraryPage *page, const char *library_root, GFile *file);
gboolean hangar_library_page_has_imports(HangarLibraryPage *page);

G_END_DECLS
