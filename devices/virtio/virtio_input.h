/* virtio-input over modern virtio-pci: PCI 1af4:1052, subsystem 1af4:1100
 * (what virtio drivers for Windows match on), an event queue and a status
 * queue of 64 entries each.  Two kinds, as QEMU offers them:
 *
 * - keyboard ("Hangar Virtio Keyboard", class 0x0900): EV_KEY for every
 *   key the internal key codes map to, EV_REP, EV_LED (the LEDs the driver
 *   sets through the status queue are reported with hg_input_set_leds);
 * - tablet ("Hangar Virtio Tablet", class 0x0902): EV_ABS X and Y over
 *   0..HG_INPUT_ABS_MAX, EV_KEY BTN_LEFT/RIGHT/MIDDLE/SIDE/EXTRA, EV_REL
 *   REL_WHEEL.
 *
 * Each registers with the input router and counts as active once the
 * driver has set DRIVER_OK, so it wins over the PS/2 devices registered
 * before it.  See virtio_input.c. */
#pragma once

#include "devices/virtio/virtio_pci.h"
#include "display/input.h"

typedef enum {
	HG_VIRTIO_INPUT_KEYBOARD,
	HG_VIRTIO_INPUT_TABLET,
} HgVirtioInputKind;

HgDevice *hg_virtio_input_create(HgMachine *m, HgPciBus *bus, uint8_t devfn, const char *id,
				 HgVirtioInputKind kind, HgInput *input, GError **error);
