/* Running the real engine on a test guest (tests/guests/) under KVM, for
 * the guest-kit tests: spawn, collect the serial output, wait for the exit
 * status, all with bounds so that a hung guest fails the test instead of
 * hanging it. */
#pragma once

#include <glib.h>
#include <stdbool.h>

typedef struct {
	GPid pid;
	char *dir; /* private directory: sockets, saved state */
	bool owns_dir; /* made here: removed when the run is freed */
	int serial_fd; /* connected to the engine's COM1 socket */
	GString *serial; /* everything read from COM1 so far */
	char *control_path;
	int control_fd;
	GString *control_pending;
	int status; /* wait status, once exited */
	bool exited;
} GuestRun;

/* Path of a built guest, from $HANGAR_GUEST_DIR. */
char *guest_path(const char *name);
/* Skip the current test (returns false) unless /dev/kvm is usable. */
bool guest_require_kvm(void);

/* Start hangar-engine with COM1 and the control socket in a private
 * directory, plus the given extra arguments (NULL-terminated). */
GuestRun *guest_run_start(const char *first_arg, ...) G_GNUC_NULL_TERMINATED;
GuestRun *guest_run_startv(const char *dir, const char *const *extra);
/* Read serial output until it contains needle or timeout_ms passes. */
bool guest_run_wait_output(GuestRun *r, const char *needle, int timeout_ms);
/* Wait for the engine to exit; returns the exit status, or -1 after
 * timeout_ms (the engine is then killed). */
int guest_run_wait_exit(GuestRun *r, int timeout_ms);
/* One control request line; returns the reply object's text. */
char *guest_run_control(GuestRun *r, const char *request);
void guest_run_kill(GuestRun *r);
void guest_run_free(GuestRun *r);
