/* The machine clock and device timers.  With KVM, time is the host's
 * monotonic clock minus an offset: it starts frozen at 0, runs while the
 * guest runs, stands still while it is paused, and is set on restore so
 * that deadlines saved with a device keep their meaning.  Timers fire from
 * a timerfd (nanosecond deadlines, not the main loop's milliseconds: an RTC
 * at 8192 Hz needs that) watched on the main thread.  In harness mode time
 * stands still until the test steps it, so device timing is tested without
 * sleeping. */
#include <errno.h>
#include <glib-unix.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

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
	if (m->clock_frozen)
		return m->clock_frozen_at;
	return monotonic_ns() - m->clock_offset_ns;
}

static void timers_rearm(HgMachine *m);

void hg_clock_set_ns(HgMachine *m, uint64_t now)
{
	if (m->harness_mode)
		m->harness_clock_ns = now;
	else if (m->clock_frozen)
		m->clock_frozen_at = now;
	else
		m->clock_offset_ns = monotonic_ns() - now;
	timers_rearm(m);
}

void hg_clock_freeze(HgMachine *m)
{
	if (m->harness_mode || m->clock_frozen)
		return;
	m->clock_frozen_at = hg_clock_ns(m);
	m->clock_frozen = true;
	timers_rearm(m);
}

void hg_clock_thaw(HgMachine *m)
{
	if (m->harness_mode || !m->clock_frozen)
		return;
	m->clock_offset_ns = monotonic_ns() - m->clock_frozen_at;
	m->clock_frozen = false;
	timers_rearm(m);
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
	timers_rearm(t->machine);
}

void hg_timer_disarm(HgTimer *t)
{
	/* The timerfd may still fire for it; the dispatch finds nothing due. */
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

/* Point the timerfd at the earliest deadline, or disarm it while the clock
 * is frozen or nothing is armed.  device_lock held (or single-threaded). */
static void timers_rearm(HgMachine *m)
{
	struct itimerspec its;
	HgTimer *next;

	if (m->harness_mode || m->timer_fd < 0)
		return;
	memset(&its, 0, sizeof(its));
	next = m->clock_frozen ? NULL : timers_next_due(m, UINT64_MAX);
	if (next) {
		uint64_t when = m->clock_offset_ns + next->deadline_ns;
		if (when == 0)
			when = 1; /* 0 would disarm */
		its.it_value.tv_sec = when / 1000000000ULL;
		its.it_value.tv_nsec = when % 1000000000ULL;
	}
	timerfd_settime(m->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
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

static gboolean timers_fd_ready(int fd, GIOCondition cond, gpointer data)
{
	HgMachine *m = data;
	uint64_t expirations;
	unsigned budget = 10000; /* a timer re-armed in the past must not spin forever */
	HgTimer *t;

	(void)!read(fd, &expirations, sizeof(expirations));
	g_mutex_lock(&m->device_lock);
	while (budget-- && !m->clock_frozen && (t = timers_next_due(m, hg_clock_ns(m)))) {
		t->armed = false;
		t->callback(t->opaque);
	}
	timers_rearm(m);
	g_mutex_unlock(&m->device_lock);
	return G_SOURCE_CONTINUE;
}

void hg_timers_attach(HgMachine *m)
{
	if (m->harness_mode || m->timer_fd >= 0)
		return;
	m->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (m->timer_fd < 0) {
		g_warning("timerfd_create: %s; device timers will not fire", g_strerror(errno));
		return;
	}
	m->timer_watch = g_unix_fd_add(m->timer_fd, G_IO_IN, timers_fd_ready, m);
	g_mutex_lock(&m->device_lock);
	timers_rearm(m);
	g_mutex_unlock(&m->device_lock);
}
