/* The library page: every VM as a tile (grid) or a row (list), filtered by
 * the search entry.  Activating one emits "vm-activated" (HangarVm *). */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define HANGAR_TYPE_LIBRARY_PAGE (hangar_library_page_get_type())
G_DECLARE_FINAL_TYPE(HangarLibraryPage, hangar_library_page, HANGAR, LIBRARY_PAGE, GtkBox)

/* Property "search-mode" (boolean): the search bar is shown. */

void hangar_library_page_set_model(HangarLibraryPage *page, GListModel *vms);
/* "grid" or "list". */
void hangar_library_page_set_view(HangarLibraryPage *page, const char *view);

G_END_DECLS
