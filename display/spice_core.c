/* SpiceCoreInterface on a GMainContext: spice-server's timers and fd
 * watches become GSources on the display thread's context, so the whole
 * server (its listening socket, main and inputs channels, the link
 * handshake) runs there and never on a vCPU or the main loop.
 *
 * spice-server's own worker thread (display and cursor channels) has its
 * own event loop and does not use this interface. */
#include "display/spice_internal.h"

struct SpiceTimer {
	GSource *source; /* armed one-shot timeout, or NULL */
	SpiceTimerFunc func;
	void *opaque;
};

struct SpiceWatch {
	GSource *source;
	gpointer tag; /* from g_source_add_unix_fd; NULL while the mask is 0 */
	int fd;
	int event_mask;
	SpiceWatchFunc func;
	void *opaque;
};

typedef struct {
	SpiceCoreInterface iface; /* first: the server gets &iface */
	GMainContext *context;
} SpiceCore;

/* The interface's callbacks carry no pointer of ours. */
static SpiceCore *core_singleton;

static gboolean core_timer_fire(gpointer data)
{
	SpiceTimer *t = data;

	/* The callback may re-arm (timer_start) or free (timer_remove) the
	 * timer: forget this source first and touch t no more after. */
	g_source_unref(t->source);
	t->source = NULL;
	t->func(t->opaque);
	return G_SOURCE_REMOVE;
}

static SpiceTimer *core_timer_add(SpiceTimerFunc func, void *opaque)
{
	SpiceTimer *t = g_new0(SpiceTimer, 1);
	t->func = func;
	t->opaque = opaque;
	return t;
}

static void core_timer_cancel(SpiceTimer *t)
{
	if (t->source) {
		g_source_destroy(t->source);
		g_source_unref(t->source);
		t->source = NULL;
	}
}

static void core_timer_start(SpiceTimer *t, uint32_t ms)
{
	core_timer_cancel(t);
	t->source = g_timeout_source_new(ms);
	g_source_set_callback(t->source, core_timer_fire, t, NULL);
	g_source_attach(t->source, core_singleton->context);
}

static void core_timer_remove(SpiceTimer *t)
{
	core_timer_cancel(t);
	g_free(t);
}

static GIOCondition watch_condition(int event_mask)
{
	GIOCondition cond = 0;
	if (event_mask & SPICE_WATCH_EVENT_READ)
		cond |= G_IO_IN;
	if (event_mask & SPICE_WATCH_EVENT_WRITE)
		cond |= G_IO_OUT;
	return cond;
}

static gboolean watch_dispatch(GSource *source, GSourceFunc callback, gpointer data)
{
	SpiceWatch *w = data;
	GIOCondition got = w->tag ? g_source_query_unix_fd(source, w->tag) : 0;
	int event = 0;

	if (got & G_IO_IN)
		event |= SPICE_WATCH_EVENT_READ;
	if (got & G_IO_OUT)
		event |= SPICE_WATCH_EVENT_WRITE;
	/* A hang-up or error comes whatever was asked: hand it to the
	 * server as the event it waits for, whose read or write then fails
	 * and closes the channel. */
	if (got & (G_IO_HUP | G_IO_ERR | G_IO_NVAL))
		event |= w->event_mask;
	if (event)
		w->func(w->fd, event, w->opaque); /* may remove the watch */
	return G_SOURCE_CONTINUE;
}

/* No prepare or check: GLib dispatches a source whose unix fds are ready. */
static GSourceFuncs watch_funcs = {
	.dispatch = watch_dispatch,
};

/* With nothing asked, the fd leaves the poll set: poll() reports a hang-up
 * even for no events, which would wake the loop again and again. */
static void core_watch_update_mask(SpiceWatch *w, int event_mask)
{
	w->event_mask = event_mask & (SPICE_WATCH_EVENT_READ | SPICE_WATCH_EVENT_WRITE);
	if (!w->event_mask) {
		if (w->tag)
			g_source_remove_unix_fd(w->source, w->tag);
		w->tag = NULL;
	} else if (w->tag) {
		g_source_modify_unix_fd(w->source, w->tag, watch_condition(w->event_mask));
	} else {
		w->tag = g_source_add_unix_fd(w->source, w->fd, watch_condition(w->event_mask));
	}
}

static SpiceWatch *core_watch_add(int fd, int event_mask, SpiceWatchFunc func, void *opaque)
{
	SpiceWatch *w = g_new0(SpiceWatch, 1);

	w->fd = fd;
	w->func = func;
	w->opaque = opaque;
	w->source = g_source_new(&watch_funcs, sizeof(GSource));
	g_source_set_callback(w->source, NULL, w, NULL);
	core_watch_update_mask(w, event_mask);
	g_source_attach(w->source, core_singleton->context);
	return w;
}

static void core_watch_remove(SpiceWatch *w)
{
	g_source_destroy(w->source);
	g_source_unref(w->source);
	g_free(w);
}

static void core_channel_event(int event, SpiceChannelEventInfo *info)
{
	static const char *const names[] = {"", "connected", "initialized", "disconnected"};

	g_debug("spice: channel %d:%d %s (connection %d)", info->type, info->id,
		event >= 1 && event <= 3 ? names[event] : "event", info->connection_id);
}

SpiceCoreInterface *hg_spice_core_new(GMainContext *context)
{
	SpiceCore *core;

	g_return_val_if_fail(core_singleton == NULL, NULL);
	core = g_new0(SpiceCore, 1);
	core->iface = (SpiceCoreInterface){
		.base.type = SPICE_INTERFACE_CORE,
		.base.description = "hangar display thread",
		.base.major_version = SPICE_INTERFACE_CORE_MAJOR,
		.base.minor_version = SPICE_INTERFACE_CORE_MINOR,
		.timer_add = core_timer_add,
		.timer_start = core_timer_start,
		.timer_cancel = core_timer_cancel,
		.timer_remove = core_timer_remove,
		.watch_add = core_watch_add,
		.watch_update_mask = core_watch_update_mask,
		.watch_remove = core_watch_remove,
		.channel_event = core_channel_event,
	};
	core->context = g_main_context_ref(context);
	core_singleton = core;
	return &core->iface;
}

void hg_spice_core_free(SpiceCoreInterface *iface)
{
	SpiceCore *core = (SpiceCore *)iface;

	if (!core)
		return;
	g_main_context_unref(core->context);
	core_singleton = NULL;
	g_free(core);
}
