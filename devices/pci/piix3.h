#pragma once
#include "devices/pci/pci.h"

/* The PIIX3 PCI-to-ISA bridge (8086:7000, function 0 of the chipset's slot):
 * the PCI core's PIRQ router (PIRQRC A-D) and the reset control register at
 * port 0xCF9.  See piix3.c. */
HgDevice *hg_piix3_create(HgMachine *m, HgPciBus *bus, uint8_t devfn, GError **error);
