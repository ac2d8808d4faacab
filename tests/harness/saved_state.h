/* Helpers for the save/load tests every device has: read or edit one
 * device's record in a saved state directory, and run an engine that
 * restores it to see it refuse. */
#pragma once

#include <glib.h>

/* The record (a{sv}) that dir/state holds for device; fails the test if
 * there is none.  Free with g_variant_unref. */
GVariant *hg_test_saved_record(const char *dir, const char *device);
/* Rewrite dir/state with device's record changed: key set to value (a
 * floating or owned GVariant), or removed when value is NULL. */
void hg_test_edit_saved_record(const char *dir, const char *device, const char *key,
			       GVariant *value);
/* The same with value in GVariant text format ("byte 0x10", "@ay [1, 2]"),
 * as the corrupt-record tables spell it; NULL removes the key.  Says what
 * it changed in a test message. */
void hg_test_edit_saved_record_text(const char *dir, const char *device, const char *key,
				    const char *value);
/* Run hangar-engine --test-harness SOCKET args (NULL-terminated) and wait
 * for it to exit by itself, as an engine that refuses its command line or
 * its saved state does; returns its exit status and, in *err, what it
 * printed on stderr.  Fails the test if it has not exited within 10 s. */
int hg_test_run_engine_expect_exit(const char *const *args, char **err);
/* Run hangar-engine --test-harness --restore dir with extra options
 * (NULL-terminated, may be NULL); returns its exit status and, in *err,
 * what it printed on stderr.  Fails the test if it has not exited within
 * 10 s (a restore must never hang). */
int hg_test_run_restore(const char *dir, const char *const *extra, char **err);
/* Run the restore and fail the test unless the engine refuses it: exit
 * status 10 (HG_EXIT_RESTORE_FAILED) and a message naming name (the
 * device's record, a file, ...) and saying why; either may be NULL. */
void hg_test_expect_restore_refused(const char *dir, const char *const *extra, const char *name,
				    const char *why);
