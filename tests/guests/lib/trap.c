// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Intel SDM Vol. 3A, "Interrupt and Exception Handling": 64-bit IDT gate descriptors
 * ("64-Bit Mode IDT"), and the 64-bit TSS ("Task Management in 64-bit Mode"), whose RSP0 is the
 * stack the CPU switches to when an interrupt arrives at CPL3.
 *
 * The TSS also carries an I/O permission bitmap that allows every port (SDM Vol. 1, "I/O
 * Permission Bit Map"). IOPL=3 alone should let CPL3 code use IN/OUT, but kvm_pvm's emulated
 * IRETQ drops IOPL (RFLAGS reads IOPL=0 at CPL3 there), while it does honour the bitmap.
 */
#include <stdbool.h>
#include <stdnoreturn.h>

#include "guest.h"
#include "layout.h"
#include "print.h"
#include "trap.h"
#include "x86.h"

#define GATE_INTERRUPT_64 0x8E /* present, DPL 0, 64-bit interrupt gate: IF cleared on entry */
#define GATE_DPL_SHIFT 5
#define TSS_AVAILABLE_64 0x89	/* present, DPL 0, available 64-bit TSS */
#define ISR_STUB_SIZE 16	/* lib/isr.S */
#define ERROR_CODE_IDT (1 << 1) /* the error code names an IDT slot (SDM "Error Code") */

struct idt_gate {
	uint16_t offset_low;
	uint16_t selector;
	uint8_t ist;
	uint8_t type;
	uint16_t offset_middle;
	uint32_t offset_high;
	uint32_t reserved;
} __attribute__((packed));

struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t io_map_base;
	uint8_t io_map[65536 / 8]; /* one bit per port, clear = allowed */
	uint8_t io_map_end;	   /* must be all ones */
} __attribute__((packed));

struct descriptor_pointer {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

extern char isr_stubs[];
extern uint64_t gdt[GDT_ENTRIES];

static struct idt_gate idt[256] __attribute__((aligned(16)));
static trap_handler_fn handlers[256];
static struct tss64 tss __attribute__((aligned(16)));
static uint8_t trap_stack[TRAP_STACK_SIZE] __attribute__((aligned(16)));

static const char *const exception_names[32] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "",	  "#TS",
    "#NP", "#SS", "#GP", "#PF", "",    "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
};

static void set_gate(uint8_t vector, unsigned int dpl)
{
	uint64_t target = (uint64_t)(isr_stubs + vector * ISR_STUB_SIZE);

	idt[vector] = (struct idt_gate){
	    .offset_low = (uint16_t)target,
	    .selector = GDT_KERNEL_CODE64,
	    .type = GATE_INTERRUPT_64 | (dpl << GATE_DPL_SHIFT),
	    .offset_middle = (uint16_t)(target >> 16),
	    .offset_high = (uint32_t)(target >> 32),
	};
}

static void tss_load(void)
{
	uint64_t base = (uint64_t)&tss;
	uint64_t limit = sizeof(tss) - 1;

	tss.rsp[0] = (uint64_t)(trap_stack + sizeof(trap_stack));
	tss.io_map_base = __builtin_offsetof(struct tss64, io_map);
	tss.io_map_end = 0xFF;

	/* SDM Vol. 3A, "TSS Descriptor in 64-bit mode": a 16-byte system descriptor. */
	gdt[GDT_TSS / 8] = (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) |
			   ((uint64_t)TSS_AVAILABLE_64 << 40) | (((limit >> 16) & 0xF) << 48) |
			   (((base >> 24) & 0xFF) << 56);
	gdt[GDT_TSS / 8 + 1] = base >> 32;
	__asm__ volatile("ltr %w0" : : "r"(GDT_TSS));
}

void trap_load_idt(void)
{
	struct descriptor_pointer pointer = {
	    .limit = sizeof(idt) - 1,
	    .base = (uint64_t)idt,
	};

	__asm__ volatile("lidt %0" : : "m"(pointer));
}

void trap_init(void)
{
	/* Only 32 gates: each store is an emulated instruction until we reach CPL3. */
	for (int vector = 0; vector < 32; vector++)
		set_gate(vector, 0);
	tss_load();
	trap_load_idt();
}

void trap_set_handler(uint8_t vector, trap_handler_fn handler, unsigned int dpl)
{
	handlers[vector] = handler;
	set_gate(vector, dpl);
}

noreturn void trap_report_unexpected(const struct trap_frame *frame)
{
	print("FAIL: %s: ", guest_name);
	if ((frame->vector == 11 || frame->vector == 13) && (frame->error_code & ERROR_CODE_IDT)) {
		print("interrupt on vector 0x%lx, which has no handler", frame->error_code >> 3);
	} else if (frame->vector < 32) {
		const char *name = exception_names[frame->vector];

		print("exception %lu %s error 0x%lx", frame->vector, name ? name : "",
		      frame->error_code);
		if (frame->vector == 14)
			print(" cr2 0x%lx", read_cr2());
	} else {
		print("interrupt on vector 0x%lx, which has no handler", frame->vector);
	}
	print(" at rip 0x%lx cpl %lu rflags 0x%lx\n", frame->rip, frame->cs & 3, frame->rflags);
	guest_exit(GUEST_EXIT_CRASH);
}

void trap_dispatch(struct trap_frame *frame);

void trap_dispatch(struct trap_frame *frame)
{
	trap_handler_fn handler = handlers[frame->vector & 0xFF];

	if (handler) {
		handler(frame);
		return;
	}
	trap_report_unexpected(frame);
}
