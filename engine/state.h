/* Save and restore of the whole machine: a directory with "state" (one
 * GVariant a{sv}: format, version, RAM size, the vCPUs, the in-kernel
 * irqchip/PIT/clock, every device's record) and "ram" (guest RAM, sparse;
 * restore maps it privately so it is read lazily). */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "engine/machine.h"

#define HG_STATE_FORMAT "hangar-machine-state"
#define HG_STATE_VERSION 1

/* The vCPUs must be parked (hg_vcpus_pause). */
bool hg_state_save(HgMachine *m, const char *dir, GError **error);

typedef struct {
	GVariant *record; /* the whole a{sv} */
	uint64_t ram_size;
	unsigned n_vcpus;
	bool harness_mode;
	char *ram_path;
} HgSavedState;

/* Read and check a state directory before a machine exists. */
bool hg_state_open(const char *dir, HgSavedState *saved, GError **error);
void hg_saved_state_clear(HgSavedState *saved);
/* Load vCPUs, VM and devices; the machine was built from the same record. */
bool hg_state_load(HgMachine *m, HgSavedState *saved, GError **error);
