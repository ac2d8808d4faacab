#pragma once
#include "devices/pci/pci.h"

/* PIIX4 power management (8086:7113, function 3 of the chipset's slot): the
 * ACPI fixed hardware (PM1 event and control registers, the PM timer, SCI on
 * IRQ 9), an empty GPE0 block at 0xAFE0 and the APM ports 0xB2/0xB3.  See
 * piix4_pm.c. */
HgDevice *hg_piix4_pm_create(HgMachine *m, HgPciBus *bus, uint8_t devfn, GError **error);

/* The power button was pressed: PWRBTN_STS is set, and an SCI is raised
 * if the guest enabled PWRBTN_EN.  Caller holds machine->device_lock. */
void hg_piix4_pm_press_power_button(HgDevice *dev);
