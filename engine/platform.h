/* The machine's configuration (from the command line) and the devices of the
 * PC platform built from it.  A restore builds the same devices from the
 * same options and then loads their records. */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "engine/boot.h"
#include "engine/chardev.h"
#include "engine/machine.h"

typedef struct {
	char *name;
	char *file; /* one of file or string */
	char *string;
} HgFwCfgOption;

typedef enum { HG_DRIVE_BUS_VIRTIO, HG_DRIVE_BUS_SATA } HgDriveBus;
typedef enum { HG_DRIVE_MEDIA_DISK, HG_DRIVE_MEDIA_CDROM } HgDriveMedia;

/* --drive file=PATH,if=virtio|sata,media=disk|cdrom,readonly=on|off,
 *         bootindex=N,format=raw|qcow2|... */
typedef struct {
	char *file; /* NULL: an empty CD-ROM drive */
	/* format=: the image is opened as this (hg_block_open_format), its
	 * content never consulted.  NULL: probed from the content, for
	 * command lines written by hand; the library always gives it.  A
	 * CD-ROM's image is raw either way. */
	char *format;
	HgDriveBus bus;
	HgDriveMedia media;
	bool read_only; /* always true for a CD-ROM */
	int boot_index; /* bootindex=N: lower boots first; -1 when not given */
} HgDriveOption;

typedef struct {
	uint64_t ram_mib;
	unsigned n_vcpus;
	char *serial; /* chardev spec for COM1 */
	char *debugcon; /* chardev spec for port 0x402, or NULL */
	bool debug_exit;
	bool no_reboot;
	bool test_pci_device; /* the PCI core's test device at 00:1f.0 */
	bool rtc_base_set; /* --rtc-base given: the RTC starts at rtc_base_us */
	int64_t rtc_base_us; /* else at the host's clock (UTC) */
	GPtrArray *fw_cfg_files; /* HgFwCfgOption * */
	GPtrArray *drives; /* HgDriveOption *, in command-line order */
	char *firmware_vars; /* --firmware-vars: the UEFI variable store file, or NULL */
	uint8_t uuid[16]; /* the machine's UUID (SMBIOS), RFC 4122 byte order */
	unsigned vga_memory_mib; /* std-VGA framebuffer; 0 = the default 16 MiB */
	bool boot_menu; /* the firmware offers its boot menu */
	unsigned boot_menu_wait_ms;
	HgBootConfig boot;
} HgMachineConfig;

void hg_machine_config_init(HgMachineConfig *cfg);
void hg_machine_config_clear(HgMachineConfig *cfg);
/* Parse "name=NAME,file=PATH" or "name=NAME,string=TEXT". */
bool hg_fw_cfg_option_parse(const char *text, HgFwCfgOption **out, GError **error);
void hg_fw_cfg_option_free(HgFwCfgOption *o);
bool hg_drive_option_parse(const char *text, HgDriveOption **out, GError **error);
void hg_drive_option_free(HgDriveOption *d);

typedef struct {
	HgChardev *serial;
	HgChardev *debugcon;
	HgDevice *com1;
	HgDevice *fw_cfg;
	HgDevice *rtc;
	HgDevice *host_bridge;
	struct HgPciBus *pci_bus;
	HgDevice *power_management; /* PIIX4 PM: the ACPI power button */
	GPtrArray *block_backends; /* HgBlockBackend *, closed with the platform */
	struct HgConsole *console; /* the guest's screen, for the display servers */
	struct HgInput *input; /* keyboard and pointer routing */
} HgPlatform;

/* PCI slots of the PC platform (bus 0). */
#define HG_SLOT_HOST_BRIDGE 0x00
#define HG_SLOT_PIIX 0x01 /* .0 ISA bridge, .3 power management */
#define HG_SLOT_VGA 0x02
#define HG_SLOT_AHCI 0x03
#define HG_SLOT_VIRTIO_BLK_FIRST 0x04
#define HG_SLOT_VIRTIO_INPUT_KBD 0x10
#define HG_SLOT_VIRTIO_INPUT_TABLET 0x11
#define HG_SLOT_TESTDEV 0x1f

bool hg_platform_create(HgMachine *m, HgMachineConfig *cfg, HgPlatform *p, GError **error);
void hg_platform_destroy(HgPlatform *p);
