/* virtio-input: virtio 1.2, 5.8 (configuration 5.8.4 with its selectors,
 * device initialization 5.8.5, the event and status queues 5.8.6), on the
 * modern PCI transport (virtio_pci.c).  Event codes are Linux evdev's
 * (linux/input-event-codes.h), as the specification says.
 *
 * Events from the input router are collected into a report that ends with
 * EV_SYN/SYN_REPORT, then written one per buffer into the event queue.
 * When the driver has posted too few buffers, whole reports wait in a
 * bounded list (PENDING_MAX events) and go out as buffers arrive; a report
 * that does not fit is dropped, never cut.  Before DRIVER_OK nothing is
 * kept (a driver that loads later does not want old keystrokes).
 *
 * The status queue carries events from the driver to the device: EV_LED
 * for the keyboard's LEDs; the buffers are returned at once.
 *
 * Threads: everything with machine->device_lock held (BAR accesses on vCPU
 * threads, input events from the router, deferred kicks on the main loop). */
#include "devices/virtio/virtio_input.h"

#include <endian.h>
#include <linux/input-event-codes.h>
#include <string.h>

#define VIRTIO_ID_INPUT 18
#define INPUT_SUBSYSTEM_ID 0x1100
#define PCI_CLASS_KEYBOARD 0x090000
#define PCI_CLASS_MOUSE 0x090200
#define INPUT_QUEUE_SIZE 64
#define EVENTQ 0
#define STATUSQ 1

#define PENDING_MAX 128 /* events waiting for event queue buffers */
#define REPORT_MAX 16 /* events in one report, with its SYN_REPORT */
#define EVENT_SIZE 8 /* struct virtio_input_event: le16 type, le16 code, le32 value */

/* struct virtio_input_config (5.8.4). */
#define CFG_SELECT 0
#define CFG_SUBSEL 1
#define CFG_SIZE 2
#define CFG_UNION 8
#define CFG_UNION_SIZE 128
#define CONFIG_SIZE (CFG_UNION + CFG_UNION_SIZE)

#define CFG_UNSET 0x00
#define CFG_ID_NAME 0x01
#define CFG_ID_SERIAL 0x02
#define CFG_ID_DEVIDS 0x03
#define CFG_PROP_BITS 0x10
#define CFG_EV_BITS 0x11
#define CFG_ABS_INFO 0x12

#define BUS_VIRTUAL 0x06
#define DEVIDS_VENDOR 0x0627 /* QEMU's, so guests treat both alike */

#define LEDS_MASK 0x07 /* hg_input_set_leds bits: scroll, num, caps */
#define TABLET_BUTTONS 5

typedef struct {
	uint16_t type, code;
	uint32_t value;
} InputEvent;

typedef struct {
	const char *name; /* ID_NAME */
	const char *serial; /* ID_SERIAL */
	uint16_t product, version; /* ID_DEVIDS */
	uint32_t class_code;
	const HgDeviceClass *klass;
	const HgInputHandler *handler;
} InputKind;

typedef struct {
	HgVirtioPci vp;
	const InputKind *kind;
	HgInput *input;
	uint8_t select, subsel; /* the driver's configuration selector */

	InputEvent report[REPORT_MAX]; /* the report being collected */
	unsigned report_len;
	bool report_overflow; /* it grew too long: dropped at its SYN */
	InputEvent pending[PENDING_MAX]; /* whole reports, oldest first */
	unsigned pending_head, pending_count;

	uint8_t leds; /* keyboard: as the driver set them */
	uint32_t buttons; /* tablet: HG_INPUT_BUTTON_* the driver was told of */

	HgVirtqElem elem;
	struct iovec iov[INPUT_QUEUE_SIZE];
} VirtioInput;

/* ---- key codes ---- */

/* Internal key code (qnum, PC set 1 with 0x80 for E0) to Linux KEY_*: the
 * same pairs as QEMU's keymaps (keycodemapdb), so a guest sees the key it
 * would see through an emulated PS/2 keyboard. */
static const uint16_t qnum_to_linux[256] = {
	[0x01] = KEY_ESC,
	[0x02] = KEY_1,
	[0x03] = KEY_2,
	[0x04] = KEY_3,
	[0x05] = KEY_4,
	[0x06] = KEY_5,
	[0x07] = KEY_6,
	[0x08] = KEY_7,
	[0x09] = KEY_8,
	[0x0a] = KEY_9,
	[0x0b] = KEY_0,
	[0x0c] = KEY_MINUS,
	[0x0d] = KEY_EQUAL,
	[0x0e] = KEY_BACKSPACE,
	[0x0f] = KEY_TAB,
	[0x10] = KEY_Q,
	[0x11] = KEY_W,
	[0x12] = KEY_E,
	[0x13] = KEY_R,
	[0x14] = KEY_T,
	[0x15] = KEY_Y,
	[0x16] = KEY_U,
	[0x17] = KEY_I,
	[0x18] = KEY_O,
	[0x19] = KEY_P,
	[0x1a] = KEY_LEFTBRACE,
	[0x1b] = KEY_RIGHTBRACE,
	[0x1c] = KEY_ENTER,
	[0x1d] = KEY_LEFTCTRL,
	[0x1e] = KEY_A,
	[0x1f] = KEY_S,
	[0x20] = KEY_D,
	[0x21] = KEY_F,
	[0x22] = KEY_G,
	[0x23] = KEY_H,
	[0x24] = KEY_J,
	[0x25] = KEY_K,
	[0x26] = KEY_L,
	[0x27] = KEY_SEMICOLON,
	[0x28] = KEY_APOSTROPHE,
	[0x29] = KEY_GRAVE,
	[0x2a] = KEY_LEFTSHIFT,
	[0x2b] = KEY_BACKSLASH,
	[0x2c] = KEY_Z,
	[0x2d] = KEY_X,
	[0x2e] = KEY_C,
	[0x2f] = KEY_V,
	[0x30] = KEY_B,
	[0x31] = KEY_N,
	[0x32] = KEY_M,
	[0x33] = KEY_COMMA,
	[0x34] = KEY_DOT,
	[0x35] = KEY_SLASH,
	[0x36] = KEY_RIGHTSHIFT,
	[0x37] = KEY_KPASTERISK,
	[0x38] = KEY_LEFTALT,
	[0x39] = KEY_SPACE,
	[0x3a] = KEY_CAPSLOCK,
	[0x3b] = KEY_F1,
	[0x3c] = KEY_F2,
	[0x3d] = KEY_F3,
	[0x3e] = KEY_F4,
	[0x3f] = KEY_F5,
	[0x40] = KEY_F6,
	[0x41] = KEY_F7,
	[0x42] = KEY_F8,
	[0x43] = KEY_F9,
	[0x44] = KEY_F10,
	[0x45] = KEY_NUMLOCK,
	[0x46] = KEY_SCROLLLOCK,
	[0x47] = KEY_KP7,
	[0x48] = KEY_KP8,
	[0x49] = KEY_KP9,
	[0x4a] = KEY_KPMINUS,
	[0x4b] = KEY_KP4,
	[0x4c] = KEY_KP5,
	[0x4d] = KEY_KP6,
	[0x4e] = KEY_KPPLUS,
	[0x4f] = KEY_KP1,
	[0x50] = KEY_KP2,
	[0x51] = KEY_KP3,
	[0x52] = KEY_KP0,
	[0x53] = KEY_KPDOT,
	[0x54] = KEY_SYSRQ,
	[0x55] = KEY_F16,
	[0x56] = KEY_102ND,
	[0x57] = KEY_F11,
	[0x58] = KEY_F12,
	[0x59] = KEY_KPEQUAL,
	[0x5a] = KEY_F20,
	[0x5b] = KEY_LINEFEED,
	[0x5c] = KEY_KPJPCOMMA,
	[0x5d] = KEY_F13,
	[0x5e] = KEY_F14,
	[0x5f] = KEY_F15,
	[0x63] = KEY_PHONE,
	[0x64] = KEY_OPEN,
	[0x65] = KEY_PASTE,
	[0x66] = KEY_SETUP,
	[0x67] = KEY_FILE,
	[0x68] = KEY_SENDFILE,
	[0x69] = KEY_DELETEFILE,
	[0x6a] = KEY_MSDOS,
	[0x6b] = KEY_DIRECTION,
	[0x6c] = KEY_EJECTCD,
	[0x6d] = KEY_F23,
	[0x6f] = KEY_F24,
	[0x70] = KEY_KATAKANAHIRAGANA,
	[0x71] = KEY_EXIT,
	[0x72] = KEY_MOVE,
	[0x73] = KEY_RO,
	[0x74] = KEY_F21,
	[0x75] = KEY_SCROLLUP,
	[0x76] = KEY_ZENKAKUHANKAKU,
	[0x77] = KEY_HIRAGANA,
	[0x78] = KEY_KATAKANA,
	[0x79] = KEY_HENKAN,
	[0x7b] = KEY_MUHENKAN,
	[0x7d] = KEY_YEN,
	[0x7e] = KEY_KPCOMMA,
	[0x81] = KEY_CONFIG,
	[0x82] = KEY_WWW,
	[0x83] = KEY_F17,
	[0x84] = KEY_F19,
	[0x85] = KEY_AGAIN,
	[0x86] = KEY_PROPS,
	[0x87] = KEY_UNDO,
	[0x88] = KEY_EDIT,
	[0x89] = KEY_NEW,
	[0x8a] = KEY_REDO,
	[0x8b] = KEY_SCALE,
	[0x8c] = KEY_FRONT,
	[0x8d] = KEY_HANJA,
	[0x8e] = KEY_FORWARDMAIL,
	[0x8f] = KEY_SCROLLDOWN,
	[0x90] = KEY_PREVIOUSSONG,
	[0x92] = KEY_SCREENLOCK,
	[0x93] = KEY_XFER,
	[0x94] = KEY_ALTERASE,
	[0x97] = KEY_PROG2,
	[0x98] = KEY_REWIND,
	[0x99] = KEY_NEXTSONG,
	[0x9c] = KEY_KPENTER,
	[0x9d] = KEY_RIGHTCTRL,
	[0x9e] = KEY_MENU,
	[0x9f] = KEY_PROG1,
	[0xa0] = KEY_MUTE,
	[0xa1] = KEY_CALC,
	[0xa2] = KEY_PLAYPAUSE,
	[0xa3] = KEY_CLOSECD,
	[0xa4] = KEY_STOPCD,
	[0xa5] = KEY_SUSPEND,
	[0xa6] = KEY_CYCLEWINDOWS,
	[0xa8] = KEY_PLAYCD,
	[0xa9] = KEY_PAUSECD,
	[0xab] = KEY_PROG3,
	[0xac] = KEY_PROG4,
	[0xad] = KEY_DASHBOARD,
	[0xae] = KEY_VOLUMEDOWN,
	[0xaf] = KEY_CLOSE,
	[0xb0] = KEY_VOLUMEUP,
	[0xb1] = KEY_RECORD,
	[0xb2] = KEY_HOMEPAGE,
	[0xb3] = KEY_PLAY,
	[0xb4] = KEY_FASTFORWARD,
	[0xb5] = KEY_KPSLASH,
	[0xb6] = KEY_BASSBOOST,
	[0xb7] = KEY_SYSRQ, /* Print Screen */
	[0xb8] = KEY_RIGHTALT,
	[0xb9] = KEY_PRINT,
	[0xba] = KEY_HP,
	[0xbb] = KEY_CAMERA,
	[0xbc] = KEY_CUT,
	[0xbd] = KEY_SOUND,
	[0xbe] = KEY_QUESTION,
	[0xbf] = KEY_EMAIL,
	[0xc0] = KEY_CHAT,
	[0xc1] = KEY_FIND,
	[0xc2] = KEY_CONNECT,
	[0xc3] = KEY_FINANCE,
	[0xc4] = KEY_SPORT,
	[0xc5] = KEY_SHOP,
	[0xc6] = KEY_PAUSE,
	[0xc7] = KEY_HOME,
	[0xc8] = KEY_UP,
	[0xc9] = KEY_PAGEUP,
	[0xca] = KEY_CANCEL,
	[0xcb] = KEY_LEFT,
	[0xcc] = KEY_BRIGHTNESSDOWN,
	[0xcd] = KEY_RIGHT,
	[0xce] = KEY_KPPLUSMINUS,
	[0xcf] = KEY_END,
	[0xd0] = KEY_DOWN,
	[0xd1] = KEY_PAGEDOWN,
	[0xd2] = KEY_INSERT,
	[0xd3] = KEY_DELETE,
	[0xd4] = KEY_BRIGHTNESSUP,
	[0xd5] = KEY_SAVE,
	[0xd6] = KEY_SWITCHVIDEOMODE,
	[0xd7] = KEY_KBDILLUMTOGGLE,
	[0xd8] = KEY_KBDILLUMDOWN,
	[0xd9] = KEY_KBDILLUMUP,
	[0xda] = KEY_SEND,
	[0xdb] = KEY_LEFTMETA,
	[0xdc] = KEY_RIGHTMETA,
	[0xdd] = KEY_COMPOSE,
	[0xde] = KEY_POWER,
	[0xdf] = KEY_SLEEP,
	[0xe3] = KEY_WAKEUP,
	[0xe4] = KEY_REPLY,
	[0xe5] = KEY_SEARCH,
	[0xe6] = KEY_BOOKMARKS,
	[0xe7] = KEY_REFRESH,
	[0xe8] = KEY_STOP,
	[0xe9] = KEY_FORWARD,
	[0xea] = KEY_BACK,
	[0xeb] = KEY_COMPUTER,
	[0xec] = KEY_MAIL,
	[0xed] = KEY_MEDIA,
	[0xef] = KEY_MACRO,
	[0xf0] = KEY_DOCUMENTS,
	[0xf1] = KEY_BATTERY,
	[0xf2] = KEY_BLUETOOTH,
	[0xf3] = KEY_WLAN,
	[0xf4] = KEY_UWB,
	[0xf5] = KEY_HELP,
	[0xf6] = KEY_KPLEFTPAREN,
	[0xf7] = KEY_F18,
	[0xf8] = KEY_COPY,
	[0xf9] = KEY_F22,
	[0xfb] = KEY_KPRIGHTPAREN,
	[0xfd] = KEY_EJECTCLOSECD,
};

static const uint16_t tablet_buttons[TABLET_BUTTONS][2] = {
	{HG_INPUT_BUTTON_LEFT, BTN_LEFT},     {HG_INPUT_BUTTON_RIGHT, BTN_RIGHT},
	{HG_INPUT_BUTTON_MIDDLE, BTN_MIDDLE}, {HG_INPUT_BUTTON_SIDE, BTN_SIDE},
	{HG_INPUT_BUTTON_EXTRA, BTN_EXTRA},
};

static void put16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, 2);
}

static void put32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static bool is_keyboard(const VirtioInput *vi)
{
	return vi->kind->handler->caps & HG_INPUT_CAP_KEYBOARD;
}

/* ---- configuration (5.8.4) ---- */

static void set_bit(uint8_t *bitmap, unsigned bit)
{
	bitmap[bit / 8] |= 1 << (bit % 8);
}

/* The bitmap of event codes of one type; returns its size in bytes (the
 * last non-zero byte), 0 for a type the device does not send. */
static unsigned event_bits(const VirtioInput *vi, uint8_t type, uint8_t *bitmap)
{
	unsigned size = 0;

	if (is_keyboard(vi)) {
		switch (type) {
		case EV_KEY:
			for (unsigned q = 0; q < G_N_ELEMENTS(qnum_to_linux); q++)
				if (qnum_to_linux[q])
					set_bit(bitmap, qnum_to_linux[q]);
			break;
		case EV_REP:
			return 1; /* supported, no codes */
		case EV_LED:
			set_bit(bitmap, LED_NUML);
			set_bit(bitmap, LED_CAPSL);
			set_bit(bitmap, LED_SCROLLL);
			break;
		default:
			return 0;
		}
	} else {
		switch (type) {
		case EV_KEY:
			for (unsigned i = 0; i < TABLET_BUTTONS; i++)
				set_bit(bitmap, tablet_buttons[i][1]);
			break;
		case EV_REL:
			set_bit(bitmap, REL_WHEEL);
			break;
		case EV_ABS:
			set_bit(bitmap, ABS_X);
			set_bit(bitmap, ABS_Y);
			break;
		default:
			return 0;
		}
	}
	for (unsigned i = 0; i < CFG_UNION_SIZE; i++)
		if (bitmap[i])
			size = i + 1;
	return size;
}

static void input_build_config(const VirtioInput *vi, uint8_t *cfg)
{
	uint8_t *u = cfg + CFG_UNION;
	unsigned size = 0;

	memset(cfg, 0, CONFIG_SIZE);
	cfg[CFG_SELECT] = vi->select;
	cfg[CFG_SUBSEL] = vi->subsel;
	switch (vi->select) {
	case CFG_ID_NAME:
	case CFG_ID_SERIAL:
		if (vi->subsel == 0) {
			const char *s =
				vi->select == CFG_ID_NAME ? vi->kind->name : vi->kind->serial;
			size = MIN(strlen(s), CFG_UNION_SIZE);
			memcpy(u, s, size);
		}
		break;
	case CFG_ID_DEVIDS:
		if (vi->subsel == 0) {
			put16(u, BUS_VIRTUAL);
			put16(u + 2, DEVIDS_VENDOR);
			put16(u + 4, vi->kind->product);
			put16(u + 6, vi->kind->version);
			size = 8;
		}
		break;
	case CFG_EV_BITS:
		size = event_bits(vi, vi->subsel, u);
		break;
	case CFG_ABS_INFO:
		/* struct virtio_input_absinfo: min, max, fuzz, flat, res. */
		if (!is_keyboard(vi) && (vi->subsel == ABS_X || vi->subsel == ABS_Y)) {
			put32(u, 0);
			put32(u + 4, HG_INPUT_ABS_MAX);
			size = 20;
		}
		break;
	default:
		break; /* CFG_UNSET, CFG_PROP_BITS (no properties), unknown */
	}
	cfg[CFG_SIZE] = size;
}

static void input_get_config(HgVirtioPci *vp, unsigned offset, void *data, unsigned size)
{
	uint8_t cfg[CONFIG_SIZE];

	input_build_config((VirtioInput *)vp, cfg);
	memcpy(data, cfg + offset, size);
}

/* Only select and subsel are the driver's to write. */
static void input_set_config(HgVirtioPci *vp, unsigned offset, const void *data, unsigned size)
{
	VirtioInput *vi = (VirtioInput *)vp;
	const uint8_t *bytes = data;

	for (unsigned i = 0; i < size; i++) {
		if (offset + i == CFG_SELECT)
			vi->select = bytes[i];
		else if (offset + i == CFG_SUBSEL)
			vi->subsel = bytes[i];
	}
}

/* ---- event queue ---- */

static bool input_driver_ok(const VirtioInput *vi)
{
	return (vi->vp.status & HG_VIRTIO_STATUS_DRIVER_OK) &&
	       !(vi->vp.status & HG_VIRTIO_STATUS_NEEDS_RESET);
}

/* Pending events into the driver's buffers, one each, while both last. */
static void input_flush(VirtioInput *vi)
{
	HgVirtioPci *vp = &vi->vp;
	HgVirtq *vq = hg_virtio_pci_vq(vp, EVENTQ);
	bool pushed = false;

	while (vi->pending_count && hg_virtio_pci_queue_ready(vp, EVENTQ)) {
		const InputEvent *ev = &vi->pending[vi->pending_head];
		uint8_t raw[EVENT_SIZE];
		HgVirtqError err = hg_virtq_pop(vq, &vi->elem);

		if (err == HG_VIRTQ_EMPTY) {
			if (hg_virtq_enable_notify(vq))
				continue;
			break;
		}
		if (err != HG_VIRTQ_OK) {
			hg_virtio_pci_set_needs_reset(vp, hg_virtq_error_string(err));
			break;
		}
		if (vi->elem.in_len < EVENT_SIZE) {
			hg_virtio_pci_set_needs_reset(vp, "event buffer smaller than an event");
			break;
		}
		put16(raw, ev->type);
		put16(raw + 2, ev->code);
		put32(raw + 4, ev->value);
		hg_iov_from_buf(vi->elem.iov + vi->elem.n_out, vi->elem.n_in, 0, raw, EVENT_SIZE);
		hg_virtq_push(vq, vi->elem.head, EVENT_SIZE);
		pushed = true;
		vi->pending_head = (vi->pending_head + 1) % PENDING_MAX;
		vi->pending_count--;
	}
	if (pushed)
		hg_virtio_pci_notify_queue(vp, EVENTQ);
}

static void input_add(VirtioInput *vi, uint16_t type, uint16_t code, uint32_t value)
{
	if (vi->report_len == REPORT_MAX - 1) {
		vi->report_overflow = true; /* room is kept for the SYN */
		return;
	}
	vi->report[vi->report_len++] = (InputEvent){type, code, value};
}

/* SYN_REPORT: the report joins the pending ones whole, or not at all. */
static void input_end_report(VirtioInput *vi)
{
	bool keep = vi->report_len && !vi->report_overflow && input_driver_ok(vi);

	if (keep && vi->pending_count + vi->report_len + 1 > PENDING_MAX) {
		g_debug("%s: driver posts no event buffers: report dropped", vi->vp.pci.dev.id);
		keep = false;
	}
	if (keep) {
		vi->report[vi->report_len++] = (InputEvent){EV_SYN, SYN_REPORT, 0};
		for (unsigned i = 0; i < vi->report_len; i++) {
			unsigned at = (vi->pending_head + vi->pending_count) % PENDING_MAX;
			vi->pending[at] = vi->report[i];
			vi->pending_count++;
		}
		input_flush(vi);
	}
	vi->report_len = 0;
	vi->report_overflow = false;
}

/* ---- status queue ---- */

static void input_status_event(VirtioInput *vi, uint16_t type, uint16_t code, uint32_t value)
{
	static const uint8_t led_bit[] = {
		[LED_NUML] = 1 << 1, [LED_CAPSL] = 1 << 2, [LED_SCROLLL] = 1 << 0};

	if (!is_keyboard(vi) || type != EV_LED || code >= G_N_ELEMENTS(led_bit))
		return; /* nothing else is defined for the status queue */
	if (value)
		vi->leds |= led_bit[code];
	else
		vi->leds &= ~led_bit[code];
	if (vi->input)
		hg_input_set_leds(vi->input, vi->leds);
}

static void input_process_status(VirtioInput *vi)
{
	HgVirtioPci *vp = &vi->vp;
	HgVirtq *vq = hg_virtio_pci_vq(vp, STATUSQ);
	bool pushed = false;

	while (hg_virtio_pci_queue_ready(vp, STATUSQ)) {
		uint8_t raw[EVENT_SIZE];
		uint16_t type, code;
		uint32_t value;
		HgVirtqError err = hg_virtq_pop(vq, &vi->elem);

		if (err == HG_VIRTQ_EMPTY) {
			if (hg_virtq_enable_notify(vq))
				continue;
			break;
		}
		if (err != HG_VIRTQ_OK) {
			hg_virtio_pci_set_needs_reset(vp, hg_virtq_error_string(err));
			break;
		}
		if (hg_iov_to_buf(vi->elem.iov, vi->elem.n_out, 0, raw, EVENT_SIZE) == EVENT_SIZE) {
			memcpy(&type, raw, 2);
			memcpy(&code, raw + 2, 2);
			memcpy(&value, raw + 4, 4);
			input_status_event(vi, le16toh(type), le16toh(code), le32toh(value));
		}
		hg_virtq_push(vq, vi->elem.head, 0);
		pushed = true;
	}
	if (pushed)
		hg_virtio_pci_notify_queue(vp, STATUSQ);
}

/* ---- transport hooks ---- */

static void input_queue_notify(HgVirtioPci *vp, unsigned queue)
{
	VirtioInput *vi = (VirtioInput *)vp;

	if (queue == EVENTQ)
		input_flush(vi);
	else
		input_process_status(vi);
	/* DRIVER_OK kicks every queue: a tablet may just have become usable,
	 * which display clients are told (VNC's pointer-mode message). */
	if (vi->input)
		hg_input_active_changed(vi->input);
}

static void input_virtio_reset(HgVirtioPci *vp)
{
	VirtioInput *vi = (VirtioInput *)vp;

	vi->select = vi->subsel = 0;
	vi->report_len = 0;
	vi->report_overflow = false;
	vi->pending_head = vi->pending_count = 0;
	vi->leds = 0;
	vi->buttons = 0;
}

static const HgVirtioOps input_virtio_ops = {
	.get_config = input_get_config,
	.set_config = input_set_config,
	.queue_notify = input_queue_notify,
	.reset = input_virtio_reset,
};

/* ---- input router ---- */

static bool input_active(void *opaque)
{
	return input_driver_ok(opaque);
}

static void keyboard_event(void *opaque, const HgInputEvent *ev)
{
	VirtioInput *vi = opaque;

	if (ev->type == HG_INPUT_KEY && ev->key.qnum < G_N_ELEMENTS(qnum_to_linux) &&
	    qnum_to_linux[ev->key.qnum])
		input_add(vi, EV_KEY, qnum_to_linux[ev->key.qnum], ev->key.down);
	else if (ev->type == HG_INPUT_SYNC)
		input_end_report(vi);
}

static void tablet_event(void *opaque, const HgInputEvent *ev)
{
	VirtioInput *vi = opaque;

	switch (ev->type) {
	case HG_INPUT_ABS:
		input_add(vi, EV_ABS, ABS_X, CLAMP(ev->abs.x, 0, HG_INPUT_ABS_MAX));
		input_add(vi, EV_ABS, ABS_Y, CLAMP(ev->abs.y, 0, HG_INPUT_ABS_MAX));
		break;
	case HG_INPUT_REL:
		if (ev->rel.wheel)
			input_add(vi, EV_REL, REL_WHEEL, (uint32_t)ev->rel.wheel);
		break;
	case HG_INPUT_BUTTONS:
		for (unsigned i = 0; i < TABLET_BUTTONS; i++) {
			uint32_t bit = tablet_buttons[i][0];
			if ((ev->buttons ^ vi->buttons) & bit)
				input_add(vi, EV_KEY, tablet_buttons[i][1], !!(ev->buttons & bit));
		}
		vi->buttons = ev->buttons & ((1u << TABLET_BUTTONS) - 1);
		break;
	case HG_INPUT_SYNC:
		input_end_report(vi);
		break;
	default:
		break;
	}
}

static const HgInputHandler keyboard_handler = {
	.name = "virtio-keyboard",
	.caps = HG_INPUT_CAP_KEYBOARD,
	.active = input_active,
	.event = keyboard_event,
};

static const HgInputHandler tablet_handler = {
	.name = "virtio-tablet",
	.caps = HG_INPUT_CAP_ABS,
	.active = input_active,
	.event = tablet_event,
};

/* ---- device class ---- */

static void input_reset(HgDevice *dev)
{
	hg_virtio_pci_reset((HgVirtioPci *)dev);
}

static GVariant *input_save(HgDevice *dev)
{
	VirtioInput *vi = (VirtioInput *)dev;
	uint8_t pending[PENDING_MAX * EVENT_SIZE];
	GVariantBuilder b;

	for (unsigned i = 0; i < vi->pending_count; i++) {
		const InputEvent *ev = &vi->pending[(vi->pending_head + i) % PENDING_MAX];
		put16(pending + i * EVENT_SIZE, ev->type);
		put16(pending + i * EVENT_SIZE + 2, ev->code);
		put32(pending + i * EVENT_SIZE + 4, ev->value);
	}
	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	hg_virtio_pci_save(&vi->vp, &b);
	g_variant_builder_add(&b, "{sv}", "input-select", g_variant_new_byte(vi->select));
	g_variant_builder_add(&b, "{sv}", "input-subsel", g_variant_new_byte(vi->subsel));
	g_variant_builder_add(&b, "{sv}", "input-pending",
			      hg_bytes_variant(pending, vi->pending_count * EVENT_SIZE));
	g_variant_builder_add(&b, "{sv}", "input-leds", g_variant_new_byte(vi->leds));
	g_variant_builder_add(&b, "{sv}", "input-buttons", g_variant_new_uint32(vi->buttons));
	return g_variant_builder_end(&b);
}

static bool input_load(HgDevice *dev, GVariantDict *r, GError **error)
{
	VirtioInput *vi = (VirtioInput *)dev;
	uint8_t pending[PENDING_MAX * EVENT_SIZE];
	size_t len;
	const char *why = NULL;

	if (!hg_virtio_pci_load(&vi->vp, r, error) ||
	    !hg_record_u8(r, "input-select", &vi->select, error) ||
	    !hg_record_u8(r, "input-subsel", &vi->subsel, error) ||
	    !hg_record_bytes_max(r, "input-pending", pending, sizeof(pending), &len, error) ||
	    !hg_record_u8(r, "input-leds", &vi->leds, error) ||
	    !hg_record_u32(r, "input-buttons", &vi->buttons, error)) {
		g_prefix_error(error, "%s: ", dev->id);
		return false;
	}
	if (len % EVENT_SIZE)
		why = "pending events are not whole";
	else if (vi->leds & ~LEDS_MASK)
		why = "LEDs have unknown bits";
	else if (vi->buttons & ~((1u << TABLET_BUTTONS) - 1))
		why = "buttons have unknown bits";
	if (why) {
		g_set_error(error, HG_DEVICE_ERROR, HG_DEVICE_ERROR_BAD_RECORD, "%s: %s", dev->id,
			    why);
		return false;
	}
	vi->pending_head = 0;
	vi->pending_count = len / EVENT_SIZE;
	for (unsigned i = 0; i < vi->pending_count; i++) {
		uint8_t *raw = pending + i * EVENT_SIZE;
		uint16_t type, code;
		uint32_t value;
		memcpy(&type, raw, 2);
		memcpy(&code, raw + 2, 2);
		memcpy(&value, raw + 4, 4);
		vi->pending[i] = (InputEvent){le16toh(type), le16toh(code), le32toh(value)};
	}
	/* The transport kicks the ready queues from the main loop: pending
	 * events then find the buffers the driver posted meanwhile. */
	if (is_keyboard(vi) && input_driver_ok(vi) && vi->input)
		hg_input_set_leds(vi->input, vi->leds);
	return true;
}

static void input_destroy(HgDevice *dev)
{
	VirtioInput *vi = (VirtioInput *)dev;

	hg_virtio_pci_finalize(&vi->vp);
	g_free(vi);
}

static const HgDeviceClass keyboard_class = {
	.name = "virtio-keyboard",
	.bus = "pci",
	.state_version = 1,
	.reset = input_reset,
	.save = input_save,
	.load = input_load,
	.destroy = input_destroy,
};

static const HgDeviceClass tablet_class = {
	.name = "virtio-tablet",
	.bus = "pci",
	.state_version = 1,
	.reset = input_reset,
	.save = input_save,
	.load = input_load,
	.destroy = input_destroy,
};

static const InputKind input_kinds[] = {
	[HG_VIRTIO_INPUT_KEYBOARD] = {"Hangar Virtio Keyboard", "hangar-keyboard", 0x0001, 0x0001,
				      PCI_CLASS_KEYBOARD, &keyboard_class, &keyboard_handler},
	[HG_VIRTIO_INPUT_TABLET] = {"Hangar Virtio Tablet", "hangar-tablet", 0x0003, 0x0002,
				    PCI_CLASS_MOUSE, &tablet_class, &tablet_handler},
};

HgDevice *hg_virtio_input_create(HgMachine *m, HgPciBus *bus, uint8_t devfn, const char *id,
				 HgVirtioInputKind kind, HgInput *input, GError **error)
{
	VirtioInput *vi = g_new0(VirtioInput, 1);
	const InputKind *k = &input_kinds[kind];

	vi->kind = k;
	vi->input = input;
	vi->elem.iov = vi->iov;
	vi->elem.capacity = G_N_ELEMENTS(vi->iov);
	hg_virtio_pci_init(&vi->vp, k->klass, &input_virtio_ops, m, id, VIRTIO_ID_INPUT,
			   k->class_code, INPUT_SUBSYSTEM_ID, 2, INPUT_QUEUE_SIZE, CONFIG_SIZE, 0);
	if (!hg_pci_bus_plug(bus, &vi->vp.pci, devfn, error)) {
		char *dev_id = vi->vp.pci.dev.id;
		input_destroy(&vi->vp.pci.dev);
		g_free(dev_id);
		return NULL;
	}
	if (input)
		hg_input_register(input, k->handler, vi);
	return &vi->vp.pci.dev;
}
