/* hangar: the Hangar workstation app. */
#include <glib/gi18n.h>
#include <locale.h>

#include "ui/hangar-application.h"

int main(int argc, char **argv)
{
	g_autoptr(HangarApplication) app = NULL;

	setlocale(LC_ALL, "");
	bindtextdomain(GETTEXT_PACKAGE, HANGAR_LOCALEDIR);
	bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
	textdomain(GETTEXT_PACKAGE);
	g_set_application_name(_("Hangar"));

	app = hangar_application_new();
	return g_application_run(G_APPLICATION(app), argc, argv);
}
