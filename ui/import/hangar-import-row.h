/* One import in the library page's list of imports: the file's name, a
 * progress bar, how much is done, how fast and how long it will take, and
 * a button to cancel it; when it fails, the reason and a button to close
 * the row.  The row follows its HangarImport; removing it when the import
 * is over is the list's business. */
#pragma once

#include <gtk/gtk.h>

#include "ui/import/hangar-import.h"

G_BEGIN_DECLS

#define HANGAR_TYPE_IMPORT_ROW (hangar_import_row_get_type())
G_DECLARE_FINAL_TYPE(HangarImportRow, hangar_import_row, HANGAR, IMPORT_ROW, GtkListBoxRow)

/* Signal "dismissed": the user closed a failed import's row. */

HangarImportRow *hangar_import_row_new(HangarImport *import);
HangarImport *hangar_import_row_get_import(HangarImportRow *row);

G_END_DECLS
