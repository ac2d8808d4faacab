/* Memory spin buttons: MiB inside, MiB or GiB on screen. */
#include "ui/wizard/hangar-memory-spin.h"

#include <glib/gi18n.h>
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

unsigned hangar_memory_host_mib(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGESIZE);

	if (pages <= 0 || page_size <= 0)
		return 1024;
	return (unsigned)MAX((guint64)pages * (guint64)page_size / (1024 * 1024), 1024);
}

char *hangar_memory_format(unsigned mib)
{
	if (mib >= 1024 && mib % 1024 == 0)
		return g_strdup_printf(_("%u GiB"), mib / 1024);
	if (mib >= 1024 && mib % 512 == 0)
		return g_strdup_printf(_("%.1f GiB"), mib / 1024.0);
	return g_strdup_printf(_("%u MiB"), mib);
}

static gboolean memory_spin_output(GtkSpinButton *spin, gpointer user_data)
{
	g_autofree char *text = hangar_memory_format(
		(unsigned)gtk_adjustment_get_value(gtk_spin_button_get_adjustment(spin)));

	if (g_strcmp0(text, gtk_entry_get_text(GTK_ENTRY(spin))) != 0)
		gtk_entry_set_text(GTK_ENTRY(spin), text);
	return TRUE;
}

/* "2048", "2048 MiB", "2 GiB", "2G", "1,5 GiB" (a locale's comma). */
static gint memory_spin_input(GtkSpinButton *spin, gdouble *new_value, gpointer user_data)
{
	g_autofree char *text = g_strdup(gtk_entry_get_text(GTK_ENTRY(spin)));
	char *end;
	double number;

	g_strstrip(text);
	g_strdelimit(text, ",", '.');
	number = g_ascii_strtod(text, &end);
	if (end == text || !isfinite(number) || number < 0)
		return GTK_INPUT_ERROR;
	while (*end == ' ')
		end++;
	if (*end == 'G' || *end == 'g')
		number *= 1024;
	else if (*end == 'T' || *end == 't')
		number *= 1024 * 1024;
	else if (*end && *end != 'M' && *end != 'm')
		return GTK_INPUT_ERROR;
	*new_value = round(number);
	return TRUE;
}

void hangar_memory_spin_setup(GtkSpinButton *spin, unsigned min_mib, unsigned max_mib)
{
	gtk_spin_button_set_digits(spin, 0);
	gtk_spin_button_set_numeric(spin, FALSE);
	gtk_spin_button_set_range(spin, min_mib, max_mib);
	gtk_spin_button_set_increments(spin, 256, 1024);
	gtk_entry_set_width_chars(GTK_ENTRY(spin), 10);
	g_signal_connect(spin, "output", G_CALLBACK(memory_spin_output), NULL);
	g_signal_connect(spin, "input", G_CALLBACK(memory_spin_input), NULL);
}
