/* The i8042 keyboard controller with its PS/2 keyboard and mouse (IBM PS/2
 * Hardware Interface Technical Reference, "Keyboard/Auxiliary Device
 * Controller": status register, command byte, commands 0x20-0xFF, output
 * port; the devices are in ps2_keyboard.c and ps2_mouse.c).  Also port
 * 0x92, the PS/2 system control port A ("fast A20" and reset), which Linux
 * and firmware use as another reset path.
 *
 * One output buffer: the byte the guest reads next from port 0x60.  When it
 * is empty the controller fills it from, in order, its own reply to a
 * command, the keyboard (translated to set 1 when command byte bit 6 says
 * so) and the mouse; each device is skipped while its interface is
 * disabled (command byte bits 4 and 5), so a disabled device keeps its
 * bytes.  IRQ 1 is high while a keyboard byte waits and bit 0 enables it,
 * IRQ 12 likewise for a mouse byte and bit 1.  Reading port 0x60 empties
 * the buffer and lowers the line before the next byte comes in, so every
 * byte is a fresh rising edge for the edge-triggered PIC, as on a real PC.
 *
 * Input writes (ports 0x60 and 0x64) are taken at once: IBF never shows.
 * TIMEOUT and PERR never show either, as both devices are always there.
 *
 * Threads: port handlers on vCPU threads, input events from the router,
 * all with machine->device_lock held. */
#include "devices/platform/i8042.h"

#include <string.h>

#include "devices/platform/ps2.h"

#define I8042_DATA 0x60
#define I8042_STATUS_COMMAND 0x64
#define SYSTEM_CONTROL_A 0x92
#define KBD_IRQ 1
#define AUX_IRQ 12

/* Status register. */
#define STATUS_OBF 0x01
#define STATUS_IBF 0x02
#define STATUS_SYSTEM_FLAG 0x04
#define STATUS_LAST_WAS_COMMAND 0x08 /* A2 of the last write */
#define STATUS_NOT_INHIBITED 0x10 /* no key lock */
#define STATUS_AUX_DATA 0x20
#define STATUS_TIMEOUT 0x40
#define STATUS_PARITY_ERROR 0x80

/* Command byte (controller RAM byte 0). */
#define CTR_KBD_INT 0x01
#define CTR_AUX_INT 0x02
#define CTR_SYSTEM_FLAG 0x04
#define CTR_IGNORE_KEYLOCK 0x08
#define CTR_KBD_DISABLE 0x10
#define CTR_AUX_DISABLE 0x20
#define CTR_TRANSLATE 0x40
/* At power-on both interrupts are enabled and nothing else; firmware sets
 * translation (SeaBIOS writes 0x61 or so). */
#define CTR_POWER_ON (CTR_KBD_INT | CTR_AUX_INT)

/* Commands written to port 0x64. */
#define CMD_READ_RAM_FIRST 0x20 /* 0x20: the command byte */
#define CMD_READ_RAM_LAST 0x3f
#define CMD_WRITE_RAM_FIRST 0x60 /* 0x60: the command byte */
#define CMD_WRITE_RAM_LAST 0x7f
#define CMD_PASSWORD_INSTALLED 0xa4
#define CMD_AUX_DISABLE 0xa7
#define CMD_AUX_ENABLE 0xa8
#define CMD_AUX_TEST 0xa9
#define CMD_SELF_TEST 0xaa
#define CMD_KBD_TEST 0xab
#define CMD_KBD_DISABLE 0xad
#define CMD_KBD_ENABLE 0xae
#define CMD_READ_INPUT_PORT 0xc0
#define CMD_READ_OUTPUT_PORT 0xd0
#define CMD_WRITE_OUTPUT_PORT 0xd1
#define CMD_WRITE_KBD_BUFFER 0xd2
#define CMD_WRITE_AUX_BUFFER 0xd3
#define CMD_WRITE_AUX 0xd4
#define CMD_A20_DISABLE 0xdd
#define CMD_A20_ENABLE 0xdf
#define CMD_READ_TEST_INPUTS 0xe0
#define CMD_PULSE_FIRST 0xf0 /* 0xf0-0xff: pulse output port bits 0-3 low */

#define SELF_TEST_PASSED 0x55
#define INTERFACE_TEST_PASSED 0x00
#define NO_PASSWORD 0xf1
#define INPUT_PORT_VALUE 0x80 /* bit 7: keyboard not inhibited */

/* Output port. */
#define OUTPORT_RESET 0x01 /* 0 holds the CPU in reset */
#define OUTPORT_A20 0x02
#define OUTPORT_KBD_OBF 0x10
#define OUTPORT_AUX_OBF 0x20
#define OUTPORT_POWER_ON 0xcf /* clock and data lines high, A20 on */

#define SYSCTL_A_RESET 0x01
#define SYSCTL_A_A20 0x02

#define RAM_SIZE 32
#define KBD_TRANSLATE_BREAK 0xf0

typedef struct {
	HgDevice dev;
	HgInput *input;
	uint8_t ram[RAM_SIZE]; /* ram[0]: the command byte */
	uint8_t pending_command; /* waits for a data byte on port 0x60; 0: none */
	bool last_write_was_command;
	uint8_t output_port;

	/* The output buffer. */
	bool output_full;
	bool output_aux;
	uint8_t output;
	/* The controller's own reply, going before device bytes. */
	bool reply_pending;
	bool reply_aux;
	uint8_t reply;
	/* Translation saw 0xF0: the next key byte is a break code. */
	bool translate_break;

	Ps2Keyboard kbd;
	Ps2Mouse mouse;
	uint8_t system_control_a;
} I8042;

static uint8_t *ctr(I8042 *k)
{
	return &k->ram[0];
}

/* ---- output buffer and interrupts ---- */

static void i8042_update_irq(I8042 *k)
{
	HgMachine *m = k->dev.machine;

	hg_irq_set_level(m, KBD_IRQ, k->output_full && !k->output_aux && (*ctr(k) & CTR_KBD_INT));
	hg_irq_set_level(m, AUX_IRQ, k->output_full && k->output_aux && (*ctr(k) & CTR_AUX_INT));
}

/* The next keyboard byte as the guest sees it: set 2 becomes set 1 when
 * translating, 0xF0 turning into bit 7 of the byte after it. */
static bool i8042_take_keyboard_byte(I8042 *k, uint8_t *byte)
{
	uint8_t b;

	while (ps2_keyboard_read(&k->kbd, &b)) {
		if (!(*ctr(k) & CTR_TRANSLATE)) {
			*byte = b;
			return true;
		}
		if (b == KBD_TRANSLATE_BREAK) {
			k->translate_break = true;
			continue;
		}
		*byte = ps2_translate_to_set1(b) | (k->translate_break ? 0x80 : 0);
		k->translate_break = false;
		return true;
	}
	return false;
}

/* Fill an empty output buffer; then set the interrupt lines. */
static void i8042_update(I8042 *k)
{
	uint8_t byte;

	if (!k->output_full) {
		if (k->reply_pending) {
			k->reply_pending = false;
			k->output = k->reply;
			k->output_aux = k->reply_aux;
			k->output_full = true;
		} else if (!(*ctr(k) & CTR_KBD_DISABLE) && i8042_take_keyboard_byte(k, &byte)) {
			k->output = byte;
			k->output_aux = false;
			k->output_full = true;
		} else if (!(*ctr(k) & CTR_AUX_DISABLE) && ps2_mouse_read(&k->mouse, &byte)) {
			k->output = byte;
			k->output_aux = true;
			k->output_full = true;
		}
	}
	i8042_update_irq(k);
}

/* A byte from the controller itself: a command's reply, or 0xD2/0xD3. */
static void i8042_reply(I8042 *k, uint8_t byte, bool aux)
{
	k->reply_pending = true;
	k->reply = byte;
	k->reply_aux = aux;
}

static uint8_t i8042_status(I8042 *k)
{
	return (k->output_full ? STATUS_OBF : 0) |
	       (*ctr(k) & CTR_SYSTEM_FLAG ? STATUS_SYSTEM_FLAG : 0) |
	       (k->last_write_was_command ? STATUS_LAST_WAS_COMMAND : 0) | STATUS_NOT_INHIBITED |
	       (k->output_full && k->output_aux ? STATUS_AUX_DATA : 0);
}

/* ---- commands ---- */

static void i8042_request_reset(I8042 *k, const char *why)
{
	hg_machine_request(k->dev.machine, HG_GUEST_REQUEST_RESET, 0, why);
}

static uint8_t i8042_read_output_port(I8042 *k)
{
	uint8_t v = k->output_port & ~(OUTPORT_KBD_OBF | OUTPORT_AUX_OBF);

	if (k->output_full)
		v |= k->output_aux ? OUTPORT_AUX_OBF : OUTPORT_KBD_OBF;
	return v;
}

static void i8042_write_output_port(I8042 *k, uint8_t value)
{
	/* A20 is only stored: KVM's memory never wraps at 1 MiB. */
	k->output_port = value | OUTPORT_RESET;
	if (!(value & OUTPORT_RESET))
		i8042_request_reset(k, "keyboard controller output port reset");
}

static void i8042_command(I8042 *k, uint8_t command)
{
	k->pending_command = 0;
	if (command >= CMD_READ_RAM_FIRST && command <= CMD_READ_RAM_LAST) {
		i8042_reply(k, k->ram[command - CMD_READ_RAM_FIRST], false);
		return;
	}
	if (command >= CMD_WRITE_RAM_FIRST && command <= CMD_WRITE_RAM_LAST) {
		k->pending_command = command;
		return;
	}
	if (command >= CMD_PULSE_FIRST) {
		/* Bits 0-3 clear in the command pulse output port bits 0-3;
		 * bit 0 is the reset line (0xFE is the usual one). */
		if (!(command & OUTPORT_RESET))
			i8042_request_reset(k, "keyboard controller reset");
		return;
	}
	switch (command) {
	case CMD_PASSWORD_INSTALLED:
		i8042_reply(k, NO_PASSWORD, false);
		break;
	case CMD_AUX_DISABLE:
		*ctr(k) |= CTR_AUX_DISABLE;
		break;
	case CMD_AUX_ENABLE:
		*ctr(k) &= ~CTR_AUX_DISABLE;
		break;
	case CMD_AUX_TEST:
	case CMD_KBD_TEST:
		i8042_reply(k, INTERFACE_TEST_PASSED, false);
		break;
	case CMD_SELF_TEST:
		*ctr(k) |= CTR_SYSTEM_FLAG;
		i8042_reply(k, SELF_TEST_PASSED, false);
		break;
	case CMD_KBD_DISABLE:
		*ctr(k) |= CTR_KBD_DISABLE;
		break;
	case CMD_KBD_ENABLE:
		*ctr(k) &= ~CTR_KBD_DISABLE;
		break;
	case CMD_READ_INPUT_PORT:
		i8042_reply(k, INPUT_PORT_VALUE, false);
		break;
	case CMD_READ_OUTPUT_PORT:
		i8042_reply(k, i8042_read_output_port(k), false);
		break;
	case CMD_WRITE_OUTPUT_PORT:
	case CMD_WRITE_KBD_BUFFER:
	case CMD_WRITE_AUX_BUFFER:
	case CMD_WRITE_AUX:
		k->pending_command = command;
		break;
	case CMD_A20_DISABLE:
		k->output_port &= ~OUTPORT_A20;
		break;
	case CMD_A20_ENABLE:
		k->output_port |= OUTPORT_A20;
		break;
	case CMD_READ_TEST_INPUTS:
		i8042_reply(k, 0x00, false);
		break;
	default:
		g_debug("%s: command 0x%02x ignored", k->dev.id, command);
		break;
	}
}

/* A byte on port 0x60: the data of a pending command, else for the keyboard. */
static void i8042_data(I8042 *k, uint8_t value)
{
	uint8_t command = k->pending_command;

	k->pending_command = 0;
	if (command >= CMD_WRITE_RAM_FIRST && command <= CMD_WRITE_RAM_LAST) {
		k->ram[command - CMD_WRITE_RAM_FIRST] = value;
		return;
	}
	switch (command) {
	case CMD_WRITE_OUTPUT_PORT:
		i8042_write_output_port(k, value);
		break;
	case CMD_WRITE_KBD_BUFFER:
		i8042_reply(k, value, false);
		break;
	case CMD_WRITE_AUX_BUFFER:
		i8042_reply(k, value, true);
		break;
	case CMD_WRITE_AUX:
		ps2_mouse_write(&k->mouse, value);
		break;
	default:
		/* Sending to the keyboard needs its clock line: the interface
		 * is enabled again, as on real controllers. */
		*ctr(k) &= ~CTR_KBD_DISABLE;
		ps2_keyboard_write(&k->kbd, value);
		break;
	}
}

/* ---- ports ---- */

static uint64_t i8042_data_read(void *opaque, uint64_t offset, unsigned size)
{
	I8042 *k = opaque;
	uint8_t value = k->output; /* an empty buffer reads its last byte */

	if (k->output_full) {
		k->output_full = false;
		i8042_update_irq(k); /* low before the next byte raises it */
		i8042_update(k);
	}
	return value;
}

static void i8042_data_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	I8042 *k = opaque;

	k->last_write_was_command = false;
	i8042_data(k, value);
	i8042_update(k);
}

static uint64_t i8042_status_read(void *opaque, uint64_t offset, unsigned size)
{
	return i8042_status(opaque);
}

static void i8042_command_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	I8042 *k = opaque;

	k->last_write_was_command = true;
	i8042_command(k, value);
	i8042_update(k);
}

static uint64_t sysctl_a_read(void *opaque, uint64_t offset, unsigned size)
{
	I8042 *k = opaque;
	return k->system_control_a;
}

static void sysctl_a_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	I8042 *k = opaque;
	/* A 0 -> 1 transition of bit 0 resets the machine. */
	bool reset = (value & SYSCTL_A_RESET) && !(k->system_control_a & SYSCTL_A_RESET);
	k->system_control_a = value & ~SYSCTL_A_RESET;
	if (reset)
		hg_machine_request(k->dev.machine, HG_GUEST_REQUEST_RESET, 0,
				   "system control port A reset");
}

static const HgIoOps i8042_data_ops = {.read = i8042_data_read, .write = i8042_data_write};
static const HgIoOps i8042_command_ops = {.read = i8042_status_read, .write = i8042_command_write};
static const HgIoOps sysctl_a_ops = {.read = sysctl_a_read, .write = sysctl_a_write};

/* ---- input ---- */

/* Scanning enabled: the guest's keyboard driver (or the BIOS) listens.  A
 * keyboard that is not active still gets keys when no other is. */
static bool i8042_keyboard_active(void *opaque)
{
	I8042 *k = opaque;
	return k->kbd.scanning;
}

static void i8042_keyboard_event(void *opaque, const HgInputEvent *ev)
{
	I8042 *k = opaque;

	if (ev->type != HG_INPUT_KEY)
		return;
	ps2_keyboard_key(&k->kbd, ev->key.qnum, ev->key.down);
	i8042_update(k);
}

static bool i8042_mouse_active(void *opaque)
{
	I8042 *k = opaque;
	return k->mouse.reporting;
}

static void i8042_mouse_event(void *opaque, const HgInputEvent *ev)
{
	I8042 *k = opaque;

	ps2_mouse_event(&k->mouse, ev);
	if (ev->type == HG_INPUT_SYNC)
		i8042_update(k);
}

static const HgInputHandler i8042_keyboard_handler = {
	.name = "ps2-keyboard",
	.caps = HG_INPUT_CAP_KEYBOARD,
	.active = i8042_keyboard_active,
	.event = i8042_keyboard_event,
};

static const HgInputHandler i8042_mouse_handler = {
	.name = "ps2-mouse",
	.caps = HG_INPUT_CAP_REL,
	.active = i8042_mouse_active,
	.event = i8042_mouse_event,
};

/* ---- device class ---- */

static void i8042_reset(HgDevice *dev)
{
	I8042 *k = (I8042 *)dev;

	memset(k->ram, 0, sizeof(k->ram));
	*ctr(k) = CTR_POWER_ON;
	k->pending_command = 0;
	k->last_write_was_command = false;
	k->output_port = OUTPORT_POWER_ON;
	k->output_full = k->output_aux = false;
	k->output = 0;
	k->reply_pending = k->reply_aux = false;
	k->reply = 0;
	k->translate_break = false;
	ps2_keyboard_reset(&k->kbd);
	ps2_mouse_reset(&k->mouse);
	k->system_control_a = SYSCTL_A_A20; /* A20 on, as KVM's memory has no wrap */
	i8042_update_irq(k);
}

static GVariant *i8042_save(HgDevice *dev)
{
	I8042 *k = (I8042 *)dev;
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&b, "{sv}", "ram", hg_bytes_variant(k->ram, sizeof(k->ram)));
	g_variant_builder_add(&b, "{sv}", "pending-command",
			      g_variant_new_byte(k->pending_command));
	g_variant_builder_add(&b, "{sv}", "last-write-was-command",
			      g_variant_new_boolean(k->last_write_was_command));
	g_variant_builder_add(&b, "{sv}", "output-port", g_variant_new_byte(k->output_port));
	g_variant_builder_add(&b, "{sv}", "output-full", g_variant_new_boolean(k->output_full));
	g_variant_builder_add(&b, "{sv}", "output-aux", g_variant_new_boolean(k->output_aux));
	g_variant_builder_add(&b, "{sv}", "output", g_variant_new_byte(k->output));
	g_variant_builder_add(&b, "{sv}", "reply-pending", g_variant_new_boolean(k->reply_pending));
	g_variant_builder_add(&b, "{sv}", "reply-aux", g_variant_new_boolean(k->reply_aux));
	g_variant_builder_add(&b, "{sv}", "reply", g_variant_new_byte(k->reply));
	g_variant_builder_add(&b, "{sv}", "translate-break",
			      g_variant_new_boolean(k->translate_break));
	ps2_keyboard_save(&k->kbd, &b);
	ps2_mouse_save(&k->mouse, &b);
	g_variant_builder_add(&b, "{sv}", "system-control-a",
			      g_variant_new_byte(k->system_control_a));
	return g_variant_builder_end(&b);
}

static bool i8042_pending_command_valid(uint8_t command)
{
	return command == 0 || (command >= CMD_WRITE_RAM_FIRST && command <= CMD_WRITE_RAM_LAST) ||
	       command == CMD_WRITE_OUTPUT_PORT || command == CMD_WRITE_KBD_BUFFER ||
	       command == CMD_WRITE_AUX_BUFFER || command == CMD_WRITE_AUX;
}

static bool i8042_load(HgDevice *dev, GVariantDict *r, GError **error)
{
	I8042 *k = (I8042 *)dev;

	if (!hg_record_bytes(r, "ram", k->ram, sizeof(k->ram), error) ||
	    !hg_record_u8(r, "pending-command", &k->pending_command, error) ||
	    !hg_record_bool(r, "last-write-was-command", &k->last_write_was_command, error) ||
	    !hg_record_u8(r, "output-port", &k->output_port, error) ||
	    !hg_record_bool(r, "output-full", &k->output_full, error) ||
	    !hg_record_bool(r, "output-aux", &k->output_aux, error) ||
	    !hg_record_u8(r, "output", &k->output, error) ||
	    !hg_record_bool(r, "reply-pending", &k->reply_pending, error) ||
	    !hg_record_bool(r, "reply-aux", &k->reply_aux, error) ||
	    !hg_record_u8(r, "reply", &k->reply, error) ||
	    !hg_record_bool(r, "translate-break", &k->translate_break, error) ||
	    !ps2_keyboard_load(&k->kbd, r, error) || !ps2_mouse_load(&k->mouse, r, error) ||
	    !hg_record_u8(r, "system-control-a", &k->system_control_a, error)) {
		g_prefix_error(error, "%s: ", dev->id);
		return false;
	}
	if (!i8042_pending_command_valid(k->pending_command)) {
		g_set_error(error, HG_DEVICE_ERROR, HG_DEVICE_ERROR_BAD_RECORD,
			    "%s: controller waits for the data of command 0x%02x, which takes none",
			    dev->id, k->pending_command);
		return false;
	}
	if (!(k->output_port & OUTPORT_RESET)) {
		g_set_error(error, HG_DEVICE_ERROR, HG_DEVICE_ERROR_BAD_RECORD,
			    "%s: output port holds the reset line low", dev->id);
		return false;
	}
	if (k->system_control_a & SYSCTL_A_RESET) {
		g_set_error(error, HG_DEVICE_ERROR, HG_DEVICE_ERROR_BAD_RECORD,
			    "%s: system control port A has its reset bit set", dev->id);
		return false;
	}
	/* The lines as they were: a byte that was waiting is still raised. */
	i8042_update_irq(k);
	return true;
}

const HgDeviceClass hg_i8042_class = {
	.name = "i8042",
	.bus = "isa",
	.state_version = 2,
	.reset = i8042_reset,
	.save = i8042_save,
	.load = i8042_load,
};

HgDevice *hg_i8042_create(HgMachine *m, const char *id, HgInput *input)
{
	I8042 *k = g_new0(I8042, 1);

	hg_device_init(&k->dev, &hg_i8042_class, m, id);
	k->input = input;
	ps2_keyboard_init(&k->kbd, input);
	ps2_mouse_init(&k->mouse);
	i8042_reset(&k->dev);
	/* 0x61 between them is KVM's in-kernel PIT speaker port. */
	hg_address_space_register(&m->pio, I8042_DATA, 1, &i8042_data_ops, k, id);
	hg_address_space_register(&m->pio, I8042_STATUS_COMMAND, 1, &i8042_command_ops, k, id);
	hg_address_space_register(&m->pio, SYSTEM_CONTROL_A, 1, &sysctl_a_ops, k, id);
	hg_machine_add_device(m, &k->dev);
	if (input) {
		hg_input_register(input, &i8042_keyboard_handler, k);
		hg_input_register(input, &i8042_mouse_handler, k);
	}
	return &k->dev;
}
