/* A 512-byte boot sector for the firmware tests: SeaBIOS loads it at 0x7C00
 * (from a disk's MBR, or as a no-emulation El Torito image) and jumps to it
 * with the boot drive in DL.  It prints "HANGAR-BOOT-OK <name> drive XX" on
 * COM1 (the name, BOOT_NAME, tells two test disks apart)
 * and powers the machine off through the PIIX4 power management block
 * wherever the firmware put it (PMBA, PCI 00:01.3 register 0x40): PM1a_CNT
 * at PMBA+4 gets SLP_TYP 0 (the DSDT's S5) with SLP_EN.  If that returns,
 * debug-exit (if present) ends the engine with status 0x21.
 * Built with WAIT_FOR_POWER_BUTTON, it first waits, halted between timer
 * interrupts, until the ACPI power button is pressed (PWRBTN_STS, bit 8 of
 * PM1a_STS at PMBA+0, is set whatever PWRBTN_EN says) and prints
 * "HANGAR-POWER-BUTTON": a guest that shuts down when asked, for the app's
 * tests. */
	.code16
	.section .text
	.globl _start
_start:
	cli
	xor	%ax, %ax
	mov	%ax, %ds
	mov	%ax, %ss
	mov	$0x7c00, %sp
	ljmp	$0, $1f			/* CS:IP = 0:7C00-based, whatever the loader used */
1:
	mov	%dl, %bh		/* keep the boot drive */
	mov	$message, %si
	call	print
	mov	%bh, %al
	shr	$4, %al
	call	print_hex_digit
	mov	%bh, %al
	call	print_hex_digit
	mov	$newline, %si
	call	print

	mov	$0xcf8, %dx
	mov	$0x80000b40, %eax	/* bus 0, device 1, function 3, PMBA */
	out	%eax, %dx
	mov	$0xcfc, %dx
	in	%dx, %eax
	and	$0xffc0, %ax
#ifdef WAIT_FOR_POWER_BUTTON
	mov	%ax, %bx		/* PMBA */
5:	sti
	hlt				/* until the next timer tick */
	cli
	mov	%bx, %dx
	in	%dx, %ax		/* PM1a_STS */
	test	$0x100, %ax
	jz	5b
	mov	$power_button, %si
	call	print
	mov	%bx, %ax
#endif
	add	$4, %ax			/* PM1a_CNT */
	mov	%ax, %dx
	mov	$0x2000, %ax		/* SLP_EN, SLP_TYP 0 */
	out	%ax, %dx
	mov	$0xf4, %dx
	mov	$0x10, %al
	out	%al, %dx
2:	hlt
	jmp	2b

/* Print the NUL-terminated string at DS:SI. */
print:
	lodsb
	test	%al, %al
	jz	3f
	call	putc
	jmp	print
3:	ret

print_hex_digit:
	and	$0x0f, %al
	add	$'0', %al
	cmp	$'9', %al
	jbe	putc
	add	$('a' - '9' - 1), %al
	/* fall through */

/* Send AL to COM1 once the transmitter holding register is empty. */
putc:
	push	%ax
	mov	$0x3fd, %dx
4:	in	%dx, %al
	test	$0x20, %al
	jz	4b
	pop	%ax
	mov	$0x3f8, %dx
	out	%al, %dx
	ret

#ifndef BOOT_NAME
#define BOOT_NAME "disk"
#endif
message:
	.asciz	"HANGAR-BOOT-OK " BOOT_NAME " drive "
newline:
	.asciz	"\r\n"
#ifdef WAIT_FOR_POWER_BUTTON
power_button:
	.asciz	"HANGAR-POWER-BUTTON\r\n"
#endif

	.org	510
	.word	0xaa55
