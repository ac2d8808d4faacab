#include "tests/engine/guest-runner.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/harness/harness.h"

char *guest_path(const char *name)
{
	const char *dir = g_getenv("HANGAR_GUEST_DIR");
	g_assert_nonnull(dir);
	g_autofree char *file = g_strdup_printf("guest-%s.elf", name);
	return g_build_filename(dir, file, NULL);
}

bool guest_require_kvm(void)
{
	if (strcmp(hg_test_kvm_kind(), "absent") == 0) {
		g_test_skip("needs /dev/kvm (absent or not accessible here)");
		return false;
	}
	return true;
}

/* In the engine, before exec: a test that dies (a failed assertion) takes
 * its engines with it, instead of leaving guests spinning for an hour. */
static void engine_dies_with_test(gpointer data)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
}

GuestRun *guest_run_startv(const char *dir, const char *const *extra)
{
	GuestRun *r = g_new0(GuestRun, 1);
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) error = NULL;
	g_autofree char *serial = NULL;

	r->owns_dir = !dir;
	r->dir = dir ? g_strdup(dir) : g_dir_make_tmp("hangar-guest-XXXXXX", &error);
	g_assert_no_error(error);
	serial = g_build_filename(r->dir, "serial.sock", NULL);
	r->control_path = g_build_filename(r->dir, "control.sock", NULL);
	unlink(serial);
	unlink(r->control_path);
	g_ptr_array_add(argv, g_strdup(g_getenv("HANGAR_ENGINE")));
	g_ptr_array_add(argv, g_strdup_printf("--serial=unix:%s,wait", serial));
	g_ptr_array_add(argv, g_strdup_printf("--control=%s", r->control_path));
	for (; extra && *extra; extra++)
		g_ptr_array_add(argv, g_strdup(*extra));
	g_ptr_array_add(argv, NULL);
	g_spawn_async(NULL, (char **)argv->pdata, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
		      engine_dies_with_test, NULL, &r->pid, &error);
	g_assert_no_error(error);
	r->serial_fd = hg_test_connect_unix(serial);
	r->serial = g_string_new(NULL);
	r->control_fd = -1;
	r->control_pending = g_string_new(NULL);
	return r;
}

GuestRun *guest_run_start(const char *first_arg, ...)
{
	g_autoptr(GPtrArray) args = g_ptr_array_new();
	va_list ap;
	va_start(ap, first_arg);
	for (const char *a = first_arg; a; a = va_arg(ap, const char *))
		g_ptr_array_add(args, (char *)a);
	va_end(ap);
	g_ptr_array_add(args, NULL);
	return guest_run_startv(NULL, (const char *const *)args->pdata);
}

static bool guest_run_read_some(GuestRun *r, int timeout_ms)
{
	char buf[4096];
	struct pollfd p = {.fd = r->serial_fd, .events = POLLIN};
	if (poll(&p, 1, timeout_ms) <= 0)
		return false;
	ssize_t n = read(r->serial_fd, buf, sizeof(buf));
	if (n <= 0)
		return false;
	g_string_append_len(r->serial, buf, n);
	return true;
}

bool guest_run_wait_output(GuestRun *r, const char *needle, int timeout_ms)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	while (!strstr(r->serial->str, needle)) {
		gint64 left = (deadline - g_get_monotonic_time()) / 1000;
		if (left <= 0)
			return false;
		if (!guest_run_read_some(r, (int)MIN(left, 200)) && r->exited)
			return false;
		if (!r->exited) {
			int status;
			if (waitpid(r->pid, &status, WNOHANG) == r->pid) {
				r->exited = true;
				r->status = status;
				while (guest_run_read_some(r, 50))
					;
			}
		}
	}
	return true;
}

int guest_run_wait_exit(GuestRun *r, int timeout_ms)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	while (!r->exited) {
		int status;
		guest_run_read_some(r, 20);
		if (waitpid(r->pid, &status, WNOHANG) == r->pid) {
			r->exited = true;
			r->status = status;
			break;
		}
		if (g_get_monotonic_time() > deadline) {
			guest_run_kill(r);
			return -1;
		}
	}
	while (guest_run_read_some(r, 50))
		;
	return WIFEXITED(r->status) ? WEXITSTATUS(r->status) : 128 + WTERMSIG(r->status);
}

static char *control_line(GuestRun *r)
{
	return hg_test_read_line(r->control_fd, r->control_pending, 30000);
}

char *guest_run_control(GuestRun *r, const char *request)
{
	if (r->control_fd < 0) {
		r->control_fd = hg_test_connect_unix(r->control_path);
		g_free(control_line(r)); /* greeting */
	}
	g_autofree char *line = g_strconcat(request, "\n", NULL);
	g_assert_cmpint(write(r->control_fd, line, strlen(line)), ==, (ssize_t)strlen(line));
	for (;;) {
		char *reply = control_line(r);
		g_assert_nonnull(reply);
		if (!g_str_has_prefix(reply, "{\"event\""))
			return reply;
		g_free(reply);
	}
}

void guest_run_kill(GuestRun *r)
{
	if (r->exited)
		return;
	kill(r->pid, SIGKILL);
	waitpid(r->pid, &r->status, 0);
	r->exited = true;
}

void guest_run_free(GuestRun *r)
{
	guest_run_kill(r);
	close(r->serial_fd);
	if (r->control_fd >= 0)
		close(r->control_fd);
	g_spawn_close_pid(r->pid);
	g_string_free(r->serial, TRUE);
	g_string_free(r->control_pending, TRUE);
	g_free(r->control_path);
	/* A failing test aborts before this, leaving the directory to look at. */
	if (r->owns_dir)
		hg_test_remove_tree(r->dir);
	g_free(r->dir);
	g_free(r);
}
