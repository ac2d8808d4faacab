/* The two PS/2 devices behind the i8042 controller (i8042.c): a keyboard
 * (ps2_keyboard.c) and a mouse (ps2_mouse.c), and the byte queue each one
 * sends through.  Internal to the i8042; nothing else includes this.
 *
 * A PS/2 device answers the host's command bytes and sends its own bytes
 * (scancodes, mouse packets, command replies) one at a time when the
 * controller takes them.  Like a real device it holds at most
 * PS2_QUEUE_SIZE bytes; input that does not fit is dropped (keys) or kept
 * as accumulated motion (mouse).  Command replies go ahead of queued input,
 * so a driver waiting for an ACK gets it next.
 *
 * Threads: all calls come from the i8042 with machine->device_lock held. */
#pragma once

#include <gio/gio.h>
#include <stdbool.h>
#include <stdint.h>

#include "display/input.h"

#define PS2_QUEUE_SIZE 16

/* Replies and bytes both devices use. */
#define PS2_ACK 0xfa
#define PS2_RESEND 0xfe
#define PS2_SELF_TEST_PASSED 0xaa

typedef struct {
	uint8_t data[PS2_QUEUE_SIZE];
	uint8_t head; /* index of the oldest byte */
	uint8_t count;
	uint8_t replies; /* command replies at the head, ahead of input */
} Ps2Queue;

void ps2_queue_clear(Ps2Queue *q);
unsigned ps2_queue_room(const Ps2Queue *q);
/* Input bytes: all of them, or none when they do not fit. */
bool ps2_queue_put_input(Ps2Queue *q, const uint8_t *bytes, unsigned n);
/* A command reply, after earlier replies and before queued input; when the
 * queue is full the newest input byte makes room. */
void ps2_queue_put_reply(Ps2Queue *q, uint8_t byte);
bool ps2_queue_get(Ps2Queue *q, uint8_t *byte);
/* Drop queued input, keeping replies (a device that restarts its stream). */
void ps2_queue_drop_input(Ps2Queue *q);
void ps2_queue_save(const Ps2Queue *q, const char *prefix, GVariantBuilder *b);
bool ps2_queue_load(Ps2Queue *q, const char *prefix, GVariantDict *r, GError **error);

/* ---- keyboard (ps2_keyboard.c) ---- */

typedef struct {
	Ps2Queue queue;
	HgInput *input; /* where LED changes are reported */
	uint8_t command; /* waiting for this command's parameter; 0: none */
	uint8_t scancode_set; /* 1 or 2 */
	bool scanning; /* enabled (0xF4) */
	uint8_t leds; /* bit 0 scroll, 1 num, 2 caps lock */
	uint8_t typematic; /* rate and delay (0xF3), stored only */
	uint8_t last_byte; /* for 0xFE resend */
	uint8_t modifiers; /* held keys that change Pause and Print Screen */
} Ps2Keyboard;

void ps2_keyboard_init(Ps2Keyboard *kbd, HgInput *input);
/* Power-on state: defaults, scanning enabled, nothing queued. */
void ps2_keyboard_reset(Ps2Keyboard *kbd);
/* A byte from the host (a command or a command's parameter). */
void ps2_keyboard_write(Ps2Keyboard *kbd, uint8_t byte);
/* A key pressed or released (qnum, display/input.h); repeats are downs. */
void ps2_keyboard_key(Ps2Keyboard *kbd, uint16_t qnum, bool down);
/* The next byte for the controller, if any. */
bool ps2_keyboard_read(Ps2Keyboard *kbd, uint8_t *byte);
void ps2_keyboard_save(const Ps2Keyboard *kbd, GVariantBuilder *b);
bool ps2_keyboard_load(Ps2Keyboard *kbd, GVariantDict *r, GError **error);

/* ---- mouse (ps2_mouse.c) ---- */

typedef struct {
	Ps2Queue queue;
	uint8_t command; /* waiting for this command's parameter; 0: none */
	bool reporting; /* data reporting enabled (0xF4) */
	bool remote; /* remote mode (0xF0): packets only on 0xEB */
	bool wrap; /* wrap (echo) mode (0xEE) */
	bool scaling_2to1;
	uint8_t resolution; /* 0-3: 1, 2, 4, 8 counts/mm */
	uint8_t sample_rate;
	uint8_t id; /* 0 standard, 3 IntelliMouse, 4 IntelliMouse Explorer */
	uint8_t knock[3]; /* the last three sample rates set, newest last */
	uint8_t last_byte;
	uint32_t buttons; /* HG_INPUT_BUTTON_* held now */
	uint32_t reported_buttons; /* as in the last packet sent */
	int dx, dy, dz; /* motion not yet sent (screen directions) */
	bool overflow_x, overflow_y; /* motion was lost since the last packet */
} Ps2Mouse;

void ps2_mouse_init(Ps2Mouse *mouse);
void ps2_mouse_reset(Ps2Mouse *mouse);
void ps2_mouse_write(Ps2Mouse *mouse, uint8_t byte);
/* Pointer events from the input router (relative motion, buttons, sync). */
void ps2_mouse_event(Ps2Mouse *mouse, const HgInputEvent *ev);
bool ps2_mouse_read(Ps2Mouse *mouse, uint8_t *byte);
void ps2_mouse_save(const Ps2Mouse *mouse, GVariantBuilder *b);
bool ps2_mouse_load(Ps2Mouse *mouse, GVariantDict *r, GError **error);

/* ---- scancode tables (ps2_scancodes.c) ---- */

/* Set-2 code of a set-1 code (0x01-0x7f); 0 where there is none. */
uint8_t ps2_set1_to_set2(uint8_t code);
/* The 8042's translation of a set-2 byte to set 1 (command byte bit 6). */
uint8_t ps2_translate_to_set1(uint8_t code);
