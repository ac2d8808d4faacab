#include "tests/harness/harness.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define HG_NUM_GSIS 24

struct HgTest {
	GPid pid;
	int fd;
	FILE *in;
	char *dir;
	unsigned irq_raised[HG_NUM_GSIS];
	GArray *msis; /* HgTestMsi */
	GPtrArray *inputs; /* INPUT lines, without the prefix */
};

const char *hg_test_kvm_kind(void)
{
	if (access("/dev/kvm", R_OK | W_OK) != 0)
		return "absent";
	if (g_file_test("/sys/module/kvm_pvm", G_FILE_TEST_EXISTS))
		return "kvm_pvm";
	return "hardware";
}

int hg_test_connect_unix(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	g_assert_cmpuint(strlen(path), <, sizeof(addr.sun_path));
	strcpy(addr.sun_path, path);
	for (int tries = 0; tries < 3000; tries++) { /* 30 s: busy CI machines */
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		g_assert_cmpint(fd, >=, 0);
		if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
			return fd;
		close(fd);
		g_usleep(10000);
	}
	g_error("cannot connect to %s", path);
	return -1;
}

int hg_test_free_tcp_port(void)
{
	struct sockaddr_in addr = {.sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	g_assert_cmpint(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
	g_assert_cmpint(getsockname(fd, (struct sockaddr *)&addr, &len), ==, 0);
	close(fd);
	return ntohs(addr.sin_port);
}

size_t hg_test_read_fd(int fd, void *buf, size_t len, int timeout_ms)
{
	size_t got = 0;
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

	while (got < len) {
		gint64 left = (deadline - g_get_monotonic_time()) / 1000;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		ssize_t n = read(fd, (char *)buf + got, len - got);
		if (n <= 0)
			break;
		got += n;
	}
	return got;
}

char *hg_test_read_line(int fd, GString *pending, int timeout_ms)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

	for (;;) {
		char *nl = memchr(pending->str, '\n', pending->len);
		if (nl) {
			char *line = g_strndup(pending->str, nl - pending->str);
			g_string_erase(pending, 0, nl - pending->str + 1);
			return line;
		}
		char buf[4096];
		gint64 left = (deadline - g_get_monotonic_time()) / 1000;
		if (left <= 0)
			return NULL;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, (int)left) <= 0)
			return NULL;
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			return NULL;
		g_string_append_len(pending, buf, n);
	}
}

HgTest *hg_test_startv(const char *const *args)
{
	HgTest *t = g_new0(HgTest, 1);
	const char *engine = g_getenv("HANGAR_ENGINE");
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) error = NULL;
	g_autofree char *sock = NULL;

	g_assert_nonnull(engine);
	t->msis = g_array_new(FALSE, FALSE, sizeof(HgTestMsi));
	t->inputs = g_ptr_array_new_with_free_func(g_free);
	t->dir = g_dir_make_tmp("hangar-test-XXXXXX", &error);
	g_assert_no_error(error);
	sock = g_build_filename(t->dir, "harness.sock", NULL);
	g_ptr_array_add(argv, g_strdup(engine));
	g_ptr_array_add(argv, g_strdup("--test-harness"));
	g_ptr_array_add(argv, g_strdup(sock));
	for (; args && *args; args++) {
		g_autoptr(GString) s = g_string_new(*args);
		g_string_replace(s, "@DIR@", t->dir, 0);
		g_ptr_array_add(argv, g_string_free(g_steal_pointer(&s), FALSE));
	}
	g_ptr_array_add(argv, NULL);
	g_spawn_async(NULL, (char **)argv->pdata, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
		      &t->pid, &error);
	g_assert_no_error(error);
	t->fd = hg_test_connect_unix(sock);
	t->in = fdopen(dup(t->fd), "r");
	/* One answered request: the engine has accepted this client, so
	 * unasked lines (IRQ, MSI, INPUT) from now on reach the test. */
	g_free(hg_test_request(t, "clock_get"));
	return t;
}

HgTest *hg_test_start(const char *first_arg, ...)
{
	g_autoptr(GPtrArray) args = g_ptr_array_new();
	va_list ap;

	va_start(ap, first_arg);
	for (const char *a = first_arg; a; a = va_arg(ap, const char *))
		g_ptr_array_add(args, (char *)a);
	va_end(ap);
	g_ptr_array_add(args, NULL);
	return hg_test_startv((const char *const *)args->pdata);
}

const char *hg_test_dir(HgTest *t)
{
	return t->dir;
}

void hg_test_remove_tree(const char *path)
{
	GDir *d = g_dir_open(path, 0, NULL);
	const char *name;

	if (d) {
		while ((name = g_dir_read_name(d))) {
			g_autofree char *child = g_build_filename(path, name, NULL);
			if (g_file_test(child, G_FILE_TEST_IS_DIR) &&
			    !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
				hg_test_remove_tree(child);
			else
				g_unlink(child);
		}
		g_dir_close(d);
	}
	g_rmdir(path);
}

void hg_test_quit(HgTest *t)
{
	int status = 0;
	const char line[] = "quit\n";

	(void)!write(t->fd, line, sizeof(line) - 1);
	fclose(t->in);
	close(t->fd);
	for (int i = 0; i < 3000; i++) { /* 30 s */
		if (waitpid(t->pid, &status, WNOHANG) == t->pid)
			break;
		g_usleep(10000);
		if (i == 2999) {
			kill(t->pid, SIGKILL);
			waitpid(t->pid, &status, 0);
			g_error("engine did not exit after quit");
		}
	}
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 0);
	hg_test_remove_tree(t->dir);
	g_free(t->dir);
	g_array_unref(t->msis);
	g_ptr_array_unref(t->inputs);
	g_free(t);
}

char *hg_test_request(HgTest *t, const char *fmt, ...)
{
	g_autofree char *req = NULL;
	va_list ap;
	char *line = NULL;
	size_t cap = 0;

	va_start(ap, fmt);
	req = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_autofree char *full = g_strconcat(req, "\n", NULL);
	size_t len = strlen(full);
	for (size_t off = 0; off < len;) {
		ssize_t n = write(t->fd, full + off, len - off);
		g_assert_cmpint(n, >, 0);
		off += n;
	}
	for (;;) {
		ssize_t n = getline(&line, &cap, t->in);
		if (n <= 0)
			g_error("engine closed the harness socket after \"%s\"", req);
		if (line[n - 1] == '\n')
			line[n - 1] = '\0';
		unsigned gsi;
		if (sscanf(line, "IRQ raise %u", &gsi) == 1) {
			if (gsi < HG_NUM_GSIS)
				t->irq_raised[gsi]++;
			continue;
		}
		if (g_str_has_prefix(line, "IRQ "))
			continue;
		if (g_str_has_prefix(line, "INPUT ")) {
			g_ptr_array_add(t->inputs, g_strdup(line + 6));
			continue;
		}
		if (g_str_has_prefix(line, "MSI ")) {
			HgTestMsi msi;
			g_auto(GStrv) f = g_strsplit(line, " ", 3);
			g_assert_cmpuint(g_strv_length(f), ==, 3);
			msi.address = g_ascii_strtoull(f[1], NULL, 0);
			msi.data = g_ascii_strtoull(f[2], NULL, 0);
			g_array_append_val(t->msis, msi);
			continue;
		}
		return line;
	}
}

static uint64_t request_value(HgTest *t, const char *req)
{
	g_autofree char *reply = hg_test_request(t, "%s", req);
	if (!g_str_has_prefix(reply, "OK "))
		g_error("harness: \"%s\" -> \"%s\"", req, reply);
	return g_ascii_strtoull(reply + 3, NULL, 0);
}

static void request_ok(HgTest *t, const char *req)
{
	g_autofree char *reply = hg_test_request(t, "%s", req);
	if (strcmp(reply, "OK") != 0)
		g_error("harness: \"%s\" -> \"%s\"", req, reply);
}

#define DEFINE_OUT(name, type)                                                                    \
	void hg_test_##name(HgTest *t, uint16_t port, type v)                                    \
	{                                                                                         \
		g_autofree char *r = g_strdup_printf(#name " 0x%x 0x%x", port, (unsigned)v);      \
		request_ok(t, r);                                                                 \
	}
#define DEFINE_IN(name, type)                                                                     \
	type hg_test_##name(HgTest *t, uint16_t port)                                             \
	{                                                                                         \
		g_autofree char *r = g_strdup_printf(#name " 0x%x", port);                        \
		return (type)request_value(t, r);                                                 \
	}
DEFINE_OUT(outb, uint8_t)
DEFINE_OUT(outw, uint16_t)
DEFINE_OUT(outl, uint32_t)
DEFINE_IN(inb, uint8_t)
DEFINE_IN(inw, uint16_t)
DEFINE_IN(inl, uint32_t)

#define DEFINE_WRITE(name, type)                                                                  \
	void hg_test_##name(HgTest *t, uint64_t addr, type v)                                    \
	{                                                                                         \
		g_autofree char *r = g_strdup_printf(#name " 0x%" G_GINT64_MODIFIER               \
							   "x 0x%" G_GINT64_MODIFIER "x",         \
						     addr, (uint64_t)v);                          \
		request_ok(t, r);                                                                 \
	}
#define DEFINE_READ(name, type)                                                                   \
	type hg_test_##name(HgTest *t, uint64_t addr)                                             \
	{                                                                                         \
		g_autofree char *r = g_strdup_printf(#name " 0x%" G_GINT64_MODIFIER "x", addr);   \
		return (type)request_value(t, r);                                                 \
	}
DEFINE_WRITE(writeb, uint8_t)
DEFINE_WRITE(writew, uint16_t)
DEFINE_WRITE(writel, uint32_t)
DEFINE_WRITE(writeq, uint64_t)
DEFINE_READ(readb, uint8_t)
DEFINE_READ(readw, uint16_t)
DEFINE_READ(readl, uint32_t)
DEFINE_READ(readq, uint64_t)

void hg_test_memread(HgTest *t, uint64_t addr, void *buf, size_t len)
{
	g_autofree char *reply =
		hg_test_request(t, "memread 0x%" G_GINT64_MODIFIER "x %zu", addr, len);
	if (!g_str_has_prefix(reply, "OK ") || strlen(reply + 3) != 2 * len)
		g_error("harness: memread -> \"%s\"", reply);
	for (size_t i = 0; i < len; i++)
		((uint8_t *)buf)[i] = g_ascii_xdigit_value(reply[3 + 2 * i]) << 4 |
				      g_ascii_xdigit_value(reply[4 + 2 * i]);
}

void hg_test_memwrite(HgTest *t, uint64_t addr, const void *buf, size_t len)
{
	GString *s = g_string_new(NULL);
	g_string_printf(s, "memwrite 0x%" G_GINT64_MODIFIER "x ", addr);
	for (size_t i = 0; i < len; i++)
		g_string_append_printf(s, "%02x", ((const uint8_t *)buf)[i]);
	request_ok(t, s->str);
	g_string_free(s, TRUE);
}

uint64_t hg_test_clock_step(HgTest *t, uint64_t ns)
{
	g_autofree char *r = g_strdup_printf("clock_step %" G_GUINT64_FORMAT, ns);
	return request_value(t, r);
}

bool hg_test_irq_level(HgTest *t, unsigned gsi)
{
	g_autofree char *r = g_strdup_printf("irq_get %u", gsi);
	return request_value(t, r) != 0;
}

unsigned hg_test_irq_raised_count(HgTest *t, unsigned gsi)
{
	g_assert_cmpuint(gsi, <, HG_NUM_GSIS);
	return t->irq_raised[gsi];
}

void hg_test_save(HgTest *t, const char *dir)
{
	g_autofree char *r = g_strdup_printf("save %s", dir);
	request_ok(t, r);
}

void hg_test_console_cursor(HgTest *t, int width, int height, int hot_x, int hot_y,
			    const uint32_t *argb)
{
	g_autoptr(GString) r = g_string_new(NULL);

	g_string_printf(r, "console_cursor %d %d %d %d", width, height, hot_x, hot_y);
	if (width > 0 && height > 0) {
		g_string_append_c(r, ' ');
		for (size_t i = 0; i < (size_t)width * height; i++)
			g_string_append_printf(r, "%08x", argb[i]);
	}
	request_ok(t, r->str);
}

unsigned hg_test_msi_count(HgTest *t)
{
	return t->msis->len;
}

HgTestMsi hg_test_msi_get(HgTest *t, unsigned i)
{
	g_assert_cmpuint(i, <, t->msis->len);
	return g_array_index(t->msis, HgTestMsi, i);
}

void hg_test_msi_clear(HgTest *t)
{
	g_array_set_size(t->msis, 0);
}

bool hg_test_wait_input(HgTest *t, const char *event, int timeout_ms)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

	for (;;) {
		for (guint i = 0; i < t->inputs->len; i++) {
			if (strcmp(g_ptr_array_index(t->inputs, i), event) == 0) {
				g_ptr_array_remove_range(t->inputs, 0, i + 1);
				return true;
			}
		}
		if (g_get_monotonic_time() > deadline)
			return false;
		/* Events arrive on their own; a request collects those sent
		 * before its reply. */
		g_free(hg_test_request(t, "clock_get"));
		g_usleep(2000);
	}
}

GPtrArray *hg_test_inputs(HgTest *t)
{
	return t->inputs;
}
