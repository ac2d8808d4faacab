#pragma once
#include "devices/pci/pci.h"

/* The i440FX host bridge (8086:1237 at 00:00.0) and PCI configuration
 * mechanism #1 on ports 0xCF8/0xCFC.  Creates and owns the PCI bus. */
HgDevice *hg_i440fx_create(HgMachine *m, const char *id, HgPciBus **bus_out, GError **error);
