/* C client for the engine's device test harness (docs/test-harness.md).
 * Every call asserts that the engine answered OK; a test that wants to see
 * an ERR uses hg_test_request(). */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct HgTest HgTest;

/* Start hangar-engine --test-harness with extra arguments (NULL-terminated
 * list, may contain "@DIR@", replaced by the test's private directory).
 * The engine binary comes from $HANGAR_ENGINE. */
HgTest *hg_test_start(const char *first_arg, ...) G_GNUC_NULL_TERMINATED;
HgTest *hg_test_startv(const char *const *args);
/* Ends the engine (quit), waits for it, removes the private directory. */
void hg_test_quit(HgTest *t);
/* The test's private directory, for sockets and saved state. */
const char *hg_test_dir(HgTest *t);

/* Send one request line, return the reply line (without newline); IRQ
 * event lines are recorded, not returned. */
char *hg_test_request(HgTest *t, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

void hg_test_outb(HgTest *t, uint16_t port, uint8_t v);
void hg_test_outw(HgTest *t, uint16_t port, uint16_t v);
void hg_test_outl(HgTest *t, uint16_t port, uint32_t v);
uint8_t hg_test_inb(HgTest *t, uint16_t port);
uint16_t hg_test_inw(HgTest *t, uint16_t port);
uint32_t hg_test_inl(HgTest *t, uint16_t port);
void hg_test_writeb(HgTest *t, uint64_t addr, uint8_t v);
void hg_test_writew(HgTest *t, uint64_t addr, uint16_t v);
void hg_test_writel(HgTest *t, uint64_t addr, uint32_t v);
void hg_test_writeq(HgTest *t, uint64_t addr, uint64_t v);
uint8_t hg_test_readb(HgTest *t, uint64_t addr);
uint16_t hg_test_readw(HgTest *t, uint64_t addr);
uint32_t hg_test_readl(HgTest *t, uint64_t addr);
uint64_t hg_test_readq(HgTest *t, uint64_t addr);
void hg_test_memread(HgTest *t, uint64_t addr, void *buf, size_t len);
void hg_test_memwrite(HgTest *t, uint64_t addr, const void *buf, size_t len);
uint64_t hg_test_clock_step(HgTest *t, uint64_t ns);
bool hg_test_irq_level(HgTest *t, unsigned gsi);
/* How many times the line was raised since the test started (from the
 * IRQ event lines). */
unsigned hg_test_irq_raised_count(HgTest *t, unsigned gsi);
void hg_test_save(HgTest *t, const char *dir);
/* Give the console a guest cursor (console_cursor): width x height ARGB
 * pixels, top row first; a zero size for none. */
void hg_test_console_cursor(HgTest *t, int width, int height, int hot_x, int hot_y,
			    const uint32_t *argb);

/* MSIs seen since the test started (from the MSI event lines), oldest
 * first; hg_test_msi_clear forgets them. */
typedef struct {
	uint64_t address;
	uint32_t data;
} HgTestMsi;
unsigned hg_test_msi_count(HgTest *t);
HgTestMsi hg_test_msi_get(HgTest *t, unsigned i);
void hg_test_msi_clear(HgTest *t);

/* With --test-input-log: wait until the engine reported this input event
 * (e.g. "key 0x1e down", "abs 16383 0", "buttons 0x1"); events before it
 * are dropped.  False after timeout_ms. */
bool hg_test_wait_input(HgTest *t, const char *event, int timeout_ms);
/* The input events reported and not yet waited for (char *). */
GPtrArray *hg_test_inputs(HgTest *t);

/* Connect to a unix socket path (e.g. a serial backend), waiting up to 30 s
 * for it to appear; returns the fd. */
int hg_test_connect_unix(const char *path);
/* Read exactly len bytes from fd within timeout_ms; returns bytes read. */
size_t hg_test_read_fd(int fd, void *buf, size_t len, int timeout_ms);

/* One '\n'-terminated line from fd, without the newline; bytes read past
 * it stay in pending for the next call.  NULL at EOF or after timeout_ms. */
char *hg_test_read_line(int fd, GString *pending, int timeout_ms);

/* A TCP port on 127.0.0.1 that was free a moment ago (for servers a test
 * starts on TCP). */
int hg_test_free_tcp_port(void);

/* Remove a directory and everything below it (not following links). */
void hg_test_remove_tree(const char *path);

/* What kind of /dev/kvm this machine has: "hardware", "kvm_pvm", "absent". */
const char *hg_test_kvm_kind(void);
