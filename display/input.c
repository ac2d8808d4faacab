/* Input routing (see input.h). */
#include "display/input.h"

typedef struct {
	const HgInputHandler *ops;
	void *opaque;
} InputHandler;

typedef struct {
	HgInputAbsoluteListener fn;
	void *opaque;
} AbsoluteListener;

struct HgInput {
	HgMachine *machine;
	GArray *handlers; /* InputHandler, in registration order */
	/* Last absolute position, to turn absolute into relative motion for a
	 * guest with only a relative mouse; device_lock. */
	bool have_last_abs;
	int last_x, last_y;
	unsigned leds; /* atomic */
	/* What hg_input_has_absolute was when last looked at, and who wants
	 * to know when it changes (AbsoluteListener); device_lock. */
	bool absolute;
	GArray *absolute_listeners;
};

HgInput *hg_input_new(HgMachine *m)
{
	HgInput *in = g_new0(HgInput, 1);
	in->machine = m;
	in->handlers = g_array_new(FALSE, FALSE, sizeof(InputHandler));
	in->absolute_listeners = g_array_new(FALSE, FALSE, sizeof(AbsoluteListener));
	return in;
}

void hg_input_free(HgInput *in)
{
	if (!in)
		return;
	g_array_unref(in->handlers);
	g_array_unref(in->absolute_listeners);
	g_free(in);
}

static void input_check_absolute(HgInput *in);

void hg_input_register(HgInput *in, const HgInputHandler *h, void *opaque)
{
	InputHandler ih = {h, opaque};
	g_array_append_val(in->handlers, ih);
	input_check_absolute(in);
}

void hg_input_unregister(HgInput *in, void *opaque)
{
	for (guint i = 0; i < in->handlers->len; i++) {
		if (g_array_index(in->handlers, InputHandler, i).opaque == opaque) {
			g_array_remove_index(in->handlers, i);
			input_check_absolute(in);
			return;
		}
	}
}

static bool handler_active(InputHandler *h)
{
	return !h->ops->active || h->ops->active(h->opaque);
}

/* The newest active handler with the capability, else the newest inactive
 * one (a guest may enable its device late; PS/2 must get keys before its
 * driver says so, as a BIOS reads it without "enabling" anything). */
static InputHandler *input_route(HgInput *in, unsigned cap)
{
	InputHandler *fallback = NULL;

	for (guint i = in->handlers->len; i > 0; i--) {
		InputHandler *h = &g_array_index(in->handlers, InputHandler, i - 1);
		if (!(h->ops->caps & cap))
			continue;
		if (handler_active(h))
			return h;
		if (!fallback)
			fallback = h;
	}
	return fallback;
}

static bool input_has_active_absolute(HgInput *in)
{
	for (guint i = 0; i < in->handlers->len; i++) {
		InputHandler *h = &g_array_index(in->handlers, InputHandler, i);
		if ((h->ops->caps & HG_INPUT_CAP_ABS) && handler_active(h))
			return true;
	}
	return false;
}

/* device_lock held. */
static void input_check_absolute(HgInput *in)
{
	bool absolute = input_has_active_absolute(in);

	if (absolute == in->absolute)
		return;
	in->absolute = absolute;
	for (guint i = 0; i < in->absolute_listeners->len; i++) {
		AbsoluteListener *l = &g_array_index(in->absolute_listeners, AbsoluteListener, i);
		l->fn(l->opaque, absolute);
	}
}

void hg_input_active_changed(HgInput *in)
{
	input_check_absolute(in);
}

void hg_input_add_absolute_listener(HgInput *in, HgInputAbsoluteListener fn, void *opaque)
{
	AbsoluteListener l = {fn, opaque};

	g_mutex_lock(&in->machine->device_lock);
	input_check_absolute(in); /* the others hear of a change from before */
	g_array_append_val(in->absolute_listeners, l);
	g_mutex_unlock(&in->machine->device_lock);
}

void hg_input_remove_absolute_listener(HgInput *in, void *opaque)
{
	g_mutex_lock(&in->machine->device_lock);
	for (guint i = 0; i < in->absolute_listeners->len; i++) {
		if (g_array_index(in->absolute_listeners, AbsoluteListener, i).opaque == opaque) {
			g_array_remove_index(in->absolute_listeners, i);
			break;
		}
	}
	g_mutex_unlock(&in->machine->device_lock);
}

void hg_input_key(HgInput *in, uint16_t qnum, bool down)
{
	HgInputEvent ev = {.type = HG_INPUT_KEY, .key = {qnum, down}};
	HgInputEvent sync = {.type = HG_INPUT_SYNC};
	InputHandler *h;

	if (!qnum || qnum > 0xff)
		return;
	g_mutex_lock(&in->machine->device_lock);
	h = input_route(in, HG_INPUT_CAP_KEYBOARD);
	if (h) {
		h->ops->event(h->opaque, &ev);
		h->ops->event(h->opaque, &sync);
	}
	input_check_absolute(in);
	g_mutex_unlock(&in->machine->device_lock);
}

static void send_pointer(InputHandler *h, const HgInputEvent *motion, uint32_t buttons)
{
	HgInputEvent b = {.type = HG_INPUT_BUTTONS, .buttons = buttons};
	HgInputEvent sync = {.type = HG_INPUT_SYNC};
	h->ops->event(h->opaque, motion);
	h->ops->event(h->opaque, &b);
	h->ops->event(h->opaque, &sync);
}

void hg_input_pointer_rel(HgInput *in, int dx, int dy, int wheel, uint32_t buttons)
{
	HgInputEvent ev = {.type = HG_INPUT_REL, .rel = {dx, dy, wheel}};
	InputHandler *h;

	g_mutex_lock(&in->machine->device_lock);
	h = input_route(in, HG_INPUT_CAP_REL);
	if (h)
		send_pointer(h, &ev, buttons);
	input_check_absolute(in);
	g_mutex_unlock(&in->machine->device_lock);
}

void hg_input_pointer_abs(HgInput *in, int x, int y, int width, int height, int wheel,
			  uint32_t buttons)
{
	InputHandler *h;

	width = MAX(width, 2);
	height = MAX(height, 2);
	x = CLAMP(x, 0, width - 1);
	y = CLAMP(y, 0, height - 1);
	g_mutex_lock(&in->machine->device_lock);
	if (input_has_active_absolute(in) && (h = input_route(in, HG_INPUT_CAP_ABS))) {
		HgInputEvent ev = {.type = HG_INPUT_ABS,
				   .abs = {(int)((int64_t)x * HG_INPUT_ABS_MAX / (width - 1)),
					   (int)((int64_t)y * HG_INPUT_ABS_MAX / (height - 1))}};
		if (wheel) {
			HgInputEvent w = {.type = HG_INPUT_REL, .rel = {0, 0, wheel}};
			h->ops->event(h->opaque, &w);
		}
		send_pointer(h, &ev, buttons);
	} else if ((h = input_route(in, HG_INPUT_CAP_REL))) {
		/* No tablet the guest drives: move a relative mouse by the
		 * difference in pixels (the guest's acceleration may still make
		 * the pointers drift apart, as with any emulated PS/2 mouse). */
		int dx = in->have_last_abs ? x - in->last_x : 0;
		int dy = in->have_last_abs ? y - in->last_y : 0;
		HgInputEvent ev = {.type = HG_INPUT_REL, .rel = {dx, dy, wheel}};
		send_pointer(h, &ev, buttons);
	}
	in->have_last_abs = true;
	in->last_x = x;
	in->last_y = y;
	input_check_absolute(in);
	g_mutex_unlock(&in->machine->device_lock);
}

bool hg_input_has_absolute(HgInput *in)
{
	bool abs;
	g_mutex_lock(&in->machine->device_lock);
	input_check_absolute(in);
	abs = in->absolute;
	g_mutex_unlock(&in->machine->device_lock);
	return abs;
}

void hg_input_set_leds(HgInput *in, unsigned leds)
{
	g_atomic_int_set(&in->leds, leds);
}

unsigned hg_input_leds(HgInput *in)
{
	return g_atomic_int_get(&in->leds);
}
