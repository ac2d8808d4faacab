/* The machine: one guest, its RAM, its address spaces, devices, vCPUs and
 * clock.  In "harness" mode (tests) there is no KVM and no vCPU: the test
 * program drives the devices through engine/harness.c instead.
 *
 * Threads: the main thread runs the GLib main loop (control socket, serial
 * backends, timers, harness); each vCPU has its own thread.  Every device
 * handler runs with machine->device_lock held, whichever thread calls it, so
 * device code needs no locking of its own (a big lock, like QEMU's BQL;
 * fine-grained locks can come when a device needs them). */
#pragma once

#include <glib.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/address_space.h"
#include "engine/memory.h"

typedef struct HgMachine HgMachine;
typedef struct HgDevice HgDevice;
typedef struct HgVcpu HgVcpu;
typedef struct HgTimer HgTimer;
typedef struct HgKvm HgKvm;

#define HG_MAX_VCPUS 64
#define HG_NUM_GSIS 24 /* IOAPIC pins */

typedef enum {
	HG_RUN_STATE_PAUSED,
	HG_RUN_STATE_RUNNING,
	HG_RUN_STATE_SHUTDOWN, /* the engine is about to exit */
} HgRunState;

/* Why the guest asked to stop running; handled on the main thread. */
typedef enum {
	HG_GUEST_REQUEST_NONE,
	HG_GUEST_REQUEST_RESET, /* reset line, triple fault */
	HG_GUEST_REQUEST_POWEROFF,
	HG_GUEST_REQUEST_DEBUG_EXIT, /* isa-debug-exit written */
	HG_GUEST_REQUEST_FAILURE, /* a vCPU could not continue */
} HgGuestRequest;

/* Process exit codes: even numbers, so that they never collide with the
 * debug-exit port's (value << 1) | 1.  docs/exit-codes.md lists them. */
enum {
	HG_EXIT_OK = 0, /* guest powered off, or the quit command */
	HG_EXIT_USAGE = 2, /* bad command line */
	HG_EXIT_SETUP_FAILED = 4, /* KVM, RAM, image or socket could not be set up */
	HG_EXIT_GUEST_FAILURE = 6, /* a vCPU stopped: emulation or internal error */
	HG_EXIT_GUEST_RESET = 8, /* the guest reset while --no-reboot was given */
	HG_EXIT_RESTORE_FAILED = 10, /* --restore could not load the state */
};

struct HgTimer {
	HgMachine *machine;
	void (*callback)(void *opaque); /* called with device_lock held */
	void *opaque;
	uint64_t deadline_ns; /* machine clock; valid while armed */
	bool armed;
};

struct HgMachine {
	bool harness_mode; /* no KVM, no vCPUs */
	GMutex device_lock;

	HgGuestMemory memory;
	HgAddressSpace pio;
	HgAddressSpace mmio;

	GPtrArray *devices; /* HgDevice *, in creation order */

	/* Interrupt lines as devices last set them; the harness observes these. */
	bool irq_levels[HG_NUM_GSIS];
	void (*irq_observer)(HgMachine *m, unsigned gsi, bool level, void *opaque);
	void *irq_observer_data;
	void (*msi_observer)(HgMachine *m, uint64_t address, uint32_t data, void *opaque);

	/* Clock: nanoseconds of running time since the machine was created.
	 * It stands still while the guest is paused (as the guest's own
	 * kvmclock does), and in harness mode it only moves when the test
	 * steps it. */
	uint64_t clock_offset_ns;
	bool clock_frozen;
	uint64_t clock_frozen_at;
	uint64_t harness_clock_ns;
	GPtrArray *timers; /* HgTimer * */
	int timer_fd; /* timerfd for the earliest deadline; -1 until attached */
	guint timer_watch;

	/* The guest's kvmclock while paused (main thread). */
	uint64_t kvmclock_at_pause;
	bool kvmclock_saved;

	/* KVM and vCPUs (absent in harness mode). */
	HgKvm *kvm;
	unsigned n_vcpus;
	HgVcpu *vcpus[HG_MAX_VCPUS];

	/* Run control, guarded by run_lock. */
	GMutex run_lock;
	GCond run_cond;
	HgRunState run_state;
	unsigned vcpus_parked;
	HgGuestRequest guest_request;
	int debug_exit_value;
	char *failure_reason;
	void (*on_guest_request)(HgMachine *m, void *data); /* main thread, from an idle */
	void *on_guest_request_data;
};

HgMachine *hg_machine_new(bool harness_mode, uint64_t ram_size, const char *ram_file,
			  GError **error);
void hg_machine_free(HgMachine *m);

void hg_machine_add_device(HgMachine *m, HgDevice *dev);
HgDevice *hg_machine_find_device(HgMachine *m, const char *id);
void hg_machine_reset_devices(HgMachine *m);

/* Interrupt lines (ISA IRQs are GSIs 0-15).  Callable from any thread with
 * device_lock held. */
void hg_irq_set_level(HgMachine *m, unsigned gsi, bool level);
static inline void hg_irq_pulse(HgMachine *m, unsigned gsi)
{
	hg_irq_set_level(m, gsi, true);
	hg_irq_set_level(m, gsi, false);
}

/* A message-signalled interrupt (PCI MSI/MSI-X write to 0xFEExxxxx).
 * device_lock held. */
void hg_machine_send_msi(HgMachine *m, uint64_t address, uint32_t data);

/* Guest requests (reset, power-off, failure) raised from a vCPU thread. */
void hg_machine_request(HgMachine *m, HgGuestRequest request, int value, const char *reason);

/* Clock and timers. */
uint64_t hg_clock_ns(HgMachine *m);
void hg_clock_set_ns(HgMachine *m, uint64_t now); /* after a restore */
HgTimer *hg_timer_new(HgMachine *m, void (*callback)(void *), void *opaque);
void hg_timer_free(HgTimer *t);
void hg_timer_arm(HgTimer *t, uint64_t deadline_ns);
void hg_timer_disarm(HgTimer *t);
/* Harness: advance the clock by ns, running the timers that expire. */
void hg_clock_step(HgMachine *m, uint64_t ns);
/* Real mode: watch the timer fd from the main context. */
void hg_timers_attach(HgMachine *m);
/* Stop and restart the clock around a pause (device_lock held). */
void hg_clock_freeze(HgMachine *m);
void hg_clock_thaw(HgMachine *m);
