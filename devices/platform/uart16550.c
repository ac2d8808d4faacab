/* 16550A UART, the PC serial port (COM1 at 0x3F8, IRQ 4).
 *
 * Specification: National Semiconductor / Texas Instruments PC16550D
 * "Universal Asynchronous Receiver/Transmitter with FIFOs" (June 1995; TI
 * SNLS378C).  Section numbers are those of the 1995 edition:
 *   Table II   register summary and addresses (DLAB selects DLL/DLM)
 *   Table III  reset configuration: what Master Reset touches
 *   Table IV   interrupt control functions: priorities, set and reset
 *   8.1  LCR: word length, stop bits, parity, break, DLAB
 *   8.3  baud generator: divisor = clock / (16 x baud); PCs use 1.8432 MHz
 *   8.4  LSR: DR, OE, PE, FE, BI, THRE, TEMT, RCVR FIFO error
 *   8.5  FCR: FIFO enable (changing it clears both FIFOs), RCVR/XMIT FIFO
 *        reset, trigger level 1/4/8/14; other bits only written with bit 0
 *   8.6  IIR: highest pending source; FIFO-enabled bits 7:6
 *   8.7  IER
 *   8.8  MCR: DTR, RTS, OUT1, OUT2, LOOP; loopback connects TX to RX and the
 *        modem outputs to the inputs (DTR-DSR, RTS-CTS, OUT1-RI, OUT2-DCD)
 *   8.9  MSR: delta bits DCTS, DDSR, TERI, DDCD and the four input lines
 *   8.10 FIFO interrupt mode: trigger level, character timeout (four
 *        character times with no FIFO input or read), THRE behaviour
 *   8.12 SCR
 *
 * Model choices, where this emulation differs from a wire:
 * - Transmit is instantaneous: a THR write goes through the XMIT FIFO to the
 *   backend at once, so THRE and TEMT read 1 whenever the guest looks
 *   (FACTS.md: polled output spins on them).  A THR write still clears the
 *   THRE interrupt and raises it again once the byte is gone, so the line
 *   makes the edge an edge-triggered PIC needs.
 * - Input comes from the backend only as fast as the RCVR FIFO has room
 *   (the chardev asks can_receive first), so the host never overruns it;
 *   overrun happens in loopback, where the guest feeds itself.
 * - The byte stream has no parity, framing or break, so PE, FE and BI stay 0
 *   (LCR's break bit is kept but sends nothing).
 * - Not in loopback the modem inputs show DCD, DSR and CTS asserted, RI
 *   not: MSR = 0xB0, a null-modem line to a host that is always ready.
 *   Software with hardware flow control waits for CTS/DSR/DCD before
 *   sending, so showing "not ready" would hang it for no gain.
 * - The RX timeout uses the machine clock (hg_timer_*), with the character
 *   time from the divisor and LCR, so tests step it instead of sleeping.
 * - IRQ gating: on a PC the UART's INTR output reaches the ISA bus only
 *   while MCR OUT2 is 1 (IBM's Asynchronous Communications Adapter gates it
 *   through a buffer enabled by OUT2; PC-compatible cards and the Super I/O
 *   chips that replaced them keep that gate, and Linux's 8250 driver sets
 *   OUT2 for exactly this reason).  The gate here follows the OUT2 register
 *   bit, also in loopback (on a discrete card the OUT2 pin, and with it the
 *   gate, is forced inactive in loopback; integrated parts gate on the bit).
 * - Master reset (Table III) leaves RBR, SCR and the divisor latch alone; at
 *   creation they start as 0, 0 and 12 (9600 baud, the PC BIOS default).
 *
 * Threads: register handlers, the timeout timer callback and reset/save/load
 * run with machine->device_lock held (vCPU thread, harness or main loop).
 * The chardev input callbacks run on the main thread without it and take
 * it themselves. */
#include "devices/platform/uart16550.h"

#include <string.h>

#define UART_PORTS 8
#define UART_FIFO_SIZE 16
#define UART_CLOCK_HZ 1843200ULL
#define UART_POWER_ON_DIVISOR 12

/* Register offsets (Table II). */
enum {
	REG_RBR_THR_DLL = 0,
	REG_IER_DLM = 1,
	REG_IIR_FCR = 2,
	REG_LCR = 3,
	REG_MCR = 4,
	REG_LSR = 5,
	REG_MSR = 6,
	REG_SCR = 7,
};

#define IER_RDA 0x01 /* received data available (and FIFO timeout) */
#define IER_THRE 0x02
#define IER_RLS 0x04 /* receiver line status */
#define IER_MS 0x08 /* modem status */
#define IER_MASK 0x0f

#define IIR_NONE 0x01
#define IIR_RLS 0x06
#define IIR_RDA 0x04
#define IIR_TIMEOUT 0x0c
#define IIR_THRE 0x02
#define IIR_MS 0x00
#define IIR_FIFO_ENABLED 0xc0

#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define FCR_CLEAR_TX 0x04
#define FCR_DMA_MODE 0x08
#define FCR_TRIGGER 0xc0
#define FCR_KEPT (FCR_ENABLE | FCR_DMA_MODE | FCR_TRIGGER) /* the rest self-clear */

#define LCR_WORD_LENGTH 0x03
#define LCR_TWO_STOP_BITS 0x04
#define LCR_PARITY 0x08
#define LCR_DLAB 0x80

#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f

#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_PE 0x04
#define LSR_FE 0x08
#define LSR_BI 0x10
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define LSR_ERRORS (LSR_OE | LSR_PE | LSR_FE | LSR_BI)

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_DELTAS 0x0f
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80
#define MSR_LINES_READY (MSR_DCD | MSR_DSR | MSR_CTS)

typedef struct {
	uint8_t data[UART_FIFO_SIZE];
	uint8_t head; /* index of the oldest byte */
	uint8_t count;
} UartFifo;

typedef struct {
	HgDevice dev;
	uint16_t base;
	unsigned irq;
	HgChardev *backend; /* not owned; may be NULL */
	HgTimer *timeout_timer; /* RX character timeout (8.10) */

	uint16_t divisor;
	uint8_t ier;
	uint8_t fcr; /* FCR_KEPT bits */
	uint8_t lcr;
	uint8_t mcr;
	uint8_t lsr_errors; /* sticky LSR_ERRORS bits, cleared by reading LSR */
	uint8_t msr; /* input lines (7:4) and delta bits (3:0) */
	uint8_t scr;
	uint8_t rbr; /* last byte taken from the receiver, read again when empty */

	UartFifo rx;
	UartFifo tx;
	bool thre_pending; /* THRE interrupt raised and not yet cleared */
	bool timeout_pending; /* character timeout indicated (FIFO mode) */
} Uart;

/* --- FIFOs --- */

static void fifo_clear(UartFifo *f)
{
	memset(f, 0, sizeof(*f));
}

static void fifo_push(UartFifo *f, uint8_t byte)
{
	f->data[(f->head + f->count) % UART_FIFO_SIZE] = byte;
	f->count++;
}

static uint8_t fifo_pop(UartFifo *f)
{
	uint8_t byte = f->data[f->head];

	f->head = (f->head + 1) % UART_FIFO_SIZE;
	f->count--;
	return byte;
}

static bool uart_fifo_enabled(Uart *u)
{
	return u->fcr & FCR_ENABLE;
}

/* Without FIFOs the receiver is the one-byte RBR of a 16450. */
static unsigned uart_rx_capacity(Uart *u)
{
	return uart_fifo_enabled(u) ? UART_FIFO_SIZE : 1;
}

static unsigned uart_rx_trigger(Uart *u)
{
	static const uint8_t levels[4] = {1, 4, 8, 14};

	return uart_fifo_enabled(u) ? levels[u->fcr >> 6] : 1;
}

/* --- timing --- */

/* Four character times (8.10) in ns: start bit, 5-8 data bits, parity,
 * and 1, 1.5 (5-bit words) or 2 stop bits, at clock / (16 x divisor).
 * Rounded up: the chip waits at least that long.  A divisor of 0 acts as
 * 65536, the period of the chip's 16-bit down-counter. */
static uint64_t uart_timeout_ns(Uart *u)
{
	unsigned data_bits = 5 + (u->lcr & LCR_WORD_LENGTH);
	unsigned stop_half_bits = !(u->lcr & LCR_TWO_STOP_BITS) ? 2 : data_bits == 5 ? 3 : 4;
	uint64_t half_bits = 2 * (1 + data_bits + !!(u->lcr & LCR_PARITY)) + stop_half_bits;
	uint64_t divisor = u->divisor ? u->divisor : 65536;
	uint64_t numerator = 4 * half_bits * 16 * divisor * 1000000000ULL;
	uint64_t denominator = 2 * UART_CLOCK_HZ;

	return (numerator + denominator - 1) / denominator;
}

/* The timer restarts whenever a byte enters the RCVR FIFO or the guest
 * reads one, and only runs while the FIFO holds data in FIFO mode. */
static void uart_restart_timeout(Uart *u)
{
	HgMachine *m = u->dev.machine;

	if (uart_fifo_enabled(u) && u->rx.count)
		hg_timer_arm(u->timeout_timer, hg_clock_ns(m) + uart_timeout_ns(u));
	else
		hg_timer_disarm(u->timeout_timer);
}

/* --- interrupts (Table IV) --- */

static uint8_t uart_pending_source(Uart *u)
{
	if ((u->ier & IER_RLS) && u->lsr_errors)
		return IIR_RLS;
	if ((u->ier & IER_RDA) && u->rx.count >= uart_rx_trigger(u))
		return IIR_RDA;
	if ((u->ier & IER_RDA) && u->timeout_pending)
		return IIR_TIMEOUT;
	if ((u->ier & IER_THRE) && u->thre_pending)
		return IIR_THRE;
	if ((u->ier & IER_MS) && (u->msr & MSR_DELTAS))
		return IIR_MS;
	return IIR_NONE;
}

static void uart_update_irq(Uart *u)
{
	bool intr = uart_pending_source(u) != IIR_NONE;

	hg_irq_set_level(u->dev.machine, u->irq, intr && (u->mcr & MCR_OUT2));
}

/* --- receiver and transmitter --- */

/* A byte arrives from the line (backend or loopback).  Overrun (8.4): in
 * FIFO mode the FIFO keeps its bytes and the new one is lost; without
 * FIFOs the new byte replaces the unread one. */
static void uart_receive_byte(Uart *u, uint8_t byte)
{
	if (u->rx.count < uart_rx_capacity(u)) {
		fifo_push(&u->rx, byte);
	} else {
		u->lsr_errors |= LSR_OE;
		if (!uart_fifo_enabled(u)) {
			fifo_clear(&u->rx);
			fifo_push(&u->rx, byte);
		}
	}
	/* A timeout already indicated stays until the guest reads (8.10). */
	if (!u->timeout_pending)
		uart_restart_timeout(u);
}

static void uart_transmit(Uart *u, uint8_t byte)
{
	/* THR written: the THRE interrupt clears (Table IV) ... */
	u->thre_pending = false;
	uart_update_irq(u);
	if (u->tx.count < UART_FIFO_SIZE)
		fifo_push(&u->tx, byte);
	/* ... the FIFO drains at once, and the emptied THR raises it again. */
	while (u->tx.count) {
		uint8_t out = fifo_pop(&u->tx);
		if (u->mcr & MCR_LOOP)
			uart_receive_byte(u, out);
		else
			hg_chardev_write(u->backend, &out, 1);
	}
	u->thre_pending = true;
}

static uint8_t uart_read_rbr(Uart *u)
{
	if (u->rx.count)
		u->rbr = fifo_pop(&u->rx);
	u->timeout_pending = false;
	uart_restart_timeout(u);
	/* Room again: input the backend holds back may come in now. */
	if (!(u->mcr & MCR_LOOP))
		hg_chardev_accept_input(u->backend);
	return u->rbr;
}

/* --- modem lines (8.8, 8.9) --- */

static uint8_t uart_modem_inputs(Uart *u)
{
	uint8_t mcr = u->mcr;

	if (!(mcr & MCR_LOOP))
		return MSR_LINES_READY;
	return (mcr & MCR_DTR ? MSR_DSR : 0) | (mcr & MCR_RTS ? MSR_CTS : 0) |
	       (mcr & MCR_OUT1 ? MSR_RI : 0) | (mcr & MCR_OUT2 ? MSR_DCD : 0);
}

/* Sets the delta bits for lines that changed; TERI only when RI goes off. */
static void uart_update_modem_inputs(Uart *u)
{
	uint8_t old = u->msr & 0xf0, now = uart_modem_inputs(u);
	uint8_t changed = old ^ now, deltas = u->msr & MSR_DELTAS;

	if (changed & MSR_CTS)
		deltas |= MSR_DCTS;
	if (changed & MSR_DSR)
		deltas |= MSR_DDSR;
	if ((old & MSR_RI) && !(now & MSR_RI))
		deltas |= MSR_TERI;
	if (changed & MSR_DCD)
		deltas |= MSR_DDCD;
	u->msr = now | deltas;
}

/* --- register access --- */

static void uart_write_fcr(Uart *u, uint8_t value)
{
	bool was_enabled = uart_fifo_enabled(u);
	bool enable = value & FCR_ENABLE;
	bool clear_rx = enable != was_enabled || (enable && (value & FCR_CLEAR_RX));
	bool clear_tx = enable != was_enabled || (enable && (value & FCR_CLEAR_TX));

	/* The other bits are programmed only together with bit 0 (8.5). */
	u->fcr = enable ? value & FCR_KEPT : u->fcr & ~FCR_ENABLE;
	if (clear_rx) {
		fifo_clear(&u->rx);
		u->timeout_pending = false;
		uart_restart_timeout(u);
		if (!(u->mcr & MCR_LOOP))
			hg_chardev_accept_input(u->backend);
	}
	if (clear_tx) {
		/* An empty XMIT FIFO interrupts at once if enabled (8.10). */
		fifo_clear(&u->tx);
		u->thre_pending = true;
	}
}

static void uart_write_ier(Uart *u, uint8_t value)
{
	uint8_t was = u->ier;

	u->ier = value & IER_MASK;
	/* Enabling THRE while the THR is empty raises the interrupt again,
	 * even if an IIR read had cleared it; Linux's 8250 probe tests that
	 * and Windows toggles IER to get it. */
	if (!(was & IER_THRE) && (u->ier & IER_THRE))
		u->thre_pending = true;
}

static void uart_write_mcr(Uart *u, uint8_t value)
{
	bool was_loop = u->mcr & MCR_LOOP;

	u->mcr = value & MCR_MASK;
	uart_update_modem_inputs(u);
	if (was_loop && !(u->mcr & MCR_LOOP))
		hg_chardev_accept_input(u->backend); /* the line is connected again */
}

static uint8_t uart_read_iir(Uart *u)
{
	uint8_t source = uart_pending_source(u);

	/* Reading IIR clears THRE when it is the source reported (Table IV). */
	if (source == IIR_THRE)
		u->thre_pending = false;
	return source | (uart_fifo_enabled(u) ? IIR_FIFO_ENABLED : 0);
}

static uint8_t uart_read_lsr(Uart *u)
{
	uint8_t lsr = LSR_THRE | LSR_TEMT | u->lsr_errors;

	if (u->rx.count)
		lsr |= LSR_DR;
	u->lsr_errors = 0;
	return lsr;
}

static uint8_t uart_read_register(Uart *u, unsigned reg)
{
	uint8_t value;

	switch (reg) {
	case REG_RBR_THR_DLL:
		return u->lcr & LCR_DLAB ? u->divisor & 0xff : uart_read_rbr(u);
	case REG_IER_DLM:
		return u->lcr & LCR_DLAB ? u->divisor >> 8 : u->ier;
	case REG_IIR_FCR:
		return uart_read_iir(u);
	case REG_LCR:
		return u->lcr;
	case REG_MCR:
		return u->mcr;
	case REG_LSR:
		return uart_read_lsr(u);
	case REG_MSR:
		value = u->msr;
		u->msr &= ~MSR_DELTAS;
		return value;
	case REG_SCR:
		return u->scr;
	}
	return 0xff;
}

static void uart_write_register(Uart *u, unsigned reg, uint8_t value)
{
	switch (reg) {
	case REG_RBR_THR_DLL:
		if (u->lcr & LCR_DLAB)
			u->divisor = (u->divisor & 0xff00) | value;
		else
			uart_transmit(u, value);
		break;
	case REG_IER_DLM:
		if (u->lcr & LCR_DLAB)
			u->divisor = (u->divisor & 0x00ff) | value << 8;
		else
			uart_write_ier(u, value);
		break;
	case REG_IIR_FCR:
		uart_write_fcr(u, value);
		break;
	case REG_LCR:
		u->lcr = value;
		break;
	case REG_MCR:
		uart_write_mcr(u, value);
		break;
	case REG_SCR:
		u->scr = value;
		break;
	default:
		/* LSR and MSR are read-only here; a write does nothing. */
		break;
	}
}

/* A wider access is split into byte cycles on consecutive ports, as the
 * ISA bus does for an 8-bit device; bytes past the last port float high. */
static uint64_t uart_io_read(void *opaque, uint64_t offset, unsigned size)
{
	Uart *u = opaque;
	uint64_t value = 0;

	for (unsigned i = 0; i < size; i++) {
		uint64_t reg = offset + i;
		uint8_t byte = reg < UART_PORTS ? uart_read_register(u, reg) : 0xff;
		value |= (uint64_t)byte << (8 * i);
	}
	uart_update_irq(u);
	return value;
}

static void uart_io_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	Uart *u = opaque;

	for (unsigned i = 0; i < size && offset + i < UART_PORTS; i++)
		uart_write_register(u, offset + i, value >> (8 * i));
	uart_update_irq(u);
}

static const HgIoOps uart_io_ops = {.read = uart_io_read, .write = uart_io_write};

/* --- timer and backend input --- */

static void uart_timeout_expired(void *opaque)
{
	Uart *u = opaque;

	if (uart_fifo_enabled(u) && u->rx.count) {
		u->timeout_pending = true;
		uart_update_irq(u);
	}
}

/* Main thread, without the device lock. */
static size_t uart_can_receive(void *opaque)
{
	Uart *u = opaque;
	HgMachine *m = u->dev.machine;
	size_t room = 0;

	g_mutex_lock(&m->device_lock);
	/* In loopback the receiver is disconnected from the line (8.8). */
	if (!(u->mcr & MCR_LOOP))
		room = uart_rx_capacity(u) - u->rx.count;
	g_mutex_unlock(&m->device_lock);
	return room;
}

/* Main thread, without the device lock. */
static void uart_receive(void *opaque, const uint8_t *buf, size_t len)
{
	Uart *u = opaque;
	HgMachine *m = u->dev.machine;

	g_mutex_lock(&m->device_lock);
	if (!(u->mcr & MCR_LOOP)) {
		for (size_t i = 0; i < len; i++)
			uart_receive_byte(u, buf[i]);
		uart_update_irq(u);
	}
	g_mutex_unlock(&m->device_lock);
}

static const HgChardevHandlers uart_chardev_handlers = {
	.can_receive = uart_can_receive,
	.receive = uart_receive,
};

/* --- device class --- */

static void uart_reset(HgDevice *dev)
{
	Uart *u = (Uart *)dev;

	/* Table III; RBR, SCR and the divisor latch are not reset. */
	u->ier = 0;
	u->fcr = 0;
	u->lcr = 0;
	u->mcr = 0;
	u->lsr_errors = 0;
	u->msr = uart_modem_inputs(u); /* no deltas */
	fifo_clear(&u->rx);
	fifo_clear(&u->tx);
	u->thre_pending = false;
	u->timeout_pending = false;
	hg_timer_disarm(u->timeout_timer);
	uart_update_irq(u);
	hg_chardev_accept_input(u->backend);
}

static void record_add(GVariantBuilder *b, const char *key, GVariant *value)
{
	g_variant_builder_add(b, "{sv}", key, value);
}

static GVariant *uart_save(HgDevice *dev)
{
	Uart *u = (Uart *)dev;
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	record_add(&b, "divisor", g_variant_new_uint16(u->divisor));
	record_add(&b, "ier", g_variant_new_byte(u->ier));
	record_add(&b, "fcr", g_variant_new_byte(u->fcr));
	record_add(&b, "lcr", g_variant_new_byte(u->lcr));
	record_add(&b, "mcr", g_variant_new_byte(u->mcr));
	record_add(&b, "lsr-errors", g_variant_new_byte(u->lsr_errors));
	record_add(&b, "msr", g_variant_new_byte(u->msr));
	record_add(&b, "scr", g_variant_new_byte(u->scr));
	record_add(&b, "rbr", g_variant_new_byte(u->rbr));
	record_add(&b, "rx-fifo", hg_bytes_variant(u->rx.data, UART_FIFO_SIZE));
	record_add(&b, "rx-head", g_variant_new_byte(u->rx.head));
	record_add(&b, "rx-count", g_variant_new_byte(u->rx.count));
	record_add(&b, "tx-fifo", hg_bytes_variant(u->tx.data, UART_FIFO_SIZE));
	record_add(&b, "tx-head", g_variant_new_byte(u->tx.head));
	record_add(&b, "tx-count", g_variant_new_byte(u->tx.count));
	record_add(&b, "thre-pending", g_variant_new_boolean(u->thre_pending));
	record_add(&b, "timeout-pending", g_variant_new_boolean(u->timeout_pending));
	record_add(&b, "timeout-armed", g_variant_new_boolean(u->timeout_timer->armed));
	record_add(&b, "timeout-deadline-ns", g_variant_new_uint64(u->timeout_timer->deadline_ns));
	return g_variant_builder_end(&b);
}

static bool record_fail(GError **error, const char *id, const char *what)
{
	g_set_error(error, HG_DEVICE_ERROR, HG_DEVICE_ERROR_BAD_RECORD, "%s: %s", id, what);
	return false;
}

static bool record_fifo(GVariantDict *r, const char *prefix, UartFifo *f, GError **error)
{
	g_autofree char *data = g_strdup_printf("%s-fifo", prefix);
	g_autofree char *head = g_strdup_printf("%s-head", prefix);
	g_autofree char *count = g_strdup_printf("%s-count", prefix);

	return hg_record_bytes(r, data, f->data, UART_FIFO_SIZE, error) &&
	       hg_record_u8(r, head, &f->head, error) && hg_record_u8(r, count, &f->count, error);
}

static bool uart_load(HgDevice *dev, GVariantDict *r, GError **error)
{
	Uart *u = (Uart *)dev;
	bool armed;
	uint64_t deadline;

	if (!hg_record_u16(r, "divisor", &u->divisor, error) ||
	    !hg_record_u8(r, "ier", &u->ier, error) || !hg_record_u8(r, "fcr", &u->fcr, error) ||
	    !hg_record_u8(r, "lcr", &u->lcr, error) || !hg_record_u8(r, "mcr", &u->mcr, error) ||
	    !hg_record_u8(r, "lsr-errors", &u->lsr_errors, error) ||
	    !hg_record_u8(r, "msr", &u->msr, error) || !hg_record_u8(r, "scr", &u->scr, error) ||
	    !hg_record_u8(r, "rbr", &u->rbr, error) || !record_fifo(r, "rx", &u->rx, error) ||
	    !record_fifo(r, "tx", &u->tx, error) ||
	    !hg_record_bool(r, "thre-pending", &u->thre_pending, error) ||
	    !hg_record_bool(r, "timeout-pending", &u->timeout_pending, error) ||
	    !hg_record_bool(r, "timeout-armed", &armed, error) ||
	    !hg_record_u64(r, "timeout-deadline-ns", &deadline, error))
		goto bad;

	if (u->ier & ~IER_MASK)
		return record_fail(error, dev->id, "IER has reserved bits set");
	if (u->fcr & ~FCR_KEPT)
		return record_fail(error, dev->id, "FCR has self-clearing or reserved bits set");
	if (u->mcr & ~MCR_MASK)
		return record_fail(error, dev->id, "MCR has reserved bits set");
	if (u->lsr_errors & ~LSR_ERRORS)
		return record_fail(error, dev->id, "lsr-errors has non-error bits set");
	if ((u->msr & 0xf0) != uart_modem_inputs(u))
		return record_fail(error, dev->id, "MSR lines disagree with MCR");
	if (u->rx.head >= UART_FIFO_SIZE || u->tx.head >= UART_FIFO_SIZE)
		return record_fail(error, dev->id, "FIFO position out of range");
	if (u->rx.count > uart_rx_capacity(u))
		return record_fail(error, dev->id, "RX FIFO holds more bytes than fit");
	if (u->tx.count > UART_FIFO_SIZE)
		return record_fail(error, dev->id, "TX FIFO holds more bytes than fit");
	if (u->timeout_pending && !u->rx.count)
		return record_fail(error, dev->id, "timeout pending with an empty RX FIFO");

	if (armed)
		hg_timer_arm(u->timeout_timer, deadline);
	else
		hg_timer_disarm(u->timeout_timer);
	/* A record from a transmitter that was not instantaneous: send now. */
	while (u->tx.count) {
		uint8_t out = fifo_pop(&u->tx);
		if (u->mcr & MCR_LOOP)
			uart_receive_byte(u, out);
		else
			hg_chardev_write(u->backend, &out, 1);
	}
	uart_update_irq(u);
	return true;

bad:
	g_prefix_error(error, "%s: ", dev->id);
	return false;
}

static void uart_destroy(HgDevice *dev)
{
	Uart *u = (Uart *)dev;

	if (u->backend)
		hg_chardev_set_handlers(u->backend, NULL, NULL);
	hg_timer_free(u->timeout_timer);
	hg_address_space_unregister(&dev->machine->pio, u->base);
	g_free(u);
}

HgDevice *hg_uart16550_create(HgMachine *m, const char *id, uint16_t base, unsigned irq,
			      HgChardev *backend)
{
	Uart *u = g_new0(Uart, 1);

	hg_device_init(&u->dev, &hg_uart16550_class, m, id);
	if (!hg_address_space_register(&m->pio, base, UART_PORTS, &uart_io_ops, u, u->dev.id)) {
		g_free(u->dev.id);
		g_free(u);
		return NULL;
	}
	u->base = base;
	u->irq = irq;
	u->backend = backend;
	u->divisor = UART_POWER_ON_DIVISOR;
	u->timeout_timer = hg_timer_new(m, uart_timeout_expired, u);
	uart_reset(&u->dev);
	if (backend)
		hg_chardev_set_handlers(backend, &uart_chardev_handlers, u);
	hg_machine_add_device(m, &u->dev);
	return &u->dev;
}

const HgDeviceClass hg_uart16550_class = {
	.name = "uart16550",
	.bus = "isa",
	.state_version = 1,
	.reset = uart_reset,
	.save = uart_save,
	.load = uart_load,
	.destroy = uart_destroy,
};
