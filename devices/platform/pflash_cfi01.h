/* The UEFI variable store: a byte-wide CFI NOR flash with the Intel/Sharp
 * command set (command set 0001), 4 KiB blocks, backed by a file that every
 * program and erase writes through to (pflash_cfi01.c).  OVMF finds it by
 * probing, below its code, where QEMU puts its second pflash unit. */
#pragma once

#include <stdint.h>

#include "devices/device.h"

/* OVMF's BLOCK_SIZE (OvmfPkgDefines.fdf.inc) and QEMU's PC flash sector. */
#define HG_PFLASH_BLOCK_SIZE 0x1000
#define HG_PFLASH_MAX_SIZE (16u << 20)

/* Opens path read-write and maps it on m->mmio so that it ends at end: its
 * base is end minus the file's size.  Adds the device to m.  Fails, naming
 * the file, when it is missing, read-only (by its permission bits too, even
 * for root), in use by another engine, empty, larger than 16 MiB or not a
 * whole number of blocks, or when the range overlaps another device. */
HgDevice *hg_pflash_cfi01_create(HgMachine *m, const char *id, const char *path, uint64_t end,
				 GError **error);
/* Guest-physical address of the first byte. */
uint64_t hg_pflash_cfi01_base(HgDevice *dev);

extern const HgDeviceClass hg_pflash_cfi01_class;
