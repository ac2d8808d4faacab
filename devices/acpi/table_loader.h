/* The script of QEMU's BIOS linker/loader ("etc/table-loader"), which tells
 * firmware how to place fw_cfg blobs in guest memory and link them: SeaBIOS
 * (src/fw/romfile_loader.c) and OVMF (OvmfPkg/AcpiPlatformDxe) both run it.
 *
 * The format (QEMU hw/acpi/bios-linker-loader.c): a sequence of 128-byte
 * little-endian commands, each a u32 command number and a body padded to
 * 124 bytes; file names are NUL-terminated in 56 bytes (FW_CFG_MAX_FILE_PATH).
 *
 *  1 ALLOCATE      file[56], u32 alignment (a power of two), u8 zone
 *                  (1 = anywhere below 4 GiB, 2 = the F segment).  Loads the
 *                  blob; must come before any command that names it.
 *  2 ADD_POINTER   dest[56], src[56], u32 offset, u8 size (1, 2, 4 or 8).
 *                  Adds src's load address to the size-byte little-endian
 *                  integer at dest+offset, which holds an offset into src.
 *  3 ADD_CHECKSUM  file[56], u32 result offset, u32 start, u32 length.
 *                  Subtracts the byte sum of [start, start+length) from the
 *                  byte at the result offset (SeaBIOS); OVMF stores the
 *                  checksum there instead, so that byte must be 0 before.
 *  4 WRITE_POINTER dest[56], src[56], u32 dest offset, u32 src offset,
 *                  u8 size.  Writes src's address + src offset back into the
 *                  fw_cfg file dest (for devices that need to know where the
 *                  firmware put a blob; SeaBIOS ignores it).
 *
 * The builder checks each command against the blobs it was told about and
 * keeps the first error; hg_table_loader_finish() reports it. */
#pragma once

#include <glib.h>
#include <stdint.h>

#define HG_TABLE_LOADER_FILE "etc/table-loader"
#define HG_TABLE_LOADER_ENTRY_SIZE 128
#define HG_TABLE_LOADER_FILE_NAME_SIZE 56

enum {
	HG_TABLE_LOADER_ALLOCATE = 1,
	HG_TABLE_LOADER_ADD_POINTER = 2,
	HG_TABLE_LOADER_ADD_CHECKSUM = 3,
	HG_TABLE_LOADER_WRITE_POINTER = 4,
};

enum {
	HG_TABLE_LOADER_ZONE_HIGH = 1,
	HG_TABLE_LOADER_ZONE_FSEG = 2,
};

typedef struct HgTableLoader HgTableLoader;

HgTableLoader *hg_table_loader_new(void);
void hg_table_loader_free(HgTableLoader *loader);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HgTableLoader, hg_table_loader_free)

/* blob_size is the size of the fw_cfg file, used to check later commands.
 * Alignment: a power of two up to 4096 (OVMF allocates pages). */
void hg_table_loader_allocate(HgTableLoader *loader, const char *file, size_t blob_size,
			      uint32_t alignment, uint8_t zone);
void hg_table_loader_add_pointer(HgTableLoader *loader, const char *dest_file, uint32_t dest_offset,
				 uint8_t size, const char *src_file);
void hg_table_loader_add_checksum(HgTableLoader *loader, const char *file, uint32_t result_offset,
				  uint32_t start, uint32_t length);
void hg_table_loader_write_pointer(HgTableLoader *loader, const char *dest_file,
				   uint32_t dest_offset, uint8_t size, const char *src_file,
				   uint32_t src_offset);

/* The script, or NULL and the first error of the commands above. */
GBytes *hg_table_loader_finish(HgTableLoader *loader, GError **error);
