/* bench-app: the app's start-up time and memory (issue 5), README.md here.
 *
 * usage: bench-app --app hangar [--schemas DIR] [--repeat N] [--vms N] [--workdir DIR]
 *        (under an X server: meson runs it through dbus-run-session and xvfb-run)
 *
 * A library of --vms VMs (default 100, made through hg_vm_library_create with varied names
 * and OS names) and an empty one, each in its own XDG_DATA_HOME; XDG_CONFIG_HOME,
 * XDG_CACHE_HOME and XDG_RUNTIME_DIR are scratch folders too, GSETTINGS_BACKEND=memory.
 * Each run starts the real `hangar` and measures, on CLOCK_MONOTONIC:
 *
 *   exec -> first frame   from just before the spawn to the end of the main window's first
 *                         "draw": the app writes that time into HANGAR_STARTUP_REPORT
 *                         (ui/window/hangar-window.c), with the number of VMs it lists;
 *   exec -> mapped        from the same start to the X server's MapNotify of the top-level
 *                         window named "Hangar", seen from outside (SubstructureNotify on
 *                         the root window, event-driven, no polling): the uninstrumented
 *                         check of the first figure;
 *   memory                Rss and Pss of the app (/proc/PID/smaps_rollup) SETTLE_MS after
 *                         its first frame, and its peak (VmHWM).
 *
 * One warm-up run per library is not counted (libraries and fonts come into the page cache,
 * as on a desktop where GTK apps ran before).  The target (under 300 ms with 100 VMs) is
 * printed as PASS or MISS, never fatal: the benchmark fails only when the app does not start,
 * does not show its window, or lists another number of VMs. */
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <gio/gio.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <X11/Xatom.h>
#include <X11/Xlib.h>

#include "library/vm/vm_library.h"

#define TARGET_MS 300.0
#define SETTLE_MS 500
#define START_TIMEOUT_MS 60000
#define WINDOW_NAME "Hangar"

typedef struct {
	double first_frame_ms;
	double mapped_ms; /* < 0: no MapNotify of a window named WINDOW_NAME */
	guint64 rss_kib, pss_kib, pss_anon_kib, pss_file_kib, hwm_kib;
} RunResult;

static char *opt_app, *opt_schemas, *opt_workdir;
static int opt_repeat = 10, opt_vms = 100;

static void remove_tree(const char *path)
{
	g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
	const char *name;

	while (dir && (name = g_dir_read_name(dir))) {
		g_autofree char *child = g_build_filename(path, name, NULL);

		if (g_file_test(child, G_FILE_TEST_IS_DIR) &&
		    !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
			remove_tree(child);
		else
			g_unlink(child);
	}
	g_rmdir(path);
}

/* What a failure leaves behind otherwise: the app of the current run and the
 * scratch folder made here. */
static GSubprocess *current_app;
static char *owned_workdir;

static G_NORETURN void fail(const char *format, ...) G_GNUC_PRINTF(1, 2);
static void fail(const char *format, ...)
{
	va_list args;

	fflush(stdout);
	fprintf(stderr, "bench: FAILED: ");
	va_start(args, format);
	vfprintf(stderr, format, args);
	va_end(args);
	fputc('\n', stderr);
	if (current_app)
		g_subprocess_force_exit(current_app);
	if (owned_workdir)
		remove_tree(owned_workdir);
	exit(1);
}

/* ---- the library ---- */

static const struct {
	const char *id, *name;
} os_list[] = {
	{"debian12", "Debian 12"},
	{"fedora39", "Fedora 39"},
	{"ubuntu22.04", "Ubuntu 22.04 LTS"},
	{"win11", "Microsoft Windows 11"},
	{"win10", "Microsoft Windows 10"},
	{"freebsd14.0", "FreeBSD 14.0"},
	{"alpinelinux3.19", "Alpine Linux 3.19"},
	{"archlinux", "Arch Linux"},
	{"opensuse15.5", "openSUSE Leap 15.5"},
	{NULL, NULL}, /* an unknown OS */
};
static const char *const purposes[] = {"build",	    "web",  "database", "test",	 "desktop",
				       "ci runner", "mail", "dev",	"kiosk", "lab"};

static void make_library(const char *data_home, int n_vms)
{
	g_autofree char *root = g_build_filename(data_home, "hangar", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(HgVmLibrary) lib = hg_vm_library_open(root, &error);

	if (!lib)
		fail("library %s: %s", root, error->message);
	for (int i = 0; i < n_vms; i++) {
		guint os = (guint)i % G_N_ELEMENTS(os_list);
		const char *os_name = os_list[os].name ? os_list[os].name : "Unknown OS";
		g_autofree char *name = g_strdup_printf(
			"%s %s %02d", os_name, purposes[(guint)i / 7 % G_N_ELEMENTS(purposes)], i);
		g_autoptr(HgVmConfig) config = hg_vm_config_new(name);
		HgVmEntry *entry;

		config->os_id = g_strdup(os_list[os].id);
		config->os_name = g_strdup(os_list[os].name);
		config->memory_mib = 512u << (i % 4);
		config->cpus = 1 + i % 4;
		config->firmware = i % 3 ? HG_FIRMWARE_BIOS : HG_FIRMWARE_UEFI;
		entry = hg_vm_library_create(lib, config, &error);
		if (!entry)
			fail("creating VM %d: %s", i, error->message);
		hg_vm_entry_free(entry);
	}
}

/* ---- one run ---- */

/* The fields of a "Key:   123 kB" file (smaps_rollup, status) that are asked for. */
static void read_kib_fields(const char *path, const char *const *keys, guint64 *values)
{
	g_autofree char *text = NULL;
	g_autoptr(GError) error = NULL;

	if (!g_file_get_contents(path, &text, NULL, &error))
		fail("%s", error->message);
	for (char *line = text; line && *line;) {
		char *next = strchr(line, '\n');

		if (next)
			*next++ = '\0';
		for (int k = 0; keys[k]; k++) {
			size_t len = strlen(keys[k]);

			if (strncmp(line, keys[k], len) == 0 && line[len] == ':')
				values[k] = g_ascii_strtoull(line + len + 1, NULL, 10);
		}
		line = next;
	}
}

static char *window_name(Display *dpy, Window window)
{
	Atom net_wm_name = XInternAtom(dpy, "_NET_WM_NAME", False);
	Atom utf8 = XInternAtom(dpy, "UTF8_STRING", False);
	Atom type;
	int format;
	unsigned long n, after;
	unsigned char *data = NULL;
	char *name = NULL;

	if (XGetWindowProperty(dpy, window, net_wm_name, 0, 256, False, utf8, &type, &format, &n,
			       &after, &data) == Success &&
	    data) {
		name = g_strndup((const char *)data, n);
		XFree(data);
	}
	return name;
}

/* A window gone before its name was read. */
static int ignore_x_errors(Display *dpy, XErrorEvent *event)
{
	return 0;
}

typedef struct {
	Window window;
	gint64 time;
} MapSeen;

/* The MapNotify events of top-level windows received so far, with the time they were read. */
static void collect_maps(Display *dpy, GArray *maps)
{
	while (XPending(dpy)) {
		XEvent event;
		gint64 now = g_get_monotonic_time();

		XNextEvent(dpy, &event);
		if (event.type == MapNotify && !event.xmap.override_redirect) {
			MapSeen seen = {event.xmap.window, now};

			g_array_append_val(maps, seen);
		}
	}
}

static RunResult run_app(Display *dpy, const char *data_home, const char *work, int n_vms)
{
	g_autofree char *report = g_build_filename(work, "startup-report", NULL);
	g_autofree char *config_home = g_build_filename(work, "config", NULL);
	g_autofree char *cache_home = g_build_filename(work, "cache", NULL);
	g_autofree char *runtime_dir = g_build_filename(work, "runtime", NULL);
	g_autoptr(GSubprocessLauncher) launcher =
		g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDIN_INHERIT);
	g_autoptr(GSubprocess) app = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GArray) maps = g_array_new(FALSE, FALSE, sizeof(MapSeen));
	g_autofree char *proc_path = NULL, *pid = NULL;
	g_autofree char *text = NULL;
	const char *argv[] = {opt_app, NULL};
	RunResult result = {.mapped_ms = -1};
	gint64 start, frame_time = 0, deadline;
	guint listed = 0;

	g_mkdir_with_parents(config_home, 0700);
	g_mkdir_with_parents(cache_home, 0700);
	g_mkdir_with_parents(runtime_dir, 0700);
	g_unlink(report);
	g_subprocess_launcher_setenv(launcher, "XDG_DATA_HOME", data_home, TRUE);
	g_subprocess_launcher_setenv(launcher, "XDG_CONFIG_HOME", config_home, TRUE);
	g_subprocess_launcher_setenv(launcher, "XDG_CACHE_HOME", cache_home, TRUE);
	g_subprocess_launcher_setenv(launcher, "XDG_RUNTIME_DIR", runtime_dir, TRUE);
	g_subprocess_launcher_setenv(launcher, "GSETTINGS_BACKEND", "memory", TRUE);
	g_subprocess_launcher_setenv(launcher, "GDK_BACKEND", "x11", TRUE);
	g_subprocess_launcher_setenv(launcher, "HANGAR_STARTUP_REPORT", report, TRUE);
	g_subprocess_launcher_unsetenv(launcher, "HANGAR_LIBRARY");
	g_subprocess_launcher_unsetenv(launcher, "WAYLAND_DISPLAY");
	if (opt_schemas)
		g_subprocess_launcher_setenv(launcher, "GSETTINGS_SCHEMA_DIR", opt_schemas, TRUE);

	XSelectInput(dpy, DefaultRootWindow(dpy), SubstructureNotifyMask);
	XSync(dpy, True); /* drop events of earlier runs */

	start = g_get_monotonic_time();
	app = g_subprocess_launcher_spawnv(launcher, argv, &error);
	if (!app)
		fail("%s: %s", opt_app, error->message);
	pid = g_strdup(g_subprocess_get_identifier(app));
	current_app = app;
	deadline = start + START_TIMEOUT_MS * 1000;

	/* X events as they arrive; the report file is read between them (its
	 * time is the app's, so how often it is looked at does not matter). */
	while (!frame_time) {
		struct pollfd pfd = {.fd = ConnectionNumber(dpy), .events = POLLIN};

		if (poll(&pfd, 1, 2) < 0 && errno != EINTR)
			fail("poll: %s", g_strerror(errno));
		collect_maps(dpy, maps);
		if (g_file_get_contents(report, &text, NULL, NULL) && strchr(text, '\n')) {
			if (sscanf(text, "%" G_GINT64_FORMAT " %u", &frame_time, &listed) != 2)
				fail("%s: unreadable: %s", report, text);
		}
		g_clear_pointer(&text, g_free);
		if (!frame_time && !g_subprocess_get_identifier(app)) /* NULL once it exited */
			fail("hangar exited before showing its window");
		if (g_get_monotonic_time() > deadline)
			fail("hangar showed no window within %d s", START_TIMEOUT_MS / 1000);
	}
	if (listed != (guint)n_vms)
		fail("hangar listed %u VMs when its first frame was drawn, not %d", listed, n_vms);
	result.first_frame_ms = (frame_time - start) / 1000.0;

	/* The window is mapped before it is drawn, so its MapNotify is in by now
	 * (read late, should it not be).  The app settles, then its memory. */
	collect_maps(dpy, maps);
	g_usleep(SETTLE_MS * 1000);
	collect_maps(dpy, maps);
	XSetErrorHandler(ignore_x_errors);
	for (guint i = 0; i < maps->len && result.mapped_ms < 0; i++) {
		MapSeen *seen = &g_array_index(maps, MapSeen, i);
		g_autofree char *name = window_name(dpy, seen->window);

		if (g_strcmp0(name, WINDOW_NAME) == 0)
			result.mapped_ms = (seen->time - start) / 1000.0;
	}
	XSync(dpy, False);
	XSetErrorHandler(NULL);

	proc_path = g_strdup_printf("/proc/%s/smaps_rollup", pid);
	{
		const char *keys[] = {"Rss", "Pss", "Pss_Anon", "Pss_File", NULL};
		guint64 values[4] = {0};

		read_kib_fields(proc_path, keys, values);
		result.rss_kib = values[0];
		result.pss_kib = values[1];
		result.pss_anon_kib = values[2];
		result.pss_file_kib = values[3];
	}
	g_free(proc_path);
	proc_path = g_strdup_printf("/proc/%s/status", pid);
	{
		const char *keys[] = {"VmHWM", NULL};

		read_kib_fields(proc_path, keys, &result.hwm_kib);
	}

	g_subprocess_send_signal(app, SIGTERM);
	g_subprocess_wait(app, NULL, NULL);
	current_app = NULL;
	return result;
}

/* ---- the table ---- */

static int compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median_of(GArray *values)
{
	guint n = values->len;

	g_array_sort(values, compare_doubles);
	if (n == 0)
		return -1;
	return n % 2 ? g_array_index(values, double, n / 2)
		     : (g_array_index(values, double, n / 2 - 1) +
			g_array_index(values, double, n / 2)) /
			       2;
}

typedef enum { FMT_MS, FMT_MIB } Format;

static char *format_value(double v, Format format)
{
	if (v < 0)
		return g_strdup("—");
	if (format == FMT_MS)
		return g_strdup_printf("%.1f ms", v);
	return g_strdup_printf("%.1f MiB", v / 1024.0);
}

/* "median (max)" of one field of every run. */
static char *column(RunResult *runs, int n, size_t offset, gboolean is_double, Format format,
		    double *median_out)
{
	g_autoptr(GArray) values = g_array_new(FALSE, FALSE, sizeof(double));
	g_autofree char *median_text = NULL, *max_text = NULL;
	double median;

	for (int i = 0; i < n; i++) {
		const char *field = (const char *)&runs[i] + offset;
		double v = is_double ? *(const double *)field : (double)*(const guint64 *)field;

		if (v >= 0)
			g_array_append_val(values, v);
	}
	median = median_of(values);
	if (median_out)
		*median_out = median;
	if (values->len == 0)
		return g_strdup("—");
	median_text = format_value(median, format);
	max_text = format_value(g_array_index(values, double, values->len - 1), format);
	return g_strdup_printf("%s (%s)", median_text, max_text);
}

typedef struct {
	char *cells[5];
} Row;

static void add_row(GArray *rows, const char *metric, char *full, char *empty, const char *target,
		    const char *result)
{
	Row row = {{g_strdup(metric), full, empty, g_strdup(target), g_strdup(result)}};

	g_array_append_val(rows, row);
}

static void print_table(GArray *rows)
{
	size_t widths[5] = {0};

	for (guint r = 0; r < rows->len; r++)
		for (int c = 0; c < 5; c++)
			widths[c] = MAX(
				widths[c],
				(size_t)g_utf8_strlen(g_array_index(rows, Row, r).cells[c], -1));
	for (guint r = 0; r < rows->len; r++) {
		GString *line = g_string_new(NULL);

		for (int c = 0; c < 5; c++) {
			const char *cell = g_array_index(rows, Row, r).cells[c];

			g_string_append(line, cell);
			for (size_t pad = (size_t)g_utf8_strlen(cell, -1);
			     c < 4 && pad < widths[c] + 2; pad++)
				g_string_append_c(line, ' ');
		}
		while (line->len && line->str[line->len - 1] == ' ')
			g_string_truncate(line, line->len - 1);
		printf("%s\n", line->str);
		g_string_free(line, TRUE);
		if (r == 0) {
			for (int c = 0; c < 5; c++) {
				for (size_t i = 0; i < widths[c]; i++)
					putchar('-');
				if (c < 4)
					printf("  ");
			}
			putchar('\n');
		}
	}
}

int main(int argc, char **argv)
{
	GOptionEntry entries[] = {
		{"app", 0, 0, G_OPTION_ARG_FILENAME, &opt_app, "the hangar binary", "PATH"},
		{"schemas", 0, 0, G_OPTION_ARG_FILENAME, &opt_schemas,
		 "GSETTINGS_SCHEMA_DIR for the app (the build's data folder)", "DIR"},
		{"repeat", 0, 0, G_OPTION_ARG_INT, &opt_repeat, "runs per library (default 10)",
		 "N"},
		{"vms", 0, 0, G_OPTION_ARG_INT, &opt_vms, "VMs in the full library (default 100)",
		 "N"},
		{"workdir", 0, 0, G_OPTION_ARG_FILENAME, &opt_workdir,
		 "scratch folder (default: a new one in the current folder, removed afterwards)",
		 "DIR"},
		{NULL},
	};
	g_autoptr(GOptionContext) context = g_option_context_new("- the app's start-up and memory");
	g_autoptr(GError) error = NULL;
	g_autofree char *work = NULL, *full_home = NULL, *empty_home = NULL, *target = NULL;
	g_autofree RunResult *full = NULL, *empty = NULL;
	g_autoptr(GArray) rows = g_array_new(FALSE, FALSE, sizeof(Row));
	Display *dpy;
	double load[1] = {0}, frame_median;
	char *frame_full;

	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, &argc, &argv, &error))
		fail("%s", error->message);
	if (!opt_app || opt_repeat < 1 || opt_vms < 1)
		fail("usage: bench-app --app hangar [--schemas DIR] [--repeat N] [--vms N]");
	dpy = XOpenDisplay(NULL);
	if (!dpy)
		fail("no X server (DISPLAY=%s): run under xvfb-run", g_getenv("DISPLAY"));

	if (!opt_workdir) {
		g_autofree char *cwd = g_get_current_dir();

		work = g_build_filename(cwd, "bench-app-XXXXXX", NULL);
		if (!g_mkdtemp(work))
			fail("cannot make a scratch folder in %s: %s", cwd, g_strerror(errno));
		owned_workdir = work;
	} else {
		work = g_canonicalize_filename(opt_workdir, NULL);
		g_mkdir_with_parents(work, 0700);
	}
	full_home = g_build_filename(work, "data-full", NULL);
	empty_home = g_build_filename(work, "data-empty", NULL);
	make_library(full_home, opt_vms);
	make_library(empty_home, 0);

	printf("== app start to a shown window, library of %d VMs and empty\n", opt_vms);
	printf("   host: %u CPUs; %d runs per library after one warm-up run, median (max)\n",
	       g_get_num_processors(), opt_repeat);
	if (getloadavg(load, 1) == 1 && load[0] > 0.5)
		printf("   warning: load average %.1f: the host is busy, timings are noisy\n",
		       load[0]);
	printf("   first frame: the app's own report (HANGAR_STARTUP_REPORT); mapped: the X "
	       "server's MapNotify, seen from outside\n");
	fflush(stdout);

	full = g_new0(RunResult, opt_repeat);
	empty = g_new0(RunResult, opt_repeat);
	run_app(dpy, full_home, work, opt_vms);
	run_app(dpy, empty_home, work, 0);
	for (int i = 0; i < opt_repeat; i++) { /* interleaved: a busy moment hits both */
		full[i] = run_app(dpy, full_home, work, opt_vms);
		empty[i] = run_app(dpy, empty_home, work, 0);
	}

	target = g_strdup_printf("< %.0f ms", TARGET_MS);
	add_row(rows, "metric", g_strdup_printf("%d VMs", opt_vms), g_strdup("empty library"),
		"target", "result");
	frame_full = column(full, opt_repeat, G_STRUCT_OFFSET(RunResult, first_frame_ms), TRUE,
			    FMT_MS, &frame_median);
	add_row(rows, "exec → first frame drawn", frame_full,
		column(empty, opt_repeat, G_STRUCT_OFFSET(RunResult, first_frame_ms), TRUE, FMT_MS,
		       NULL),
		target, frame_median < TARGET_MS ? "PASS" : "MISS");
	add_row(rows, "exec → window mapped (X server)",
		column(full, opt_repeat, G_STRUCT_OFFSET(RunResult, mapped_ms), TRUE, FMT_MS, NULL),
		column(empty, opt_repeat, G_STRUCT_OFFSET(RunResult, mapped_ms), TRUE, FMT_MS,
		       NULL),
		"", "");
	static const struct {
		const char *label;
		size_t offset;
	} memory_rows[] = {
		{"Rss, window shown", G_STRUCT_OFFSET(RunResult, rss_kib)},
		{"Pss (shared pages divided)", G_STRUCT_OFFSET(RunResult, pss_kib)},
		{"Pss_Anon (heap, stacks)", G_STRUCT_OFFSET(RunResult, pss_anon_kib)},
		{"Pss_File (binary, libraries)", G_STRUCT_OFFSET(RunResult, pss_file_kib)},
		{"peak Rss (VmHWM)", G_STRUCT_OFFSET(RunResult, hwm_kib)},
	};
	for (guint i = 0; i < G_N_ELEMENTS(memory_rows); i++)
		add_row(rows, memory_rows[i].label,
			column(full, opt_repeat, memory_rows[i].offset, FALSE, FMT_MIB, NULL),
			column(empty, opt_repeat, memory_rows[i].offset, FALSE, FMT_MIB, NULL), "",
			"");
	print_table(rows);
	printf(frame_median < TARGET_MS ? "all targets met\n" : "1 target(s) missed\n");
	for (guint r = 0; r < rows->len; r++)
		for (int c = 0; c < 5; c++)
			g_free(g_array_index(rows, Row, r).cells[c]);

	XCloseDisplay(dpy);
	if (owned_workdir)
		remove_tree(owned_workdir);
	return 0;
}
