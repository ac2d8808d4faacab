// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * demo: the guest that tools/quickstart.sh boots where /dev/kvm is kvm_pvm:
 *
 *   hangar-engine --kernel guest-demo.elf --memory 64 --cpus 2 --serial stdio --debug-exit
 *
 * It shows what a guest sees of the machine (CPUID vendor, brand and hypervisor leaves, the
 * CPU count from fw_cfg with every other CPU started through INIT-SIPI-SIPI, the multiboot
 * memory map, the LAPIC timer ticking), then echoes lines typed on COM1. Everything it prints
 * goes to COM1 and to the VGA's 80x25 text screen (lib/vga_text.c sets up mode 3 and a font,
 * since no VGA BIOS runs before a --kernel guest), so a display client shows the report too.
 * It is a demo, not a test: it reports what it finds and never fails on it.
 *
 * How it ends depends on the multiboot command line (the engine's --append):
 *   - without "stay" (a terminal, CI): "exit" ends it through debug-exit 0 (engine status 1);
 *     so does 30 s without any input (stdin not a terminal). The power button is not looked at.
 *   - with "stay" (a VM in the app): no idle timeout. It decodes the PIIX4 PM block at 0x600
 *     if nobody did (PMBA and PMIOSE, as firmware would) and polls PWRBTN_STS each tick: the
 *     ACPI power button (control command system_powerdown) powers it off through S5 (SLP_TYP
 *     0, as the DSDT's \_S5 says, with SLP_EN), and the engine exits with status 0. "exit" does
 *     debug-exit 0 as before, and powers off through S5 where there is no debug-exit port.
 *
 * CPL0 code runs in the host's instruction emulator on kvm_pvm, so the waiting is done in HLT:
 * the LAPIC timer wakes the CPU every 10 ms to poll the UART and (with "stay") PM1a_STS: a few
 * hundred emulated instructions, one or two port reads and the EOI a tick.
 */
#include <stdbool.h>

#include "lib/ap-start.h"
#include "lib/guest.h"
#include "lib/lapic.h"
#include "lib/pic.h"
#include "lib/print.h"
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

/* PCI configuration mechanism #1 (PCI Local Bus Specification 3.0, 3.2.2.3.2). */
#define PCI_CONFIG_ADDRESS 0xCF8
#define PCI_CONFIG_DATA 0xCFC
#define PCI_CONFIG_ENABLE 0x80000000u

/*
 * PIIX4 power management, 00:01.3 (Intel 82371AB datasheet 7.1, 7.2; ACPI 6.5, 4.8.3): PMBA
 * (config 0x40, bits 15:6) places the 64-byte PM I/O block, decoded while PMIOSE (config 0x80
 * bit 0) is set. No firmware runs before a --kernel guest, so both are still at their reset
 * values; 0x600 is where SeaBIOS puts the block.
 */
#define PIIX4_PM_DEVFN ((1u << 3) | 3)
#define PIIX4_PM_ID 0x71138086u /* device << 16 | vendor */
#define PIIX4_PMBA 0x40
#define PIIX4_PMBA_MASK 0xFFC0u
#define PIIX4_PMREGMISC 0x80
#define PIIX4_PMIOSE 0x01u
#define PM_BLOCK_BASE 0x600
#define PM1_STS 0x00
#define PM1_STS_PWRBTN 0x0100u
#define PM1_CNT 0x04
#define PM1_CNT_SLP_TYP_SHIFT 10
#define PM1_CNT_SLP_EN 0x2000u
#define SLP_TYP_S5 0 /* \_S5 in the engine's DSDT (devices/acpi/dsdt.c) is {0, 0} */
#define POWER_OFF_TIMEOUT_US 2000000

#define DEBUG_EXIT_PORT 0xF4

/* Multiboot command line words. */
#define CMDLINE_STAY "stay"

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
#define MBI_FLAG_CMDLINE (1u << 2)
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
static bool stay; /* "stay" on the command line */
static uint16_t pm_block; /* PIIX4 PM I/O base; 0: no power button, no S5 */

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

static const struct multiboot_info *multiboot_info(void)
{
	if (boot_loader_magic != 0x2BADB002 || !boot_loader_info)
		return 0;
	return (const struct multiboot_info *)(uintptr_t)boot_loader_info;
}

/* Whether word is one of the command line's space-separated words. */
static bool cmdline_has_word(const char *cmdline, const char *word)
{
	const char *p = cmdline;

	while (*p) {
		const char *w = word;

		while (*p == ' ')
			p++;
		while (*w && *p == *w) {
			p++;
			w++;
		}
		if (!*w && (*p == ' ' || *p == '\0'))
			return true;
		while (*p && *p != ' ')
			p++;
	}
	return false;
}

static void read_cmdline(void)
{
	const struct multiboot_info *mbi = multiboot_info();
	const char *cmdline;

	if (!mbi || !(mbi->flags & MBI_FLAG_CMDLINE) || !mbi->cmdline)
		return;
	cmdline = (const char *)(uintptr_t)mbi->cmdline;
	if (*cmdline)
		print("Command line: %s\n", cmdline);
	stay = cmdline_has_word(cmdline, CMDLINE_STAY);
}

static uint32_t pci_read(unsigned int devfn, unsigned int reg)
{
	outl(PCI_CONFIG_ADDRESS, PCI_CONFIG_ENABLE | devfn << 8 | reg);
	return inl(PCI_CONFIG_DATA);
}

static void pci_write(unsigned int devfn, unsigned int reg, uint32_t value)
{
	outl(PCI_CONFIG_ADDRESS, PCI_CONFIG_ENABLE | devfn << 8 | reg);
	outl(PCI_CONFIG_DATA, value);
}

/* The PM I/O block where it is, or decoded at PM_BLOCK_BASE as firmware would. */
static void setup_power_button(void)
{
	uint32_t base, misc;
	bool programmed = false;

	if (pci_read(PIIX4_PM_DEVFN, 0) != PIIX4_PM_ID) {
		print("ACPI:         no PIIX4 PM at 00:01.3: no power button, no S5\n");
		return;
	}
	base = pci_read(PIIX4_PM_DEVFN, PIIX4_PMBA) & PIIX4_PMBA_MASK;
	misc = pci_read(PIIX4_PM_DEVFN, PIIX4_PMREGMISC);
	if (!base || !(misc & PIIX4_PMIOSE)) {
		if (!base)
			base = PM_BLOCK_BASE;
		pci_write(PIIX4_PM_DEVFN, PIIX4_PMBA, base);
		pci_write(PIIX4_PM_DEVFN, PIIX4_PMREGMISC, misc | PIIX4_PMIOSE);
		programmed = true;
	}
	pm_block = (uint16_t)base;
	print("ACPI:         PM block at 0x%x%s, power button polled\n", base,
	      programmed ? " (no firmware: decoded here)" : "");
}

static noreturn void power_off(void)
{
	uint64_t start = rdtsc(), timeout = tsc_from_us(POWER_OFF_TIMEOUT_US);

	outw(pm_block + PM1_CNT, SLP_TYP_S5 << PM1_CNT_SLP_TYP_SHIFT | PM1_CNT_SLP_EN);
	/* The engine stops the vCPUs from its main thread, a moment after the write. */
	while (rdtsc() - start < timeout)
		cpu_relax();
	print("S5 did not power the machine off within %u ms.\n", POWER_OFF_TIMEOUT_US / 1000);
	guest_exit(GUEST_EXIT_FAIL);
}

static bool power_button_pressed(void)
{
	return pm_block && (inw(pm_block + PM1_STS) & PM1_STS_PWRBTN);
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
	const struct multiboot_info *mbi = multiboot_info();
	uint64_t usable = 0;

	if (!mbi) {
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

/* Debug-exit 0 where the engine has the port (status 1); else, with "stay", S5. */
static noreturn void goodbye(void)
{
	print("Goodbye from the Hangar demo guest.\n");
	if (pm_block) {
		outb(DEBUG_EXIT_PORT, GUEST_EXIT_PASS);
		power_off();
	}
	guest_exit(GUEST_EXIT_PASS);
}

/* Line editing for a raw terminal: Enter arrives as CR, Backspace as DEL. */
static void echo_loop(void)
{
	static char line[LINE_MAX];
	unsigned int length = 0, start = ticks;
	bool any_input = false, after_cr = false;
	int escape = 0; /* 1 after ESC, 2 inside an ESC [ ... sequence (arrow keys) */

	if (stay)
		print("\nType a line and press Enter ('exit' or the power button ends the "
		      "demo):\n> ");
	else
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
				print("%c", c);
			}
			after_cr = cr;
		}
		if (power_button_pressed()) {
			print("\nPower button pressed: powering off\n");
			power_off();
		}
		if (!stay && !any_input && (ticks - start) * TICK_MS >= NO_INPUT_TIMEOUT_MS) {
			print("\nNo input for %u s (stdin is not a terminal?): ending the demo.\n",
			      NO_INPUT_TIMEOUT_MS / 1000);
			goodbye();
		}
		wait_one_tick();
	}
}

void guest_main(void)
{
	bool screen = print_mirror_to_vga(true);

	print("\nHangar demo guest: a tiny 64-bit kernel running in hangar-engine\n");
	print("Running in 64-bit long mode at CPL %u.\n", current_privilege_level());
	print(screen ? "Output goes to COM1 and to the VGA text screen.\n\n"
		     : "Output goes to COM1 (no VGA found).\n\n");
	read_cmdline();
	show_cpu();
	show_memory();
	show_timer();
	start_cpus();
	if (stay)
		setup_power_button();
	echo_loop();
}
