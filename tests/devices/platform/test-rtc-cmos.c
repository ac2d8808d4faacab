/* The MC146818A RTC and CMOS RAM (devices/platform/rtc_cmos.c), driven
 * through the device test harness: the time in its formats, the calendar,
 * UIP, SET and the divider, the periodic, update-ended and alarm
 * interrupts, NVRAM and the memory size bytes, reset and save/restore.
 * Every engine starts the RTC at BASE_TIME; time only moves when the test
 * steps the harness clock, so every instant below is exact. */
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "tests/harness/harness.h"
#include "tests/harness/saved_state.h"

#define BASE_TIME "2026-01-02T03:04:05Z" /* a Friday */

#define RTC_INDEX 0x70
#define RTC_DATA 0x71
#define RTC_IRQ 8

#define REG_SECONDS 0x00
#define REG_SECONDS_ALARM 0x01
#define REG_MINUTES 0x02
#define REG_MINUTES_ALARM 0x03
#define REG_HOURS 0x04
#define REG_HOURS_ALARM 0x05
#define REG_DAY_OF_WEEK 0x06
#define REG_DAY_OF_MONTH 0x07
#define REG_MONTH 0x08
#define REG_YEAR 0x09
#define REG_A 0x0a
#define REG_B 0x0b
#define REG_C 0x0c
#define REG_D 0x0d
#define REG_CENTURY 0x32

#define A_UIP 0x80
#define A_DV_32KHZ 0x20
#define A_DV_RESET 0x70
#define A_DEFAULT 0x26 /* 32.768 kHz, 1024 Hz */

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

#define NS_PER_SECOND 1000000000ULL
/* UIP rises 8 periods of the 32.768 kHz crystal before each update: at
 * ceil(32760 * 1e9 / 32768) ns into the second (244.14 us before it). */
#define UIP_START_NS 999755860ULL
/* The first 1024 Hz periodic edge: ceil(1e9 / 1024). */
#define FIRST_1024HZ_EDGE_NS 976563ULL

typedef struct {
	uint8_t second, minute, hour, day_of_week, day, month, year, century;
} RtcTime;

static const RtcTime base_time = {0x05, 0x04, 0x03, 0x06, 0x02, 0x01, 0x26, 0x20};

static uint8_t bcd(unsigned value)
{
	return (value / 10) << 4 | value % 10;
}

static HgTest *rtc_start(void)
{
	return hg_test_start("--rtc-base", BASE_TIME, NULL);
}

static uint8_t cmos_read(HgTest *t, uint8_t index)
{
	hg_test_outb(t, RTC_INDEX, index);
	return hg_test_inb(t, RTC_DATA);
}

static void cmos_write(HgTest *t, uint8_t index, uint8_t value)
{
	hg_test_outb(t, RTC_INDEX, index);
	hg_test_outb(t, RTC_DATA, value);
}

static uint64_t clock_now(HgTest *t)
{
	g_autofree char *reply = hg_test_request(t, "clock_get");

	g_assert_true(g_str_has_prefix(reply, "OK "));
	return g_ascii_strtoull(reply + 3, NULL, 0);
}

/* Advance to the next armed timer (not at all if none); returns the clock. */
static uint64_t step_to_next_timer(HgTest *t)
{
	g_autofree char *reply = hg_test_request(t, "clock_step");

	g_assert_true(g_str_has_prefix(reply, "OK "));
	return g_ascii_strtoull(reply + 3, NULL, 0);
}

static void step_to(HgTest *t, uint64_t when)
{
	uint64_t now = clock_now(t);

	g_assert_cmpuint(when, >=, now);
	g_assert_cmpuint(hg_test_clock_step(t, when - now), ==, when);
}

static void read_time(HgTest *t, RtcTime *time)
{
	time->second = cmos_read(t, REG_SECONDS);
	time->minute = cmos_read(t, REG_MINUTES);
	time->hour = cmos_read(t, REG_HOURS);
	time->day_of_week = cmos_read(t, REG_DAY_OF_WEEK);
	time->day = cmos_read(t, REG_DAY_OF_MONTH);
	time->month = cmos_read(t, REG_MONTH);
	time->year = cmos_read(t, REG_YEAR);
	time->century = cmos_read(t, REG_CENTURY);
}

static void assert_time(HgTest *t, const RtcTime *expected)
{
	RtcTime got;

	read_time(t, &got);
	if (memcmp(&got, expected, sizeof(got)) != 0)
		g_error("RTC reads %02x%02x-%02x-%02x (day %x) %02x:%02x:%02x, expected "
			"%02x%02x-%02x-%02x (day %x) %02x:%02x:%02x",
			got.century, got.year, got.month, got.day, got.day_of_week, got.hour,
			got.minute, got.second, expected->century, expected->year, expected->month,
			expected->day, expected->day_of_week, expected->hour, expected->minute,
			expected->second);
}

/* The way an OS sets the clock: SET, the bytes, SET cleared again (with
 * the rest of register B as given). */
static void set_time(HgTest *t, const RtcTime *time, uint8_t b)
{
	cmos_write(t, REG_B, b | B_SET);
	cmos_write(t, REG_SECONDS, time->second);
	cmos_write(t, REG_MINUTES, time->minute);
	cmos_write(t, REG_HOURS, time->hour);
	cmos_write(t, REG_DAY_OF_WEEK, time->day_of_week);
	cmos_write(t, REG_DAY_OF_MONTH, time->day);
	cmos_write(t, REG_MONTH, time->month);
	cmos_write(t, REG_YEAR, time->year);
	cmos_write(t, REG_CENTURY, time->century);
	cmos_write(t, REG_B, b);
}

/* --- time and calendar --- */

static void test_time_reads_the_base_time_in_bcd(void)
{
	HgTest *t = rtc_start();

	assert_time(t, &base_time);
	g_assert_cmphex(cmos_read(t, REG_A), ==, A_DEFAULT);
	g_assert_cmphex(cmos_read(t, REG_B), ==, B_24_HOUR);
	g_assert_cmphex(cmos_read(t, REG_C), ==, 0x00);
	g_assert_cmphex(cmos_read(t, REG_D), ==, 0x80);
	g_assert_false(hg_test_irq_level(t, RTC_IRQ));
	hg_test_quit(t);
}

static void test_time_fraction_of_the_base_second_sets_the_phase(void)
{
	HgTest *t = hg_test_start("--rtc-base", "2026-01-02T03:04:05.25Z", NULL);

	/* A quarter of the second has gone: the update comes 0.75 s later. */
	step_to(t, 750000000 - 1);
	g_assert_cmphex(cmos_read(t, REG_SECONDS), ==, 0x05);
	step_to(t, 750000000);
	g_assert_cmphex(cmos_read(t, REG_SECONDS), ==, 0x06);
	hg_test_quit(t);
}

static unsigned from_bcd(uint8_t value)
{
	return (value >> 4) * 10 + (value & 0x0f);
}

/* The RTC's BCD bytes as a date and time in UTC. */
static GDateTime *read_date_time(HgTest *t)
{
	g_autoptr(GTimeZone) utc = g_time_zone_new_utc();
	RtcTime time;

	read_time(t, &time);
	return g_date_time_new(utc, from_bcd(time.century) * 100 + from_bcd(time.year),
			       from_bcd(time.month), from_bcd(time.day), from_bcd(time.hour),
			       from_bcd(time.minute), from_bcd(time.second));
}

/* Without --rtc-base the RTC starts at the host's clock, in UTC; with
 * "localtime" at the host's wall clock (Windows keeps the RTC so). */
static void test_time_default_start_is_the_host_clock_in_utc(void)
{
	HgTest *t = hg_test_start(NULL, NULL);
	g_autoptr(GDateTime) now = g_date_time_new_now_utc();
	g_autoptr(GDateTime) rtc = read_date_time(t);

	g_assert_nonnull(rtc);
	g_assert_cmpint(ABS(g_date_time_difference(rtc, now)), <=, 5 * G_TIME_SPAN_SECOND);
	hg_test_quit(t);

	/* 5 h 45 min east of UTC; the engine inherits TZ. */
	g_setenv("TZ", "HGT-05:45", TRUE);
	t = hg_test_start("--rtc-base", "localtime", NULL);
	g_unsetenv("TZ");
	g_autoptr(GDateTime) now_there = g_date_time_add_minutes(now, 5 * 60 + 45);
	g_autoptr(GDateTime) rtc_there = read_date_time(t);
	g_assert_cmpint(ABS(g_date_time_difference(rtc_there, now_there)), <=,
			5 * G_TIME_SPAN_SECOND);
	hg_test_quit(t);
}

static void test_time_bad_base_is_a_usage_error(void)
{
	const char *args[] = {"--rtc-base", "yesterday", NULL};
	g_autofree char *err = NULL;

	g_assert_cmpint(hg_test_run_engine_expect_exit(args, &err), ==, 2); /* HG_EXIT_USAGE */
	g_assert_nonnull(strstr(err, "--rtc-base"));
	g_assert_nonnull(strstr(err, "yesterday"));
}

static void test_time_binary_mode(void)
{
	static const RtcTime new_year_eve = {58, 59, 23, 5, 31, 12, 26, 20};
	static const RtcTime one_second_later = {59, 59, 23, 5, 31, 12, 26, 20};
	static const RtcTime new_year = {0, 0, 0, 6, 1, 1, 27, 20};
	HgTest *t = rtc_start();

	set_time(t, &new_year_eve, B_DM_BINARY | B_24_HOUR);
	assert_time(t, &new_year_eve);
	hg_test_clock_step(t, NS_PER_SECOND);
	assert_time(t, &one_second_later);
	hg_test_clock_step(t, NS_PER_SECOND);
	assert_time(t, &new_year);
	hg_test_quit(t);

	/* Changing DM does not convert the bytes (Register B): the next
	 * update counts on from the BCD bytes read as binary. */
	t = rtc_start();
	cmos_write(t, REG_B, B_DM_BINARY | B_24_HOUR);
	g_assert_cmphex(cmos_read(t, REG_SECONDS), ==, 0x05);
	hg_test_clock_step(t, 5 * NS_PER_SECOND);
	g_assert_cmphex(cmos_read(t, REG_SECONDS), ==, 10);
	g_assert_cmphex(cmos_read(t, REG_CENTURY), ==, 0x20); /* now 32 */
	hg_test_quit(t);
}

static void test_time_12_hour_mode_sets_pm_bit(void)
{
	/* The base date in binary: only the year and century differ. */
	static const RtcTime binary_date = {5, 4, 3, 6, 2, 1, 26, 20};
	static const struct {
		uint8_t b, hour, minute, hour_one_second_later;
		bool next_day;
	} cases[] = {
		{0, 0x91, 0x59, 0x12, true}, /* 11:59:59 PM -> 12:00:00 AM, the next day */
		{0, 0x11, 0x59, 0x92, false}, /* 11:59:59 AM -> 12:00:00 PM */
		{0, 0x92, 0x58, 0x92, false}, /* 12:58:59 PM -> 12:59:00 PM, then 1 PM */
		{B_DM_BINARY, 0x8b, 59, 0x0c, true}, /* binary 11 PM -> 12 AM */
		{B_DM_BINARY, 0x0b, 59, 0x8c, false}, /* binary 11 AM -> 12 PM */
	};
	HgTest *t = rtc_start();

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		bool binary = cases[i].b & B_DM_BINARY;
		RtcTime before = binary ? binary_date : base_time;

		before.second = binary ? 59 : 0x59;
		before.minute = cases[i].minute;
		before.hour = cases[i].hour;
		set_time(t, &before, cases[i].b);
		g_assert_cmphex(cmos_read(t, REG_HOURS), ==, cases[i].hour);
		hg_test_clock_step(t, NS_PER_SECOND);
		g_assert_cmphex(cmos_read(t, REG_HOURS), ==, cases[i].hour_one_second_later);
		g_assert_cmphex(cmos_read(t, REG_SECONDS), ==, 0);
		g_assert_cmphex(cmos_read(t, REG_DAY_OF_MONTH), ==, cases[i].next_day ? 3 : 2);
		g_assert_cmphex(cmos_read(t, REG_DAY_OF_WEEK), ==, cases[i].next_day ? 7 : 6);
		if (cases[i].hour == 0x92) {
			hg_test_clock_step(t, 60 * NS_PER_SECOND);
			g_assert_cmphex(cmos_read(t, REG_HOURS), ==, 0x81); /* 1 PM */
		}
	}
	hg_test_quit(t);
}

static void test_time_advances_with_the_machine_clock(void)
{
	static const struct {
		const char *what;
		RtcTime before, after_59_seconds;
	} cases[] = {
		{"hour",
		 {0x30, 0x59, 0x03, 6, 0x02, 0x01, 0x26, 0x20},
		 {0x29, 0x00, 0x04, 6, 0x02, 0x01, 0x26, 0x20}},
		{"month, and Saturday to Sunday",
		 {0x30, 0x59, 0x23, 7, 0x31, 0x01, 0x26, 0x20},
		 {0x29, 0x00, 0x00, 1, 0x01, 0x02, 0x26, 0x20}},
		{"leap day",
		 {0x30, 0x59, 0x23, 2, 0x28, 0x02, 0x28, 0x20},
		 {0x29, 0x00, 0x00, 3, 0x29, 0x02, 0x28, 0x20}},
		{"after the leap day",
		 {0x30, 0x59, 0x23, 3, 0x29, 0x02, 0x28, 0x20},
		 {0x29, 0x00, 0x00, 4, 0x01, 0x03, 0x28, 0x20}},
		{"February of a common year",
		 {0x30, 0x59, 0x23, 1, 0x28, 0x02, 0x27, 0x20},
		 {0x29, 0x00, 0x00, 2, 0x01, 0x03, 0x27, 0x20}},
		{"year",
		 {0x30, 0x59, 0x23, 5, 0x31, 0x12, 0x26, 0x20},
		 {0x29, 0x00, 0x00, 6, 0x01, 0x01, 0x27, 0x20}},
		{"century",
		 {0x30, 0x59, 0x23, 5, 0x31, 0x12, 0x99, 0x20},
		 {0x29, 0x00, 0x00, 6, 0x01, 0x01, 0x00, 0x21}},
		{"2100 is no leap year",
		 {0x30, 0x59, 0x23, 1, 0x28, 0x02, 0x00, 0x21},
		 {0x29, 0x00, 0x00, 2, 0x01, 0x03, 0x00, 0x21}},
		{"2000 is a leap year",
		 {0x30, 0x59, 0x23, 2, 0x28, 0x02, 0x00, 0x20},
		 {0x29, 0x00, 0x00, 3, 0x29, 0x02, 0x00, 0x20}},
	};
	RtcTime expected = base_time;
	HgTest *t = rtc_start();

	hg_test_clock_step(t, NS_PER_SECOND);
	expected.second = 0x06;
	assert_time(t, &expected);
	hg_test_clock_step(t, 59 * NS_PER_SECOND);
	expected.second = 0x05;
	expected.minute = 0x05;
	assert_time(t, &expected);
	/* The clock sits on a whole second, so each case sees 59 updates. */
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_test_message("across the %s", cases[i].what);
		set_time(t, &cases[i].before, B_24_HOUR);
		assert_time(t, &cases[i].before);
		hg_test_clock_step(t, 59 * NS_PER_SECOND);
		assert_time(t, &cases[i].after_59_seconds);
	}
	hg_test_quit(t);
}

static void test_time_long_clock_step_lands_on_the_right_date(void)
{
	/* 400 days on: 2027-02-06, a Saturday. */
	static const RtcTime later = {0x05, 0x04, 0x03, 7, 0x06, 0x02, 0x27, 0x20};
	HgTest *t = rtc_start();

	hg_test_clock_step(t, 400 * 86400 * NS_PER_SECOND);
	assert_time(t, &later);
	hg_test_quit(t);
}

/* --- UIP, SET and the divider --- */

static void test_uip_set_just_before_an_update(void)
{
	HgTest *t = rtc_start();

	g_assert_cmphex(cmos_read(t, REG_A), ==, A_DEFAULT);
	step_to(t, UIP_START_NS - 1);
	g_assert_cmphex(cmos_read(t, REG_A), ==, A_DEFAULT);
	step_to(t, UIP_START_NS);
	g_assert_cmphex(cmos_read(t, REG_A), ==, A_UIP | A_DEFAULT);
	g_assert_cmphex(cmos_read(t, REG_SECONDS), ==, 0x05);
	step_to(t, NS_PER_SECOND - 1);
	g_assert_cmphex(cmos_read(t, REG_A), ==, A_UIP | A_DEFAULT);
	g_assert_cmphex(cmos_read(t, REG_SECONDS), ==, 0x05);
	/* The update: new time, and 244 us without UIP guaranteed. */
	step_to(t, NS_PER_SECOND);
	g_assert_cmphex(cmos_read(t, REG_A), ==, A_DEFAULT);
	g_assert_cmphex(cmos_read(t, REG_SECONDS), ==, 0x06);
	step_to(t, NS_PER_SECOND + UIP_START_NS);
	g_assert_cmphex(cmos_read(t, REG_A), ==, A_UIP | A_DEFAULT);
	/* SET inhibits the update and clears UIP (Register A). */
	cmos_write(t, REG_B, B_SET | B_24_HOUR);
	g_assert_cmphex(cmos_read(t, REG_A), ==, A_DEFAULT);
	cmos_write(t, REG_B, B_24_HOUR);
	g_assert_cmphex(cmos_read(t, REG_A), ==, A_UIP | A_DEFAULT);
	/* A divider in reset makes no update, so no UIP either. */
	cmos_write(t, REG_A, A_DV_RESET | 0x06);
	g_assert_cmphex(cmos_read(t, REG_A), ==, A_DV_RESET | 0x06);
	hg_test_quit(t);
}

static void test_set_bit_halts_and_writes_the_time(void)
{
	static const RtcTime written = {0x56, 0x34, 0x12, 7, 0x15, 0x06, 0x30, 0x20};
	RtcTime expected = written;
	HgTest *t = rtc_start();

	step_to(t, 300000000);
	cmos_write(t, REG_B, B_SET | B_24_HOUR);
	cmos_read(t, REG_C);
	step_to(t, 3300000000);
	assert_time(t, &base_time); /* no updates while SET */
	g_assert_cmphex(cmos_read(t, REG_C) & (C_UF | C_AF), ==, 0);
	cmos_write(t, REG_SECONDS, written.second);
	cmos_write(t, REG_MINUTES, written.minute);
	cmos_write(t, REG_HOURS, written.hour);
	cmos_write(t, REG_DAY_OF_WEEK, written.day_of_week);
	cmos_write(t, REG_DAY_OF_MONTH, written.day);
	cmos_write(t, REG_MONTH, written.month);
	cmos_write(t, REG_YEAR, written.year);
	assert_time(t, &written);
	step_to(t, 5300000000);
	assert_time(t, &written);
	cmos_write(t, REG_B, B_24_HOUR);
	assert_time(t, &written);
	/* SET did not stop the divider: the next update is at the next whole
	 * second of its phase, not a second after SET was cleared. */
	step_to(t, 6 * NS_PER_SECOND - 1);
	assert_time(t, &written);
	step_to(t, 6 * NS_PER_SECOND);
	expected.second = 0x57;
	assert_time(t, &expected);
	/* SET going high clears UIE (Register B); with SET already high UIE
	 * can be set, and update interrupts come once SET is cleared. */
	cmos_write(t, REG_B, B_UIE | B_24_HOUR);
	g_assert_cmphex(cmos_read(t, REG_B), ==, B_UIE | B_24_HOUR);
	cmos_write(t, REG_B, B_SET | B_UIE | B_24_HOUR);
	g_assert_cmphex(cmos_read(t, REG_B), ==, B_SET | B_24_HOUR);
	cmos_write(t, REG_B, B_SET | B_UIE | B_24_HOUR);
	g_assert_cmphex(cmos_read(t, REG_B), ==, B_SET | B_UIE | B_24_HOUR);
	cmos_read(t, REG_C);
	g_assert_cmpuint(step_to_next_timer(t), ==, 6 * NS_PER_SECOND); /* no update while SET */
	cmos_write(t, REG_B, B_UIE | B_24_HOUR);
	g_assert_cmpuint(step_to_next_timer(t), ==, 7 * NS_PER_SECOND);
	g_assert_cmphex(cmos_read(t, REG_C) & ~C_PF, ==, C_IRQF | C_UF);
	hg_test_quit(t);
}

static void test_divider_reset_delays_the_first_update_by_half_a_second(void)
{
	RtcTime expected = base_time;
	HgTest *t = rtc_start();

	step_to(t, 200000000);
	cmos_write(t, REG_A, A_DV_RESET | 0x06);
	cmos_read(t, REG_C);
	step_to(t, 3200000000);
	assert_time(t, &base_time);
	g_assert_cmphex(cmos_read(t, REG_C), ==, 0); /* no periodic edges either */
	cmos_write(t, REG_A, A_DEFAULT);
	step_to(t, 3700000000 - 1);
	assert_time(t, &base_time);
	step_to(t, 3700000000);
	expected.second = 0x06;
	assert_time(t, &expected);
	step_to(t, 4700000000);
	expected.second = 0x07;
	assert_time(t, &expected);
	/* DV 000 (a 4.194304 MHz time base) cannot count a 32.768 kHz
	 * crystal: the clock stands still too. */
	cmos_write(t, REG_A, 0x06);
	step_to(t, 7 * NS_PER_SECOND);
	assert_time(t, &expected);
	hg_test_quit(t);
}

/* --- periodic interrupt --- */

/* Counts the periodic interrupts in (start, start + interval] with PIE
 * set, acknowledging each by reading register C, and checks each edge's
 * time: every 2^(RS-1) crystal periods from the start of a second. */
static void check_periodic_rate(HgTest *t, uint8_t rs, uint64_t period_cycles, uint64_t interval_ns)
{
	uint64_t start = clock_now(t), end = start + interval_ns;
	unsigned raised = hg_test_irq_raised_count(t, RTC_IRQ), edges = 0;

	g_assert_cmpuint(start % NS_PER_SECOND, ==, 0);
	cmos_write(t, REG_A, A_DV_32KHZ | rs);
	cmos_write(t, REG_B, B_PIE | B_24_HOUR);
	g_assert_cmphex(cmos_read(t, REG_C) & ~C_UF, ==, 0); /* index stays at C */
	for (;;) {
		uint64_t now = step_to_next_timer(t);
		uint64_t cycles = (edges + 1) * period_cycles;

		if (now > end)
			break;
		edges++;
		g_assert_cmpuint(now, ==, start + (cycles * NS_PER_SECOND + 32767) / 32768);
		g_assert_true(hg_test_irq_level(t, RTC_IRQ));
		/* UF joins PF once a second: it is set whatever UIE says. */
		g_assert_cmphex(hg_test_inb(t, RTC_DATA) & ~C_UF, ==, C_IRQF | C_PF);
		g_assert_false(hg_test_irq_level(t, RTC_IRQ));
	}
	g_assert_cmpuint(edges, ==, interval_ns * 32768 / NS_PER_SECOND / period_cycles);
	g_assert_cmpuint(hg_test_irq_raised_count(t, RTC_IRQ) - raised, ==, edges + 1);
	/* Stop, realign to a whole second for the next rate, and leave no
	 * flag behind. */
	cmos_write(t, REG_B, B_24_HOUR);
	step_to(t, (clock_now(t) / NS_PER_SECOND + 1) * NS_PER_SECOND);
	cmos_read(t, REG_C);
}

static void test_periodic_irq_8_at_the_selected_rate(void)
{
	HgTest *t = rtc_start();
	uint64_t now;

	/* The loop consumed the first edge past the interval too, hence
	 * edges + 1 raises in check_periodic_rate. */
	check_periodic_rate(t, 6, 32, NS_PER_SECOND); /* 1024 Hz */
	check_periodic_rate(t, 15, 16384, 2 * NS_PER_SECOND); /* 2 Hz */
	check_periodic_rate(t, 1, 128, NS_PER_SECOND); /* 256 Hz, like RS 8 */
	check_periodic_rate(t, 2, 256, NS_PER_SECOND); /* 128 Hz, like RS 9 */
	check_periodic_rate(t, 3, 4, NS_PER_SECOND / 4); /* 8192 Hz */
	/* RS 0: no periodic interrupt, and no timer. */
	cmos_write(t, REG_A, A_DV_32KHZ);
	cmos_write(t, REG_B, B_PIE | B_24_HOUR);
	now = clock_now(t);
	g_assert_cmpuint(step_to_next_timer(t), ==, now);
	hg_test_clock_step(t, NS_PER_SECOND / 2);
	g_assert_cmphex(cmos_read(t, REG_C), ==, 0);
	g_assert_false(hg_test_irq_level(t, RTC_IRQ));
	hg_test_quit(t);
}

static void test_periodic_flag_set_without_interrupt_enable(void)
{
	HgTest *t = rtc_start();

	step_to(t, 500000);
	g_assert_cmphex(cmos_read(t, REG_C), ==, 0);
	step_to(t, FIRST_1024HZ_EDGE_NS - 1);
	g_assert_cmphex(cmos_read(t, REG_C), ==, 0);
	step_to(t, FIRST_1024HZ_EDGE_NS);
	g_assert_cmphex(cmos_read(t, REG_C), ==, C_PF);
	g_assert_cmphex(cmos_read(t, REG_C), ==, 0);
	/* Polling needs no timer: nothing is armed. */
	g_assert_cmpuint(step_to_next_timer(t), ==, FIRST_1024HZ_EDGE_NS);
	step_to(t, 2000000);
	g_assert_cmpuint(hg_test_irq_raised_count(t, RTC_IRQ), ==, 0);
	/* PIE set while PF is pending raises the line at once. */
	cmos_write(t, REG_B, B_PIE | B_24_HOUR);
	g_assert_true(hg_test_irq_level(t, RTC_IRQ));
	g_assert_cmphex(cmos_read(t, REG_C), ==, C_IRQF | C_PF);
	g_assert_false(hg_test_irq_level(t, RTC_IRQ));
	hg_test_quit(t);
}

/* --- update-ended and alarm interrupts --- */

static void test_update_ended_interrupt_once_a_second(void)
{
	HgTest *t = rtc_start();

	cmos_write(t, REG_A, A_DV_32KHZ); /* no periodic flag to muddle C */
	cmos_write(t, REG_B, B_UIE | B_24_HOUR);
	for (unsigned i = 1; i <= 5; i++) {
		g_assert_cmpuint(step_to_next_timer(t), ==, i * NS_PER_SECOND);
		g_assert_true(hg_test_irq_level(t, RTC_IRQ));
		g_assert_cmphex(cmos_read(t, REG_SECONDS), ==, bcd(5 + i));
		g_assert_cmphex(cmos_read(t, REG_C), ==, C_IRQF | C_UF);
		g_assert_false(hg_test_irq_level(t, RTC_IRQ));
	}
	g_assert_cmpuint(hg_test_irq_raised_count(t, RTC_IRQ), ==, 5);
	/* Unacknowledged, the line stays up through later updates, and no
	 * timer runs for events that could not change it. */
	g_assert_cmpuint(step_to_next_timer(t), ==, 6 * NS_PER_SECOND);
	g_assert_true(hg_test_irq_level(t, RTC_IRQ));
	g_assert_cmpuint(step_to_next_timer(t), ==, 6 * NS_PER_SECOND);
	step_to(t, 9 * NS_PER_SECOND);
	g_assert_true(hg_test_irq_level(t, RTC_IRQ));
	g_assert_cmpuint(hg_test_irq_raised_count(t, RTC_IRQ), ==, 6);
	g_assert_cmphex(cmos_read(t, REG_C), ==, C_IRQF | C_UF);
	g_assert_cmphex(cmos_read(t, REG_SECONDS), ==, 0x14);
	/* SET stops the updates and clears UIE: no timer left. */
	cmos_write(t, REG_B, B_SET | B_UIE | B_24_HOUR);
	g_assert_cmpuint(step_to_next_timer(t), ==, 9 * NS_PER_SECOND);
	hg_test_quit(t);
}

static void test_alarm_fires_at_the_alarm_time(void)
{
	static const RtcTime next_day = {0x10, 0x04, 0x03, 7, 0x03, 0x01, 0x26, 0x20};
	HgTest *t = rtc_start();

	cmos_write(t, REG_A, A_DV_32KHZ);
	cmos_write(t, REG_SECONDS_ALARM, 0x10);
	cmos_write(t, REG_MINUTES_ALARM, 0x04);
	cmos_write(t, REG_HOURS_ALARM, 0x03);
	cmos_write(t, REG_B, B_AIE | B_24_HOUR);
	step_to(t, 5 * NS_PER_SECOND - 1);
	g_assert_false(hg_test_irq_level(t, RTC_IRQ));
	g_assert_cmphex(cmos_read(t, REG_C), ==, C_UF); /* updates, but no alarm yet */
	g_assert_cmpuint(step_to_next_timer(t), ==, 5 * NS_PER_SECOND);
	g_assert_true(hg_test_irq_level(t, RTC_IRQ));
	g_assert_cmphex(cmos_read(t, REG_SECONDS), ==, 0x10);
	g_assert_cmphex(cmos_read(t, REG_C), ==, C_IRQF | C_AF | C_UF);
	g_assert_false(hg_test_irq_level(t, RTC_IRQ));
	/* The same time tomorrow. */
	g_assert_cmpuint(step_to_next_timer(t), ==, (5 + 86400) * NS_PER_SECOND);
	g_assert_true(hg_test_irq_level(t, RTC_IRQ));
	assert_time(t, &next_day);
	g_assert_cmphex(cmos_read(t, REG_C), ==, C_IRQF | C_AF | C_UF);
	/* AF is set without AIE too, for a guest that polls. */
	cmos_write(t, REG_B, B_24_HOUR);
	hg_test_clock_step(t, 86400 * NS_PER_SECOND);
	g_assert_cmphex(cmos_read(t, REG_C), ==, C_AF | C_UF);
	g_assert_cmpuint(hg_test_irq_raised_count(t, RTC_IRQ), ==, 2);
	hg_test_quit(t);
}

static void test_alarm_dont_care_fields(void)
{
	/* From 03:04:05: the first two alarms, in seconds. */
	static const struct {
		uint8_t second, minute, hour;
		uint64_t first, second_alarm;
	} cases[] = {
		{0x00, 0xff, 0xc0, 55, 115}, /* every minute: 03:05:00, 03:06:00 */
		{0xc0, 0xc0, 0xc0, 1, 2}, /* every second */
		{0x00, 0x10, 0xc5, 355, 3955}, /* every hour at :10:00 */
		{0xff, 0x05, 0x03, 55, 56}, /* every second of 03:05 */
		{0x30, 0xc0, 0x04, 3385, 3445}, /* 04:00:30, 04:01:30 */
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		HgTest *t = rtc_start();

		cmos_write(t, REG_A, A_DV_32KHZ);
		cmos_write(t, REG_SECONDS_ALARM, cases[i].second);
		cmos_write(t, REG_MINUTES_ALARM, cases[i].minute);
		cmos_write(t, REG_HOURS_ALARM, cases[i].hour);
		cmos_write(t, REG_B, B_AIE | B_24_HOUR);
		g_assert_cmpuint(step_to_next_timer(t), ==, cases[i].first * NS_PER_SECOND);
		g_assert_cmphex(cmos_read(t, REG_C), ==, C_IRQF | C_AF | C_UF);
		g_assert_cmpuint(step_to_next_timer(t), ==, cases[i].second_alarm * NS_PER_SECOND);
		g_assert_cmphex(cmos_read(t, REG_C), ==, C_IRQF | C_AF | C_UF);
		hg_test_quit(t);
	}
}

static void test_alarm_that_never_matches_arms_no_timer(void)
{
	HgTest *t = rtc_start();

	cmos_write(t, REG_A, A_DV_32KHZ);
	cmos_write(t, REG_HOURS_ALARM, 0x25); /* no hour reads 25 */
	cmos_write(t, REG_B, B_AIE | B_24_HOUR);
	g_assert_cmpuint(step_to_next_timer(t), ==, 0);
	hg_test_clock_step(t, 2 * 86400 * NS_PER_SECOND);
	g_assert_cmphex(cmos_read(t, REG_C), ==, C_UF);
	g_assert_cmpuint(hg_test_irq_raised_count(t, RTC_IRQ), ==, 0);
	hg_test_quit(t);
}

/* --- registers C and D, NVRAM, ports --- */

static void test_register_d_reports_valid_ram_and_time(void)
{
	HgTest *t = rtc_start();

	g_assert_cmphex(cmos_read(t, REG_D), ==, 0x80);
	cmos_write(t, REG_D, 0x00);
	g_assert_cmphex(cmos_read(t, REG_D), ==, 0x80);
	/* C is read-only too, and A's UIP cannot be written. */
	cmos_write(t, REG_C, 0xff);
	g_assert_cmphex(cmos_read(t, REG_C), ==, 0x00);
	g_assert_false(hg_test_irq_level(t, RTC_IRQ));
	cmos_write(t, REG_A, A_UIP | A_DEFAULT);
	g_assert_cmphex(cmos_read(t, REG_A), ==, A_DEFAULT);
	hg_test_quit(t);
}

static void check_memory_bytes(const char *memory_mib, const char *cpus, const uint8_t *expected)
{
	static const uint8_t indexes[] = {0x15, 0x16, 0x17, 0x18, 0x30, 0x31,
					  0x34, 0x35, 0x5b, 0x5c, 0x5d, 0x5f};
	HgTest *t = hg_test_start("--rtc-base", BASE_TIME, "--memory", memory_mib, "--cpus", cpus,
				  NULL);

	g_test_message("--memory %s --cpus %s", memory_mib, cpus);
	for (size_t i = 0; i < G_N_ELEMENTS(indexes); i++)
		g_assert_cmphex(cmos_read(t, indexes[i]), ==, expected[i]);
	hg_test_quit(t);
}

static void test_nvram_reads_back_and_holds_memory_size(void)
{
	/* 5 GiB: 3 GiB below the PCI hole, 2 GiB from 4 GiB.  0x34/0x35:
	 * (3 GiB - 16 MiB) / 64 KiB = 0xBF00; 0x5B-0x5D: 2 GiB / 64 KiB. */
	static const uint8_t five_gib[] = {0x80, 0x02, 0xff, 0xff, 0xff, 0xff,
					   0x00, 0xbf, 0x00, 0x80, 0x00, 0x00};
	/* 256 MiB, 4 CPUs: (256 - 16) MiB / 64 KiB = 0x0F00. */
	static const uint8_t default_size[] = {0x80, 0x02, 0xff, 0xff, 0xff, 0xff,
					       0x00, 0x0f, 0x00, 0x00, 0x00, 0x03};
	/* 12 MiB: 11 MiB of extended memory = 0x2C00 KiB, none above 16 MiB. */
	static const uint8_t twelve_mib[] = {0x80, 0x02, 0x00, 0x2c, 0x00, 0x2c,
					     0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
	HgTest *t;

	check_memory_bytes("5120", "1", five_gib);
	check_memory_bytes("256", "4", default_size);
	check_memory_bytes("12", "1", twelve_mib);

	/* Every RAM byte reads back what was written and keeps it while the
	 * clock runs (the century 0x32 only changes at a century's end). */
	t = rtc_start();
	for (unsigned i = 0x0e; i < 0x80; i++)
		cmos_write(t, i, i == REG_CENTURY ? 0x20 : i ^ 0xa5);
	hg_test_clock_step(t, 90 * NS_PER_SECOND);
	for (unsigned i = 0x0e; i < 0x80; i++)
		g_assert_cmphex(cmos_read(t, i), ==, i == REG_CENTURY ? 0x20 : i ^ 0xa5);
	hg_test_quit(t);
}

static void test_index_register_masks_nmi_bit(void)
{
	HgTest *t = rtc_start();

	hg_test_outb(t, RTC_INDEX, 0x80 | REG_A);
	g_assert_cmphex(hg_test_inb(t, RTC_DATA), ==, A_DEFAULT);
	hg_test_outb(t, RTC_INDEX, 0x80 | 0x40);
	hg_test_outb(t, RTC_DATA, 0x77);
	g_assert_cmphex(cmos_read(t, 0x40), ==, 0x77);
	g_assert_cmphex(cmos_read(t, 0xc0), ==, 0x77);
	/* The index port is write-only on a PC. */
	g_assert_cmphex(hg_test_inb(t, RTC_INDEX), ==, 0xff);
	/* A 16-bit write is index then data; a 16-bit read floats the index
	 * byte and reads the data. */
	hg_test_outw(t, RTC_INDEX, 0x5541);
	g_assert_cmphex(cmos_read(t, 0x41), ==, 0x55);
	hg_test_outb(t, RTC_INDEX, REG_SECONDS);
	g_assert_cmphex(hg_test_inw(t, RTC_INDEX), ==, 0x05ff);
	hg_test_quit(t);
}

/* --- reset --- */

/* system_reset over the control socket; returns once the engine replied. */
static void control_system_reset(const char *socket_path)
{
	int fd = hg_test_connect_unix(socket_path);
	GString *pending = g_string_new(NULL);
	static const char request[] = "{\"execute\":\"system_reset\"}\n";
	g_autofree char *greeting = hg_test_read_line(fd, pending, 10000);

	g_assert_nonnull(greeting);
	g_assert_cmpint(write(fd, request, strlen(request)), ==, (ssize_t)strlen(request));
	for (;;) {
		g_autofree char *line = hg_test_read_line(fd, pending, 10000);
		g_autoptr(JsonParser) parser = json_parser_new();
		JsonObject *o;

		g_assert_nonnull(line);
		g_assert_true(json_parser_load_from_data(parser, line, -1, NULL));
		o = json_node_get_object(json_parser_get_root(parser));
		g_assert_false(json_object_has_member(o, "error"));
		if (json_object_has_member(o, "return"))
			break;
	}
	g_string_free(pending, TRUE);
	close(fd);
}

static void test_reset_keeps_time_and_nvram_clears_interrupt_enables(void)
{
	HgTest *t = hg_test_start("--rtc-base", BASE_TIME, "--control", "@DIR@/control.sock", NULL);
	g_autofree char *control = g_build_filename(hg_test_dir(t), "control.sock", NULL);
	RtcTime expected = base_time;
	uint64_t now;

	cmos_write(t, 0x40, 0x5a);
	cmos_write(t, REG_SECONDS_ALARM, 0xc0);
	cmos_write(t, REG_MINUTES_ALARM, 0xc0);
	cmos_write(t, REG_HOURS_ALARM, 0xc0);
	cmos_write(t, REG_B, B_PIE | B_AIE | B_UIE | B_SQWE | B_24_HOUR | B_DSE);
	step_to(t, 1500000000);
	g_assert_true(hg_test_irq_level(t, RTC_IRQ));

	control_system_reset(control);
	g_assert_false(hg_test_irq_level(t, RTC_IRQ));
	g_assert_cmphex(cmos_read(t, REG_B), ==, B_24_HOUR | B_DSE);
	g_assert_cmphex(cmos_read(t, REG_C), ==, 0);
	g_assert_cmphex(cmos_read(t, REG_A), ==, A_DEFAULT);
	g_assert_cmphex(cmos_read(t, 0x40), ==, 0x5a);
	g_assert_cmphex(cmos_read(t, REG_SECONDS_ALARM), ==, 0xc0);
	expected.second = 0x06;
	assert_time(t, &expected);
	/* Nothing enabled, nothing armed; the clock keeps its phase. */
	now = clock_now(t);
	g_assert_cmpuint(step_to_next_timer(t), ==, now);
	step_to(t, 2 * NS_PER_SECOND);
	expected.second = 0x07;
	assert_time(t, &expected);

	/* SET, DM and 24/12 survive a reset. */
	cmos_write(t, REG_B, B_SET | B_DM_BINARY | B_24_HOUR);
	control_system_reset(control);
	g_assert_cmphex(cmos_read(t, REG_B), ==, B_SET | B_DM_BINARY | B_24_HOUR);
	hg_test_quit(t);
}

/* --- save and restore --- */

static bool saved_nmi_disabled(const char *dir)
{
	g_autoptr(GVariant) rtc = hg_test_saved_record(dir, "rtc");
	g_auto(GVariantDict) rec = G_VARIANT_DICT_INIT(rtc);
	gboolean disabled;

	g_assert_true(g_variant_dict_lookup(&rec, "nmi-disabled", "b", &disabled));
	return disabled;
}

/* PIE at 1024 Hz, an alarm at 03:04:07 without AIE, RAM byte 0x40 = 0x5A
 * and the index left at 0x40 with the NMI mask set; 500 us in, half way to
 * the first periodic edge. */
static HgTest *start_mid_period(void)
{
	HgTest *t = rtc_start();

	cmos_write(t, REG_SECONDS_ALARM, 0x07);
	cmos_write(t, REG_MINUTES_ALARM, 0x04);
	cmos_write(t, REG_HOURS_ALARM, 0x03);
	cmos_write(t, REG_B, B_PIE | B_24_HOUR);
	cmos_write(t, 0x40, 0x5a);
	hg_test_outb(t, RTC_INDEX, 0x80 | 0x40);
	step_to(t, 500000);
	return t;
}

static void test_state_save_mid_period_and_load_in_fresh_engine(void)
{
	HgTest *a = start_mid_period(), *b;
	g_autofree char *dir = g_build_filename(hg_test_dir(a), "saved", NULL);
	RtcTime expected = base_time;

	hg_test_save(a, dir);
	g_assert_true(saved_nmi_disabled(dir));

	b = hg_test_start("--restore", dir, NULL);
	/* The index register came back: a data read needs no index write. */
	g_assert_cmphex(hg_test_inb(b, RTC_DATA), ==, 0x5a);
	g_assert_cmpuint(clock_now(b), ==, 500000);
	g_assert_false(hg_test_irq_level(b, RTC_IRQ));
	assert_time(b, &base_time);
	g_assert_cmphex(cmos_read(b, REG_A), ==, A_DEFAULT);
	g_assert_cmphex(cmos_read(b, REG_B), ==, B_PIE | B_24_HOUR);
	/* The next periodic interrupt comes when it would have without the
	 * save, and the one after it a period later. */
	g_assert_cmpuint(step_to_next_timer(b), ==, FIRST_1024HZ_EDGE_NS);
	g_assert_true(hg_test_irq_level(b, RTC_IRQ));
	g_assert_cmphex(cmos_read(b, REG_C), ==, C_IRQF | C_PF);
	g_assert_cmpuint(step_to_next_timer(b), ==, 1953125);
	g_assert_cmphex(cmos_read(b, REG_C), ==, C_IRQF | C_PF);
	/* The divider phase and the time base came back too. */
	cmos_write(b, REG_B, B_24_HOUR);
	step_to(b, UIP_START_NS - 1);
	g_assert_cmphex(cmos_read(b, REG_A), ==, A_DEFAULT);
	step_to(b, UIP_START_NS);
	g_assert_cmphex(cmos_read(b, REG_A), ==, A_UIP | A_DEFAULT);
	step_to(b, 2 * NS_PER_SECOND);
	expected.second = 0x07;
	assert_time(b, &expected);
	g_assert_cmphex(cmos_read(b, REG_C) & C_AF, ==, C_AF); /* the alarm at 03:04:07 */
	hg_test_quit(b);

	/* The NMI mask bit is state of its own. */
	hg_test_outb(a, RTC_INDEX, REG_D);
	hg_test_save(a, dir);
	g_assert_false(saved_nmi_disabled(dir));
	hg_test_quit(a);
}

static void test_state_irq_level_survives_restore(void)
{
	HgTest *a = start_mid_period(), *b;
	g_autofree char *dir = g_build_filename(hg_test_dir(a), "saved", NULL);

	step_to(a, FIRST_1024HZ_EDGE_NS);
	g_assert_true(hg_test_irq_level(a, RTC_IRQ));
	hg_test_save(a, dir);

	b = hg_test_start("--restore", dir, NULL);
	g_assert_true(hg_test_irq_level(b, RTC_IRQ));
	g_assert_cmphex(cmos_read(b, REG_C), ==, C_IRQF | C_PF);
	g_assert_false(hg_test_irq_level(b, RTC_IRQ));
	g_assert_cmpuint(step_to_next_timer(b), ==, 1953125);
	g_assert_true(hg_test_irq_level(b, RTC_IRQ));
	hg_test_quit(b);
	hg_test_quit(a);
}

/* Rewrites the saved RTC record with one byte of its CMOS image changed. */
static void edit_saved_cmos_byte(const char *dir, unsigned index, uint8_t value)
{
	g_autoptr(GVariant) rtc = hg_test_saved_record(dir, "rtc");
	g_auto(GVariantDict) rec = G_VARIANT_DICT_INIT(rtc);
	g_autoptr(GVariant) cmos =
		g_variant_dict_lookup_value(&rec, "cmos", G_VARIANT_TYPE_BYTESTRING);
	gsize n;
	const uint8_t *bytes = g_variant_get_fixed_array(cmos, &n, 1);
	uint8_t edited[128];

	g_assert_cmpuint(n, ==, sizeof(edited));
	memcpy(edited, bytes, n);
	edited[index] = value;
	g_test_message("corrupting rtc cmos[0x%02x]: 0x%02x", index, value);
	hg_test_edit_saved_record(dir, "rtc", "cmos",
				  g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, edited, n, 1));
}

static void test_state_load_rejects_corrupt_record(void)
{
	static const struct {
		const char *key;
		const char *value; /* GVariant text; NULL: remove the key, or edit "cmos" */
		int cmos_index; /* with key "cmos" and no value: this byte ... */
		uint8_t cmos_value; /* ... set to this */
		const char *why;
	} cases[] = {
		{"cmos", "@ay [1, 2, 3]", 0, 0, "\"cmos\" has 3 bytes"},
		{"cmos", NULL, REG_A, A_UIP | A_DEFAULT, "UIP stored"},
		{"cmos", NULL, REG_C, 0x0f, "register C has bits other than"},
		{"cmos", NULL, REG_D, 0x00, "register D is not VRT"},
		{"cmos", NULL, REG_B, B_24_HOUR, "timer deadline disagrees"}, /* PIE gone */
		{"index", "byte 0x80", 0, 0, "index out of range"},
		{"nmi-disabled", "byte 1", 0, 0, "\"nmi-disabled\" has type y"},
		{"synced-ns", NULL, 0, 0, "lacks \"synced-ns\""},
		{"synced-ns", "uint64 5000000000", 0, 0,
		 "more than a second after the machine clock"},
		{"next-update-ns", "uint64 0", 0, 0, "not within the second after"},
		{"next-update-ns", "uint64 2000000000", 0, 0, "not within the second after"},
		{"timer-deadline-ns", "uint64 1", 0, 0, "timer deadline disagrees"},
		{"timer-armed", "false", 0, 0, "timer deadline disagrees"},
	};
	HgTest *a = start_mid_period();
	g_autofree char *dir = g_build_filename(hg_test_dir(a), "saved", NULL);

	for (size_t c = 0; c < G_N_ELEMENTS(cases); c++) {
		hg_test_save(a, dir);
		if (cases[c].value || strcmp(cases[c].key, "cmos") != 0)
			hg_test_edit_saved_record_text(dir, "rtc", cases[c].key, cases[c].value);
		else
			edit_saved_cmos_byte(dir, cases[c].cmos_index, cases[c].cmos_value);
		hg_test_expect_restore_refused(dir, NULL, "rtc", cases[c].why);
	}
	/* The untouched record loads. */
	hg_test_save(a, dir);
	hg_test_quit(hg_test_start("--restore", dir, NULL));
	hg_test_quit(a);
}

/* The engine reads the machine clock for the state before it saves the
 * devices, so a record may be a little ahead of the clock it is loaded
 * under: the RTC continues from its record, never running backwards. */
static void test_state_load_takes_a_record_slightly_ahead_of_the_clock(void)
{
	HgTest *a = start_mid_period(), *b;
	g_autofree char *dir = g_build_filename(hg_test_dir(a), "saved", NULL);

	hg_test_save(a, dir);
	hg_test_edit_saved_record(dir, "rtc", "synced-ns", g_variant_new_uint64(500000 + 1000));

	b = hg_test_start("--restore", dir, NULL);
	g_assert_cmpuint(clock_now(b), ==, 500000);
	g_assert_cmpuint(step_to_next_timer(b), ==, FIRST_1024HZ_EDGE_NS);
	g_assert_cmphex(cmos_read(b, REG_C), ==, C_IRQF | C_PF);
	step_to(b, NS_PER_SECOND);
	g_assert_cmphex(cmos_read(b, REG_SECONDS), ==, 0x06);
	hg_test_quit(b);
	hg_test_quit(a);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	signal(SIGPIPE, SIG_IGN);

	g_test_add_func("/rtc-cmos/time/reads-the-base-time-in-bcd",
			test_time_reads_the_base_time_in_bcd);
	g_test_add_func("/rtc-cmos/time/fraction-of-the-base-second-sets-the-phase",
			test_time_fraction_of_the_base_second_sets_the_phase);
	g_test_add_func("/rtc-cmos/time/default-start-is-the-host-clock-in-utc",
			test_time_default_start_is_the_host_clock_in_utc);
	g_test_add_func("/rtc-cmos/time/bad-base-is-a-usage-error",
			test_time_bad_base_is_a_usage_error);
	g_test_add_func("/rtc-cmos/time/binary-mode", test_time_binary_mode);
	g_test_add_func("/rtc-cmos/time/12-hour-mode-sets-pm-bit",
			test_time_12_hour_mode_sets_pm_bit);
	g_test_add_func("/rtc-cmos/time/advances-with-the-machine-clock",
			test_time_advances_with_the_machine_clock);
	g_test_add_func("/rtc-cmos/time/long-clock-step-lands-on-the-right-date",
			test_time_long_clock_step_lands_on_the_right_date);
	g_test_add_func("/rtc-cmos/uip/set-just-before-an-update",
			test_uip_set_just_before_an_update);
	g_test_add_func("/rtc-cmos/set-bit-halts-and-writes-the-time",
			test_set_bit_halts_and_writes_the_time);
	g_test_add_func("/rtc-cmos/divider-reset-delays-the-first-update-by-half-a-second",
			test_divider_reset_delays_the_first_update_by_half_a_second);
	g_test_add_func("/rtc-cmos/periodic/irq-8-at-the-selected-rate",
			test_periodic_irq_8_at_the_selected_rate);
	g_test_add_func("/rtc-cmos/periodic/flag-set-without-interrupt-enable",
			test_periodic_flag_set_without_interrupt_enable);
	g_test_add_func("/rtc-cmos/update-ended-interrupt-once-a-second",
			test_update_ended_interrupt_once_a_second);
	g_test_add_func("/rtc-cmos/alarm/fires-at-the-alarm-time",
			test_alarm_fires_at_the_alarm_time);
	g_test_add_func("/rtc-cmos/alarm/dont-care-fields", test_alarm_dont_care_fields);
	g_test_add_func("/rtc-cmos/alarm/that-never-matches-arms-no-timer",
			test_alarm_that_never_matches_arms_no_timer);
	g_test_add_func("/rtc-cmos/register-d-reports-valid-ram-and-time",
			test_register_d_reports_valid_ram_and_time);
	g_test_add_func("/rtc-cmos/nvram/reads-back-and-holds-memory-size",
			test_nvram_reads_back_and_holds_memory_size);
	g_test_add_func("/rtc-cmos/index-register-masks-nmi-bit",
			test_index_register_masks_nmi_bit);
	g_test_add_func("/rtc-cmos/reset/keeps-time-and-nvram-clears-interrupt-enables",
			test_reset_keeps_time_and_nvram_clears_interrupt_enables);
	g_test_add_func("/rtc-cmos/state/save-mid-period-and-load-in-fresh-engine",
			test_state_save_mid_period_and_load_in_fresh_engine);
	g_test_add_func("/rtc-cmos/state/irq-level-survives-restore",
			test_state_irq_level_survives_restore);
	g_test_add_func("/rtc-cmos/state/load-takes-a-record-slightly-ahead-of-the-clock",
			test_state_load_takes_a_record_slightly_ahead_of_the_clock);
	g_test_add_func("/rtc-cmos/state/load-rejects-corrupt-record",
			test_state_load_rejects_corrupt_record);
	return g_test_run();
}
