/* Recent installer ISOs (hangar-recent-isos.h). */
#include "ui/hangar-recent-isos.h"

#include <string.h>

#define RECENT_ISOS_MAX 10

void hangar_recent_isos_add(GSettings *settings, const char *path)
{
	g_auto(GStrv) old = NULL;
	g_autoptr(GStrvBuilder) builder = NULL;
	g_auto(GStrv) paths = NULL;
	unsigned n = 1;

	if (!settings)
		return;
	old = g_settings_get_strv(settings, "recent-isos");
	builder = g_strv_builder_new();
	g_strv_builder_add(builder, path);
	for (char **p = old; *p && n < RECENT_ISOS_MAX; p++) {
		if (strcmp(*p, path) == 0)
			continue;
		g_strv_builder_add(builder, *p);
		n++;
	}
	paths = g_strv_builder_end(builder);
	g_settings_set_strv(settings, "recent-isos", (const char *const *)paths);
}
