/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Running guest code at CPL3. On kvm_pvm hosts (see /work/shared/FACTS.md and README.md) only
 * 64-bit CPL3 code runs natively; CPL0 code is emulated about 5000 times slower. Any guest that
 * loops, spins or touches much memory should do it in a user_run() callback.
 *
 * The callback runs on a static user stack with every page user-accessible and every I/O port
 * allowed (so print() and guest_exit() work), with IF as the caller had it. It must not use
 * CLI/STI or HLT: IOPL may read as 0 at CPL3 (see trap.c). Interrupts taken at CPL3 go to the
 * handlers of trap.h on the TSS stack and come back. user_run() owns the breakpoint vector.
 */
#ifndef GUEST_USER_H
#define GUEST_USER_H

#include <stdint.h>

typedef uint64_t (*user_fn)(uint64_t arg);

/* Runs fn(arg) at CPL3 and returns its result at CPL0. Not reentrant; BSP only. */
uint64_t user_run(user_fn fn, uint64_t arg);

#endif
