/* An ATA hard disk on a SATA port (ata_disk.c).  The image is a block
 * backend the caller opened and keeps open for the drive's lifetime; the
 * disk owns its block queue. */
#pragma once

#include "devices/storage/sata.h"
#include "library/block/block.h"

#define HG_ATA_DISK_SIGNATURE 0x00000101u

HgSataDrive *hg_ata_disk_new(HgMachine *m, const char *id, HgBlockBackend *backend);
