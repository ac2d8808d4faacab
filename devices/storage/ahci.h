/* The AHCI SATA controller: an ICH9-style HBA (PCI 8086:2922, class
 * 010601h) with six ports, registers in BAR5 (ABAR), MSI or INTx (ahci.c).
 * Drives are attached to ports before the guest runs; the drive on port N
 * is named "sataN" for the control socket. */
#pragma once

#include "devices/pci/pci.h"
#include "library/block/block.h"

#define HG_AHCI_PORTS 6

HgDevice *hg_ahci_create(HgMachine *m, HgPciBus *bus, uint8_t devfn, GError **error);

/* An ATA disk on an image the caller keeps open until the machine is
 * freed. */
bool hg_ahci_attach_disk(HgDevice *ahci, unsigned port, HgBlockBackend *backend, GError **error);
/* A CD/DVD-ROM drive with the ISO image at path (opened read-only and
 * owned by the drive), or empty when path is NULL. */
bool hg_ahci_attach_cdrom(HgDevice *ahci, unsigned port, const char *path, GError **error);

/* Control socket (main thread; these take the device lock): put a medium
 * into the CD/DVD-ROM drive named drive ("sata1"), or take it out. */
bool hg_ahci_change_medium(HgMachine *m, const char *drive, const char *path, GError **error);
bool hg_ahci_eject(HgMachine *m, const char *drive, bool force, GError **error);
