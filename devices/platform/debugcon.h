#pragma once
#include "devices/device.h"
#include "engine/chardev.h"

/* The 0x402 debug console (SeaBIOS, OVMF): bytes written go to backend;
 * reading returns 0xE9, which is how firmware detects it (FACTS.md). */
HgDevice *hg_debugcon_create(HgMachine *m, const char *id, uint16_t port, HgChardev *backend);
