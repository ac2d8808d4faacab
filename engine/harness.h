/* The device test harness: see docs/test-harness.md. */
#pragma once

#include <glib.h>

#include "engine/machine.h"

typedef struct HgHarness HgHarness;

/* Listen on path; on_quit runs when the client says quit or goes away. */
HgHarness *hg_harness_new(HgMachine *m, const char *path, void (*on_quit)(void *), void *data,
			  GError **error);
void hg_harness_free(HgHarness *h);
