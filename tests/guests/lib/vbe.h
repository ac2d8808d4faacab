/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The std-VGA (1234:1111 at 00:02.0) driven as a firmware-less driver does (Linux's bochs-drm):
 * BAR0 placed and decoded, the screen unblanked, a DISPI linear mode set. Shared by the
 * guests that draw into the framebuffer.
 */
#ifndef GUEST_VBE_H
#define GUEST_VBE_H

#include <stdint.h>

/* Put the framebuffer BAR at framebuffer and switch to width x height x 32 bpp with the linear
 * framebuffer enabled; fails the guest if there is no std-VGA. */
void vbe_set_linear_mode(uint64_t framebuffer, unsigned width, unsigned height);

/* Wait for any byte from the test on COM1, polling every poll_us; 0 after timeout_us. */
int serial_wait_for_byte(uint64_t timeout_us, uint64_t poll_us);

#endif
