/* The shared machine fields (hangar-machine-fields.h). */
#include "ui/wizard/hangar-machine-fields.h"

void hangar_machine_fields_read(HgVmConfig *config, GtkSpinButton *memory, GtkSpinButton *cpus,
				GtkComboBox *firmware, GtkComboBox *display)
{
	config->memory_mib = (unsigned)gtk_spin_button_get_value(memory);
	config->cpus = (unsigned)gtk_spin_button_get_value_as_int(cpus);
	hg_firmware_from_string(gtk_combo_box_get_active_id(firmware), &config->firmware);
	hg_display_protocol_from_string(gtk_combo_box_get_active_id(display), &config->display);
}
