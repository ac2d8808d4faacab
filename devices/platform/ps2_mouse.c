/* PS/2 mouse with the IntelliMouse extensions (IBM PS/2 Hardware Interface
 * Technical Reference, "Pointing Device": commands 0xE6-0xFF, stream and
 * remote modes, the 3-byte packet; Microsoft's IntelliMouse and
 * IntelliMouse Explorer: sample rates 200, 100, 80 then 0xF2 give ID 3 and
 * a fourth byte with the wheel; 200, 200, 80 give ID 4, whose fourth byte
 * carries a 4-bit wheel and buttons 4 and 5).
 *
 * Motion is kept in counters until a packet takes it; a packet carries at
 * most 255 counts per axis, so a long move becomes several packets.  While
 * the queue is full (the guest does not read) the counters keep growing up
 * to MOTION_MAX; motion past that is lost and the next packet says so with
 * its overflow bits. */
#include "devices/platform/ps2.h"

#include <string.h>

#include "devices/device.h"

#define MOUSE_CMD_SCALING_1TO1 0xe6
#define MOUSE_CMD_SCALING_2TO1 0xe7
#define MOUSE_CMD_SET_RESOLUTION 0xe8
#define MOUSE_CMD_STATUS 0xe9
#define MOUSE_CMD_STREAM_MODE 0xea
#define MOUSE_CMD_READ_DATA 0xeb
#define MOUSE_CMD_RESET_WRAP 0xec
#define MOUSE_CMD_WRAP_MODE 0xee
#define MOUSE_CMD_REMOTE_MODE 0xf0
#define MOUSE_CMD_GET_ID 0xf2
#define MOUSE_CMD_SAMPLE_RATE 0xf3
#define MOUSE_CMD_ENABLE 0xf4
#define MOUSE_CMD_DISABLE 0xf5
#define MOUSE_CMD_DEFAULTS 0xf6
#define MOUSE_CMD_RESEND 0xfe
#define MOUSE_CMD_RESET 0xff

#define MOUSE_ID_STANDARD 0
#define MOUSE_ID_INTELLIMOUSE 3
#define MOUSE_ID_EXPLORER 4

#define MOTION_MAX 2047 /* counts kept per axis while packets cannot go */
#define PACKET_MAX 255 /* counts in one packet (9-bit two's complement) */
#define WHEEL_MAX_ID3 127
#define WHEEL_MAX_ID4 7 /* 4 bits: -8..7 */
#define BUTTONS_MASK 0x1f /* HG_INPUT_BUTTON_LEFT .. _EXTRA */

/* Packet byte 0 (and the first status byte, in part). */
#define PKT_LEFT 0x01
#define PKT_RIGHT 0x02
#define PKT_MIDDLE 0x04
#define PKT_ALWAYS_ONE 0x08
#define PKT_X_SIGN 0x10
#define PKT_Y_SIGN 0x20
#define PKT_X_OVERFLOW 0x40
#define PKT_Y_OVERFLOW 0x80
#define PKT_BUTTON_4 0x10 /* byte 3 of ID 4 */
#define PKT_BUTTON_5 0x20

#define STATUS_RIGHT 0x01
#define STATUS_MIDDLE 0x02
#define STATUS_LEFT 0x04
#define STATUS_SCALING_2TO1 0x10
#define STATUS_ENABLED 0x20
#define STATUS_REMOTE 0x40

static void mouse_reply(Ps2Mouse *mouse, uint8_t byte)
{
	ps2_queue_put_reply(&mouse->queue, byte);
}

static void mouse_clear_motion(Ps2Mouse *mouse)
{
	mouse->dx = mouse->dy = mouse->dz = 0;
	mouse->overflow_x = mouse->overflow_y = false;
}

/* 0xF6: 100 samples/s, 4 counts/mm, 1:1, stream mode, reporting off. */
static void mouse_defaults(Ps2Mouse *mouse)
{
	mouse->sample_rate = 100;
	mouse->resolution = 2;
	mouse->scaling_2to1 = false;
	mouse->remote = false;
	mouse->reporting = false;
	mouse_clear_motion(mouse);
}

void ps2_mouse_init(Ps2Mouse *mouse)
{
	ps2_mouse_reset(mouse);
}

void ps2_mouse_reset(Ps2Mouse *mouse)
{
	ps2_queue_clear(&mouse->queue);
	mouse_defaults(mouse);
	mouse->command = 0;
	mouse->wrap = false;
	mouse->id = MOUSE_ID_STANDARD;
	memset(mouse->knock, 0, sizeof(mouse->knock));
	mouse->last_byte = 0;
	mouse->buttons = mouse->reported_buttons = 0;
}

/* ---- packets ---- */

/* Stream-mode 2:1 scaling (the reference's table; only for packets sent
 * by themselves, not for 0xEB reads). */
static int scale_2to1(int v)
{
	static const int small[] = {0, 1, 1, 3, 6, 9};
	int a = ABS(v);
	int s = a < 6 ? small[a] : 2 * a;
	return v < 0 ? -s : s;
}

static uint8_t packet_buttons(uint32_t buttons)
{
	return (buttons & HG_INPUT_BUTTON_LEFT ? PKT_LEFT : 0) |
	       (buttons & HG_INPUT_BUTTON_RIGHT ? PKT_RIGHT : 0) |
	       (buttons & HG_INPUT_BUTTON_MIDDLE ? PKT_MIDDLE : 0);
}

static unsigned packet_size(const Ps2Mouse *mouse)
{
	return mouse->id == MOUSE_ID_STANDARD ? 3 : 4;
}

/* One packet from the counters, taking what it carries from them; returns
 * its size. */
static unsigned mouse_build_packet(Ps2Mouse *mouse, bool scaled, uint8_t *p)
{
	int x = CLAMP(mouse->dx, -PACKET_MAX, PACKET_MAX);
	int y = CLAMP(-mouse->dy, -PACKET_MAX, PACKET_MAX); /* PS/2 y grows upwards */
	int wheel_max = mouse->id == MOUSE_ID_EXPLORER ? WHEEL_MAX_ID4 : WHEEL_MAX_ID3;
	int z = CLAMP(-mouse->dz, -wheel_max, wheel_max); /* positive: towards the user */
	bool overflow_x = mouse->overflow_x, overflow_y = mouse->overflow_y;
	int out_x = x, out_y = y;

	mouse->dx -= x;
	mouse->dy += y;
	mouse->dz += z;
	mouse->overflow_x = mouse->overflow_y = false;
	if (scaled) {
		out_x = scale_2to1(x);
		out_y = scale_2to1(y);
		overflow_x |= ABS(out_x) > PACKET_MAX;
		overflow_y |= ABS(out_y) > PACKET_MAX;
		out_x = CLAMP(out_x, -PACKET_MAX, PACKET_MAX);
		out_y = CLAMP(out_y, -PACKET_MAX, PACKET_MAX);
	}
	p[0] = PKT_ALWAYS_ONE | packet_buttons(mouse->buttons) | (out_x < 0 ? PKT_X_SIGN : 0) |
	       (out_y < 0 ? PKT_Y_SIGN : 0) | (overflow_x ? PKT_X_OVERFLOW : 0) |
	       (overflow_y ? PKT_Y_OVERFLOW : 0);
	p[1] = (uint8_t)out_x;
	p[2] = (uint8_t)out_y;
	mouse->reported_buttons = mouse->buttons;
	if (mouse->id == MOUSE_ID_INTELLIMOUSE) {
		p[3] = (uint8_t)z;
	} else if (mouse->id == MOUSE_ID_EXPLORER) {
		p[3] = (z & 0x0f) | (mouse->buttons & HG_INPUT_BUTTON_SIDE ? PKT_BUTTON_4 : 0) |
		       (mouse->buttons & HG_INPUT_BUTTON_EXTRA ? PKT_BUTTON_5 : 0);
	} else {
		mouse->dz = 0; /* no wheel to report it with */
	}
	return packet_size(mouse);
}

static bool mouse_has_news(const Ps2Mouse *mouse)
{
	return mouse->dx || mouse->dy || mouse->dz || mouse->buttons != mouse->reported_buttons;
}

/* Stream mode: packets for what happened, while they fit. */
static void mouse_send_packets(Ps2Mouse *mouse)
{
	uint8_t p[4];

	if (mouse->remote || !mouse->reporting || mouse->wrap)
		return;
	while (mouse_has_news(mouse) && ps2_queue_room(&mouse->queue) >= packet_size(mouse)) {
		unsigned n = mouse_build_packet(mouse, mouse->scaling_2to1, p);
		ps2_queue_put_input(&mouse->queue, p, n);
	}
}

static int add_motion(int counter, int delta, bool *overflow)
{
	int64_t sum = (int64_t)counter + delta;

	if (sum > MOTION_MAX || sum < -MOTION_MAX) {
		*overflow = true;
		return sum > 0 ? MOTION_MAX : -MOTION_MAX;
	}
	return (int)sum;
}

void ps2_mouse_event(Ps2Mouse *mouse, const HgInputEvent *ev)
{
	bool ignored = false;

	switch (ev->type) {
	case HG_INPUT_REL:
		/* A mouse that reports nothing does not count either. */
		if (!mouse->remote && !mouse->reporting)
			break;
		mouse->dx = add_motion(mouse->dx, ev->rel.dx, &mouse->overflow_x);
		mouse->dy = add_motion(mouse->dy, ev->rel.dy, &mouse->overflow_y);
		mouse->dz = add_motion(mouse->dz, ev->rel.wheel, &ignored);
		break;
	case HG_INPUT_BUTTONS:
		mouse->buttons = ev->buttons & BUTTONS_MASK;
		break;
	case HG_INPUT_SYNC:
		mouse_send_packets(mouse);
		break;
	default:
		break;
	}
}

bool ps2_mouse_read(Ps2Mouse *mouse, uint8_t *byte)
{
	if (!ps2_queue_get(&mouse->queue, byte))
		return false;
	mouse->last_byte = *byte;
	/* Room again: motion that waited goes out. */
	mouse_send_packets(mouse);
	return true;
}

/* ---- commands ---- */

/* Sample rates 200, 100, 80 unlock the wheel; 200, 200, 80 the wheel and
 * buttons 4 and 5 (Linux and Windows try the first, then the second). */
static void mouse_knock(Ps2Mouse *mouse, uint8_t rate)
{
	mouse->knock[0] = mouse->knock[1];
	mouse->knock[1] = mouse->knock[2];
	mouse->knock[2] = rate;
	if (mouse->knock[0] == 200 && mouse->knock[1] == 100 && mouse->knock[2] == 80)
		mouse->id = MOUSE_ID_INTELLIMOUSE;
	else if (mouse->knock[0] == 200 && mouse->knock[1] == 200 && mouse->knock[2] == 80)
		mouse->id = MOUSE_ID_EXPLORER;
}

static void mouse_parameter(Ps2Mouse *mouse, uint8_t command, uint8_t value)
{
	switch (command) {
	case MOUSE_CMD_SET_RESOLUTION:
		if (value > 3) {
			mouse_reply(mouse, PS2_RESEND);
			break;
		}
		mouse_reply(mouse, PS2_ACK);
		mouse->resolution = value;
		break;
	case MOUSE_CMD_SAMPLE_RATE:
		if (value == 0) {
			mouse_reply(mouse, PS2_RESEND);
			break;
		}
		mouse_reply(mouse, PS2_ACK);
		mouse->sample_rate = value;
		mouse_knock(mouse, value);
		break;
	}
}

static void mouse_status(Ps2Mouse *mouse)
{
	uint8_t flags = (mouse->remote ? STATUS_REMOTE : 0) |
			(mouse->reporting ? STATUS_ENABLED : 0) |
			(mouse->scaling_2to1 ? STATUS_SCALING_2TO1 : 0) |
			(mouse->buttons & HG_INPUT_BUTTON_LEFT ? STATUS_LEFT : 0) |
			(mouse->buttons & HG_INPUT_BUTTON_MIDDLE ? STATUS_MIDDLE : 0) |
			(mouse->buttons & HG_INPUT_BUTTON_RIGHT ? STATUS_RIGHT : 0);

	mouse_reply(mouse, PS2_ACK);
	mouse_reply(mouse, flags);
	mouse_reply(mouse, mouse->resolution);
	mouse_reply(mouse, mouse->sample_rate);
}

/* 0xEB: one packet as the reply, whatever the mode, motion or not. */
static void mouse_read_data(Ps2Mouse *mouse)
{
	uint8_t p[4];
	unsigned n;

	mouse_reply(mouse, PS2_ACK);
	n = mouse_build_packet(mouse, false, p);
	for (unsigned i = 0; i < n; i++)
		mouse_reply(mouse, p[i]);
	if (mouse->remote)
		mouse_clear_motion(mouse);
}

/* Wrap mode echoes every byte but "reset wrap mode" and "reset". */
static bool mouse_wrap(Ps2Mouse *mouse, uint8_t byte)
{
	if (!mouse->wrap || byte == MOUSE_CMD_RESET_WRAP || byte == MOUSE_CMD_RESET)
		return false;
	mouse_reply(mouse, byte);
	return true;
}

void ps2_mouse_write(Ps2Mouse *mouse, uint8_t byte)
{
	if (mouse_wrap(mouse, byte))
		return;
	if (mouse->command) {
		uint8_t command = mouse->command;
		mouse->command = 0;
		mouse_parameter(mouse, command, byte);
		return;
	}
	/* A command ends the stream the mouse was sending (whole packets
	 * only from here on, after the reply). */
	ps2_queue_drop_input(&mouse->queue);
	switch (byte) {
	case MOUSE_CMD_SCALING_1TO1:
	case MOUSE_CMD_SCALING_2TO1:
		mouse_reply(mouse, PS2_ACK);
		mouse->scaling_2to1 = byte == MOUSE_CMD_SCALING_2TO1;
		break;
	case MOUSE_CMD_SET_RESOLUTION:
	case MOUSE_CMD_SAMPLE_RATE:
		mouse_reply(mouse, PS2_ACK);
		mouse->command = byte;
		break;
	case MOUSE_CMD_STATUS:
		mouse_status(mouse);
		break;
	case MOUSE_CMD_STREAM_MODE:
	case MOUSE_CMD_REMOTE_MODE:
		mouse_reply(mouse, PS2_ACK);
		mouse->remote = byte == MOUSE_CMD_REMOTE_MODE;
		mouse_clear_motion(mouse);
		break;
	case MOUSE_CMD_READ_DATA:
		mouse_read_data(mouse);
		break;
	case MOUSE_CMD_RESET_WRAP:
		mouse_reply(mouse, PS2_ACK);
		mouse->wrap = false;
		mouse_clear_motion(mouse);
		break;
	case MOUSE_CMD_WRAP_MODE:
		mouse_reply(mouse, PS2_ACK);
		mouse->wrap = true;
		mouse_clear_motion(mouse);
		break;
	case MOUSE_CMD_GET_ID:
		mouse_reply(mouse, PS2_ACK);
		mouse_reply(mouse, mouse->id);
		mouse_clear_motion(mouse);
		break;
	case MOUSE_CMD_ENABLE:
		mouse_reply(mouse, PS2_ACK);
		mouse->reporting = true;
		mouse_clear_motion(mouse);
		mouse->reported_buttons = mouse->buttons;
		break;
	case MOUSE_CMD_DISABLE:
		mouse_reply(mouse, PS2_ACK);
		mouse->reporting = false;
		mouse_clear_motion(mouse);
		break;
	case MOUSE_CMD_DEFAULTS:
		mouse_reply(mouse, PS2_ACK);
		mouse_defaults(mouse);
		break;
	case MOUSE_CMD_RESEND:
		mouse_reply(mouse, mouse->last_byte);
		break;
	case MOUSE_CMD_RESET:
		ps2_mouse_reset(mouse);
		mouse_reply(mouse, PS2_ACK);
		mouse_reply(mouse, PS2_SELF_TEST_PASSED);
		mouse_reply(mouse, MOUSE_ID_STANDARD);
		break;
	default:
		mouse_reply(mouse, PS2_RESEND);
		break;
	}
}

/* ---- save and load ---- */

void ps2_mouse_save(const Ps2Mouse *mouse, GVariantBuilder *b)
{
	ps2_queue_save(&mouse->queue, "mouse", b);
	g_variant_builder_add(b, "{sv}", "mouse-command", g_variant_new_byte(mouse->command));
	g_variant_builder_add(b, "{sv}", "mouse-reporting",
			      g_variant_new_boolean(mouse->reporting));
	g_variant_builder_add(b, "{sv}", "mouse-remote", g_variant_new_boolean(mouse->remote));
	g_variant_builder_add(b, "{sv}", "mouse-wrap", g_variant_new_boolean(mouse->wrap));
	g_variant_builder_add(b, "{sv}", "mouse-scaling-2to1",
			      g_variant_new_boolean(mouse->scaling_2to1));
	g_variant_builder_add(b, "{sv}", "mouse-resolution", g_variant_new_byte(mouse->resolution));
	g_variant_builder_add(b, "{sv}", "mouse-sample-rate",
			      g_variant_new_byte(mouse->sample_rate));
	g_variant_builder_add(b, "{sv}", "mouse-id", g_variant_new_byte(mouse->id));
	g_variant_builder_add(b, "{sv}", "mouse-knock",
			      hg_bytes_variant(mouse->knock, sizeof(mouse->knock)));
	g_variant_builder_add(b, "{sv}", "mouse-last-byte", g_variant_new_byte(mouse->last_byte));
	g_variant_builder_add(b, "{sv}", "mouse-buttons", g_variant_new_uint32(mouse->buttons));
	g_variant_builder_add(b, "{sv}", "mouse-reported-buttons",
			      g_variant_new_uint32(mouse->reported_buttons));
	g_variant_builder_add(b, "{sv}", "mouse-dx", g_variant_new_int32(mouse->dx));
	g_variant_builder_add(b, "{sv}", "mouse-dy", g_variant_new_int32(mouse->dy));
	g_variant_builder_add(b, "{sv}", "mouse-dz", g_variant_new_int32(mouse->dz));
	g_variant_builder_add(b, "{sv}", "mouse-overflow-x",
			      g_variant_new_boolean(mouse->overflow_x));
	g_variant_builder_add(b, "{sv}", "mouse-overflow-y",
			      g_variant_new_boolean(mouse->overflow_y));
}

static bool mouse_load_fail(GError **error, const char *why)
{
	g_set_error_literal(error, HG_DEVICE_ERROR, HG_DEVICE_ERROR_BAD_RECORD, why);
	return false;
}

/* A motion counter: an int32 within MOTION_MAX. */
static bool load_motion(GVariantDict *r, const char *key, int *out, GError **error)
{
	g_autoptr(GVariant) v = g_variant_dict_lookup_value(r, key, NULL);
	int32_t value;

	if (!v || !g_variant_is_of_type(v, G_VARIANT_TYPE_INT32)) {
		g_set_error(error, HG_DEVICE_ERROR, HG_DEVICE_ERROR_BAD_RECORD,
			    "state record lacks \"%s\" as an int32", key);
		return false;
	}
	value = g_variant_get_int32(v);
	if (value > MOTION_MAX || value < -MOTION_MAX) {
		g_set_error(error, HG_DEVICE_ERROR, HG_DEVICE_ERROR_BAD_RECORD,
			    "\"%s\" is out of range (%d)", key, value);
		return false;
	}
	*out = value;
	return true;
}

bool ps2_mouse_load(Ps2Mouse *mouse, GVariantDict *r, GError **error)
{
	if (!ps2_queue_load(&mouse->queue, "mouse", r, error) ||
	    !hg_record_u8(r, "mouse-command", &mouse->command, error) ||
	    !hg_record_bool(r, "mouse-reporting", &mouse->reporting, error) ||
	    !hg_record_bool(r, "mouse-remote", &mouse->remote, error) ||
	    !hg_record_bool(r, "mouse-wrap", &mouse->wrap, error) ||
	    !hg_record_bool(r, "mouse-scaling-2to1", &mouse->scaling_2to1, error) ||
	    !hg_record_u8(r, "mouse-resolution", &mouse->resolution, error) ||
	    !hg_record_u8(r, "mouse-sample-rate", &mouse->sample_rate, error) ||
	    !hg_record_u8(r, "mouse-id", &mouse->id, error) ||
	    !hg_record_bytes(r, "mouse-knock", mouse->knock, sizeof(mouse->knock), error) ||
	    !hg_record_u8(r, "mouse-last-byte", &mouse->last_byte, error) ||
	    !hg_record_u32(r, "mouse-buttons", &mouse->buttons, error) ||
	    !hg_record_u32(r, "mouse-reported-buttons", &mouse->reported_buttons, error) ||
	    !load_motion(r, "mouse-dx", &mouse->dx, error) ||
	    !load_motion(r, "mouse-dy", &mouse->dy, error) ||
	    !load_motion(r, "mouse-dz", &mouse->dz, error) ||
	    !hg_record_bool(r, "mouse-overflow-x", &mouse->overflow_x, error) ||
	    !hg_record_bool(r, "mouse-overflow-y", &mouse->overflow_y, error))
		return false;
	if (mouse->command != 0 && mouse->command != MOUSE_CMD_SET_RESOLUTION &&
	    mouse->command != MOUSE_CMD_SAMPLE_RATE)
		return mouse_load_fail(error,
				       "mouse waits for the parameter of an unknown command");
	if (mouse->resolution > 3)
		return mouse_load_fail(error, "mouse resolution is not 0-3");
	if (mouse->id != MOUSE_ID_STANDARD && mouse->id != MOUSE_ID_INTELLIMOUSE &&
	    mouse->id != MOUSE_ID_EXPLORER)
		return mouse_load_fail(error, "mouse ID is not 0, 3 or 4");
	if ((mouse->buttons | mouse->reported_buttons) & ~BUTTONS_MASK)
		return mouse_load_fail(error, "mouse buttons have unknown bits");
	return true;
}
