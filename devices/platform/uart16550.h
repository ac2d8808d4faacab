/* The PC serial port: a 16550A UART with 16-byte FIFOs (uart16550.c). */
#pragma once

#include <stdint.h>

#include "devices/device.h"
#include "engine/chardev.h"

/* Registers the eight ports base..base+7 on m->pio, adds the device to m and
 * takes input from backend (NULL: nothing connected; output is dropped).
 * The interrupt goes to ISA IRQ irq while MCR OUT2 is set, as on PCs.
 * Returns NULL if the ports overlap another device's.  backend must
 * outlive the device. */
HgDevice *hg_uart16550_create(HgMachine *m, const char *id, uint16_t base, unsigned irq,
			      HgChardev *backend);

extern const HgDeviceClass hg_uart16550_class;
