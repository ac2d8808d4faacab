/* vCPU threads and the exit dispatch.  Each vCPU runs KVM_RUN in its own
 * thread; port and MMIO exits go to the address spaces with the device lock
 * held; everything that changes the machine as a whole (reset, power-off,
 * failure) is handed to the main thread through hg_machine_request(). */
#include "engine/vcpu.h"

#include <errno.h>
#include <gio/gio.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devices/device.h"
#include "engine/kvm.h"

#define VCPU_KICK_SIGNAL SIGUSR1

static void vcpu_kick_handler(int sig)
{
	/* Only here to interrupt KVM_RUN with EINTR. */
}

static void vcpu_install_kick_handler(void)
{
	static gsize once;
	if (g_once_init_enter(&once)) {
		struct sigaction sa = {.sa_handler = vcpu_kick_handler};
		sigemptyset(&sa.sa_mask);
		sigaction(VCPU_KICK_SIGNAL, &sa, NULL); /* no SA_RESTART */
		g_once_init_leave(&once, 1);
	}
}

HgVcpu *hg_vcpu_new(HgMachine *m, unsigned index, GError **error)
{
	HgVcpu *vcpu = g_new0(HgVcpu, 1);
	HgKvm *kvm = m->kvm;

	vcpu->machine = m;
	vcpu->index = index;
	if (!hg_kvm_create_irqchip(kvm, error)) {
		g_free(vcpu);
		return NULL;
	}
	vcpu->fd = ioctl(kvm->vm_fd, KVM_CREATE_VCPU, index);
	if (vcpu->fd < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
			    "KVM: cannot create vCPU %u: %s", index, g_strerror(errno));
		g_free(vcpu);
		return NULL;
	}
	vcpu->run = mmap(NULL, kvm->vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd,
			 0);
	if (vcpu->run == MAP_FAILED) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
			    "KVM: cannot map vCPU %u: %s", index, g_strerror(errno));
		close(vcpu->fd);
		g_free(vcpu);
		return NULL;
	}
	if (!hg_vcpu_set_cpuid(vcpu, error)) {
		hg_vcpu_free(vcpu);
		return NULL;
	}
	hg_kvm_probe_msrs(kvm, vcpu->fd);
	vcpu->power_on_state = hg_vcpu_save_state(vcpu, error);
	if (!vcpu->power_on_state) {
		hg_vcpu_free(vcpu);
		return NULL;
	}
	g_variant_ref_sink(vcpu->power_on_state);
	return vcpu;
}

void hg_vcpu_free(HgVcpu *vcpu)
{
	if (!vcpu)
		return;
	if (vcpu->run && vcpu->run != MAP_FAILED)
		munmap(vcpu->run, vcpu->machine->kvm->vcpu_mmap_size);
	close(vcpu->fd);
	if (vcpu->power_on_state)
		g_variant_unref(vcpu->power_on_state);
	g_free(vcpu);
}

/* ---- state ---- */

typedef struct {
	const char *key;
	unsigned long get, set;
	size_t size;
} VcpuStateItem;

/* Restore order matters: special registers (with the APIC base) before the
 * LAPIC, the LAPIC before MSRs (TSC deadline), events and MP state last. */
static const VcpuStateItem vcpu_state_items[] = {
	{"sregs", KVM_GET_SREGS, KVM_SET_SREGS, sizeof(struct kvm_sregs)},
	{"regs", KVM_GET_REGS, KVM_SET_REGS, sizeof(struct kvm_regs)},
	{"xcrs", KVM_GET_XCRS, KVM_SET_XCRS, sizeof(struct kvm_xcrs)},
	{"lapic", KVM_GET_LAPIC, KVM_SET_LAPIC, sizeof(struct kvm_lapic_state)},
	{"debugregs", KVM_GET_DEBUGREGS, KVM_SET_DEBUGREGS, sizeof(struct kvm_debugregs)},
};

static bool vcpu_fail(GError **error, HgVcpu *vcpu, const char *what)
{
	int saved = errno;
	g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved), "KVM: vCPU %u: %s: %s",
		    vcpu->index, what, g_strerror(saved));
	return false;
}

static GVariant *vcpu_save_msrs(HgVcpu *vcpu, GError **error)
{
	HgKvm *kvm = vcpu->machine->kvm;
	g_autofree struct kvm_msrs *msrs =
		g_malloc0(sizeof(*msrs) + kvm->n_msrs * sizeof(struct kvm_msr_entry));
	GVariantBuilder b;
	int got;

	msrs->nmsrs = kvm->n_msrs;
	for (uint32_t i = 0; i < kvm->n_msrs; i++)
		msrs->entries[i].index = kvm->msr_indices[i];
	got = ioctl(vcpu->fd, KVM_GET_MSRS, msrs);
	if (got < 0) {
		vcpu_fail(error, vcpu, "cannot read MSRs");
		return NULL;
	}
	g_variant_builder_init(&b, G_VARIANT_TYPE("a(ut)"));
	for (int i = 0; i < got; i++)
		g_variant_builder_add(&b, "(ut)", msrs->entries[i].index, msrs->entries[i].data);
	return g_variant_builder_end(&b);
}

/* One MSR at a time: a host may refuse some (FACTS.md), and one refusal
 * must not stop the rest. */
static void vcpu_load_msrs(HgVcpu *vcpu, GVariant *list)
{
	GVariantIter iter;
	uint32_t index;
	uint64_t value;
	struct {
		struct kvm_msrs head;
		struct kvm_msr_entry entry;
	} one;

	g_variant_iter_init(&iter, list);
	while (g_variant_iter_next(&iter, "(ut)", &index, &value)) {
		memset(&one, 0, sizeof(one));
		one.head.nmsrs = 1;
		one.entry.index = index;
		one.entry.data = value;
		if (ioctl(vcpu->fd, KVM_SET_MSRS, &one) != 1)
			g_debug("vCPU %u: MSR 0x%x not restored", vcpu->index, index);
	}
}

GVariant *hg_vcpu_save_state(HgVcpu *vcpu, GError **error)
{
	HgKvm *kvm = vcpu->machine->kvm;
	GVariantBuilder b;
	g_autofree void *xsave = g_malloc0(kvm->xsave_size);
	uint8_t buf[sizeof(struct kvm_lapic_state) + sizeof(struct kvm_sregs)];
	struct kvm_vcpu_events events;
	struct kvm_mp_state mp;
	GVariant *msrs;

	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	for (unsigned i = 0; i < G_N_ELEMENTS(vcpu_state_items); i++) {
		const VcpuStateItem *it = &vcpu_state_items[i];
		memset(buf, 0, sizeof(buf));
		if (ioctl(vcpu->fd, it->get, buf) < 0)
			goto fail;
		g_variant_builder_add(&b, "{sv}", it->key, hg_bytes_variant(buf, it->size));
	}
	if (ioctl(vcpu->fd, kvm->xsave_size > (int)sizeof(struct kvm_xsave) ? KVM_GET_XSAVE2
									   : KVM_GET_XSAVE,
		  xsave) < 0)
		goto fail;
	g_variant_builder_add(&b, "{sv}", "xsave", hg_bytes_variant(xsave, kvm->xsave_size));
	memset(&events, 0, sizeof(events));
	if (ioctl(vcpu->fd, KVM_GET_VCPU_EVENTS, &events) < 0 ||
	    ioctl(vcpu->fd, KVM_GET_MP_STATE, &mp) < 0)
		goto fail;
	g_variant_builder_add(&b, "{sv}", "events", hg_bytes_variant(&events, sizeof(events)));
	g_variant_builder_add(&b, "{sv}", "mp-state", g_variant_new_uint32(mp.mp_state));
	msrs = vcpu_save_msrs(vcpu, error);
	if (!msrs) {
		g_variant_builder_clear(&b);
		return NULL;
	}
	g_variant_builder_add(&b, "{sv}", "msrs", msrs);
	return g_variant_builder_end(&b);
fail:
	g_variant_builder_clear(&b);
	vcpu_fail(error, vcpu, "cannot read state");
	return NULL;
}

bool hg_vcpu_load_state(HgVcpu *vcpu, GVariant *record, GError **error)
{
	HgKvm *kvm = vcpu->machine->kvm;
	g_auto(GVariantDict) dict = G_VARIANT_DICT_INIT(record);
	uint8_t buf[sizeof(struct kvm_lapic_state) + sizeof(struct kvm_sregs)];
	g_autofree void *xsave = g_malloc0(MAX(kvm->xsave_size, (int)sizeof(struct kvm_xsave)));
	size_t xsave_len;
	struct kvm_vcpu_events events;
	struct kvm_mp_state mp;
	g_autoptr(GVariant) msrs = NULL;

	/* Check the whole record before touching the vCPU. */
	if (!hg_record_bytes_max(&dict, "xsave", xsave, kvm->xsave_size, &xsave_len, error) ||
	    !hg_record_bytes(&dict, "events", &events, sizeof(events), error) ||
	    !hg_record_u32(&dict, "mp-state", &mp.mp_state, error))
		return false;
	msrs = g_variant_dict_lookup_value(&dict, "msrs", G_VARIANT_TYPE("a(ut)"));
	if (!msrs) {
		g_set_error(error, HG_DEVICE_ERROR, HG_DEVICE_ERROR_BAD_RECORD,
			    "vCPU %u: state record lacks its MSR list", vcpu->index);
		return false;
	}
	for (unsigned i = 0; i < G_N_ELEMENTS(vcpu_state_items); i++) {
		const VcpuStateItem *it = &vcpu_state_items[i];
		if (!hg_record_bytes(&dict, it->key, buf, it->size, error))
			return false;
		if (ioctl(vcpu->fd, it->set, buf) < 0)
			return vcpu_fail(error, vcpu, it->key);
		if (strcmp(it->key, "lapic") == 0 || strcmp(it->key, "xcrs") == 0) {
			/* XSAVE after XCR0 is known, before the LAPIC is not needed. */
			if (strcmp(it->key, "xcrs") == 0 &&
			    ioctl(vcpu->fd, KVM_SET_XSAVE, xsave) < 0)
				return vcpu_fail(error, vcpu, "xsave");
		}
	}
	vcpu_load_msrs(vcpu, msrs);
	if (ioctl(vcpu->fd, KVM_SET_MP_STATE, &mp) < 0)
		return vcpu_fail(error, vcpu, "mp-state");
	events.flags &= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR |
			KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_SMM;
	if (ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS, &events) < 0)
		return vcpu_fail(error, vcpu, "events");
	return true;
}

/* ---- run loop ---- */

static void vcpu_handle_io(HgVcpu *vcpu)
{
	HgMachine *m = vcpu->machine;
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	unsigned size = run->io.size;

	g_mutex_lock(&m->device_lock);
	for (uint32_t i = 0; i < run->io.count; i++, data += size) {
		if (run->io.direction == KVM_EXIT_IO_OUT) {
			uint64_t value = 0;
			memcpy(&value, data, size);
			hg_address_space_write(&m->pio, run->io.port, size, value);
		} else {
			uint64_t value = hg_address_space_read(&m->pio, run->io.port, size);
			memcpy(data, &value, size);
		}
	}
	g_mutex_unlock(&m->device_lock);
}

static void vcpu_handle_mmio(HgVcpu *vcpu)
{
	HgMachine *m = vcpu->machine;
	struct kvm_run *run = vcpu->run;
	unsigned len = run->mmio.len;

	if (len == 0 || len > 8)
		return;
	g_mutex_lock(&m->device_lock);
	if (run->mmio.is_write) {
		uint64_t value = 0;
		memcpy(&value, run->mmio.data, len);
		hg_address_space_write(&m->mmio, run->mmio.phys_addr, len, value);
	} else {
		uint64_t value = hg_address_space_read(&m->mmio, run->mmio.phys_addr, len);
		memcpy(run->mmio.data, &value, len);
	}
	g_mutex_unlock(&m->device_lock);
}

/* Returns false when the vCPU cannot go on. */
static bool vcpu_handle_exit(HgVcpu *vcpu)
{
	HgMachine *m = vcpu->machine;
	struct kvm_run *run = vcpu->run;
	g_autofree char *why = NULL;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		vcpu_handle_io(vcpu);
		return true;
	case KVM_EXIT_MMIO:
		vcpu_handle_mmio(vcpu);
		return true;
	case KVM_EXIT_HLT:
	case KVM_EXIT_IRQ_WINDOW_OPEN:
	case KVM_EXIT_INTR:
		return true;
	case KVM_EXIT_SHUTDOWN:
		/* Triple fault: a PC resets. */
		hg_machine_request(m, HG_GUEST_REQUEST_RESET, 0, "triple fault");
		return true;
	case KVM_EXIT_SYSTEM_EVENT:
		if (run->system_event.type == KVM_SYSTEM_EVENT_RESET)
			hg_machine_request(m, HG_GUEST_REQUEST_RESET, 0, "system event reset");
		else
			hg_machine_request(m, HG_GUEST_REQUEST_POWEROFF, 0, "system event");
		return true;
	case KVM_EXIT_FAIL_ENTRY:
		why = g_strdup_printf("vCPU %u: entry failed, hardware reason 0x%llx", vcpu->index,
				      (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		why = g_strdup_printf("vCPU %u: KVM internal error, suberror %u%s", vcpu->index,
				      run->internal.suberror,
				      run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION
					      ? " (an instruction KVM cannot emulate)"
					      : "");
		break;
	default:
		why = g_strdup_printf("vCPU %u: unhandled exit reason %u", vcpu->index,
				      run->exit_reason);
		break;
	}
	hg_machine_request(m, HG_GUEST_REQUEST_FAILURE, 0, why);
	return false;
}

/* Finish any port or MMIO access KVM has half done, so that the saved state
 * has the instruction retired: KVM_RUN with immediate_exit completes it and
 * returns at once (Documentation/virt/kvm/api.rst, "immediate_exit"). */
static void vcpu_complete_pending_io(HgVcpu *vcpu)
{
	vcpu->run->immediate_exit = 1;
	(void)ioctl(vcpu->fd, KVM_RUN, 0);
}

static void *vcpu_thread_main(void *data)
{
	HgVcpu *vcpu = data;
	HgMachine *m = vcpu->machine;
	sigset_t kick;
	bool failed = false;

	sigemptyset(&kick);
	sigaddset(&kick, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);

	for (;;) {
		g_mutex_lock(&m->run_lock);
		if (m->run_state != HG_RUN_STATE_RUNNING || failed) {
			g_mutex_unlock(&m->run_lock);
			vcpu_complete_pending_io(vcpu);
			g_mutex_lock(&m->run_lock);
			m->vcpus_parked++;
			g_cond_broadcast(&m->run_cond);
			while ((m->run_state != HG_RUN_STATE_RUNNING || failed) &&
			       m->run_state != HG_RUN_STATE_SHUTDOWN) {
				g_cond_wait(&m->run_cond, &m->run_lock);
				if (m->run_state == HG_RUN_STATE_PAUSED)
					failed = false; /* a reset or restore follows */
			}
			m->vcpus_parked--;
			if (m->run_state == HG_RUN_STATE_SHUTDOWN) {
				g_mutex_unlock(&m->run_lock);
				break;
			}
		}
		vcpu->run->immediate_exit = 0;
		g_mutex_unlock(&m->run_lock);

		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			g_autofree char *why = g_strdup_printf(
				"vCPU %u: KVM_RUN failed: %s", vcpu->index, g_strerror(errno));
			hg_machine_request(m, HG_GUEST_REQUEST_FAILURE, 0, why);
			failed = true;
			continue;
		}
		if (!vcpu_handle_exit(vcpu))
			failed = true;
	}
	return NULL;
}

bool hg_vcpu_start_thread(HgVcpu *vcpu, GError **error)
{
	sigset_t all, old;
	int err;

	vcpu_install_kick_handler();
	/* The thread starts with every signal blocked but the kick, so the
	 * main thread alone sees SIGINT/SIGTERM. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = pthread_create(&vcpu->thread, NULL, vcpu_thread_main, vcpu);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(err),
			    "cannot start vCPU %u thread: %s", vcpu->index, g_strerror(err));
		return false;
	}
	vcpu->thread_started = true;
	return true;
}

static void vcpus_kick_all(HgMachine *m)
{
	for (unsigned i = 0; i < m->n_vcpus; i++) {
		HgVcpu *vcpu = m->vcpus[i];
		vcpu->run->immediate_exit = 1;
		if (vcpu->thread_started)
			pthread_kill(vcpu->thread, VCPU_KICK_SIGNAL);
	}
}

static unsigned vcpus_running_threads(HgMachine *m)
{
	unsigned n = 0;
	for (unsigned i = 0; i < m->n_vcpus; i++)
		n += m->vcpus[i]->thread_started;
	return n;
}

/* While paused, time stands still for the guest: the machine clock (device
 * timers) and the guest's kvmclock are both stopped and continue from the
 * same point on resume, as QEMU's do. */
static void vcpus_stop_clocks(HgMachine *m)
{
	struct kvm_clock_data clock = {0};

	if (m->kvm && ioctl(m->kvm->vm_fd, KVM_GET_CLOCK, &clock) == 0) {
		m->kvmclock_at_pause = clock.clock;
		m->kvmclock_saved = true;
	}
	g_mutex_lock(&m->device_lock);
	hg_clock_freeze(m);
	g_mutex_unlock(&m->device_lock);
}

static void vcpus_start_clocks(HgMachine *m)
{
	struct kvm_clock_data clock = {0};

	if (m->kvm && m->kvmclock_saved) {
		clock.clock = m->kvmclock_at_pause;
		ioctl(m->kvm->vm_fd, KVM_SET_CLOCK, &clock);
		m->kvmclock_saved = false;
	}
	g_mutex_lock(&m->device_lock);
	hg_clock_thaw(m);
	g_mutex_unlock(&m->device_lock);
}

void hg_vcpus_pause(HgMachine *m)
{
	bool was_running;

	g_mutex_lock(&m->run_lock);
	was_running = m->run_state == HG_RUN_STATE_RUNNING;
	if (was_running)
		m->run_state = HG_RUN_STATE_PAUSED;
	vcpus_kick_all(m);
	while (m->vcpus_parked < vcpus_running_threads(m))
		g_cond_wait(&m->run_cond, &m->run_lock);
	g_mutex_unlock(&m->run_lock);
	if (was_running)
		vcpus_stop_clocks(m);
}

void hg_vcpus_resume(HgMachine *m)
{
	g_mutex_lock(&m->run_lock);
	if (m->run_state == HG_RUN_STATE_PAUSED) {
		m->run_state = HG_RUN_STATE_RUNNING;
		g_mutex_unlock(&m->run_lock);
		vcpus_start_clocks(m);
		g_mutex_lock(&m->run_lock);
	}
	g_cond_broadcast(&m->run_cond);
	g_mutex_unlock(&m->run_lock);
}

void hg_vcpus_stop(HgMachine *m)
{
	g_mutex_lock(&m->run_lock);
	m->run_state = HG_RUN_STATE_SHUTDOWN;
	vcpus_kick_all(m);
	g_cond_broadcast(&m->run_cond);
	g_mutex_unlock(&m->run_lock);
	for (unsigned i = 0; i < m->n_vcpus; i++) {
		if (m->vcpus[i]->thread_started) {
			pthread_join(m->vcpus[i]->thread, NULL);
			m->vcpus[i]->thread_started = false;
		}
	}
}
