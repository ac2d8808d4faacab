/* The control socket: JSON, one object per line (docs/control-protocol.md). */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "engine/engine.h"

HgControl *hg_control_new(HgEngine *engine, const char *path, GError **error);
void hg_control_free(HgControl *c);
/* Send an event to every connected client.  data may be NULL; it is
 * consumed. */
void hg_control_emit(HgControl *c, const char *event, JsonNode *data);
