#pragma once
#include "devices/device.h"

/* The i8042 keyboard controller, for now only what resets a PC: command
 * 0xFE (pulse the reset line) and the status register.  The PS/2 keyboard
 * and mouse come with the input devices (issue 4). */
HgDevice *hg_i8042_create(HgMachine *m, const char *id);
