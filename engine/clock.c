/* The machine clock and device timers.  With KVM, time is the host's
 * monotonic clock since the machine was created (shifted on restore, so
 * deadlines saved with a device stay meaningful) and timers fire from a
 * GSource on the main thread.  In harness mode time stands still until the
 * test steps it, so device timing is tested without sleeping. */
#include <time.h>

#include "engine/machine.h"

static uint64_t monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

uint64_t hg_clock_ns(HgMachine *m)
{
	if (m->harness_mode)
		return m->harness_clock_ns;
	return monotonic_ns() - m->clock_offset_ns;
}

void hg_clock_set_ns(HgMachine *m, uint64_t now)
{
	if (m->harness_mode)
		m->harness_clock_ns = now;
	else
		m->clock_offset_ns = monotonic_ns() - now;
}

HgTimer *hg_timer_new(HgMachine *m, void (*callback)(void *), void *opaque)
{
	HgTimer *t = g_new0(HgTimer, 1);
	t->machine = m;
	t->callback = callback;
	t->opaque = opaque;
	g_ptr_array_add(m->timers, t);
	return t;
}

void hg_timer_free(HgTimer *t)
{
	if (!t)
		return;
	g_ptr_array_remove(t->machine->timers, t);
	g_free(t);
}

void hg_timer_arm(HgTimer *t, uint64_t deadline_ns)
{
	t->deadline_ns = deadline_ns;
	t->armed = true;
	if (!t->machine->harness_mode)
		g_main_context_wakeup(NULL);
}

void hg_timer_disarm(HgTimer *t)
{
	t->armed = false;
}

/* The earliest armed timer due at or before limit; device_lock held. */
static HgTimer *timers_next_due(HgMachine *m, uint64_t limit)
{
	HgTimer *best = NULL;
	for (guint i = 0; i < m->timers->len; i++) {
		HgTimer *t = g_ptr_array_index(m->timers, i);
		if (t->armed && t->deadline_ns <= limit &&
		    (!best || t->deadline_ns < best->deadline_ns))
			best = t;
	}
	return best;
}

static void timers_run_due(HgMachine *m, uint64_t now)
{
	HgTimer *t;
	unsigned budget = 10000; /* a timer re-armed in the past must not spin forever */

	while (budget-- && (t = timers_next_due(m, now))) {
		t->armed = false;
		t->callback(t->opaque);
	}
}

void hg_clock_step(HgMachine *m, uint64_t ns)
{
	uint64_t target = m->harness_clock_ns + ns;
	HgTimer *t;

	g_mutex_lock(&m->device_lock);
	/* Move time to each deadline in turn, so a timer sees the clock at its
	 * own deadline. */
	while ((t = timers_next_due(m, target))) {
		if (t->deadline_ns > m->harness_clock_ns)
			m->harness_clock_ns = t->deadline_ns;
		t->armed = false;
		t->callback(t->opaque);
	}
	m->harness_clock_ns = target;
	g_mutex_unlock(&m->device_lock);
}

typedef struct {
	GSource source;
	HgMachine *machine;
} TimerSource;

static gboolean timer_source_prepare(GSource *source, gint *timeout)
{
	HgMachine *m = ((TimerSource *)source)->machine;
	uint64_t now = hg_clock_ns(m);
	HgTimer *t;

	g_mutex_lock(&m->device_lock);
	t = timers_next_due(m, UINT64_MAX);
	g_mutex_unlock(&m->device_lock);
	if (!t) {
		*timeout = -1;
		return FALSE;
	}
	if (t->deadline_ns <= now) {
		*timeout = 0;
		return TRUE;
	}
	*timeout = (gint)MIN((t->deadline_ns - now + 999999) / 1000000, (uint64_t)G_MAXINT);
	return FALSE;
}

static gboolean timer_source_check(GSource *source)
{
	gint timeout;
	return timer_source_prepare(source, &timeout);
}

static gboolean timer_source_dispatch(GSource *source, GSourceFunc cb, gpointer data)
{
	HgMachine *m = ((TimerSource *)source)->machine;

	g_mutex_lock(&m->device_lock);
	timers_run_due(m, hg_clock_ns(m));
	g_mutex_unlock(&m->device_lock);
	return G_SOURCE_CONTINUE;
}

static GSourceFuncs timer_source_funcs = {
	.prepare = timer_source_prepare,
	.check = timer_source_check,
	.dispatch = timer_source_dispatch,
};

void hg_timers_attach(HgMachine *m)
{
	if (m->timer_source)
		return;
	m->timer_source = g_source_new(&timer_source_funcs, sizeof(TimerSource));
	((TimerSource *)m->timer_source)->machine = m;
	g_source_attach(m->timer_source, NULL);
}
