#pragma once
#include "devices/device.h"

/* QEMU's isa-debug-exit at 0xf4: a write ends the engine with status
 * (value << 1) | 1.  Only for test guests (--debug-exit). */
HgDevice *hg_debug_exit_create(HgMachine *m, const char *id, uint16_t port);
