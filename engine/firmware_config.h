/* What the engine tells firmware through fw_cfg, beyond the device items:
 * the memory map (etc/e820), the boot order (bootorder, from --drive
 * bootindex=), the boot menu (etc/show-boot-menu, etc/boot-menu-wait) and
 * SeaBIOS's serial console (etc/sercon-port), so its screen and menu also
 * appear on COM1 beside the VGA. */
#pragma once

#include "engine/platform.h"

bool hg_firmware_config_add(HgMachine *m, HgMachineConfig *cfg, HgDevice *fw_cfg,
			    GError **error);

/* The OpenFirmware device path SeaBIOS and OVMF match a drive against, for
 * the n-th --drive (platform.h's slot rules); a new string. */
char *hg_firmware_drive_path(HgMachineConfig *cfg, unsigned n);
