#pragma once
#include "devices/device.h"
#include "display/input.h"

/* The i8042 keyboard controller at ports 0x60/0x64 with a PS/2 keyboard
 * (IRQ 1) and a PS/2 mouse with the IntelliMouse wheel (IRQ 12), and port
 * 0x92 (system control port A).  Its reset line (command 0xFE, output port
 * bit 0) and port 0x92 bit 0 reset the machine.  The keyboard and mouse
 * register with input (may be NULL: no input source), so that devices
 * registered after them win once the guest drives those. */
HgDevice *hg_i8042_create(HgMachine *m, const char *id, HgInput *input);
