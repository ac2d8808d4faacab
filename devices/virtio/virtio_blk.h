/* virtio-blk over modern virtio-pci: PCI 1af4:1042, class 0x018000,
 * subsystem 1af4:1100; one request queue of up to 256 entries; raw images
 * through the asynchronous block queue.  See virtio_blk.c. */
#pragma once

#include "devices/virtio/virtio_pci.h"
#include "library/block/block.h"

/* Plug a disk in at devfn.  The backend stays the caller's and must
 * outlive the device; read-only backends make a read-only disk.  serial is
 * what VIRTIO_BLK_T_GET_ID answers (up to 20 bytes kept). */
HgDevice *hg_virtio_blk_create(HgMachine *m, HgPciBus *bus, uint8_t devfn, const char *id,
			       HgBlockBackend *backend, const char *serial, GError **error);
