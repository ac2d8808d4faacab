#include "display/servers.h"

#include <gio/gio.h>
#include <gmodule.h>
#include <unistd.h>

#define MODULE_NAME "libhangar-display-servers.so"

static HgDisplayServers servers;
static GModule *module;

static char *module_path_beside_engine(void)
{
	g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
	g_autofree char *dir = exe ? g_path_get_dirname(exe) : NULL;
	return dir ? g_build_filename(dir, MODULE_NAME, NULL) : NULL;
}

static bool servers_resolve(GError **error)
{
	static const struct {
		const char *name;
		size_t offset;
	} symbols[] = {
#define ENTRY(field, symbol) {symbol, G_STRUCT_OFFSET(HgDisplayServers, field)}
		ENTRY(vnc_new, "hg_vnc_new"),
		ENTRY(vnc_free, "hg_vnc_free"),
		ENTRY(vnc_add_client, "hg_vnc_add_client"),
		ENTRY(vnc_parse_address, "hg_vnc_parse_address"),
		ENTRY(vnc_read_password, "hg_vnc_read_password"),
		ENTRY(spice_new, "hg_spice_new"),
		ENTRY(spice_free, "hg_spice_free"),
		ENTRY(spice_add_client, "hg_spice_add_client"),
		ENTRY(spice_parse_address, "hg_spice_parse_address"),
		ENTRY(spice_read_ticket, "hg_spice_read_ticket"),
#undef ENTRY
	};

	for (unsigned i = 0; i < G_N_ELEMENTS(symbols); i++) {
		gpointer p;
		if (!g_module_symbol(module, symbols[i].name, &p) || !p) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "%s lacks %s: it does not match this engine",
				    g_module_name(module), symbols[i].name);
			return false;
		}
		*(gpointer *)((char *)&servers + symbols[i].offset) = p;
	}
	return true;
}

const HgDisplayServers *hg_display_servers(GError **error)
{
	const char *override = g_getenv("HANGAR_MODULE_DIR");
	g_autofree char *beside = NULL;
	g_autofree char *installed = NULL;
	const char *tried[2] = {NULL, NULL};

	if (module)
		return &servers;
	if (override) {
		tried[0] = installed = g_build_filename(override, MODULE_NAME, NULL);
	} else {
		tried[0] = beside = module_path_beside_engine();
		tried[1] = installed = g_build_filename(HANGAR_MODULE_DIR, MODULE_NAME, NULL);
	}
	for (unsigned i = 0; i < G_N_ELEMENTS(tried) && !module; i++)
		if (tried[i] && access(tried[i], R_OK) == 0)
			module = g_module_open(tried[i], G_MODULE_BIND_LOCAL);
	if (!module) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
			    "cannot load the display servers (%s, looked for %s%s%s): %s",
			    MODULE_NAME, tried[0] ? tried[0] : "", tried[1] ? " and " : "",
			    tried[1] ? tried[1] : "", g_module_error());
		return NULL;
	}
	if (!servers_resolve(error)) {
		g_module_close(module);
		module = NULL;
		return NULL;
	}
	g_module_make_resident(module);
	return &servers;
}
