#pragma once
#include "devices/pci/pci.h"

/* A PCI device for tests only (--test-pci-device): lets the harness drive
 * the PCI core through a real device.  1234:5a4e; see testdev.c. */
HgDevice *hg_pci_testdev_create(HgMachine *m, HgPciBus *bus, uint8_t devfn, GError **error);
