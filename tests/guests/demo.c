// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * demo: the guest that tools/quickstart.sh boots where /dev/kvm is kvm_pvm:
 *
 *   hangar-engine --kernel guest-demo.elf --memory 64 --cpus 2 --serial stdio --debug-exit
 *
 * It shows what a guest sees of the machine (CPUID vendor, brand and hypervisor leaves, the
 * CPU count from fw_cfg with every other CPU started through INIT-SIPI-SIPI, the multiboot
 * memory map, the LAPIC timer ticking), then echoes lines typed on COM1. "exit" ends it through
 * debug-exit 0 (engine status 1); so does 30 s without any input (stdin not a terminal, as in
 * CI). It is a demo, not a test: it reports what it finds and never fails on it.
 *
 * CPL0 code runs in the host's instruction emulator on kvm_pvm, so the waiting is done in HLT:
 * the LAPIC timer wakes the CPU every 10 ms to poll the UART, a few hundred emulated
 * instructions a tick.
 */
#include <stdbool.h>

#include "lib/ap-start.h"
#include "lib/guest.h"
#include "lib/lapic.h"
#include "lib/pic.h"
#include "lib/print.h"
#include "lib/serial.h"
#include "lib/trap.h"
#include "lib/tsc.h"
#include "lib/x86.h"

/* QEMU docs/specs/fw_cfg.rst: 16-bit selector, 8-bit data, little-endian integer items. */
#define FW_CFG_SELECTOR 0x510
#define FW_CFG_DATA 0x511
#define FW_CFG_SIGNATURE 0x0000
#define FW_CFG_NB_CPUS 0x0005

#define COM1 0x3F8
#define UART_RBR 0
#define UART_LSR 5
#define LSR_DATA_READY 0x01

#define MAX_CPUS 64
#define AP_STACK_SIZE 4096
#define AP_ONLINE_TIMEOUT_US 2000000

/* KVM's LAPIC timer counts at 1 GHz; divided by 16, 625000 counts are 10 ms. */
#define TIMER_VECTOR 0x40
#define TIMER_INITIAL_COUNT 625000
#define TICK_MS 10
#define FIRST_TICK_TIMEOUT_US 2000000
#define TICKS_PER_DOT 10
#define DOTS_SHOWN 5
#define NO_INPUT_TIMEOUT_MS 30000

#define LINE_MAX 128
#define KEY_CTRL_C 0x03
#define KEY_BACKSPACE 0x08
#define KEY_ESCAPE 0x1B
#define KEY_DELETE 0x7F

/* Multiboot Specification 0.6.96, 3.3 "Boot information format". */
#define MBI_FLAG_MEMORY (1u << 0)
#define MBI_FLAG_MMAP (1u << 6)
#define MBI_FLAG_LOADER_NAME (1u << 9)

struct multiboot_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
	uint32_t drives_length, drives_addr, config_table, boot_loader_name;
} __attribute__((packed));

struct multiboot_mmap_entry {
	uint32_t size; /* of the rest of the entry */
	uint64_t addr, len;
	uint32_t type;
} __attribute__((packed));

const char guest_name[] = "demo";

static uint8_t ap_stacks[MAX_CPUS][AP_STACK_SIZE] __attribute__((aligned(16)));
static bool ap_seen[MAX_CPUS];
static volatile unsigned int ticks;
static bool timer_running;

static void copy_register(char *dst, uint32_t value)
{
	for (int i = 0; i < 4; i++)
		dst[i] = (char)(value >> (8 * i));
}

static bool streq(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

static void show_cpu(void)
{
	struct cpuid_regs r = cpuid(0, 0);
	char vendor[13] = {0}, brand[49] = {0}, signature[13] = {0};
	const char *b = brand;

	copy_register(vendor, r.ebx);
	copy_register(vendor + 4, r.edx);
	copy_register(vendor + 8, r.ecx);
	print("CPU vendor:   %s\n", vendor);

	if (cpuid(0x80000000, 0).eax >= 0x80000004) {
		for (uint32_t i = 0; i < 3; i++) {
			r = cpuid(0x80000002 + i, 0);
			copy_register(brand + 16 * i, r.eax);
			copy_register(brand + 16 * i + 4, r.ebx);
			copy_register(brand + 16 * i + 8, r.ecx);
			copy_register(brand + 16 * i + 12, r.edx);
		}
		while (*b == ' ')
			b++;
		print("CPU brand:    %s\n", *b ? b : "(empty: the VMM sets no brand string)");
	}

	/* CPUID.1:ECX bit 31: a hypervisor is present and leaf 0x40000000 names it. */
	if (cpuid(1, 0).ecx & (1u << 31)) {
		r = cpuid(0x40000000, 0);
		copy_register(signature, r.ebx);
		copy_register(signature + 4, r.ecx);
		copy_register(signature + 8, r.edx);
		print("Hypervisor:   \"%s\" (CPUID 0x40000000, leaves up to 0x%x)\n", signature,
		      r.eax);
	} else {
		print("Hypervisor:   none announced (CPUID.1:ECX bit 31 clear)\n");
	}
}

static void fw_cfg_read(uint16_t key, void *buffer, unsigned int length)
{
	uint8_t *p = buffer;

	outw(FW_CFG_SELECTOR, key);
	for (unsigned int i = 0; i < length; i++)
		p[i] = inb(FW_CFG_DATA);
}

/* 0 when there is no fw_cfg (its ports then read as 0xFF). */
static unsigned int fw_cfg_cpu_count(void)
{
	char signature[5] = {0};
	uint8_t count[2];

	fw_cfg_read(FW_CFG_SIGNATURE, signature, 4);
	if (!streq(signature, "QEMU"))
		return 0;
	fw_cfg_read(FW_CFG_NB_CPUS, count, sizeof(count));
	return count[0] | (unsigned int)count[1] << 8;
}

static void ap_main(void)
{
	uint32_t id = lapic_id();

	if (id < MAX_CPUS)
		__atomic_store_n(&ap_seen[id], true, __ATOMIC_RELEASE);
}

static bool wait_for_ap(uint32_t id)
{
	uint64_t start = rdtsc();
	uint64_t timeout = tsc_from_us(AP_ONLINE_TIMEOUT_US);

	while (!__atomic_load_n(&ap_seen[id], __ATOMIC_ACQUIRE)) {
		if (rdtsc() - start > timeout)
			return false;
		cpu_relax();
	}
	return true;
}

/* APIC IDs are assumed to be 0..n-1, as the engine and QEMU number them. */
static void start_cpus(void)
{
	unsigned int n = fw_cfg_cpu_count(), running = 1;
	uint32_t bsp = lapic_id();

	if (n == 0) {
		print("CPUs:         no fw_cfg at ports 0x510/0x511, so only the boot CPU is used\n");
		return;
	}
	if (n > MAX_CPUS)
		n = MAX_CPUS;
	print("CPUs:         fw_cfg reports %u; boot CPU has APIC ID %u\n", n, bsp);
	for (uint32_t id = 0; id < n; id++) {
		if (id == bsp)
			continue;
		if (!ap_start(id, ap_main, ap_stacks[id] + AP_STACK_SIZE)) {
			print("              CPU %u: the LAPIC did not deliver INIT/SIPI\n", id);
			continue;
		}
		if (wait_for_ap(id)) {
			print("              CPU %u: started, reached 64-bit C code\n", id);
			running++;
		} else {
			print("              CPU %u: no answer within %u ms\n", id,
			      AP_ONLINE_TIMEOUT_US / 1000);
		}
	}
	print("              %u of %u CPUs running\n", running, n);
}

static const char *memory_type_name(uint32_t type)
{
	switch (type) {
	case 1:
		return "usable";
	case 2:
		return "reserved";
	case 3:
		return "ACPI reclaimable";
	case 4:
		return "ACPI NVS";
	case 5:
		return "bad";
	default:
		return "other";
	}
}

static void print_size(uint64_t bytes)
{
	if (bytes >= (1u << 20) && bytes % (1u << 20) == 0)
		print("%lu MiB", bytes >> 20);
	else
		print("%lu KiB", bytes >> 10);
}

static void show_memory(void)
{
	const struct multiboot_info *mbi =
		(const struct multiboot_info *)(uintptr_t)boot_loader_info;
	uint64_t usable = 0;

	if (boot_loader_magic != 0x2BADB002 || !mbi) {
		print("Memory:       no multiboot information\n");
		return;
	}
	if (mbi->flags & MBI_FLAG_LOADER_NAME)
		print("Loaded by:    %s (multiboot)\n",
		      (const char *)(uintptr_t)mbi->boot_loader_name);
	if (!(mbi->flags & MBI_FLAG_MMAP)) {
		if (mbi->flags & MBI_FLAG_MEMORY)
			print("Memory:       %u KiB low, %u KiB from 1 MiB (no memory map)\n",
			      mbi->mem_lower, mbi->mem_upper);
		return;
	}
	print("Memory map:\n");
	for (uint32_t offset = 0; offset < mbi->mmap_length;) {
		const struct multiboot_mmap_entry *e =
			(const void *)(uintptr_t)(mbi->mmap_addr + offset);

		print("  0x%lx-0x%lx  %s, ", e->addr, e->addr + e->len - 1,
		      memory_type_name(e->type));
		print_size(e->len);
		print("\n");
		if (e->type == 1)
			usable += e->len;
		offset += e->size + sizeof(e->size);
	}
	print("  usable in all: ");
	print_size(usable);
	print("\n");
}

static void timer_interrupt(struct trap_frame *frame)
{
	(void)frame;
	ticks++;
	lapic_eoi();
}

/* Polls with a TSC bound for the first tick, so a timer that never fires cannot hang HLT. */
static bool timer_start(void)
{
	uint64_t start, timeout = tsc_from_us(FIRST_TICK_TIMEOUT_US);

	pic_disable();
	trap_set_handler(TIMER_VECTOR, timer_interrupt, 0);
	lapic_write(LAPIC_TIMER_DIVIDE, LAPIC_TIMER_DIVIDE_BY_16);
	lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_TIMER_PERIODIC | TIMER_VECTOR);
	lapic_write(LAPIC_TIMER_INITIAL, TIMER_INITIAL_COUNT);
	start = rdtsc();
	interrupts_enable();
	while (ticks == 0 && rdtsc() - start < timeout)
		cpu_relax();
	interrupts_disable();
	return ticks != 0;
}

/* One timer period in HLT, or a TSC delay when the timer does not work. */
static void wait_one_tick(void)
{
	unsigned int before = ticks;

	if (!timer_running) {
		tsc_delay_us(TICK_MS * 1000);
		ticks++;
		return;
	}
	while (ticks == before)
		interrupts_enable_and_halt();
}

static void show_timer(void)
{
	const char *why;

	if (!lapic_enable(&why)) {
		print("LAPIC timer:  not usable: %s\n", why);
		return;
	}
	timer_running = timer_start();
	if (!timer_running) {
		print("LAPIC timer:  no interrupt within %u ms; going on without it\n",
		      FIRST_TICK_TIMEOUT_US / 1000);
		return;
	}
	print("LAPIC timer:  periodic, vector 0x%x, every %u ms:", TIMER_VECTOR, TICK_MS);
	for (int dot = 0; dot < DOTS_SHOWN; dot++) {
		for (int i = 0; i < TICKS_PER_DOT; i++)
			wait_one_tick();
		print(" tick");
	}
	print(" (%u interrupts)\n", ticks);
}

static noreturn void goodbye(void)
{
	print("Goodbye from the Hangar demo guest.\n");
	guest_exit(GUEST_EXIT_PASS);
}

/* Line editing for a raw terminal: Enter arrives as CR, Backspace as DEL. */
static void echo_loop(void)
{
	static char line[LINE_MAX];
	unsigned int length = 0, start = ticks;
	bool any_input = false, after_cr = false;
	int escape = 0; /* 1 after ESC, 2 inside an ESC [ ... sequence (arrow keys) */

	print("\nType a line and press Enter (Ctrl-A x quits the engine, 'exit' ends the "
	      "demo):\n> ");
	for (;;) {
		while (inb(COM1 + UART_LSR) & LSR_DATA_READY) {
			char c = (char)inb(COM1 + UART_RBR);
			bool cr = c == '\r';

			any_input = true;
			if (escape == 1) {
				escape = c == '[' || c == 'O' ? 2 : 0;
			} else if (escape == 2) {
				if (c >= 0x40 && c <= 0x7E) /* final byte */
					escape = 0;
			} else if (c == KEY_ESCAPE) {
				escape = 1;
			} else if (c == '\r' || (c == '\n' && !after_cr)) {
				line[length] = '\0';
				print("\n");
				if (streq(line, "exit"))
					goodbye();
				print("you typed: %s\n> ", line);
				length = 0;
			} else if (c == KEY_DELETE || c == KEY_BACKSPACE) {
				if (length) {
					length--;
					print("\b \b");
				}
			} else if (c == KEY_CTRL_C) {
				length = 0;
				print("^C\n> ");
			} else if (c >= ' ' && c < KEY_DELETE && length < LINE_MAX - 1) {
				line[length++] = c;
				serial_putc(c);
			}
			after_cr = cr;
		}
		if (!any_input && (ticks - start) * TICK_MS >= NO_INPUT_TIMEOUT_MS) {
			print("\nNo input for %u s (stdin is not a terminal?): ending the demo.\n",
			      NO_INPUT_TIMEOUT_MS / 1000);
			goodbye();
		}
		wait_one_tick();
	}
}

void guest_main(void)
{
	print("\nHangar demo guest: a tiny 64-bit kernel running in hangar-engine\n");
	print("Running in 64-bit long mode at CPL %u.\n\n", current_privilege_level());
	show_cpu();
	show_memory();
	show_timer();
	start_cpus();
	echo_loop();
}
