/* What the import tests share: a scratch folder and library, qemu-img and
 * shell helpers, a test image, and the check that a refusal left nothing. */
#pragma once

#include <glib.h>

#include "library/import/import.h"
#include "library/vm/vm_library.h"

/* Set up by import_test_init; removed by import_test_finish. */
extern char *work;
extern HgVmLibrary *lib;

void import_test_init(const char *name);
void import_test_finish(void);

/* `tool ARGS...` (qemu-img, qemu-io), asserting success; its output. */
char *qemu(const char *tool, const char *first, ...) G_GNUC_NULL_TERMINATED;
/* A shell command, asserting success. */
void sh(const char *format, ...) G_GNUC_PRINTF(1, 2);
char *work_file(const char *name);
/* An 8 MiB raw image with data at a few places and holes between. */
char *make_raw(const char *name);
/* The VM's first disk. */
char *vm_disk(const HgVmEntry *entry);
/* Staging folders left in the library. */
unsigned hidden_folders(void);
/* path fails to import with code and an error that says words, and leaves
 * the library as it was. */
void assert_refused(const char *path, int code, const char *words);
