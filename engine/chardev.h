/* Character backends: the host end of a serial port.  A spec string picks
 * one: "stdio" (the terminal, raw when it is a tty, Ctrl-A x quits),
 * "file:PATH" (output only), "unix:PATH" (a listening socket; one client at
 * a time; output made while no client is connected is kept, up to a limit,
 * and sent when one connects; "unix:PATH,wait" also holds the guest until the
 * first client connects; ",log=FILE" also copies all output to FILE, rotated
 * to FILE.old at 128 KiB, so it outlives the engine), "none". */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct HgChardev HgChardev;

typedef struct {
	/* How many bytes the device can take now (main thread). */
	size_t (*can_receive)(void *opaque);
	void (*receive)(void *opaque, const uint8_t *buf, size_t len);
} HgChardevHandlers;

HgChardev *hg_chardev_new(const char *spec, GError **error);
void hg_chardev_free(HgChardev *chr);
/* Input handlers run on the main thread; they take the device lock. */
void hg_chardev_set_handlers(HgChardev *chr, const HgChardevHandlers *h, void *opaque);
/* Output from any thread.  Never blocks on a socket peer. */
void hg_chardev_write(HgChardev *chr, const uint8_t *buf, size_t len);
/* The device has room again: deliver input that is waiting. */
void hg_chardev_accept_input(HgChardev *chr);
/* unix:PATH,wait with no client yet: the guest must not start. */
bool hg_chardev_waiting_for_client(HgChardev *chr);
/* Called once, when that first client connects (main thread). */
void hg_chardev_set_connect_handler(HgChardev *chr, void (*connected)(void *), void *opaque);
/* Called when the user types the quit escape on stdio. */
void hg_chardev_set_quit_handler(HgChardev *chr, void (*quit)(void *), void *opaque);
