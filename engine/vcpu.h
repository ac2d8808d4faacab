/* One vCPU: its KVM fd, its thread and run loop, and its full state for
 * reset and save/restore. */
#pragma once

#include <glib.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>

#include "engine/machine.h"

struct HgVcpu {
	HgMachine *machine;
	unsigned index; /* also its APIC ID */
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_started;
	GVariant *power_on_state; /* captured at creation; reset loads it */
};

HgVcpu *hg_vcpu_new(HgMachine *m, unsigned index, GError **error);
void hg_vcpu_free(HgVcpu *vcpu);
bool hg_vcpu_start_thread(HgVcpu *vcpu, GError **error);

/* The whole architectural state (registers, special registers, XSAVE, XCRs,
 * MSRs, LAPIC, events, MP state, debug registers) as a floating a{sv}.  The
 * vCPU must be parked. */
GVariant *hg_vcpu_save_state(HgVcpu *vcpu, GError **error);
bool hg_vcpu_load_state(HgVcpu *vcpu, GVariant *record, GError **error);

/* Build this vCPU's CPUID from what KVM supports (cpuid.c). */
bool hg_vcpu_set_cpuid(HgVcpu *vcpu, GError **error);

/* Pause and resume every vCPU thread (main thread only).  After pause returns,
 * all vCPUs are parked outside KVM_RUN with no I/O left half done. */
void hg_vcpus_pause(HgMachine *m);
void hg_vcpus_resume(HgMachine *m);
/* Stop the threads for good (the engine is exiting). */
void hg_vcpus_stop(HgMachine *m);
