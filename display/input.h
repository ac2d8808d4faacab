/* Input routing: keyboard and pointer events from every source (VNC, SPICE,
 * later the app's own widgets) to whichever guest device should get them.
 *
 * One internal key code for every source: the PC set-1 "qnum" numbering
 * (QEMU's): 0x01-0x7f for plain scancodes, 0x80 | code for E0-prefixed
 * ones (0xc8 = Up, 0x9c = keypad Enter, 0xdb = left GUI ...).  Sources
 * translate into it (VNC keysyms and QEMU extended key events, SPICE's
 * set-1 bytes); devices translate out of it (PS/2 set 1/2, virtio-input
 * Linux key codes, USB HID usages).
 *
 * Pointer: relative motion (dx, dy, wheel) or absolute positions, and a
 * button mask.  Sources give absolute positions in screen pixels; handlers
 * get them scaled to 0..HG_INPUT_ABS_MAX on each axis.  Absolute events go
 * to the newest active handler that takes them (a tablet the guest drives);
 * with none, they become relative motion in pixels for a relative handler
 * (the PS/2 mouse), from the last position.
 *
 * Threads: sources call in from any thread without locks held; handlers
 * are called with machine->device_lock held. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "engine/machine.h"

#define HG_INPUT_ABS_MAX 0x7fff

enum {
	HG_INPUT_BUTTON_LEFT = 1 << 0,
	HG_INPUT_BUTTON_MIDDLE = 1 << 1,
	HG_INPUT_BUTTON_RIGHT = 1 << 2,
	HG_INPUT_BUTTON_SIDE = 1 << 3,
	HG_INPUT_BUTTON_EXTRA = 1 << 4,
};

typedef enum {
	HG_INPUT_KEY,
	HG_INPUT_REL, /* dx, dy, wheel (positive = away from the user) */
	HG_INPUT_ABS, /* x, y in 0..HG_INPUT_ABS_MAX */
	HG_INPUT_BUTTONS, /* buttons = the new mask */
	HG_INPUT_SYNC, /* end of one report (a pointer event's parts) */
} HgInputEventType;

typedef struct {
	HgInputEventType type;
	union {
		struct {
			uint16_t qnum;
			bool down;
		} key;
		struct {
			int dx, dy, wheel;
		} rel;
		struct {
			int x, y;
		} abs;
		uint32_t buttons;
	};
} HgInputEvent;

enum {
	HG_INPUT_CAP_KEYBOARD = 1 << 0,
	HG_INPUT_CAP_REL = 1 << 1,
	HG_INPUT_CAP_ABS = 1 << 2,
};

typedef struct {
	const char *name;
	unsigned caps;
	/* Is the guest using this device now (driver loaded, port enabled)?
	 * Inactive handlers are skipped when a better one is active. */
	bool (*active)(void *opaque);
	void (*event)(void *opaque, const HgInputEvent *ev);
	/* Keyboard LEDs the guest set (caps/num/scroll), for sources that
	 * mirror them (optional, reported through hg_input_leds). */
} HgInputHandler;

typedef struct HgInput HgInput;

HgInput *hg_input_new(HgMachine *m);
void hg_input_free(HgInput *in);
/* Handlers registered later win over earlier ones when both are active
 * (a USB or virtio keyboard over the PS/2 one); device_lock held or at
 * machine creation. */
void hg_input_register(HgInput *in, const HgInputHandler *h, void *opaque);
/* Remove the handler registered with this opaque (device_lock held). */
void hg_input_unregister(HgInput *in, void *opaque);

/* Sources (any thread, no lock held). */
void hg_input_key(HgInput *in, uint16_t qnum, bool down);
void hg_input_pointer_rel(HgInput *in, int dx, int dy, int wheel, uint32_t buttons);
/* x, y in pixels of a width x height screen (the console's). */
void hg_input_pointer_abs(HgInput *in, int x, int y, int width, int height, int wheel,
			  uint32_t buttons);
/* Whether absolute events reach the guest as such: a handler with
 * HG_INPUT_CAP_ABS is registered and active (for the virtio tablet: its
 * driver set DRIVER_OK and no reset is pending).  Servers tell their
 * clients which mouse mode to use. */
bool hg_input_has_absolute(HgInput *in);

/* Told when hg_input_has_absolute changes, with its new value: called with
 * machine->device_lock held, on whichever thread noticed, so a listener
 * only records it and wakes its own thread (it must not call back into
 * the router).  Add and remove with no lock held; one listener per
 * opaque. */
typedef void (*HgInputAbsoluteListener)(void *opaque, bool absolute);
void hg_input_add_absolute_listener(HgInput *in, HgInputAbsoluteListener fn, void *opaque);
void hg_input_remove_absolute_listener(HgInput *in, void *opaque);
/* A handler's active() may have changed (a driver loaded or reset its
 * device): compare with what listeners were last told and tell them
 * (device_lock held).  The router also checks on every event it routes
 * and on (un)registration, so a device that never calls this is noticed
 * at the next input event. */
void hg_input_active_changed(HgInput *in);

/* LED state the guest's keyboard driver set; devices report it, sources
 * read it.  Bits: 0 scroll lock, 1 num lock, 2 caps lock. */
void hg_input_set_leds(HgInput *in, unsigned leds);
unsigned hg_input_leds(HgInput *in);
