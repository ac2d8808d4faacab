/* The device test harness: see docs/test-harness.md. */
#pragma once

#include <glib.h>

#include "engine/machine.h"

typedef struct HgHarness HgHarness;

/* Listen on path; on_quit runs when the client says quit or goes away. */
HgHarness *hg_harness_new(HgMachine *m, const char *path, void (*on_quit)(void *), void *data,
			  GError **error);
void hg_harness_free(HgHarness *h);
/* The console and input the display tests reach through the harness
 * (console_fill/console_resize/console_size; with log_input, every input
 * event is reported as an INPUT line). */
struct HgConsole;
struct HgInput;
void hg_harness_attach_display(HgHarness *h, struct HgConsole *console, struct HgInput *input,
			       bool log_input);
