/* COM1, the 16550A UART (devices/platform/uart16550.c), driven through the
 * device test harness: registers, FIFOs, interrupts, loopback, the serial
 * socket backend and save/restore.  Input over the socket arrives
 * asynchronously, so waits for it are bounded polls, never fixed sleeps;
 * time-dependent behaviour uses the harness clock. */
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "tests/harness/harness.h"
#include "tests/harness/saved_state.h"

#define COM1 0x3f8
#define COM1_IRQ 4

#define RBR (COM1 + 0)
#define THR (COM1 + 0)
#define DLL (COM1 + 0)
#define IER (COM1 + 1)
#define DLM (COM1 + 1)
#define IIR (COM1 + 2)
#define FCR (COM1 + 2)
#define LCR (COM1 + 3)
#define MCR (COM1 + 4)
#define LSR (COM1 + 5)
#define MSR (COM1 + 6)
#define SCR (COM1 + 7)

#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define LSR_IDLE (LSR_THRE | LSR_TEMT)

#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10

#define IIR_NONE 0x01
#define IIR_RLS 0x06
#define IIR_RDA 0x04
#define IIR_TIMEOUT 0x0c
#define IIR_THRE 0x02
#define IIR_MS 0x00
#define IIR_FIFO 0xc0

#define POLL_LIMIT_US (5 * G_USEC_PER_SEC)

/* 8N1 at divisor 1 (115200 baud): 10 bits of 16 / 1.8432 MHz each; four
 * character times, rounded up, is 4 * 10 * 16e9 / 1843200 ns. */
#define TIMEOUT_8N1_DIV1_NS 347223

typedef struct {
	HgTest *t;
	int serial; /* the test's end of COM1's backend socket */
} Uart;

static void uart_start_with(Uart *u, const char *restore_dir)
{
	g_autofree char *path = NULL;

	if (restore_dir)
		u->t = hg_test_start("--restore", restore_dir, "--serial", "unix:@DIR@/serial.sock",
				     NULL);
	else
		u->t = hg_test_start("--serial", "unix:@DIR@/serial.sock", NULL);
	path = g_build_filename(hg_test_dir(u->t), "serial.sock", NULL);
	u->serial = hg_test_connect_unix(path);
}

static void uart_start(Uart *u)
{
	uart_start_with(u, NULL);
}

static void uart_stop(Uart *u)
{
	close(u->serial);
	hg_test_quit(u->t);
}

static void send_to_guest(Uart *u, const char *bytes, size_t len)
{
	for (size_t off = 0; off < len;) {
		ssize_t n = write(u->serial, bytes + off, len - off);
		g_assert_cmpint(n, >, 0);
		off += n;
	}
}

/* Polls LSR until DR is set; returns the LSR value that showed it. */
static uint8_t wait_for_data_ready(Uart *u)
{
	gint64 deadline = g_get_monotonic_time() + POLL_LIMIT_US;

	for (;;) {
		uint8_t lsr = hg_test_inb(u->t, LSR);
		if (lsr & LSR_DR)
			return lsr;
		if (g_get_monotonic_time() > deadline)
			g_error("no received byte within 5 s (LSR 0x%02x)", lsr);
		g_usleep(1000);
	}
}

static void wait_for_irq_level(Uart *u, bool level)
{
	gint64 deadline = g_get_monotonic_time() + POLL_LIMIT_US;

	while (hg_test_irq_level(u->t, COM1_IRQ) != level) {
		if (g_get_monotonic_time() > deadline)
			g_error("IRQ %d did not go %s within 5 s", COM1_IRQ,
				level ? "high" : "low");
		g_usleep(1000);
	}
}

/* Reads len bytes from RBR, waiting for each; asserts no overrun. */
static void receive_expect(Uart *u, const char *expected, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		uint8_t lsr = wait_for_data_ready(u);
		g_assert_cmphex(lsr & LSR_OE, ==, 0);
		g_assert_cmphex(hg_test_inb(u->t, RBR), ==, (uint8_t)expected[i]);
	}
}

static void set_divisor(Uart *u, uint16_t divisor, uint8_t lcr)
{
	hg_test_outb(u->t, LCR, 0x80);
	hg_test_outb(u->t, DLL, divisor & 0xff);
	hg_test_outb(u->t, DLM, divisor >> 8);
	hg_test_outb(u->t, LCR, lcr);
}

static void test_power_on_values(void)
{
	Uart u;

	uart_start(&u);
	g_assert_cmphex(hg_test_inb(u.t, IER), ==, 0x00);
	g_assert_cmphex(hg_test_inb(u.t, IIR), ==, IIR_NONE);
	g_assert_cmphex(hg_test_inb(u.t, LCR), ==, 0x00);
	g_assert_cmphex(hg_test_inb(u.t, MCR), ==, 0x00);
	g_assert_cmphex(hg_test_inb(u.t, LSR), ==, LSR_IDLE);
	/* DCD, DSR and CTS asserted, RI not, no deltas. */
	g_assert_cmphex(hg_test_inb(u.t, MSR), ==, 0xb0);
	g_assert_cmphex(hg_test_inb(u.t, SCR), ==, 0x00);
	/* 9600 baud until the guest programs the divisor. */
	hg_test_outb(u.t, LCR, 0x80);
	g_assert_cmphex(hg_test_inb(u.t, DLL), ==, 12);
	g_assert_cmphex(hg_test_inb(u.t, DLM), ==, 0);
	g_assert_false(hg_test_irq_level(u.t, COM1_IRQ));
	uart_stop(&u);
}

static void test_idle_transmitter_shows_thre_and_temt(void)
{
	Uart u;

	uart_start(&u);
	g_assert_cmphex(hg_test_inb(u.t, LSR) & LSR_IDLE, ==, LSR_IDLE);
	for (int i = 0; i < 40; i++) {
		hg_test_outb(u.t, THR, 'a' + i % 26);
		g_assert_cmphex(hg_test_inb(u.t, LSR), ==, LSR_IDLE);
	}
	hg_test_outb(u.t, FCR, 0x01);
	for (int i = 0; i < 40; i++)
		hg_test_outb(u.t, THR, '0' + i % 10);
	g_assert_cmphex(hg_test_inb(u.t, LSR), ==, LSR_IDLE);
	uart_stop(&u);
}

static void test_tx_bytes_reach_the_backend(void)
{
	static const char message[] = "Hello from COM1\r\n";
	char got[sizeof(message)] = {0};
	Uart u;

	uart_start(&u);
	set_divisor(&u, 1, 0x03);
	for (size_t i = 0; i < strlen(message); i++)
		hg_test_outb(u.t, THR, message[i]);
	g_assert_cmpuint(hg_test_read_fd(u.serial, got, strlen(message), 5000), ==,
			 strlen(message));
	g_assert_cmpstr(got, ==, message);
	uart_stop(&u);
}

static void test_rx_backend_bytes_raise_irq_4_when_enabled(void)
{
	Uart u;

	uart_start(&u);
	hg_test_outb(u.t, IER, 0x01);
	hg_test_outb(u.t, MCR, MCR_DTR | MCR_RTS | MCR_OUT2);
	g_assert_false(hg_test_irq_level(u.t, COM1_IRQ));
	send_to_guest(&u, "x", 1);
	wait_for_irq_level(&u, true);
	g_assert_cmpuint(hg_test_irq_raised_count(u.t, COM1_IRQ), ==, 1);
	g_assert_cmphex(hg_test_inb(u.t, IIR), ==, IIR_RDA);
	g_assert_cmphex(hg_test_inb(u.t, LSR), ==, LSR_IDLE | LSR_DR);
	g_assert_cmphex(hg_test_inb(u.t, RBR), ==, 'x');
	g_assert_false(hg_test_irq_level(u.t, COM1_IRQ));
	g_assert_cmphex(hg_test_inb(u.t, IIR), ==, IIR_NONE);
	g_assert_cmphex(hg_test_inb(u.t, LSR), ==, LSR_IDLE);
	uart_stop(&u);
}

static void test_irq_out2_gates_the_interrupt_line(void)
{
	Uart u;

	uart_start(&u);
	hg_test_outb(u.t, IER, 0x01);
	hg_test_outb(u.t, MCR, MCR_DTR | MCR_RTS);
	send_to_guest(&u, "g", 1);
	wait_for_data_ready(&u);
	/* The UART has an interrupt pending, but OUT2 keeps it off the bus. */
	g_assert_cmphex(hg_test_inb(u.t, IIR), ==, IIR_RDA);
	g_assert_false(hg_test_irq_level(u.t, COM1_IRQ));
	hg_test_outb(u.t, MCR, MCR_DTR | MCR_RTS | MCR_OUT2);
	g_assert_true(hg_test_irq_level(u.t, COM1_IRQ));
	hg_test_outb(u.t, MCR, MCR_DTR | MCR_RTS);
	g_assert_false(hg_test_irq_level(u.t, COM1_IRQ));
	g_assert_cmphex(hg_test_inb(u.t, RBR), ==, 'g');
	uart_stop(&u);
}

static void test_rx_fifo_trigger_level(void)
{
	Uart u;

	uart_start(&u);
	hg_test_outb(u.t, FCR, 0x41); /* FIFO on, trigger level 4 */
	hg_test_outb(u.t, IER, 0x01);
	hg_test_outb(u.t, MCR, MCR_OUT2);
	send_to_guest(&u, "abc", 3);
	wait_for_data_ready(&u);
	g_assert_false(hg_test_irq_level(u.t, COM1_IRQ)); /* at most 3 bytes in */
	send_to_guest(&u, "d", 1);
	wait_for_irq_level(&u, true); /* all 4 are in */
	g_assert_cmphex(hg_test_inb(u.t, IIR), ==, IIR_FIFO | IIR_RDA);
	g_assert_cmphex(hg_test_inb(u.t, RBR), ==, 'a');
	/* Three left, below the trigger level: no interrupt, data still ready. */
	g_assert_false(hg_test_irq_level(u.t, COM1_IRQ));
	g_assert_cmphex(hg_test_inb(u.t, IIR), ==, IIR_FIFO | IIR_NONE);
	g_assert_cmphex(hg_test_inb(u.t, LSR), ==, LSR_IDLE | LSR_DR);
	receive_expect(&u, "bcd", 3);
	g_assert_cmphex(hg_test_inb(u.t, LSR), ==, LSR_IDLE);
	uart_stop(&u);
}

/* Each trigger level, filled deterministically through loopback. */
static void test_rx_fifo_trigger_levels_1_4_8_14(void)
{
	static const struct {
		uint8_t fcr;
		unsigned level;
	} cases[] = {{0x01, 1}, {0x41, 4}, {0x81, 8}, {0xc1, 14}};
	Uart u;

	uart_start(&u);
	hg_test_outb(u.t, MCR, MCR_LOOP);
	hg_test_outb(u.t, IER, 0x01);
	for (size_t c = 0; c < G_N_ELEMENTS(cases); c++) {
		hg_test_outb(u.t, FCR, cases[c].fcr | 0x06);
		for (unsigned i = 1; i <= 16; i++) {
			hg_test_outb(u.t, THR, i);
			g_assert_cmphex(hg_test_inb(u.t, IIR), ==,
					IIR_FIFO | (i >= cases[c].level ? IIR_RDA : IIR_NONE));
		}
	}
	uart_stop(&u);
}

static void test_rx_timeout_interrupt_after_clock_step(void)
{
	Uart u;

	uart_start(&u);
	set_divisor(&u, 1, 0x03);
	hg_test_outb(u.t, FCR, 0xc1); /* trigger level 14: two bytes stay below it */
	hg_test_outb(u.t, IER, 0x01);
	hg_test_outb(u.t, MCR, MCR_OUT2);
	send_to_guest(&u, "hi", 2);
	wait_for_data_ready(&u);
	/* The clock has not moved, so the deadline is the same whenever the
	 * bytes arrived: four character times from now. */
	hg_test_clock_step(u.t, TIMEOUT_8N1_DIV1_NS - 1);
	g_assert_false(hg_test_irq_level(u.t, COM1_IRQ));
	g_assert_cmphex(hg_test_inb(u.t, IIR), ==, IIR_FIFO | IIR_NONE);
	hg_test_clock_step(u.t, 1);
	g_assert_true(hg_test_irq_level(u.t, COM1_IRQ));
	g_assert_cmphex(hg_test_inb(u.t, IIR), ==, IIR_FIFO | IIR_TIMEOUT);
	/* Reading the FIFO clears the indication and restarts the timer. */
	g_assert_cmphex(hg_test_inb(u.t, RBR), ==, 'h');
	g_assert_false(hg_test_irq_level(u.t, COM1_IRQ));
	wait_for_data_ready(&u);
	hg_test_clock_step(u.t, TIMEOUT_8N1_DIV1_NS - 1);
	g_assert_false(hg_test_irq_level(u.t, COM1_IRQ));
	hg_test_clock_step(u.t, 1);
	g_assert_true(hg_test_irq_level(u.t, COM1_IRQ));
	g_assert_cmphex(hg_test_inb(u.t, RBR), ==, 'i');
	g_assert_false(hg_test_irq_level(u.t, COM1_IRQ));
	/* An empty FIFO never times out. */
	hg_test_clock_step(u.t, 10 * TIMEOUT_8N1_DIV1_NS);
	g_assert_false(hg_test_irq_level(u.t, COM1_IRQ));
	g_assert_cmpuint(hg_test_irq_raised_count(u.t, COM1_IRQ), ==, 2);
	uart_stop(&u);
}

/* Character time follows the divisor, word length, parity and stop bits. */
static void test_rx_timeout_is_four_character_times_of_the_line_format(void)
{
	static const struct {
		uint16_t divisor;
		uint8_t lcr;
		uint64_t timeout_ns;
	} cases[] = {
		/* 7E2: 1 + 7 + 1 + 2 = 11 bits at 38400 baud. */
		{3, 0x1e, 1145834},
		/* 5N1.5: 1 + 5 + 1.5 = 7.5 bits at 115200 baud. */
		{1, 0x04, 260417},
		/* 8N1 at 9600 baud. */
		{12, 0x03, 4166667},
	};
	Uart u;

	uart_start(&u);
	hg_test_outb(u.t, MCR, MCR_LOOP);
	hg_test_outb(u.t, IER, 0x01);
	for (size_t c = 0; c < G_N_ELEMENTS(cases); c++) {
		set_divisor(&u, cases[c].divisor, cases[c].lcr);
		hg_test_outb(u.t, FCR, 0xc7);
		hg_test_outb(u.t, THR, 'T');
		hg_test_clock_step(u.t, cases[c].timeout_ns - 1);
		g_assert_cmphex(hg_test_inb(u.t, IIR), ==, IIR_FIFO | IIR_NONE);
		hg_test_clock_step(u.t, 1);
		g_assert_cmphex(hg_test_inb(u.t, IIR), ==, IIR_FIFO | IIR_TIMEOUT);
		g_assert_cmphex(hg_test_inb(u.t, RBR), ==, 'T');
	}
	uart_stop(&u);
}

static void test_rx_overrun_sets_oe(void)
{
	Uart u;

	uart_start(&u);
	hg_test_outb(u.t, FCR, 0xc7);
	hg_test_outb(u.t, IER, 0x04); /* receiver line status */
	hg_test_outb(u.t, MCR, MCR_LOOP | MCR_OUT2);
	for (int i = 0; i < 16; i++)
		hg_test_outb(u.t, THR, 0x40 + i);
	g_assert_cmphex(hg_test_inb(u.t, IIR), ==, IIR_FIFO | IIR_NONE);
	hg_test_outb(u.t, THR, 0xee); /* the 17th byte has no room */
	g_assert_cmphex(hg_test_inb(u.t, IIR), ==, IIR_FIFO | IIR_RLS);
	g_assert_true(hg_test_irq_level(u.t, COM1_IRQ));
	g_assert_cmphex(hg_test_inb(u.t, LSR), ==, LSR_IDLE | LSR_OE | LSR_DR);
	/* Reading LSR clears OE and the interrupt. */
	g_assert_cmphex(hg_test_inb(u.t, LSR), ==, LSR_IDLE | LSR_DR);
	g_assert_false(hg_test_irq_level(u.t, COM1_IRQ));
	/* The FIFO kept the first 16 bytes; the overrunning one was lost. */
	for (int i = 0; i < 16; i++)
		g_assert_cmphex(hg_test_inb(u.t, RBR), ==, 0x40 + i);
	g_assert_cmphex(hg_test_inb(u.t, LSR), ==, LSR_IDLE);
	uart_stop(&u);
}

static void test_rx_overrun_without_fifo_keeps_the_newest_byte(void)
{
	Uart u;

	uart_start(&u);
	hg_test_outb(u.t, MCR, MCR_LOOP);
	hg_test_outb(u.t, THR, 'A');
	g_assert_cmphex(hg_test_inb(u.t, LSR), ==, LSR_IDLE | LSR_DR);
	hg_test_outb(u.t, THR, 'B');
	g_assert_cmphex(hg_test_inb(u.t, LSR), ==, LSR_IDLE | LSR_OE | LSR_DR);
	g_assert_cmphex(hg_test_inb(u.t, RBR), ==, 'B');
	g_assert_cmphex(hg_test_inb(u.t, LSR), ==, LSR_IDLE);
	uart_stop(&u);
}

/* More input than the FIFO holds waits in the backend instead of being
 * lost: the device takes more as the guest reads. */
static void test_rx_backend_input_waits_for_fifo_room(void)
{
	static const char text[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	Uart u;

	uart_start(&u);
	hg_test_outb(u.t, FCR, 0x01);
	send_to_guest(&u, text, strlen(text));
	receive_expect(&u, text, strlen(text));
	g_assert_cmphex(hg_test_inb(u.t, LSR), ==, LSR_IDLE);
	uart_stop(&u);
}

static void test_rx_fifo_less_port_takes_input_one_byte_at_a_time(void)
{
	static const char text[] = "one byte at a time";
	Uart u;

	uart_start(&u);
	send_to_guest(&u, text, strlen(text));
	receive_expect(&u, text, strlen(text));
	g_assert_cmphex(hg_test_inb(u.t, LSR), ==, LSR_IDLE);
	uart_stop(&u);
}

static void test_iir_thre_interrupt_cleared_by_iir_read(void)
{
	Uart u;

	uart_start(&u);
	hg_test_outb(u.t, MCR, MCR_OUT2);
	hg_test_outb(u.t, IER, 0x02);
	g_assert_true(hg_test_irq_level(u.t, COM1_IRQ));
	g_assert_cmphex(hg_test_inb(u.t, IIR), ==, IIR_THRE);
	g_assert_false(hg_test_irq_level(u.t, COM1_IRQ));
	g_assert_cmphex(hg_test_inb(u.t, IIR), ==, IIR_NONE);
	/* The transmitter is still empty; only the interrupt was taken. */
	g_assert_cmphex(hg_test_inb(u.t, LSR), ==, LSR_IDLE);
	uart_stop(&u);
}

/* Linux's 8250 startup test: IER THRI set again while empty re-raises. */
static void test_iir_thre_interrupt_returns_when_ier_enables_it(void)
{
	Uart u;

	uart_start(&u);
	hg_test_outb(u.t, MCR, MCR_OUT2);
	hg_test_outb(u.t, IER, 0x02);
	g_assert_cmphex(hg_test_inb(u.t, IIR), ==, IIR_THRE);
	hg_test_outb(u.t, IER, 0x00);
	g_assert_cmphex(hg_test_inb(u.t, IIR), ==, IIR_NONE);
	hg_test_outb(u.t, IER, 0x02);
	g_assert_cmphex(hg_test_inb(u.t, IIR), ==, IIR_THRE);
	g_assert_cmpuint(hg_test_irq_raised_count(u.t, COM1_IRQ), ==, 2);
	uart_stop(&u);
}

/* A THR write clears THRE and the emptied THR raises it again: an ISR that
 * writes without reading IIR first still gets a new edge. */
static void test_iir_thr_write_makes_a_new_edge(void)
{
	Uart u;

	uart_start(&u);
	hg_test_outb(u.t, MCR, MCR_OUT2);
	hg_test_outb(u.t, IER, 0x02);
	g_assert_cmpuint(hg_test_irq_raised_count(u.t, COM1_IRQ), ==, 1);
	hg_test_outb(u.t, THR, 'e');
	g_assert_cmpuint(hg_test_irq_raised_count(u.t, COM1_IRQ), ==, 2);
	g_assert_true(hg_test_irq_level(u.t, COM1_IRQ));
	g_assert_cmphex(hg_test_inb(u.t, IIR), ==, IIR_THRE);
	g_assert_false(hg_test_irq_level(u.t, COM1_IRQ));
	uart_stop(&u);
}

static void test_iir_reports_highest_priority_source_first(void)
{
	Uart u;

	uart_start(&u);
	hg_test_outb(u.t, FCR, 0x07);
	hg_test_outb(u.t, MCR, MCR_LOOP | MCR_OUT2);
	for (int i = 0; i < 17; i++)
		hg_test_outb(u.t, THR, i);
	hg_test_outb(u.t, MCR, MCR_LOOP | MCR_OUT2 | MCR_RTS); /* CTS changes */
	hg_test_outb(u.t, IER, 0x0f);
	g_assert_cmphex(hg_test_inb(u.t, IIR), ==, IIR_FIFO | IIR_RLS);
	hg_test_inb(u.t, LSR);
	g_assert_cmphex(hg_test_inb(u.t, IIR), ==, IIR_FIFO | IIR_RDA);
	for (int i = 0; i < 16; i++)
		hg_test_inb(u.t, RBR);
	g_assert_cmphex(hg_test_inb(u.t, IIR), ==, IIR_FIFO | IIR_THRE);
	g_assert_cmphex(hg_test_inb(u.t, IIR), ==, IIR_FIFO | IIR_MS);
	g_assert_true(hg_test_irq_level(u.t, COM1_IRQ));
	hg_test_inb(u.t, MSR);
	g_assert_cmphex(hg_test_inb(u.t, IIR), ==, IIR_FIFO | IIR_NONE);
	g_assert_false(hg_test_irq_level(u.t, COM1_IRQ));
	uart_stop(&u);
}

static void test_fcr_clear_rx_fifo_drops_received_bytes(void)
{
	Uart u;

	uart_start(&u);
	g_assert_cmphex(hg_test_inb(u.t, IIR) & IIR_FIFO, ==, 0);
	hg_test_outb(u.t, FCR, 0x01);
	g_assert_cmphex(hg_test_inb(u.t, IIR) & IIR_FIFO, ==, IIR_FIFO);
	hg_test_outb(u.t, MCR, MCR_LOOP);
	hg_test_outb(u.t, THR, '1');
	hg_test_outb(u.t, THR, '2');
	g_assert_cmphex(hg_test_inb(u.t, LSR), ==, LSR_IDLE | LSR_DR);
	hg_test_outb(u.t, FCR, 0x03);
	g_assert_cmphex(hg_test_inb(u.t, LSR), ==, LSR_IDLE);
	/* Turning the FIFOs off clears them too. */
	hg_test_outb(u.t, THR, '3');
	hg_test_outb(u.t, FCR, 0x00);
	g_assert_cmphex(hg_test_inb(u.t, LSR), ==, LSR_IDLE);
	g_assert_cmphex(hg_test_inb(u.t, IIR) & IIR_FIFO, ==, 0);
	uart_stop(&u);
}

static void test_dlab_divisor_latch(void)
{
	Uart u;

	uart_start(&u);
	hg_test_outb(u.t, IER, 0x05);
	hg_test_outb(u.t, LCR, 0x83);
	hg_test_outb(u.t, DLL, 0x34);
	hg_test_outb(u.t, DLM, 0x12);
	g_assert_cmphex(hg_test_inb(u.t, DLL), ==, 0x34);
	g_assert_cmphex(hg_test_inb(u.t, DLM), ==, 0x12);
	g_assert_cmphex(hg_test_inb(u.t, LCR), ==, 0x83);
	/* With DLAB clear the same ports are RBR/THR and IER again. */
	hg_test_outb(u.t, LCR, 0x03);
	g_assert_cmphex(hg_test_inb(u.t, IER), ==, 0x05);
	hg_test_outb(u.t, IER, 0x01);
	hg_test_outb(u.t, LCR, 0x83);
	g_assert_cmphex(hg_test_inb(u.t, DLL), ==, 0x34);
	g_assert_cmphex(hg_test_inb(u.t, DLM), ==, 0x12);
	/* A 16-bit access reaches both latch bytes, low port first. */
	hg_test_outw(u.t, DLL, 0x0180);
	g_assert_cmphex(hg_test_inw(u.t, DLL), ==, 0x0180);
	hg_test_outb(u.t, LCR, 0x03);
	g_assert_cmphex(hg_test_inb(u.t, IER), ==, 0x01);
	uart_stop(&u);
}

static void test_loopback_tx_returns_on_rx_and_not_to_backend(void)
{
	char got[2] = {0};
	Uart u;

	uart_start(&u);
	hg_test_outb(u.t, MCR, MCR_LOOP);
	hg_test_outb(u.t, THR, 'L');
	g_assert_cmphex(hg_test_inb(u.t, LSR), ==, LSR_IDLE | LSR_DR);
	g_assert_cmphex(hg_test_inb(u.t, RBR), ==, 'L');
	/* Out of loopback the next byte goes to the line; it must be the
	 * first thing the backend ever sees. */
	hg_test_outb(u.t, MCR, 0);
	hg_test_outb(u.t, THR, 'W');
	g_assert_cmpuint(hg_test_read_fd(u.serial, got, 1, 5000), ==, 1);
	g_assert_cmpint(got[0], ==, 'W');
	g_assert_cmphex(hg_test_inb(u.t, LSR), ==, LSR_IDLE);
	uart_stop(&u);
}

static void test_loopback_modem_outputs_drive_modem_inputs(void)
{
	Uart u;

	uart_start(&u);
	hg_test_outb(u.t, MCR, MCR_LOOP);
	hg_test_inb(u.t, MSR); /* drop the deltas of entering loopback */
	g_assert_cmphex(hg_test_inb(u.t, MSR), ==, 0x00);
	hg_test_outb(u.t, MCR, MCR_LOOP | MCR_DTR);
	g_assert_cmphex(hg_test_inb(u.t, MSR), ==, 0x20 | 0x02); /* DSR, DDSR */
	hg_test_outb(u.t, MCR, MCR_LOOP | MCR_DTR | MCR_RTS);
	g_assert_cmphex(hg_test_inb(u.t, MSR), ==, 0x30 | 0x01); /* + CTS, DCTS */
	hg_test_outb(u.t, MCR, MCR_LOOP | MCR_DTR | MCR_RTS | MCR_OUT1);
	g_assert_cmphex(hg_test_inb(u.t, MSR), ==, 0x70); /* + RI, no delta yet */
	hg_test_outb(u.t, MCR, MCR_LOOP | MCR_DTR | MCR_RTS | MCR_OUT2);
	g_assert_cmphex(hg_test_inb(u.t, MSR), ==, 0xb0 | 0x08 | 0x04); /* DCD; RI fell */
	/* Linux's 8250 probe: LOOP | OUT2 | RTS must read back DCD | CTS. */
	hg_test_outb(u.t, MCR, MCR_LOOP | 0x0a);
	g_assert_cmphex(hg_test_inb(u.t, MSR) & 0xf0, ==, 0x90);
	uart_stop(&u);
}

static void test_msr_modem_status_interrupt_on_line_change(void)
{
	Uart u;

	uart_start(&u);
	hg_test_outb(u.t, IER, 0x08);
	hg_test_outb(u.t, MCR, MCR_OUT2);
	g_assert_false(hg_test_irq_level(u.t, COM1_IRQ));
	/* Entering loopback drops CTS and DSR (DCD follows OUT2, still on). */
	hg_test_outb(u.t, MCR, MCR_OUT2 | MCR_LOOP);
	g_assert_true(hg_test_irq_level(u.t, COM1_IRQ));
	g_assert_cmphex(hg_test_inb(u.t, IIR), ==, IIR_MS);
	g_assert_cmphex(hg_test_inb(u.t, MSR), ==, 0x80 | 0x02 | 0x01);
	g_assert_false(hg_test_irq_level(u.t, COM1_IRQ));
	g_assert_cmphex(hg_test_inb(u.t, IIR), ==, IIR_NONE);
	uart_stop(&u);
}

static void test_scratch_register(void)
{
	Uart u;

	uart_start(&u);
	hg_test_outb(u.t, SCR, 0xa5);
	g_assert_cmphex(hg_test_inb(u.t, SCR), ==, 0xa5);
	hg_test_outb(u.t, SCR, 0x5a);
	g_assert_cmphex(hg_test_inb(u.t, SCR), ==, 0x5a);
	/* It affects nothing else. */
	g_assert_cmphex(hg_test_inb(u.t, LSR), ==, LSR_IDLE);
	g_assert_cmphex(hg_test_inb(u.t, IIR), ==, IIR_NONE);
	uart_stop(&u);
}

/* --- save and restore --- */

/* 8N1 at 115200, FIFO trigger 8, RX interrupt, "snapshot" received from
 * the backend and its first byte read, 100 us into the machine's life. */
static void start_mid_reception(Uart *u)
{
	uart_start(u);
	set_divisor(u, 1, 0x03);
	hg_test_outb(u->t, FCR, 0x81);
	hg_test_outb(u->t, IER, 0x01);
	hg_test_outb(u->t, MCR, MCR_DTR | MCR_RTS | MCR_OUT2);
	hg_test_outb(u->t, SCR, 0x5a);
	hg_test_clock_step(u->t, 100000);
	send_to_guest(u, "snapshot", 8);
	wait_for_irq_level(u, true); /* all 8 in */
	g_assert_cmphex(hg_test_inb(u->t, RBR), ==, 's');
	g_assert_false(hg_test_irq_level(u->t, COM1_IRQ));
}

static void check_restored_registers(Uart *u)
{
	g_assert_cmphex(hg_test_inb(u->t, LCR), ==, 0x03);
	g_assert_cmphex(hg_test_inb(u->t, MCR), ==, MCR_DTR | MCR_RTS | MCR_OUT2);
	g_assert_cmphex(hg_test_inb(u->t, IER), ==, 0x01);
	g_assert_cmphex(hg_test_inb(u->t, SCR), ==, 0x5a);
	g_assert_cmphex(hg_test_inb(u->t, MSR), ==, 0xb0);
	hg_test_outb(u->t, LCR, 0x83);
	g_assert_cmphex(hg_test_inw(u->t, DLL), ==, 1);
	hg_test_outb(u->t, LCR, 0x03);
}

static void test_state_save_mid_reception_and_load_in_fresh_engine(void)
{
	Uart a, b;
	g_autofree char *dir = NULL;

	start_mid_reception(&a);
	dir = g_build_filename(hg_test_dir(a.t), "saved", NULL);
	hg_test_save(a.t, dir);

	uart_start_with(&b, dir);
	g_assert_false(hg_test_irq_level(b.t, COM1_IRQ));
	check_restored_registers(&b);
	g_assert_cmphex(hg_test_inb(b.t, IIR), ==, IIR_FIFO | IIR_NONE);
	g_assert_cmphex(hg_test_inb(b.t, LSR), ==, LSR_IDLE | LSR_DR);
	/* The timeout timer continues from the saved clock: armed when 's'
	 * was read at 100 us, due four character times later. */
	hg_test_clock_step(b.t, TIMEOUT_8N1_DIV1_NS - 1);
	g_assert_false(hg_test_irq_level(b.t, COM1_IRQ));
	hg_test_clock_step(b.t, 1);
	g_assert_true(hg_test_irq_level(b.t, COM1_IRQ));
	g_assert_cmphex(hg_test_inb(b.t, IIR), ==, IIR_FIFO | IIR_TIMEOUT);
	/* The FIFO holds the rest, in order, and input flows again. */
	for (const char *p = "napshot"; *p; p++)
		g_assert_cmphex(hg_test_inb(b.t, RBR), ==, (uint8_t)*p);
	g_assert_cmphex(hg_test_inb(b.t, LSR), ==, LSR_IDLE);
	g_assert_false(hg_test_irq_level(b.t, COM1_IRQ));
	send_to_guest(&b, "!", 1);
	receive_expect(&b, "!", 1);
	uart_stop(&b);
	uart_stop(&a);
}

static void test_state_irq_level_survives_restore(void)
{
	Uart a, b;
	g_autofree char *dir = NULL;

	start_mid_reception(&a);
	hg_test_clock_step(a.t, TIMEOUT_8N1_DIV1_NS);
	g_assert_true(hg_test_irq_level(a.t, COM1_IRQ));
	dir = g_build_filename(hg_test_dir(a.t), "saved", NULL);
	hg_test_save(a.t, dir);

	uart_start_with(&b, dir);
	g_assert_true(hg_test_irq_level(b.t, COM1_IRQ));
	check_restored_registers(&b);
	g_assert_cmphex(hg_test_inb(b.t, IIR), ==, IIR_FIFO | IIR_TIMEOUT);
	g_assert_cmphex(hg_test_inb(b.t, RBR), ==, 'n');
	g_assert_false(hg_test_irq_level(b.t, COM1_IRQ));
	uart_stop(&b);
	uart_stop(&a);
}

static void test_state_load_rejects_corrupt_record(void)
{
	static const struct {
		const char *key;
		const char *value; /* GVariant text, NULL to remove the key */
		const char *why;
	} cases[] = {
		{"rx-count", "byte 17", "more bytes than fit"},
		{"rx-head", "byte 16", "position out of range"},
		{"rx-fifo", "@ay [1, 2, 3]", "\"rx-fifo\" has 3 bytes"},
		{"ier", "uint32 1", "\"ier\" has type u"},
		{"ier", "byte 0x10", "IER has reserved bits"},
		{"fcr", "byte 0x03", "FCR has self-clearing"},
		{"msr", "byte 0x00", "MSR lines disagree"},
		{"timeout-deadline-ns", NULL, "lacks \"timeout-deadline-ns\""},
	};
	static const char *const no_backend[] = {"--serial", "none", NULL};
	Uart a;
	g_autofree char *dir = NULL;

	start_mid_reception(&a);
	dir = g_build_filename(hg_test_dir(a.t), "saved", NULL);
	for (size_t c = 0; c < G_N_ELEMENTS(cases); c++) {
		hg_test_save(a.t, dir);
		hg_test_edit_saved_record_text(dir, "com1", cases[c].key, cases[c].value);
		hg_test_expect_restore_refused(dir, no_backend, "com1", cases[c].why);
	}
	uart_stop(&a);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	signal(SIGPIPE, SIG_IGN);

	g_test_add_func("/uart16550/registers/power-on-values", test_power_on_values);
	g_test_add_func("/uart16550/lsr/idle-transmitter-shows-thre-and-temt",
			test_idle_transmitter_shows_thre_and_temt);
	g_test_add_func("/uart16550/tx/bytes-reach-the-backend", test_tx_bytes_reach_the_backend);
	g_test_add_func("/uart16550/rx/backend-bytes-raise-irq-4-when-enabled",
			test_rx_backend_bytes_raise_irq_4_when_enabled);
	g_test_add_func("/uart16550/irq/out2-gates-the-interrupt-line",
			test_irq_out2_gates_the_interrupt_line);
	g_test_add_func("/uart16550/rx/fifo-trigger-level", test_rx_fifo_trigger_level);
	g_test_add_func("/uart16550/rx/fifo-trigger-levels-1-4-8-14",
			test_rx_fifo_trigger_levels_1_4_8_14);
	g_test_add_func("/uart16550/rx/timeout-interrupt-after-clock-step",
			test_rx_timeout_interrupt_after_clock_step);
	g_test_add_func("/uart16550/rx/timeout-is-four-character-times-of-the-line-format",
			test_rx_timeout_is_four_character_times_of_the_line_format);
	g_test_add_func("/uart16550/rx/overrun-sets-oe", test_rx_overrun_sets_oe);
	g_test_add_func("/uart16550/rx/overrun-without-fifo-keeps-the-newest-byte",
			test_rx_overrun_without_fifo_keeps_the_newest_byte);
	g_test_add_func("/uart16550/rx/backend-input-waits-for-fifo-room",
			test_rx_backend_input_waits_for_fifo_room);
	g_test_add_func("/uart16550/rx/fifo-less-port-takes-input-one-byte-at-a-time",
			test_rx_fifo_less_port_takes_input_one_byte_at_a_time);
	g_test_add_func("/uart16550/iir/thre-interrupt-cleared-by-iir-read",
			test_iir_thre_interrupt_cleared_by_iir_read);
	g_test_add_func("/uart16550/iir/thre-interrupt-returns-when-ier-enables-it",
			test_iir_thre_interrupt_returns_when_ier_enables_it);
	g_test_add_func("/uart16550/iir/thr-write-makes-a-new-edge",
			test_iir_thr_write_makes_a_new_edge);
	g_test_add_func("/uart16550/iir/reports-highest-priority-source-first",
			test_iir_reports_highest_priority_source_first);
	g_test_add_func("/uart16550/fcr/clear-rx-fifo-drops-received-bytes",
			test_fcr_clear_rx_fifo_drops_received_bytes);
	g_test_add_func("/uart16550/dlab/divisor-latch", test_dlab_divisor_latch);
	g_test_add_func("/uart16550/loopback/tx-returns-on-rx-and-not-to-backend",
			test_loopback_tx_returns_on_rx_and_not_to_backend);
	g_test_add_func("/uart16550/loopback/modem-outputs-drive-modem-inputs",
			test_loopback_modem_outputs_drive_modem_inputs);
	g_test_add_func("/uart16550/msr/modem-status-interrupt-on-line-change",
			test_msr_modem_status_interrupt_on_line_change);
	g_test_add_func("/uart16550/scratch-register", test_scratch_register);
	g_test_add_func("/uart16550/state/save-mid-reception-and-load-in-fresh-engine",
			test_state_save_mid_reception_and_load_in_fresh_engine);
	g_test_add_func("/uart16550/state/irq-level-survives-restore",
			test_state_irq_level_survives_restore);
	g_test_add_func("/uart16550/state/load-rejects-corrupt-record",
			test_state_load_rejects_corrupt_record);
	return g_test_run();
}
