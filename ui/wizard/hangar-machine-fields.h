/* The machine fields the create wizard and the settings dialog share:
 * memory, vCPUs, firmware and display protocol. */
#pragma once

#include <gtk/gtk.h>

#include "library/vm/vm_config.h"

/* Writes what the widgets show into config; a combo with no valid choice
 * leaves its field as it was. */
void hangar_machine_fields_read(HgVmConfig *config, GtkSpinButton *memory, GtkSpinButton *cpus,
				GtkComboBox *firmware, GtkComboBox *display);
