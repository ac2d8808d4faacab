/* MC146818A real-time clock plus RAM, the PC's RTC and CMOS memory: index
 * port 0x70 (bit 7 masks NMI on PCs), data port 0x71, ISA IRQ 8.
 *
 * Specification: Motorola MC146818A "Real-Time Clock Plus RAM (RTC)" data
 * sheet; headings and tables are those of that sheet:
 *   Address map           bytes 0-9 time, calendar and alarm; 10-13
 *                         registers A-D; the rest battery-backed RAM (PC
 *                         chipsets give 128 bytes in all)
 *   Time, calendar and alarm locations, Table 2
 *                         BCD or binary (DM), 12-hour hours with bit 7 = PM,
 *                         day of week 1-7 with Sunday = 1; an alarm byte of
 *                         0xC0-0xFF matches every value ("don't care")
 *   Update cycle, Table 6 UIP rises tBUC = 244 us (8 periods of 32.768 kHz)
 *                         before each update and stays high through it
 *   Register A            UIP (read-only), DV2-DV0 (Table 4: 010 = 32.768
 *                         kHz; 11x holds the divider in reset, and the
 *                         first update comes half a second after it is
 *                         released), RS3-RS0 (Table 5: none, then period
 *                         2^(RS-1) / 32.768 kHz, with RS 1 and 2 giving 3.906
 *                         and 7.8125 ms on a 32.768 kHz time base)
 *   Register B            SET (stops updates so the time can be written;
 *                         SET going high clears UIE and UIP), PIE, AIE, UIE,
 *                         SQWE, DM, 24/12, DSE; changing DM or 24/12 does
 *                         not convert the time bytes
 *   Register C            IRQF = PF.PIE + AF.AIE + UF.UIE; PF, AF and UF are
 *                         set whatever the enables; reading clears all
 *   Register D            VRT: RAM and time valid
 *   RESET                 clears PIE, AIE, UIE, SQWE and register C and
 *                         releases IRQ; the time, the RAM, register A, SET,
 *                         DM, 24/12 and DSE are untouched
 * PC usage: the IBM PC AT Technical Reference's CMOS map (0x10-0x3F, 0x32
 * the century in BCD); 0x5B-0x5D (RAM above 4 GiB) and 0x5F (CPUs - 1) as
 * QEMU fills them for SeaBIOS.
 *
 * Model choices:
 * - Time comes from the machine clock, never from host time after creation:
 *   the registers hold the time as of the last update accounted for
 *   (synced_ns), and the updates that fell due since are applied when the
 *   guest next looks.  The divider's phase is an origin on the machine
 *   clock: updates come every second after it, periodic edges every
 *   2^(RS-1) crystal periods, so stepping the harness clock moves the RTC
 *   and a saved state continues exactly.
 * - An update is instantaneous, at the end of the UIP window; the chip's
 *   1984 us update cycle, during which the time bytes are not to be read,
 *   is folded into that instant.  UIP is high for the 8 crystal periods
 *   before it (244.14 us).
 * - The update arithmetic works on the calendar: it reads the bytes,
 *   adds the seconds, writes them back.  Bytes a guest wrote out of range
 *   are normalised by the next update (31 February becomes 3 March).  The
 *   day of week counts on its own, as on the chip.
 * - The century byte 0x32 counts with the year (as chipsets with a century
 *   register do and as ACPI's FADT CENTURY field expects), in the DM format
 *   like the other time bytes (as Linux and QEMU read it).
 * - DV: only 010 runs the divider.  Every other value holds it in reset,
 *   and writing 010 again starts it with the first update half a second
 *   later; the sheet says so for 11x, and 000/001 (other crystals) and the
 *   test modes 011/10x cannot keep time from a 32.768 kHz crystal.
 * - DSE (daylight saving) and SQWE (no pin on a PC) are kept, nothing more.
 * - Interrupts: a machine timer runs only while an enable bit asks for an
 *   event and the line is low; a raised line stays up until register C is
 *   read, so later events would change nothing.  PF, AF and UF are
 *   computed from the clock when register C is read, so a guest that polls
 *   with interrupts off costs no timer.
 * - Port 0x70 is write-only on a PC and reads 0xFF.  The NMI mask bit is
 *   kept in the state and does nothing else.
 *
 * Threads: register handlers, the timer callback and reset/save/load run
 * with machine->device_lock held (vCPU thread, harness or main loop). */
#include "devices/platform/rtc_cmos.h"

#include <string.h>

#define RTC_PORT_BASE 0x70
#define RTC_PORTS 2
#define RTC_IRQ 8
#define CMOS_SIZE 128

/* Address map. */
enum {
	REG_SECONDS = 0x00,
	REG_SECONDS_ALARM = 0x01,
	REG_MINUTES = 0x02,
	REG_MINUTES_ALARM = 0x03,
	REG_HOURS = 0x04,
	REG_HOURS_ALARM = 0x05,
	REG_DAY_OF_WEEK = 0x06,
	REG_DAY_OF_MONTH = 0x07,
	REG_MONTH = 0x08,
	REG_YEAR = 0x09,
	REG_A = 0x0a,
	REG_B = 0x0b,
	REG_C = 0x0c,
	REG_D = 0x0d,
	REG_FIRST_RAM = 0x0e,
	REG_CENTURY = 0x32,
};

/* PC CMOS RAM bytes (IBM AT map and its later extensions). */
enum {
	CMOS_BASE_MEMORY_LOW = 0x15,
	CMOS_BASE_MEMORY_HIGH = 0x16,
	CMOS_EXTENDED_MEMORY_LOW = 0x17,
	CMOS_EXTENDED_MEMORY_HIGH = 0x18,
	CMOS_EXTENDED_MEMORY_COPY_LOW = 0x30,
	CMOS_EXTENDED_MEMORY_COPY_HIGH = 0x31,
	CMOS_MEMORY_ABOVE_16M_LOW = 0x34,
	CMOS_MEMORY_ABOVE_16M_HIGH = 0x35,
	CMOS_MEMORY_ABOVE_4G_LOW = 0x5b, /* 0x5b-0x5d, 24 bits */
	CMOS_CPU_COUNT_MINUS_ONE = 0x5f,
};

#define A_UIP 0x80
#define A_DV 0x70
#define A_DV_32KHZ 0x20
#define A_RS 0x0f

#define B_SET 0x80
#define B_PIE 0x40
#define B_AIE 0x20
#define B_UIE 0x10
#define B_SQWE 0x08
#define B_DM_BINARY 0x04
#define B_24_HOUR 0x02
#define B_DSE 0x01

#define C_IRQF 0x80
#define C_PF 0x40
#define C_AF 0x20
#define C_UF 0x10
#define C_FLAGS (C_PF | C_AF | C_UF)

#define D_VRT 0x80

#define HOURS_PM 0x80
#define ALARM_DONT_CARE 0xc0

/* What the platform firmware leaves in A and B (SeaBIOS writes the same). */
#define A_POWER_ON (A_DV_32KHZ | 0x06) /* 32.768 kHz, 1024 Hz periodic rate */
#define B_POWER_ON B_24_HOUR /* BCD, 24-hour */

#define NS_PER_SECOND 1000000000ULL
#define CRYSTAL_HZ 32768ULL /* the divider counts these periods */
#define UIP_CYCLES 8 /* tBUC, 244 us */
#define DIVIDER_RELEASE_TO_UPDATE_NS (NS_PER_SECOND / 2)
#define SECONDS_PER_DAY 86400

#define YEAR_MAX 9999

typedef struct {
	HgDevice dev;
	HgTimer *timer; /* the next enabled interrupt event */

	/* The time bytes as of the last update accounted for, RAM, register A
	 * without UIP, B, C's PF/AF/UF (IRQF is derived) and D. */
	uint8_t cmos[CMOS_SIZE];
	uint8_t index;
	bool nmi_disabled;

	/* Divider phase: an update instant at or before synced_ns; while the
	 * divider runs, updates come at origin + k seconds (k >= 1).  Signed:
	 * half a second before a release near clock 0 is negative. */
	int64_t divider_origin_ns;
	/* Machine clock up to which updates and flags have been applied. */
	int64_t synced_ns;
} Rtc;

/* --- calendar arithmetic (proleptic Gregorian, days since 1970-01-01) --- */

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t floor_mod(int64_t a, int64_t b)
{
	return a - floor_div(a, b) * b;
}

/* Years counted from March, so that the leap day ends a year; 400 years
 * are 146097 days, and 719468 days lie between 0000-03-01 and 1970-01-01. */
static int64_t days_from_civil(int64_t year, unsigned month, unsigned day)
{
	int64_t y = year - (month <= 2);
	int64_t era = floor_div(y, 400);
	int64_t year_of_era = y - era * 400;
	int64_t month_from_march = (month + 9) % 12;
	int64_t day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
	int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;

	return era * 146097 + day_of_era - 719468;
}

static void civil_from_days(int64_t days, int64_t *year, unsigned *month, unsigned *day)
{
	int64_t z = days + 719468;
	int64_t era = floor_div(z, 146097);
	int64_t day_of_era = z - era * 146097;
	int64_t year_of_era =
		(day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
	int64_t day_of_year =
		day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
	int64_t month_from_march = (5 * day_of_year + 2) / 153;

	*day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
	*month = month_from_march < 10 ? month_from_march + 3 : month_from_march - 9;
	*year = year_of_era + era * 400 + (*month <= 2);
}

/* --- register formats (Table 2) --- */

static unsigned rtc_from_register(Rtc *r, uint8_t value)
{
	if (r->cmos[REG_B] & B_DM_BINARY)
		return value;
	return (value >> 4) * 10 + (value & 0x0f);
}

static uint8_t rtc_to_register(Rtc *r, unsigned value)
{
	if (r->cmos[REG_B] & B_DM_BINARY)
		return value;
	return (value / 10 % 10) << 4 | value % 10;
}

/* Hours 0-23 from the hours byte; 12-hour mode counts 12, 1, ..., 11. */
static unsigned rtc_decode_hours(Rtc *r, uint8_t value)
{
	if (r->cmos[REG_B] & B_24_HOUR)
		return rtc_from_register(r, value);
	return rtc_from_register(r, value & ~HOURS_PM) % 12 + (value & HOURS_PM ? 12 : 0);
}

static uint8_t rtc_encode_hours(Rtc *r, unsigned hours)
{
	if (r->cmos[REG_B] & B_24_HOUR)
		return rtc_to_register(r, hours);
	return rtc_to_register(r, hours % 12 ? hours % 12 : 12) | (hours >= 12 ? HOURS_PM : 0);
}

/* The time bytes as seconds since 1970-01-01T00:00:00; out-of-range
 * fields carry into the next larger one. */
static int64_t rtc_registers_to_seconds(Rtc *r)
{
	const uint8_t *c = r->cmos;
	int64_t year =
		rtc_from_register(r, c[REG_CENTURY]) * 100 + rtc_from_register(r, c[REG_YEAR]);
	int64_t month = (int64_t)rtc_from_register(r, c[REG_MONTH]) - 1;
	int64_t days;

	year += floor_div(month, 12);
	month = floor_mod(month, 12);
	days = days_from_civil(year, month + 1, 1) + rtc_from_register(r, c[REG_DAY_OF_MONTH]) - 1;
	return days * SECONDS_PER_DAY + rtc_decode_hours(r, c[REG_HOURS]) * 3600 +
	       rtc_from_register(r, c[REG_MINUTES]) * 60 + rtc_from_register(r, c[REG_SECONDS]);
}

/* Writes every time byte except the day of week. */
static void rtc_seconds_to_registers(Rtc *r, int64_t seconds)
{
	int64_t days = floor_div(seconds, SECONDS_PER_DAY);
	unsigned second_of_day = floor_mod(seconds, SECONDS_PER_DAY);
	int64_t year;
	unsigned month, day;

	civil_from_days(days, &year, &month, &day);
	year = floor_mod(year, YEAR_MAX + 1); /* four digits, like the two bytes */
	r->cmos[REG_SECONDS] = rtc_to_register(r, second_of_day % 60);
	r->cmos[REG_MINUTES] = rtc_to_register(r, second_of_day / 60 % 60);
	r->cmos[REG_HOURS] = rtc_encode_hours(r, second_of_day / 3600);
	r->cmos[REG_DAY_OF_MONTH] = rtc_to_register(r, day);
	r->cmos[REG_MONTH] = rtc_to_register(r, month);
	r->cmos[REG_YEAR] = rtc_to_register(r, year % 100);
	r->cmos[REG_CENTURY] = rtc_to_register(r, year / 100);
}

/* Day of week, Sunday = 1; 1970-01-01 was a Thursday. */
static unsigned day_of_week(int64_t days)
{
	return floor_mod(days + 4, 7) + 1;
}

/* Apply n update cycles at once. */
static void rtc_advance(Rtc *r, uint64_t n)
{
	int64_t before = rtc_registers_to_seconds(r);
	int64_t after = before + (int64_t)n;
	int64_t midnights = floor_div(after, SECONDS_PER_DAY) - floor_div(before, SECONDS_PER_DAY);
	int64_t weekday = rtc_from_register(r, r->cmos[REG_DAY_OF_WEEK]);

	rtc_seconds_to_registers(r, after);
	r->cmos[REG_DAY_OF_WEEK] = rtc_to_register(r, floor_mod(weekday - 1 + midnights, 7) + 1);
}

/* --- alarm --- */

static bool alarm_matches(uint8_t alarm, uint8_t value)
{
	return (alarm & ALARM_DONT_CARE) == ALARM_DONT_CARE || alarm == value;
}

/* How many updates from now until the time bytes match the alarm bytes:
 * 1 to 86400, or 0 if they never do (an alarm byte no time takes). */
static uint64_t rtc_updates_until_alarm(Rtc *r)
{
	const uint8_t *c = r->cmos;
	int64_t now = floor_mod(rtc_registers_to_seconds(r), SECONDS_PER_DAY);
	bool second_matches[60];
	uint64_t k = 1;

	for (unsigned s = 0; s < 60; s++)
		second_matches[s] = alarm_matches(c[REG_SECONDS_ALARM], rtc_to_register(r, s));
	while (k <= SECONDS_PER_DAY) {
		unsigned t = (now + k) % SECONDS_PER_DAY;
		unsigned second = t % 60;

		if (alarm_matches(c[REG_HOURS_ALARM], rtc_encode_hours(r, t / 3600)) &&
		    alarm_matches(c[REG_MINUTES_ALARM], rtc_to_register(r, t / 60 % 60))) {
			for (; second < 60 && k <= SECONDS_PER_DAY; second++, k++)
				if (second_matches[second])
					return k;
		} else {
			k += 60 - second; /* the rest of this minute cannot match */
		}
	}
	return 0;
}

/* --- divider chain --- */

/* The machine clock as the RTC sees it: never before the instant it last
 * accounted for.  A restore sets the clock to the value read when the
 * state was saved, and the devices were saved a little later, so a record
 * can be slightly ahead of the clock it is loaded under. */
static int64_t rtc_now(Rtc *r)
{
	return MAX((int64_t)hg_clock_ns(r->dev.machine), r->synced_ns);
}

static bool rtc_divider_running(Rtc *r)
{
	return (r->cmos[REG_A] & A_DV) == A_DV_32KHZ;
}

static bool rtc_updates_enabled(Rtc *r)
{
	return rtc_divider_running(r) && !(r->cmos[REG_B] & B_SET);
}

/* Crystal periods from the divider origin to t (t >= origin). */
static uint64_t rtc_cycles(Rtc *r, int64_t t)
{
	uint64_t d = t - r->divider_origin_ns;

	return d / NS_PER_SECOND * CRYSTAL_HZ + d % NS_PER_SECOND * CRYSTAL_HZ / NS_PER_SECOND;
}

/* The first machine-clock instant at which the count reaches cycles. */
static int64_t rtc_cycle_time(Rtc *r, uint64_t cycles)
{
	uint64_t rest = cycles % CRYSTAL_HZ * NS_PER_SECOND;

	return r->divider_origin_ns + (int64_t)(cycles / CRYSTAL_HZ * NS_PER_SECOND +
						(rest + CRYSTAL_HZ - 1) / CRYSTAL_HZ);
}

/* Periodic interrupt period in crystal periods (Table 5), 0 for none. */
static uint64_t rtc_period_cycles(Rtc *r)
{
	unsigned rs = r->cmos[REG_A] & A_RS;

	if (rs == 0)
		return 0;
	if (rs <= 2)
		rs += 7; /* 256 and 128 Hz on a 32.768 kHz time base */
	return 1ULL << (rs - 1);
}

static bool rtc_uip(Rtc *r, int64_t now)
{
	return rtc_updates_enabled(r) && rtc_cycles(r, now) % CRYSTAL_HZ >= CRYSTAL_HZ - UIP_CYCLES;
}

/* Account for the updates and periodic edges in (synced_ns, now]. */
static void rtc_sync(Rtc *r, int64_t now)
{
	if (now <= r->synced_ns)
		return;
	if (rtc_divider_running(r)) {
		uint64_t from = rtc_cycles(r, r->synced_ns), to = rtc_cycles(r, now);
		uint64_t updates = to / CRYSTAL_HZ - from / CRYSTAL_HZ;
		uint64_t period = rtc_period_cycles(r);

		if (updates && !(r->cmos[REG_B] & B_SET)) {
			uint64_t alarm = rtc_updates_until_alarm(r);
			if (alarm && alarm <= updates)
				r->cmos[REG_C] |= C_AF;
			rtc_advance(r, updates);
			r->cmos[REG_C] |= C_UF;
		}
		if (period && to / period != from / period)
			r->cmos[REG_C] |= C_PF;
	}
	r->synced_ns = now;
}

/* --- interrupts --- */

static bool rtc_irqf(Rtc *r)
{
	uint8_t b = r->cmos[REG_B], c = r->cmos[REG_C];

	return ((c & C_PF) && (b & B_PIE)) || ((c & C_AF) && (b & B_AIE)) ||
	       ((c & C_UF) && (b & B_UIE));
}

/* When the timer should fire next, from the state at synced_ns: the first
 * enabled event while the line is low; INT64_MAX for none. */
static int64_t rtc_next_event(Rtc *r)
{
	uint8_t b = r->cmos[REG_B];
	uint64_t cycles, period, next_update;
	int64_t next = INT64_MAX;

	if (rtc_irqf(r) || !rtc_divider_running(r))
		return INT64_MAX;
	cycles = rtc_cycles(r, r->synced_ns);
	period = rtc_period_cycles(r);
	next_update = (cycles / CRYSTAL_HZ + 1) * CRYSTAL_HZ;
	if ((b & B_PIE) && period)
		next = MIN(next, rtc_cycle_time(r, (cycles / period + 1) * period));
	if (!(b & B_SET) && (b & B_UIE))
		next = MIN(next, rtc_cycle_time(r, next_update));
	if (!(b & B_SET) && (b & B_AIE)) {
		uint64_t k = rtc_updates_until_alarm(r);
		if (k)
			next = MIN(next, rtc_cycle_time(r, next_update + (k - 1) * CRYSTAL_HZ));
	}
	return next;
}

/* After any change: drive IRQ 8 from IRQF and arm the timer for the next
 * event that could raise it.  The state must be synced to now. */
static void rtc_update_irq(Rtc *r)
{
	int64_t next = rtc_next_event(r);

	hg_irq_set_level(r->dev.machine, RTC_IRQ, rtc_irqf(r));
	if (next == INT64_MAX)
		hg_timer_disarm(r->timer);
	else
		hg_timer_arm(r->timer, next);
}

static void rtc_timer_expired(void *opaque)
{
	Rtc *r = opaque;

	rtc_sync(r, rtc_now(r));
	rtc_update_irq(r);
}

/* --- register access --- */

static void rtc_write_a(Rtc *r, uint8_t value, int64_t now)
{
	bool was_running = rtc_divider_running(r);

	r->cmos[REG_A] = value & ~A_UIP;
	/* Released from reset: the first update half a second from now. */
	if (!was_running && rtc_divider_running(r))
		r->divider_origin_ns = now + DIVIDER_RELEASE_TO_UPDATE_NS - NS_PER_SECOND;
}

static void rtc_write_b(Rtc *r, uint8_t value)
{
	/* SET going high aborts updates and clears UIE (Register B); UIP
	 * follows SET.  Once SET is high, UIE may be written again. */
	if ((value & B_SET) && !(r->cmos[REG_B] & B_SET))
		value &= ~B_UIE;
	r->cmos[REG_B] = value;
}

static uint8_t rtc_read_data(Rtc *r)
{
	int64_t now = rtc_now(r);
	uint8_t value;

	rtc_sync(r, now);
	switch (r->index) {
	case REG_A:
		return r->cmos[REG_A] | (rtc_uip(r, now) ? A_UIP : 0);
	case REG_C:
		value = r->cmos[REG_C] | (rtc_irqf(r) ? C_IRQF : 0);
		r->cmos[REG_C] = 0;
		rtc_update_irq(r);
		return value;
	default:
		return r->cmos[r->index];
	}
}

static void rtc_write_data(Rtc *r, uint8_t value)
{
	int64_t now = rtc_now(r);

	rtc_sync(r, now);
	switch (r->index) {
	case REG_A:
		rtc_write_a(r, value, now);
		break;
	case REG_B:
		rtc_write_b(r, value);
		break;
	case REG_C:
	case REG_D:
		return; /* read-only */
	default:
		r->cmos[r->index] = value;
		/* Plain RAM changes no interrupt; the time and alarm bytes
		 * move the next alarm. */
		if (r->index >= REG_FIRST_RAM && r->index != REG_CENTURY)
			return;
		break;
	}
	rtc_update_irq(r);
}

static void rtc_write_port(Rtc *r, unsigned port, uint8_t value)
{
	if (port == 0) {
		r->index = value & (CMOS_SIZE - 1);
		r->nmi_disabled = value & 0x80;
	} else {
		rtc_write_data(r, value);
	}
}

/* A wider access is split into byte cycles on consecutive ports, as the
 * ISA bus does for an 8-bit device (outw 0x70 writes index, then data);
 * bytes past the last port float high. */
static uint64_t rtc_io_read(void *opaque, uint64_t offset, unsigned size)
{
	Rtc *r = opaque;
	uint64_t value = 0;

	for (unsigned i = 0; i < size; i++) {
		uint8_t byte = offset + i == 1 ? rtc_read_data(r) : 0xff;
		value |= (uint64_t)byte << (8 * i);
	}
	return value;
}

static void rtc_io_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	Rtc *r = opaque;

	for (unsigned i = 0; i < size && offset + i < RTC_PORTS; i++)
		rtc_write_port(r, offset + i, value >> (8 * i));
}

static const HgIoOps rtc_io_ops = {.read = rtc_io_read, .write = rtc_io_write};

/* --- device class --- */

static void rtc_reset(HgDevice *dev)
{
	Rtc *r = (Rtc *)dev;

	/* The RESET pin; the battery keeps the time and RAM. */
	rtc_sync(r, rtc_now(r));
	r->cmos[REG_B] &= ~(B_PIE | B_AIE | B_UIE | B_SQWE);
	r->cmos[REG_C] = 0;
	rtc_update_irq(r);
}

static void record_add(GVariantBuilder *b, const char *key, GVariant *value)
{
	g_variant_builder_add(b, "{sv}", key, value);
}

static GVariant *rtc_save(HgDevice *dev)
{
	Rtc *r = (Rtc *)dev;
	GVariantBuilder b;
	uint64_t next_update = 0;

	/* Bring the lazily kept state to now, as a timer that a busy main
	 * loop has not run yet would; the record then holds exactly one
	 * state and the timer deadline follows from it. */
	rtc_sync(r, rtc_now(r));
	rtc_update_irq(r);
	if (rtc_divider_running(r))
		next_update = rtc_cycle_time(r, (rtc_cycles(r, r->synced_ns) / CRYSTAL_HZ + 1) *
							CRYSTAL_HZ);

	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	record_add(&b, "cmos", hg_bytes_variant(r->cmos, CMOS_SIZE));
	record_add(&b, "index", g_variant_new_byte(r->index));
	record_add(&b, "nmi-disabled", g_variant_new_boolean(r->nmi_disabled));
	record_add(&b, "synced-ns", g_variant_new_uint64(r->synced_ns));
	record_add(&b, "next-update-ns", g_variant_new_uint64(next_update));
	record_add(&b, "timer-armed", g_variant_new_boolean(r->timer->armed));
	record_add(&b, "timer-deadline-ns",
		   g_variant_new_uint64(r->timer->armed ? r->timer->deadline_ns : 0));
	return g_variant_builder_end(&b);
}

static bool record_fail(GError **error, const char *id, const char *what)
{
	g_set_error(error, HG_DEVICE_ERROR, HG_DEVICE_ERROR_BAD_RECORD, "%s: %s", id, what);
	return false;
}

static bool rtc_load(HgDevice *dev, GVariantDict *rec, GError **error)
{
	Rtc *r = (Rtc *)dev;
	Rtc loaded = *r;
	uint64_t synced, next_update, deadline;
	bool armed;
	int64_t expected;

	if (!hg_record_bytes(rec, "cmos", loaded.cmos, CMOS_SIZE, error) ||
	    !hg_record_u8(rec, "index", &loaded.index, error) ||
	    !hg_record_bool(rec, "nmi-disabled", &loaded.nmi_disabled, error) ||
	    !hg_record_u64(rec, "synced-ns", &synced, error) ||
	    !hg_record_u64(rec, "next-update-ns", &next_update, error) ||
	    !hg_record_bool(rec, "timer-armed", &armed, error) ||
	    !hg_record_u64(rec, "timer-deadline-ns", &deadline, error)) {
		g_prefix_error(error, "%s: ", dev->id);
		return false;
	}

	if (loaded.index >= CMOS_SIZE)
		return record_fail(error, dev->id, "index out of range");
	if (loaded.cmos[REG_A] & A_UIP)
		return record_fail(error, dev->id, "register A has UIP stored (it is computed)");
	if (loaded.cmos[REG_C] & ~C_FLAGS)
		return record_fail(error, dev->id, "register C has bits other than PF, AF and UF");
	if (loaded.cmos[REG_D] != D_VRT)
		return record_fail(error, dev->id, "register D is not VRT alone");
	if (synced > hg_clock_ns(dev->machine) + NS_PER_SECOND)
		return record_fail(error, dev->id,
				   "synced-ns lies more than a second after the machine clock");
	loaded.synced_ns = synced;
	if (rtc_divider_running(&loaded)) {
		if (next_update <= synced || next_update - synced > NS_PER_SECOND)
			return record_fail(
				error, dev->id,
				"next-update-ns is not within the second after synced-ns");
		loaded.divider_origin_ns = next_update - NS_PER_SECOND;
	} else {
		loaded.divider_origin_ns = synced; /* set again when it starts */
	}
	/* The deadline follows from the rest (rtc_save); one that does not is
	 * a record edited or broken. */
	expected = rtc_next_event(&loaded);
	if (armed != (expected != INT64_MAX) || (armed && deadline != (uint64_t)expected))
		return record_fail(error, dev->id, "timer deadline disagrees with the registers");

	*r = loaded;
	rtc_update_irq(r);
	return true;
}

static void rtc_destroy(HgDevice *dev)
{
	Rtc *r = (Rtc *)dev;

	hg_timer_free(r->timer);
	hg_address_space_unregister(&dev->machine->pio, RTC_PORT_BASE);
	g_free(r);
}

/* The first and last instants the four-digit year can show. */
#define TIME_MIN_US (days_from_civil(0, 1, 1) * SECONDS_PER_DAY * G_USEC_PER_SEC)
#define TIME_END_US (days_from_civil(YEAR_MAX + 1, 1, 1) * SECONDS_PER_DAY * G_USEC_PER_SEC)

HgDevice *hg_rtc_cmos_create(HgMachine *m, const char *id, int64_t start_time_us)
{
	Rtc *r;
	int64_t now = (int64_t)hg_clock_ns(m);
	int64_t seconds = floor_div(start_time_us, G_USEC_PER_SEC);

	if (start_time_us < TIME_MIN_US || start_time_us >= TIME_END_US)
		return NULL;
	r = g_new0(Rtc, 1);
	hg_device_init(&r->dev, &hg_rtc_cmos_class, m, id);
	if (!hg_address_space_register(&m->pio, RTC_PORT_BASE, RTC_PORTS, &rtc_io_ops, r,
				       r->dev.id)) {
		g_free(r->dev.id);
		g_free(r);
		return NULL;
	}
	r->cmos[REG_A] = A_POWER_ON;
	r->cmos[REG_B] = B_POWER_ON;
	r->cmos[REG_D] = D_VRT;
	rtc_seconds_to_registers(r, seconds);
	r->cmos[REG_DAY_OF_WEEK] =
		rtc_to_register(r, day_of_week(floor_div(seconds, SECONDS_PER_DAY)));
	/* The fraction of the second already gone sets the divider phase. */
	r->divider_origin_ns = now - floor_mod(start_time_us, G_USEC_PER_SEC) * 1000;
	r->synced_ns = now;
	r->timer = hg_timer_new(m, rtc_timer_expired, r);
	rtc_update_irq(r);
	hg_machine_add_device(m, &r->dev);
	return &r->dev;
}

bool hg_rtc_cmos_parse_time(const char *text, int64_t *start_time_us, GError **error)
{
	g_autoptr(GTimeZone) utc = g_time_zone_new_utc();
	g_autoptr(GDateTime) time = NULL;

	if (strcmp(text, "utc") == 0) {
		time = g_date_time_new_now_utc();
	} else if (strcmp(text, "localtime") == 0) {
		/* The host's wall clock as the RTC's calendar: shift by the
		 * zone's offset, so the RTC shows local time. */
		g_autoptr(GDateTime) local = g_date_time_new_now_local();
		time = g_date_time_add(local, g_date_time_get_utc_offset(local));
	} else {
		time = g_date_time_new_from_iso8601(text, utc);
	}
	if (!time) {
		g_set_error(
			error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			"\"%s\" is neither utc, localtime nor an ISO 8601 date and time such as "
			"2026-01-02T03:04:05Z",
			text);
		return false;
	}
	*start_time_us =
		g_date_time_to_unix(time) * G_USEC_PER_SEC + g_date_time_get_microsecond(time);
	return true;
}

static Rtc *rtc_from_device(HgDevice *dev)
{
	g_return_val_if_fail(dev && dev->klass == &hg_rtc_cmos_class, NULL);
	return (Rtc *)dev;
}

void hg_rtc_cmos_set_memory_size(HgDevice *rtc, uint64_t ram_bytes_below_4g,
				 uint64_t ram_bytes_above_4g)
{
	Rtc *r = rtc_from_device(rtc);
	uint64_t base_kib, extended_kib, above_16m, above_4g;

	if (!r)
		return;
	base_kib = MIN(ram_bytes_below_4g >> 10, 640);
	extended_kib = ram_bytes_below_4g > (1 << 20) ? (ram_bytes_below_4g - (1 << 20)) >> 10 : 0;
	extended_kib = MIN(extended_kib, 0xffff);
	above_16m = ram_bytes_below_4g > (16 << 20) ? (ram_bytes_below_4g - (16 << 20)) >> 16 : 0;
	above_16m = MIN(above_16m, 0xffff);
	above_4g = MIN(ram_bytes_above_4g >> 16, 0xffffff);

	r->cmos[CMOS_BASE_MEMORY_LOW] = base_kib;
	r->cmos[CMOS_BASE_MEMORY_HIGH] = base_kib >> 8;
	r->cmos[CMOS_EXTENDED_MEMORY_LOW] = extended_kib;
	r->cmos[CMOS_EXTENDED_MEMORY_HIGH] = extended_kib >> 8;
	r->cmos[CMOS_EXTENDED_MEMORY_COPY_LOW] = extended_kib;
	r->cmos[CMOS_EXTENDED_MEMORY_COPY_HIGH] = extended_kib >> 8;
	r->cmos[CMOS_MEMORY_ABOVE_16M_LOW] = above_16m;
	r->cmos[CMOS_MEMORY_ABOVE_16M_HIGH] = above_16m >> 8;
	for (unsigned i = 0; i < 3; i++)
		r->cmos[CMOS_MEMORY_ABOVE_4G_LOW + i] = above_4g >> (8 * i);
}

void hg_rtc_cmos_set_cpu_count(HgDevice *rtc, unsigned n_cpus)
{
	Rtc *r = rtc_from_device(rtc);

	g_return_if_fail(n_cpus >= 1 && n_cpus <= 256);
	if (r)
		r->cmos[CMOS_CPU_COUNT_MINUS_ONE] = n_cpus - 1;
}

void hg_rtc_cmos_set_byte(HgDevice *rtc, uint8_t index, uint8_t value)
{
	Rtc *r = rtc_from_device(rtc);

	g_return_if_fail(index >= REG_FIRST_RAM && index < CMOS_SIZE);
	if (r)
		r->cmos[index] = value;
}

const HgDeviceClass hg_rtc_cmos_class = {
	.name = "mc146818-rtc",
	.bus = "isa",
	.state_version = 1,
	.reset = rtc_reset,
	.save = rtc_save,
	.load = rtc_load,
	.destroy = rtc_destroy,
};
