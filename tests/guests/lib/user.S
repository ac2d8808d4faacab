/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The CPL3 drop (see user.c for why guests want it).
 *
 * user_enter(fn, arg, stack_top) saves the callee-saved registers and RSP, then IRETQs to
 * user_trampoline at CPL3 with IOPL=3 (Intel SDM Vol. 1, "I/O Privilege Level"; the TSS I/O
 * bitmap in trap.c covers hosts that drop it) and the caller's IF. The trampoline calls
 * fn(arg) and executes INT3 with the result in RAX; the breakpoint handler in user.c sees the
 * INT3 at user_trampoline_return and calls user_resume_kernel(), which drops the trap frame and
 * returns from user_enter() with the result. INT3 rather than INT n: kvm_pvm turns any other
 * INT n at CPL3 into #UD.
 */
#include "x86.h"
#include "layout.h"

	.text
	.code64
	.globl	user_enter
user_enter:
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	movq	%rsp, user_kernel_rsp(%rip)

	pushfq
	popq	%rax
	andl	$X86_RFLAGS_IF, %eax
	orl	$(X86_RFLAGS_IOPL3 | X86_RFLAGS_FIXED), %eax

	/* IRETQ frame (SDM Vol. 2, IRET): SS, RSP, RFLAGS, CS, RIP. */
	pushq	$(GDT_USER_DATA | SELECTOR_RPL3)
	pushq	%rdx
	pushq	%rax
	pushq	$(GDT_USER_CODE64 | SELECTOR_RPL3)
	pushq	$user_trampoline
	iretq

	/* Runs at CPL3; RSP is 16-aligned here, as the ABI wants before a call. */
user_trampoline:
	movq	%rdi, %rax
	movq	%rsi, %rdi
	call	*%rax
	int3
	.globl	user_trampoline_return
user_trampoline_return:
	ud2

	.globl	user_resume_kernel
user_resume_kernel:
	/* The interrupt from CPL3 left null data selectors behind: restore ours. */
	movw	$GDT_KERNEL_DATA, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movq	user_kernel_rsp(%rip), %rsp
	movq	%rdi, %rax
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret

	.bss
	.balign	8
user_kernel_rsp:
	.quad	0
