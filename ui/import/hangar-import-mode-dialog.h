/* "Import as": asked before a raw or qcow2 image is imported, which the
 * library can also use where it is, or under a qcow2 overlay; a copy is the
 * default.  The caller reads the choice on GTK_RESPONSE_ACCEPT. */
#pragma once

#include <gtk/gtk.h>

#include "library/import/import.h"

G_BEGIN_DECLS

#define HANGAR_TYPE_IMPORT_MODE_DIALOG (hangar_import_mode_dialog_get_type())
G_DECLARE_FINAL_TYPE(HangarImportModeDialog, hangar_import_mode_dialog, HANGAR, IMPORT_MODE_DIALOG,
		     GtkDialog)

/* file_name: as shown to the user; format: "raw" or "qcow2". */
HangarImportModeDialog *hangar_import_mode_dialog_new(GtkWindow *parent, const char *file_name,
						      const char *format);
HgImportMode hangar_import_mode_dialog_get_mode(HangarImportModeDialog *dialog);

G_END_DECLS
