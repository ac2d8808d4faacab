/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Interrupt entry stubs: one per vector, 16 bytes apart so that trap.c finds stub N at
 * isr_stubs + 16 * N. Each stub makes the stack look the same (a dummy error code where the CPU
 * pushes none; Intel SDM Vol. 3A, "Exception and Interrupt Reference" lists which do) and adds
 * its vector, then isr_common saves the registers as struct trap_frame and calls
 * trap_dispatch(). The longest stub (dummy push, 5-byte push, 5-byte jmp) has 12 bytes.
 */
	.text
	.code64
	.balign	16
	.globl	isr_stubs
isr_stubs:
	.set	vector, 0
	.rept	256
	.balign	16
	.if	!(vector == 8 || (vector >= 10 && vector <= 14) || vector == 17 || vector == 21 || vector == 29 || vector == 30)
	pushq	$0
	.endif
	pushq	$vector
	jmp	isr_common
	.set	vector, vector + 1
	.endr

	/*
	 * The CPU aligned RSP to 16 before pushing its 5-word frame; with the error code, the
	 * vector and 15 registers the total is 22 words, so RSP is 16-aligned for the call.
	 */
isr_common:
	pushq	%rax
	pushq	%rbx
	pushq	%rcx
	pushq	%rdx
	pushq	%rsi
	pushq	%rdi
	pushq	%rbp
	pushq	%r8
	pushq	%r9
	pushq	%r10
	pushq	%r11
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	cld
	movq	%rsp, %rdi
	call	trap_dispatch
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rbp
	popq	%rdi
	popq	%rsi
	popq	%rdx
	popq	%rcx
	popq	%rbx
	popq	%rax
	addq	$16, %rsp
	iretq
