/* QEMU's firmware configuration device (fw_cfg) on the PC I/O ports, so that
 * SeaBIOS, OVMF and Linux's qemu_fw_cfg driver find what they expect: a
 * selector at 0x510, a data port at 0x511, the DMA address register at
 * 0x514-0x51b.  Specification: QEMU docs/specs/fw_cfg.rst.
 *
 * The items are configuration: the engine adds them on the main thread
 * while it builds the machine, before any vCPU runs and before a restore
 * loads the device's record.  The guest can only read them. */
#pragma once

#include "devices/device.h"

#define HG_FW_CFG_IO_BASE 0x510 /* selector; data at +1 */
#define HG_FW_CFG_DMA_BASE 0x514 /* DMA address, high half; low half at +4 */

/* Selector keys (QEMU include/standard-headers/linux/qemu_fw_cfg.h). */
enum {
	HG_FW_CFG_SIGNATURE = 0x00, /* "QEMU" */
	HG_FW_CFG_ID = 0x01, /* le32 feature bits */
	HG_FW_CFG_UUID = 0x02,
	HG_FW_CFG_RAM_SIZE = 0x03, /* le64 */
	HG_FW_CFG_NOGRAPHIC = 0x04, /* le16 */
	HG_FW_CFG_NB_CPUS = 0x05, /* le16, CPUs present at boot */
	HG_FW_CFG_MACHINE_ID = 0x06,
	HG_FW_CFG_KERNEL_ADDR = 0x07,
	HG_FW_CFG_KERNEL_SIZE = 0x08,
	HG_FW_CFG_KERNEL_CMDLINE = 0x09,
	HG_FW_CFG_INITRD_ADDR = 0x0a,
	HG_FW_CFG_INITRD_SIZE = 0x0b,
	HG_FW_CFG_BOOT_DEVICE = 0x0c,
	HG_FW_CFG_NUMA = 0x0d,
	HG_FW_CFG_BOOT_MENU = 0x0e, /* le16, 1 = show the boot menu */
	HG_FW_CFG_MAX_CPUS = 0x0f, /* le16, APIC ID limit */
	HG_FW_CFG_KERNEL_ENTRY = 0x10,
	HG_FW_CFG_KERNEL_DATA = 0x11,
	HG_FW_CFG_INITRD_DATA = 0x12,
	HG_FW_CFG_CMDLINE_ADDR = 0x13,
	HG_FW_CFG_CMDLINE_SIZE = 0x14,
	HG_FW_CFG_CMDLINE_DATA = 0x15,
	HG_FW_CFG_SETUP_ADDR = 0x16,
	HG_FW_CFG_SETUP_SIZE = 0x17,
	HG_FW_CFG_SETUP_DATA = 0x18,
	HG_FW_CFG_FILE_DIR = 0x19, /* built by the device from the files */
	HG_FW_CFG_FILE_FIRST = 0x20, /* files: 0x20, 0x21, ... in name order */

	/* x86 items, selected with the architecture bit. */
	HG_FW_CFG_ACPI_TABLES = 0x8000,
	HG_FW_CFG_SMBIOS_ENTRIES = 0x8001,
	HG_FW_CFG_IRQ0_OVERRIDE = 0x8002,
	HG_FW_CFG_E820_TABLE = 0x8003,
	HG_FW_CFG_HPET = 0x8004,
};

#define HG_FW_CFG_WRITE_CHANNEL 0x4000 /* selector bit 14 */
#define HG_FW_CFG_ARCH_LOCAL 0x8000 /* selector bit 15 */
#define HG_FW_CFG_MAX_FILE_PATH 56 /* a file name, NUL included */
/* Files take selectors 0x20 up to 0x3fff, below the write-channel bit. */
#define HG_FW_CFG_MAX_FILES (HG_FW_CFG_WRITE_CHANNEL - HG_FW_CFG_FILE_FIRST)

/* Registers ports 0x510-0x511 and 0x514-0x51b and adds itself to the
 * machine.  Present from the start: the signature, the feature bits
 * (traditional + DMA) and an empty file directory. */
HgDevice *hg_fw_cfg_create(HgMachine *m, const char *id);

/* Numbered items (keys below 0x20, or x86 items 0x8000-0x801f).  The data
 * is copied; adding a key again replaces it.  Integers are little-endian,
 * as QEMU stores them. */
void hg_fw_cfg_add_bytes(HgDevice *dev, uint16_t key, const void *data, size_t len);
void hg_fw_cfg_add_u16(HgDevice *dev, uint16_t key, uint16_t v);
void hg_fw_cfg_add_u32(HgDevice *dev, uint16_t key, uint32_t v);
void hg_fw_cfg_add_u64(HgDevice *dev, uint16_t key, uint64_t v);

/* A named file (copied).  As in QEMU, the directory stays sorted by name
 * and a file's selector is 0x20 + its place in that order, so adding a
 * file moves the selectors of the files after it.  Fails on an empty or
 * duplicate name, a name of 56 bytes or more, or when full. */
bool hg_fw_cfg_add_file(HgDevice *dev, const char *name, const void *data, size_t len,
			GError **error);

/* RAM size (0x03, le64), CPUs present at boot (0x05, le16) and the APIC ID
 * limit (0x0f, le16), as QEMU's PC machine fills them. */
void hg_fw_cfg_set_machine_info(HgDevice *dev, uint64_t ram_size, uint16_t n_cpus,
				uint16_t max_cpus);
