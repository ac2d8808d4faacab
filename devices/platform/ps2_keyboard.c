/* PS/2 keyboard: the AT/MF2 keyboard's command set and scancode sets 1 and
 * 2 (IBM PS/2 Hardware Interface Technical Reference, "Keyboards": commands
 * 0xED-0xFF, scan code sets; see ps2.h for the queue).
 *
 * Keys come in as qnums (display/input.h), which are set-1 codes with 0x80
 * for the E0 prefix; set 2 comes from the table in ps2_scancodes.c.  Pause
 * (qnum 0xc6) and Print Screen (0xb7) send the multi-byte sequences real
 * keyboards send, which depend on the Ctrl, Shift and Alt keys held.
 * A key held down repeats because the source repeats its key-down events
 * (VNC and SPICE clients do); each one is sent as another make code, the
 * typematic setting is only stored. */
#include "devices/platform/ps2.h"

#include <string.h>

#include "devices/device.h"

#define KBD_CMD_SET_LEDS 0xed
#define KBD_CMD_ECHO 0xee
#define KBD_CMD_SCANCODE_SET 0xf0
#define KBD_CMD_IDENTIFY 0xf2
#define KBD_CMD_TYPEMATIC 0xf3
#define KBD_CMD_ENABLE 0xf4
#define KBD_CMD_DISABLE 0xf5 /* defaults, and stop scanning */
#define KBD_CMD_DEFAULTS 0xf6
#define KBD_CMD_SET3_FIRST 0xf7 /* 0xf7-0xfd: set 3 key types */
#define KBD_CMD_SET3_LAST 0xfd
#define KBD_CMD_RESEND 0xfe
#define KBD_CMD_RESET 0xff

#define KBD_ID_FIRST 0xab /* MF2 keyboard: 0xAB 0x83 */
#define KBD_ID_SECOND 0x83
#define KBD_TYPEMATIC_DEFAULT 0x2b /* 10.9 characters/s after 500 ms */
#define KBD_LEDS_MASK 0x07

#define BREAK_PREFIX_SET2 0xf0
#define EXTENDED_PREFIX 0xe0
#define PAUSE_PREFIX 0xe1

#define QNUM_PAUSE 0xc6
#define QNUM_PRINT_SCREEN 0xb7

/* Held keys that change what Pause and Print Screen send. */
enum {
	MOD_LEFT_CTRL = 1 << 0,
	MOD_RIGHT_CTRL = 1 << 1,
	MOD_LEFT_SHIFT = 1 << 2,
	MOD_RIGHT_SHIFT = 1 << 3,
	MOD_LEFT_ALT = 1 << 4,
	MOD_RIGHT_ALT = 1 << 5,
	MOD_ALL = (1 << 6) - 1,
};
#define MOD_CTRL (MOD_LEFT_CTRL | MOD_RIGHT_CTRL)
#define MOD_SHIFT (MOD_LEFT_SHIFT | MOD_RIGHT_SHIFT)
#define MOD_ALT (MOD_LEFT_ALT | MOD_RIGHT_ALT)

static void kbd_reply(Ps2Keyboard *kbd, uint8_t byte)
{
	ps2_queue_put_reply(&kbd->queue, byte);
}

static void kbd_set_leds(Ps2Keyboard *kbd, uint8_t leds)
{
	kbd->leds = leds & KBD_LEDS_MASK;
	if (kbd->input)
		hg_input_set_leds(kbd->input, kbd->leds);
}

/* 0xF6's defaults: set 2 and the default typematic rate. */
static void kbd_defaults(Ps2Keyboard *kbd)
{
	kbd->scancode_set = 2;
	kbd->typematic = KBD_TYPEMATIC_DEFAULT;
}

void ps2_keyboard_init(Ps2Keyboard *kbd, HgInput *input)
{
	kbd->input = input;
	ps2_keyboard_reset(kbd);
}

void ps2_keyboard_reset(Ps2Keyboard *kbd)
{
	ps2_queue_clear(&kbd->queue);
	kbd->command = 0;
	kbd_defaults(kbd);
	kbd->scanning = true;
	kbd->last_byte = 0;
	kbd->modifiers = 0;
	kbd_set_leds(kbd, 0);
}

/* The parameter byte of 0xED, 0xF0 or 0xF3. */
static void kbd_parameter(Ps2Keyboard *kbd, uint8_t command, uint8_t value)
{
	switch (command) {
	case KBD_CMD_SET_LEDS:
		kbd_reply(kbd, PS2_ACK);
		kbd_set_leds(kbd, value);
		break;
	case KBD_CMD_SCANCODE_SET:
		if (value == 0) {
			kbd_reply(kbd, PS2_ACK);
			kbd_reply(kbd, kbd->scancode_set);
		} else if (value == 1 || value == 2) {
			kbd_reply(kbd, PS2_ACK);
			kbd->scancode_set = value;
			ps2_queue_drop_input(&kbd->queue);
		} else {
			kbd_reply(kbd, PS2_RESEND); /* set 3 is not offered */
		}
		break;
	case KBD_CMD_TYPEMATIC:
		kbd_reply(kbd, PS2_ACK);
		kbd->typematic = value;
		break;
	}
}

void ps2_keyboard_write(Ps2Keyboard *kbd, uint8_t byte)
{
	/* A parameter is below 0x80; a command byte instead abandons the
	 * command that waited for it. */
	if (kbd->command && byte < 0x80) {
		uint8_t command = kbd->command;
		kbd->command = 0;
		kbd_parameter(kbd, command, byte);
		return;
	}
	kbd->command = 0;
	switch (byte) {
	case KBD_CMD_SET_LEDS:
	case KBD_CMD_SCANCODE_SET:
	case KBD_CMD_TYPEMATIC:
		kbd_reply(kbd, PS2_ACK);
		kbd->command = byte;
		break;
	case KBD_CMD_ECHO:
		kbd_reply(kbd, KBD_CMD_ECHO);
		break;
	case KBD_CMD_IDENTIFY:
		kbd_reply(kbd, PS2_ACK);
		kbd_reply(kbd, KBD_ID_FIRST);
		kbd_reply(kbd, KBD_ID_SECOND);
		break;
	case KBD_CMD_ENABLE:
		ps2_queue_drop_input(&kbd->queue);
		kbd_reply(kbd, PS2_ACK);
		kbd->scanning = true;
		break;
	case KBD_CMD_DISABLE:
		ps2_queue_drop_input(&kbd->queue);
		kbd_defaults(kbd);
		kbd_reply(kbd, PS2_ACK);
		kbd->scanning = false;
		break;
	case KBD_CMD_DEFAULTS:
		ps2_queue_drop_input(&kbd->queue);
		kbd_defaults(kbd);
		kbd_reply(kbd, PS2_ACK);
		break;
	case KBD_CMD_SET3_FIRST ... KBD_CMD_SET3_LAST:
		kbd_reply(kbd, PS2_ACK); /* set 3 only: nothing changes here */
		break;
	case KBD_CMD_RESEND:
		kbd_reply(kbd, kbd->last_byte);
		break;
	case KBD_CMD_RESET:
		ps2_queue_clear(&kbd->queue);
		kbd_defaults(kbd);
		kbd_set_leds(kbd, 0);
		kbd->scanning = true;
		kbd_reply(kbd, PS2_ACK);
		kbd_reply(kbd, PS2_SELF_TEST_PASSED);
		break;
	default:
		kbd_reply(kbd, PS2_RESEND);
		break;
	}
}

/* ---- scancodes ---- */

static uint8_t modifier_bit(uint16_t qnum)
{
	switch (qnum) {
	case 0x1d:
		return MOD_LEFT_CTRL;
	case 0x9d:
		return MOD_RIGHT_CTRL;
	case 0x2a:
		return MOD_LEFT_SHIFT;
	case 0x36:
		return MOD_RIGHT_SHIFT;
	case 0x38:
		return MOD_LEFT_ALT;
	case 0xb8:
		return MOD_RIGHT_ALT;
	}
	return 0;
}

/* Fills bytes (at least 8) with the key's set-1 sequence; returns its length. */
static unsigned set1_sequence(uint8_t modifiers, uint16_t qnum, bool down, uint8_t *bytes)
{
	static const uint8_t pause[] = {0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5};
	static const uint8_t ctrl_break[] = {0xe0, 0x46, 0xe0, 0xc6};
	uint8_t brk = down ? 0 : 0x80;
	unsigned n = 0;

	if (qnum == QNUM_PAUSE) {
		/* Make only; Ctrl+Pause is Break. */
		if (!down)
			return 0;
		if (modifiers & MOD_CTRL) {
			memcpy(bytes, ctrl_break, sizeof(ctrl_break));
			return sizeof(ctrl_break);
		}
		memcpy(bytes, pause, sizeof(pause));
		return sizeof(pause);
	}
	if (qnum == QNUM_PRINT_SCREEN) {
		if (modifiers & MOD_ALT) {
			bytes[0] = 0x54 | brk; /* SysRq */
			return 1;
		}
		/* Alone it comes with a fake left shift. */
		if (down && !(modifiers & (MOD_CTRL | MOD_SHIFT))) {
			bytes[n++] = EXTENDED_PREFIX;
			bytes[n++] = 0x2a;
		}
		bytes[n++] = EXTENDED_PREFIX;
		bytes[n++] = 0x37 | brk;
		if (!down && !(modifiers & (MOD_CTRL | MOD_SHIFT))) {
			bytes[n++] = EXTENDED_PREFIX;
			bytes[n++] = 0xaa;
		}
		return n;
	}
	if (qnum & 0x80)
		bytes[n++] = EXTENDED_PREFIX;
	bytes[n++] = (qnum & 0x7f) | brk;
	return n;
}

static unsigned set2_sequence(uint8_t modifiers, uint16_t qnum, bool down, uint8_t *bytes)
{
	static const uint8_t pause[] = {0xe1, 0x14, 0x77, 0xe1, 0xf0, 0x14, 0xf0, 0x77};
	static const uint8_t ctrl_break[] = {0xe0, 0x7e, 0xe0, 0xf0, 0x7e};
	uint8_t code = ps2_set1_to_set2(qnum & 0x7f);
	unsigned n = 0;

	if (qnum == QNUM_PAUSE) {
		if (!down)
			return 0;
		if (modifiers & MOD_CTRL) {
			memcpy(bytes, ctrl_break, sizeof(ctrl_break));
			return sizeof(ctrl_break);
		}
		memcpy(bytes, pause, sizeof(pause));
		return sizeof(pause);
	}
	if (qnum == QNUM_PRINT_SCREEN) {
		bool alone = !(modifiers & (MOD_CTRL | MOD_SHIFT));
		if (modifiers & MOD_ALT) {
			if (!down)
				bytes[n++] = BREAK_PREFIX_SET2;
			bytes[n++] = 0x84; /* SysRq */
			return n;
		}
		if (down && alone) {
			bytes[n++] = EXTENDED_PREFIX;
			bytes[n++] = 0x12;
		}
		bytes[n++] = EXTENDED_PREFIX;
		if (!down)
			bytes[n++] = BREAK_PREFIX_SET2;
		bytes[n++] = 0x7c;
		if (!down && alone) {
			bytes[n++] = EXTENDED_PREFIX;
			bytes[n++] = BREAK_PREFIX_SET2;
			bytes[n++] = 0x12;
		}
		return n;
	}
	if (!code)
		return 0;
	if (qnum & 0x80)
		bytes[n++] = EXTENDED_PREFIX;
	if (!down)
		bytes[n++] = BREAK_PREFIX_SET2;
	bytes[n++] = code;
	return n;
}

void ps2_keyboard_key(Ps2Keyboard *kbd, uint16_t qnum, bool down)
{
	uint8_t bytes[8];
	uint8_t mod = modifier_bit(qnum);
	unsigned n;

	if (!qnum || qnum > 0xff || !(qnum & 0x7f))
		return;
	/* Keys are held whether or not the keyboard scans. */
	if (down)
		kbd->modifiers |= mod;
	else
		kbd->modifiers &= ~mod;
	if (!kbd->scanning)
		return;
	if (kbd->scancode_set == 1)
		n = set1_sequence(kbd->modifiers, qnum, down, bytes);
	else
		n = set2_sequence(kbd->modifiers, qnum, down, bytes);
	/* A sequence that does not fit is lost whole, never cut. */
	if (n)
		ps2_queue_put_input(&kbd->queue, bytes, n);
}

bool ps2_keyboard_read(Ps2Keyboard *kbd, uint8_t *byte)
{
	if (!ps2_queue_get(&kbd->queue, byte))
		return false;
	kbd->last_byte = *byte;
	return true;
}

/* ---- save and load ---- */

void ps2_keyboard_save(const Ps2Keyboard *kbd, GVariantBuilder *b)
{
	ps2_queue_save(&kbd->queue, "kbd", b);
	g_variant_builder_add(b, "{sv}", "kbd-command", g_variant_new_byte(kbd->command));
	g_variant_builder_add(b, "{sv}", "kbd-scancode-set", g_variant_new_byte(kbd->scancode_set));
	g_variant_builder_add(b, "{sv}", "kbd-scanning", g_variant_new_boolean(kbd->scanning));
	g_variant_builder_add(b, "{sv}", "kbd-leds", g_variant_new_byte(kbd->leds));
	g_variant_builder_add(b, "{sv}", "kbd-typematic", g_variant_new_byte(kbd->typematic));
	g_variant_builder_add(b, "{sv}", "kbd-last-byte", g_variant_new_byte(kbd->last_byte));
	g_variant_builder_add(b, "{sv}", "kbd-modifiers", g_variant_new_byte(kbd->modifiers));
}

static bool kbd_load_fail(GError **error, const char *why)
{
	g_set_error_literal(error, HG_DEVICE_ERROR, HG_DEVICE_ERROR_BAD_RECORD, why);
	return false;
}

bool ps2_keyboard_load(Ps2Keyboard *kbd, GVariantDict *r, GError **error)
{
	uint8_t leds;

	if (!ps2_queue_load(&kbd->queue, "kbd", r, error) ||
	    !hg_record_u8(r, "kbd-command", &kbd->command, error) ||
	    !hg_record_u8(r, "kbd-scancode-set", &kbd->scancode_set, error) ||
	    !hg_record_bool(r, "kbd-scanning", &kbd->scanning, error) ||
	    !hg_record_u8(r, "kbd-leds", &leds, error) ||
	    !hg_record_u8(r, "kbd-typematic", &kbd->typematic, error) ||
	    !hg_record_u8(r, "kbd-last-byte", &kbd->last_byte, error) ||
	    !hg_record_u8(r, "kbd-modifiers", &kbd->modifiers, error))
		return false;
	if (kbd->command != 0 && kbd->command != KBD_CMD_SET_LEDS &&
	    kbd->command != KBD_CMD_SCANCODE_SET && kbd->command != KBD_CMD_TYPEMATIC)
		return kbd_load_fail(error,
				     "keyboard waits for the parameter of an unknown command");
	if (kbd->scancode_set != 1 && kbd->scancode_set != 2)
		return kbd_load_fail(error, "keyboard scancode set is not 1 or 2");
	if (leds & ~KBD_LEDS_MASK)
		return kbd_load_fail(error, "keyboard LEDs have unknown bits");
	if (kbd->typematic & 0x80)
		return kbd_load_fail(error, "keyboard typematic byte has bit 7 set");
	if (kbd->modifiers & ~MOD_ALL)
		return kbd_load_fail(error, "keyboard modifiers have unknown bits");
	kbd_set_leds(kbd, leds);
	return true;
}
