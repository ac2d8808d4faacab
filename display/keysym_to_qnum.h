/* X11 keysyms (what a plain RFB KeyEvent carries) to PC set-1 "qnum" key
 * codes (display/input.h), for VNC clients without the QEMU extended key
 * event.
 *
 * The table assumes a US keyboard in the guest: a keysym names the key
 * that types it there, plus whether Shift must be up or down for it.
 * Covered: letters, digits, ASCII punctuation (also as Unicode keysyms
 * 0x1000020-0x100007e), space, F1-F12, the modifiers (Shift, Control,
 * Alt, AltGr, Super/Meta, Menu, Caps/Num/Scroll Lock), editing and
 * navigation keys, and the keypad in both its NumLock states.
 *
 * Limits: no F13-F24, media, power or Japanese/Korean keys; no Latin-1 or
 * other non-ASCII characters (a client on another layout sends keysyms
 * the guest's US layout cannot type, e.g. 'é': those are dropped); letter
 * case comes from the Shift and Caps Lock state the client itself sends,
 * as with real keys. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

typedef enum {
	HG_KEYSYM_SHIFT_ANY, /* a key, not a character: Shift as it is */
	HG_KEYSYM_SHIFT_UP, /* the character is typed without Shift ('1') */
	HG_KEYSYM_SHIFT_DOWN, /* the character needs Shift ('!') */
} HgKeysymShift;

typedef struct {
	uint16_t qnum;
	HgKeysymShift shift;
} HgKeysymKey;

/* False for keysyms the table does not know. */
bool hg_keysym_to_qnum(uint32_t keysym, HgKeysymKey *key);
