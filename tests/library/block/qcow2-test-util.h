/* Shared by the library/block tests: scratch folders, running QEMU's tools
 * (qemu-img, qemu-io), a seeded PRNG, whole-image reads and file hashes. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "library/block/block.h"

#define QT_SKIP_WITHOUT_QEMU()                                                                     \
	do {                                                                                       \
		if (!qt_have_qemu()) {                                                             \
			g_test_skip("qemu-img and qemu-io (Debian package qemu-utils) are "        \
				    "not installed");                                              \
			return;                                                                    \
		}                                                                                  \
	} while (0)

bool qt_have_qemu(void);
char *qt_make_dir(void);
void qt_remove_dir(const char *dir);

/* A test fixture that is a scratch folder, removed after the test. */
typedef struct {
	char *dir;
} QtFixture;
void qt_fixture_set_up(QtFixture *f, gconstpointer data);
void qt_fixture_tear_down(QtFixture *f, gconstpointer data);
/* A file name in the fixture's folder. */
char *qt_in_dir(QtFixture *f, const char *name);
/* Runs a command line (split as the shell would, no shell features); the
 * exit status, -1 if it did not exit normally.  *output gets stdout and
 * stderr when output is not NULL. */
G_GNUC_PRINTF(2, 3) int qt_run(char **output, const char *format, ...);
/* The same, failing the test unless the status is 0. */
G_GNUC_PRINTF(1, 2) void qt_run_ok(const char *format, ...);
/* qemu-img check: 0 clean, 3 leaks only, 2 corruption, ... */
int qt_qemu_img_check(const char *path, char **output);
void qt_assert_check_clean(const char *path);
void qt_assert_images_equal(const char *a, const char *b);

uint64_t qt_random(uint64_t *state);
uint64_t qt_random_below(uint64_t *state, uint64_t bound);
void qt_random_fill(uint64_t *state, uint8_t *buf, size_t len);

HgBlockBackend *qt_open(const char *path, bool read_only);
uint8_t *qt_read_all(HgBlockBackend *blk);
char *qt_file_hash(const char *path);
void qt_assert_content(HgBlockBackend *blk, const uint8_t *expected, uint64_t len);
