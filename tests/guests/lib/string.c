// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * GCC may emit calls to these even with -ffreestanding (struct copies and initialisers).
 * Written as string instructions so that the compiler cannot turn them back into calls.
 */
#include <stddef.h>

void *memcpy(void *destination, const void *source, size_t size);
void *memset(void *destination, int value, size_t size);

void *memcpy(void *destination, const void *source, size_t size)
{
	void *d = destination;

	__asm__ volatile("rep movsb" : "+D"(d), "+S"(source), "+c"(size) : : "memory");
	return destination;
}

void *memset(void *destination, int value, size_t size)
{
	void *d = destination;

	__asm__ volatile("rep stosb" : "+D"(d), "+c"(size) : "a"(value) : "memory");
	return destination;
}
