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

typedef struct {
	uint64_t ram_mib;
	unsigned n_vcpus;
	char *serial; /* chardev spec for COM1 */
	char *debugcon; /* chardev spec for port 0x402, or NULL */
	bool debug_exit;
	bool no_reboot;
	bool test_pci_device; /* the PCI core's test device at 00:1f.0 */
	GPtrArray *fw_cfg_files; /* HgFwCfgOption * */
	HgBootConfig boot;
} HgMachineConfig;

void hg_machine_config_init(HgMachineConfig *cfg);
void hg_machine_config_clear(HgMachineConfig *cfg);
/* Parse "name=NAME,file=PATH" or "name=NAME,string=TEXT". */
bool hg_fw_cfg_option_parse(const char *text, HgFwCfgOption **out, GError **error);
void hg_fw_cfg_option_free(HgFwCfgOption *o);

typedef struct {
	HgChardev *serial;
	HgChardev *debugcon;
	HgDevice *com1;
	HgDevice *fw_cfg;
	HgDevice *host_bridge;
	struct HgPciBus *pci_bus;
} HgPlatform;

bool hg_platform_create(HgMachine *m, HgMachineConfig *cfg, HgPlatform *p, GError **error);
void hg_platform_destroy(HgPlatform *p);
