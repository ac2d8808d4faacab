/* The i8042 keyboard controller with its PS/2 keyboard and mouse, through
 * the harness: controller commands and status bits, keyboard commands and
 * scancode sets with and without translation, the mouse with its
 * IntelliMouse modes, IRQ 1 and 12, the reset line, save and restore.
 * Keys and pointer motion come in as a display server sends them
 * (input_key, input_rel, input_abs). */
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/harness/harness.h"
#include "tests/harness/saved_state.h"

#define DATA 0x60
#define CMD 0x64
#define KBD_IRQ 1
#define AUX_IRQ 12

#define ST_OBF 0x01
#define ST_IBF 0x02
#define ST_SYS 0x04
#define ST_A2 0x08
#define ST_AUX 0x20

#define CTR_KBD_INT 0x01
#define CTR_AUX_INT 0x02
#define CTR_SYS 0x04
#define CTR_KBD_DIS 0x10
#define CTR_AUX_DIS 0x20
#define CTR_XLATE 0x40

#define Q_A 0x1e
#define Q_LCTRL 0x1d
#define Q_UP 0xc8
#define Q_PAUSE 0xc6
#define Q_PRINT 0xb7

/* ---- helpers ---- */

static uint8_t status(HgTest *t)
{
	return hg_test_inb(t, CMD);
}

static void command(HgTest *t, uint8_t c)
{
	hg_test_outb(t, CMD, c);
}

static void data(HgTest *t, uint8_t v)
{
	hg_test_outb(t, DATA, v);
}

/* The next byte, which must be waiting and come from the given side. */
static uint8_t next_byte(HgTest *t, bool aux)
{
	uint8_t st = status(t);

	g_assert_cmphex(st & ST_OBF, ==, ST_OBF);
	g_assert_cmphex(st & ST_AUX, ==, aux ? ST_AUX : 0);
	return hg_test_inb(t, DATA);
}

static void expect_nothing(HgTest *t)
{
	g_assert_cmphex(status(t) & ST_OBF, ==, 0);
}

static void expect_bytes(HgTest *t, bool aux, const uint8_t *bytes, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		g_test_message("byte %zu: expect 0x%02x", i, bytes[i]);
		g_assert_cmphex(next_byte(t, aux), ==, bytes[i]);
	}
	expect_nothing(t);
}

#define EXPECT_KBD(t, ...)                                                                         \
	do {                                                                                       \
		const uint8_t b_[] = {__VA_ARGS__};                                                \
		expect_bytes(t, false, b_, sizeof(b_));                                            \
	} while (0)
#define EXPECT_AUX(t, ...)                                                                         \
	do {                                                                                       \
		const uint8_t b_[] = {__VA_ARGS__};                                                \
		expect_bytes(t, true, b_, sizeof(b_));                                             \
	} while (0)

static uint8_t controller_reply(HgTest *t, uint8_t c)
{
	command(t, c);
	return next_byte(t, false);
}

static void set_ctr(HgTest *t, uint8_t v)
{
	command(t, 0x60);
	data(t, v);
}

static uint8_t get_ctr(HgTest *t)
{
	return controller_reply(t, 0x20);
}

static void request_ok(HgTest *t, const char *line)
{
	g_autofree char *reply = hg_test_request(t, "%s", line);
	g_assert_cmpstr(reply, ==, "OK");
}

static void key(HgTest *t, unsigned qnum, bool down)
{
	g_autofree char *line = g_strdup_printf("input_key 0x%x %d", qnum, down);
	request_ok(t, line);
}

static void rel(HgTest *t, int dx, int dy, int wheel, unsigned buttons)
{
	g_autofree char *line = g_strdup_printf("input_rel %d %d %d %u", dx, dy, wheel, buttons);
	request_ok(t, line);
}

static void mouse_command(HgTest *t, uint8_t byte)
{
	command(t, 0xd4);
	data(t, byte);
}

/* A keyboard with translation and IRQ 1 on, as firmware leaves it. */
static HgTest *start_translated(void)
{
	HgTest *t = hg_test_startv(NULL);
	set_ctr(t, CTR_KBD_INT | CTR_AUX_DIS | CTR_XLATE | CTR_SYS);
	return t;
}

/* A mouse with data reporting on and IRQ 12 enabled. */
static HgTest *start_with_mouse(void)
{
	HgTest *t = hg_test_startv(NULL);
	set_ctr(t, CTR_KBD_INT | CTR_AUX_INT | CTR_XLATE | CTR_SYS);
	mouse_command(t, 0xf4);
	EXPECT_AUX(t, 0xfa);
	return t;
}

static void knock(HgTest *t, uint8_t a, uint8_t b, uint8_t c)
{
	const uint8_t rates[] = {a, b, c};
	for (unsigned i = 0; i < 3; i++) {
		mouse_command(t, 0xf3);
		EXPECT_AUX(t, 0xfa);
		mouse_command(t, rates[i]);
		EXPECT_AUX(t, 0xfa);
	}
}

/* Send request lines to an engine started with extra; returns its exit
 * status once it ends by itself. */
static int run_until_exit(const char *const *lines, const char *const *extra)
{
	const char *engine = g_getenv("HANGAR_ENGINE");
	g_autofree char *dir = g_dir_make_tmp("hangar-ps2-XXXXXX", NULL);
	g_autofree char *sock = g_build_filename(dir, "h.sock", NULL);
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	GPid pid;
	int status = 0, fd;
	char buf[256];

	g_ptr_array_add(argv, (char *)engine);
	g_ptr_array_add(argv, "--test-harness");
	g_ptr_array_add(argv, sock);
	for (; extra && *extra; extra++)
		g_ptr_array_add(argv, (char *)*extra);
	g_ptr_array_add(argv, NULL);
	g_assert_true(g_spawn_async(NULL, (char **)argv->pdata, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
				    NULL, NULL, &pid, NULL));
	fd = hg_test_connect_unix(sock);
	for (; *lines; lines++) {
		g_autofree char *line = g_strconcat(*lines, "\n", NULL);
		g_assert_cmpint(write(fd, line, strlen(line)), ==, (ssize_t)strlen(line));
	}
	while (hg_test_read_fd(fd, buf, sizeof(buf), 10000) > 0)
		;
	close(fd);
	g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
	unlink(sock);
	rmdir(dir);
	g_assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* ---- controller ---- */

static void test_controller_self_test_answers_55(void)
{
	HgTest *t = hg_test_startv(NULL);

	g_assert_cmphex(status(t) & ST_SYS, ==, 0); /* cold: no self test yet */
	g_assert_cmphex(controller_reply(t, 0xaa), ==, 0x55);
	g_assert_cmphex(status(t) & ST_SYS, ==, ST_SYS);
	g_assert_cmphex(get_ctr(t) & CTR_SYS, ==, CTR_SYS);
	hg_test_quit(t);
}

static void test_controller_command_byte_reads_back_what_was_written(void)
{
	HgTest *t = hg_test_startv(NULL);

	g_assert_cmphex(get_ctr(t), ==, CTR_KBD_INT | CTR_AUX_INT);
	set_ctr(t, 0x65);
	g_assert_cmphex(get_ctr(t), ==, 0x65);
	g_assert_cmphex(status(t) & ST_SYS, ==, ST_SYS); /* bit 2 is the system flag */
	set_ctr(t, 0x61);
	g_assert_cmphex(status(t) & ST_SYS, ==, 0);
	/* The rest of the controller's RAM: 0x21-0x3f / 0x61-0x7f. */
	command(t, 0x65);
	data(t, 0x5a);
	g_assert_cmphex(controller_reply(t, 0x25), ==, 0x5a);
	g_assert_cmphex(get_ctr(t), ==, 0x61);
	hg_test_quit(t);
}

static void test_controller_status_shows_the_last_port_written(void)
{
	HgTest *t = hg_test_startv(NULL);

	command(t, 0xa8);
	g_assert_cmphex(status(t) & (ST_A2 | ST_IBF | ST_OBF), ==, ST_A2);
	data(t, 0xee); /* keyboard echo */
	g_assert_cmphex(status(t) & (ST_A2 | ST_IBF | ST_OBF), ==, ST_OBF);
	EXPECT_KBD(t, 0xee);
	/* An empty buffer reads the last byte again. */
	g_assert_cmphex(hg_test_inb(t, DATA), ==, 0xee);
	hg_test_quit(t);
}

static void test_controller_interface_tests_pass(void)
{
	HgTest *t = hg_test_startv(NULL);

	g_assert_cmphex(controller_reply(t, 0xab), ==, 0x00);
	g_assert_cmphex(controller_reply(t, 0xa9), ==, 0x00);
	g_assert_cmphex(controller_reply(t, 0xa4), ==, 0xf1); /* no password */
	hg_test_quit(t);
}

static void test_controller_disable_commands_set_command_byte_bits(void)
{
	HgTest *t = hg_test_startv(NULL);

	set_ctr(t, 0x00);
	command(t, 0xa7);
	g_assert_cmphex(get_ctr(t), ==, CTR_AUX_DIS);
	command(t, 0xad);
	g_assert_cmphex(get_ctr(t), ==, CTR_AUX_DIS | CTR_KBD_DIS);
	command(t, 0xa8);
	g_assert_cmphex(get_ctr(t), ==, CTR_KBD_DIS);
	command(t, 0xae);
	g_assert_cmphex(get_ctr(t), ==, 0x00);
	hg_test_quit(t);
}

/* Linux probes the aux port this way: 0xD3 loops a byte back as mouse
 * data, and IRQ 12 must come with it. */
static void test_controller_aux_loopback_arrives_as_mouse_data_with_irq_12(void)
{
	HgTest *t = hg_test_startv(NULL);
	unsigned raised;

	set_ctr(t, CTR_KBD_INT | CTR_AUX_INT);
	raised = hg_test_irq_raised_count(t, AUX_IRQ);
	command(t, 0xd3);
	data(t, 0xa5);
	g_assert_cmpuint(hg_test_irq_raised_count(t, AUX_IRQ), ==, raised + 1);
	g_assert_true(hg_test_irq_level(t, AUX_IRQ));
	EXPECT_AUX(t, 0xa5);
	g_assert_false(hg_test_irq_level(t, AUX_IRQ));
	command(t, 0xd2);
	data(t, 0x42);
	g_assert_true(hg_test_irq_level(t, KBD_IRQ));
	EXPECT_KBD(t, 0x42);
	g_assert_false(hg_test_irq_level(t, KBD_IRQ));
	hg_test_quit(t);
}

static void test_controller_output_port_keeps_a20(void)
{
	HgTest *t = hg_test_startv(NULL);

	g_assert_cmphex(controller_reply(t, 0xd0) & 0x03, ==, 0x03); /* running, A20 on */
	command(t, 0xd1);
	data(t, 0xcd); /* A20 off, reset line high */
	g_assert_cmphex(controller_reply(t, 0xd0) & 0x03, ==, 0x01);
	command(t, 0xdf);
	g_assert_cmphex(controller_reply(t, 0xd0) & 0x03, ==, 0x03);
	command(t, 0xdd);
	g_assert_cmphex(controller_reply(t, 0xd0) & 0x03, ==, 0x01);
	/* Odd 0xFx commands pulse no reset. */
	command(t, 0xff);
	g_assert_cmphex(controller_reply(t, 0xd0) & 0x01, ==, 0x01);
	hg_test_quit(t);
}

static void test_controller_output_port_reset_bit_resets_the_machine(void)
{
	const char *const extra[] = {"--no-reboot", NULL};
	const char *const lines[] = {"outb 0x64 0xd1", "outb 0x60 0xfc", NULL};

	g_assert_cmpint(run_until_exit(lines, extra), ==, 8);
}

static void test_controller_pulse_reset_still_resets(void)
{
	const char *const extra[] = {"--no-reboot", NULL};
	const char *const fe[] = {"outb 0x64 0xfe", NULL};
	const char *const f0[] = {"outb 0x64 0xf0", NULL};

	g_assert_cmpint(run_until_exit(fe, extra), ==, 8);
	g_assert_cmpint(run_until_exit(f0, extra), ==, 8);
}

/* ---- keyboard commands ---- */

static void test_keyboard_reset_answers_fa_aa(void)
{
	HgTest *t = hg_test_startv(NULL);

	data(t, 0xff);
	EXPECT_KBD(t, 0xfa, 0xaa);
	hg_test_quit(t);
}

static void test_keyboard_identify_answers_ab_83_or_ab_41_translated(void)
{
	HgTest *t = hg_test_startv(NULL);

	set_ctr(t, 0x00);
	data(t, 0xf2);
	EXPECT_KBD(t, 0xfa, 0xab, 0x83);
	/* The controller translates everything the keyboard says. */
	set_ctr(t, CTR_XLATE);
	data(t, 0xf2);
	EXPECT_KBD(t, 0xfa, 0xab, 0x41);
	hg_test_quit(t);
}

static void test_keyboard_leds_echo_typematic_and_unknown_commands(void)
{
	HgTest *t = hg_test_startv(NULL);
	g_autofree char *dir = g_build_filename(hg_test_dir(t), "saved", NULL);
	uint8_t leds, typematic;

	data(t, 0xed);
	EXPECT_KBD(t, 0xfa);
	data(t, 0x05); /* scroll and caps lock */
	EXPECT_KBD(t, 0xfa);
	data(t, 0xf3);
	data(t, 0x20);
	EXPECT_KBD(t, 0xfa, 0xfa);
	data(t, 0xee);
	EXPECT_KBD(t, 0xee);
	data(t, 0x42); /* not a command */
	EXPECT_KBD(t, 0xfe);
	data(t, 0xfe); /* resend: the last byte again */
	EXPECT_KBD(t, 0xfe);
	/* A command in place of a parameter is taken as the command. */
	data(t, 0xed);
	data(t, 0xee);
	EXPECT_KBD(t, 0xfa, 0xee);
	hg_test_save(t, dir);
	g_autoptr(GVariant) record = hg_test_saved_record(dir, "i8042");
	g_assert_true(g_variant_lookup(record, "kbd-leds", "y", &leds));
	g_assert_true(g_variant_lookup(record, "kbd-typematic", "y", &typematic));
	g_assert_cmphex(leds, ==, 0x05);
	g_assert_cmphex(typematic, ==, 0x20);
	hg_test_quit(t);
}

static void test_keyboard_set_3_is_refused(void)
{
	HgTest *t = hg_test_startv(NULL);

	set_ctr(t, 0x00);
	data(t, 0xf0);
	data(t, 0x03);
	EXPECT_KBD(t, 0xfa, 0xfe);
	data(t, 0xf0);
	data(t, 0x00); /* acknowledged, then answered */
	EXPECT_KBD(t, 0xfa, 0xfa, 0x02);
	hg_test_quit(t);
}

/* ---- scancodes ---- */

static void test_keyboard_translated_set_2_gives_set_1_make_and_break(void)
{
	HgTest *t = start_translated();

	key(t, Q_A, true);
	EXPECT_KBD(t, 0x1e);
	key(t, Q_A, false);
	EXPECT_KBD(t, 0x9e);
	key(t, Q_UP, true);
	key(t, Q_UP, false);
	EXPECT_KBD(t, 0xe0, 0x48, 0xe0, 0xc8);
	hg_test_quit(t);
}

static void test_keyboard_untranslated_set_2_gives_1c_and_f0_1c(void)
{
	HgTest *t = hg_test_startv(NULL);

	set_ctr(t, CTR_KBD_INT);
	key(t, Q_A, true);
	key(t, Q_A, false);
	EXPECT_KBD(t, 0x1c, 0xf0, 0x1c);
	key(t, Q_UP, true);
	key(t, Q_UP, false);
	EXPECT_KBD(t, 0xe0, 0x75, 0xe0, 0xf0, 0x75);
	hg_test_quit(t);
}

static void test_keyboard_set_1_when_selected(void)
{
	HgTest *t = hg_test_startv(NULL);

	set_ctr(t, CTR_KBD_INT);
	data(t, 0xf0);
	data(t, 0x01);
	EXPECT_KBD(t, 0xfa, 0xfa);
	data(t, 0xf0);
	data(t, 0x00);
	EXPECT_KBD(t, 0xfa, 0xfa, 0x01);
	key(t, Q_A, true);
	key(t, Q_A, false);
	key(t, Q_UP, true);
	EXPECT_KBD(t, 0x1e, 0x9e, 0xe0, 0x48);
	hg_test_quit(t);
}

static void test_keyboard_pause_sends_its_sequence_on_press_only(void)
{
	HgTest *t = start_translated();

	key(t, Q_PAUSE, true);
	key(t, Q_PAUSE, false);
	EXPECT_KBD(t, 0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5);
	/* Ctrl+Pause is Break. */
	key(t, Q_LCTRL, true);
	key(t, Q_PAUSE, true);
	key(t, Q_PAUSE, false);
	key(t, Q_LCTRL, false);
	EXPECT_KBD(t, 0x1d, 0xe0, 0x46, 0xe0, 0xc6, 0x9d);
	/* Untranslated set 2. */
	set_ctr(t, CTR_KBD_INT);
	key(t, Q_PAUSE, true);
	EXPECT_KBD(t, 0xe1, 0x14, 0x77, 0xe1, 0xf0, 0x14, 0xf0, 0x77);
	hg_test_quit(t);
}

static void test_keyboard_print_screen_comes_with_its_fake_shift(void)
{
	HgTest *t = start_translated();

	key(t, Q_PRINT, true);
	key(t, Q_PRINT, false);
	EXPECT_KBD(t, 0xe0, 0x2a, 0xe0, 0x37, 0xe0, 0xb7, 0xe0, 0xaa);
	set_ctr(t, CTR_KBD_INT);
	key(t, Q_PRINT, true);
	key(t, Q_PRINT, false);
	EXPECT_KBD(t, 0xe0, 0x12, 0xe0, 0x7c, 0xe0, 0xf0, 0x7c, 0xe0, 0xf0, 0x12);
	hg_test_quit(t);
}

/* The set-2 table and the controller's translation are inverses: every
 * key comes out of the translating controller as its own set-1 code. */
static void test_keyboard_every_key_translates_back_to_its_qnum(void)
{
	HgTest *t = start_translated();

	for (unsigned q = 0x01; q < 0x80; q++) {
		key(t, q, true);
		key(t, q, false);
		EXPECT_KBD(t, q, q | 0x80);
	}
	for (unsigned q = 0x81; q < 0x100; q++) {
		if (q == Q_PAUSE || q == Q_PRINT || q == 0xaa || q == 0xb6 || q == 0xe0 ||
		    q == 0xe1)
			continue; /* special, or fake shifts and prefixes */
		key(t, q, true);
		EXPECT_KBD(t, 0xe0, q & 0x7f);
		key(t, q, false);
		EXPECT_KBD(t, 0xe0, q);
	}
	hg_test_quit(t);
}

static void test_keyboard_repeated_key_downs_each_send_a_make_code(void)
{
	HgTest *t = start_translated();

	for (int i = 0; i < 3; i++)
		key(t, Q_A, true);
	key(t, Q_A, false);
	EXPECT_KBD(t, 0x1e, 0x1e, 0x1e, 0x9e);
	hg_test_quit(t);
}

static void test_keyboard_command_reply_goes_ahead_of_queued_keys(void)
{
	HgTest *t = start_translated();

	key(t, Q_A, true);
	key(t, Q_A, false);
	data(t, 0xee);
	/* 0x1e was in the output buffer already; the echo comes next. */
	EXPECT_KBD(t, 0x1e, 0xee, 0x9e);
	hg_test_quit(t);
}

/* ---- interrupts ---- */

static void test_irq_1_rises_for_each_byte_when_enabled(void)
{
	HgTest *t = start_translated();
	unsigned raised = hg_test_irq_raised_count(t, KBD_IRQ);

	key(t, Q_UP, true); /* two bytes */
	g_assert_cmpuint(hg_test_irq_raised_count(t, KBD_IRQ), ==, raised + 1);
	g_assert_cmphex(hg_test_inb(t, DATA), ==, 0xe0);
	/* Lowered and raised again: a new edge for the second byte. */
	g_assert_cmpuint(hg_test_irq_raised_count(t, KBD_IRQ), ==, raised + 2);
	g_assert_true(hg_test_irq_level(t, KBD_IRQ));
	g_assert_cmphex(hg_test_inb(t, DATA), ==, 0x48);
	g_assert_false(hg_test_irq_level(t, KBD_IRQ));
	g_assert_cmpuint(hg_test_irq_raised_count(t, AUX_IRQ), ==, 0);
	hg_test_quit(t);
}

static void test_irq_1_stays_low_when_the_command_byte_disables_it(void)
{
	HgTest *t = hg_test_startv(NULL);

	set_ctr(t, CTR_XLATE);
	key(t, Q_A, true);
	g_assert_cmphex(status(t) & ST_OBF, ==, ST_OBF);
	g_assert_cmpuint(hg_test_irq_raised_count(t, KBD_IRQ), ==, 0);
	/* Enabling it with the byte waiting raises it. */
	set_ctr(t, CTR_XLATE | CTR_KBD_INT);
	g_assert_true(hg_test_irq_level(t, KBD_IRQ));
	EXPECT_KBD(t, 0x1e);
	hg_test_quit(t);
}

/* ---- keyboard flow ---- */

static void test_keyboard_disabled_interface_holds_keys(void)
{
	HgTest *t = start_translated();

	command(t, 0xad);
	key(t, Q_A, true);
	expect_nothing(t);
	g_assert_false(hg_test_irq_level(t, KBD_IRQ));
	command(t, 0xae);
	EXPECT_KBD(t, 0x1e);
	hg_test_quit(t);
}

static void test_keyboard_scanning_disabled_drops_keys(void)
{
	HgTest *t = start_translated();

	data(t, 0xf5);
	EXPECT_KBD(t, 0xfa);
	key(t, Q_A, true);
	expect_nothing(t);
	data(t, 0xf4);
	EXPECT_KBD(t, 0xfa);
	key(t, Q_A, false);
	EXPECT_KBD(t, 0x9e);
	hg_test_quit(t);
}

static void test_keyboard_queue_overflow_drops_keys(void)
{
	HgTest *t = start_translated();

	for (int i = 0; i < 20; i++)
		key(t, Q_A, true);
	/* One in the output buffer, sixteen in the keyboard. */
	for (int i = 0; i < 17; i++)
		g_assert_cmphex(next_byte(t, false), ==, 0x1e);
	expect_nothing(t);
	/* A sequence that does not fit whole is not cut. */
	for (int i = 0; i < 16; i++)
		key(t, Q_A, true);
	key(t, Q_UP, true);
	for (int i = 0; i < 16; i++)
		g_assert_cmphex(next_byte(t, false), ==, 0x1e);
	expect_nothing(t);
	hg_test_quit(t);
}

/* ---- mouse ---- */

static void test_mouse_reset_answers_fa_aa_00_and_id_0(void)
{
	HgTest *t = hg_test_startv(NULL);

	mouse_command(t, 0xff);
	EXPECT_AUX(t, 0xfa, 0xaa, 0x00);
	mouse_command(t, 0xf2);
	EXPECT_AUX(t, 0xfa, 0x00);
	hg_test_quit(t);
}

static void test_mouse_motion_makes_packets_with_sign_bits_and_irq_12(void)
{
	HgTest *t = start_with_mouse();
	unsigned raised = hg_test_irq_raised_count(t, AUX_IRQ);

	rel(t, 5, -3, 0, 0); /* right and up */
	g_assert_cmpuint(hg_test_irq_raised_count(t, AUX_IRQ), ==, raised + 1);
	EXPECT_AUX(t, 0x08, 0x05, 0x03);
	rel(t, -5, 3, 0, 0x1); /* left and down, left button */
	EXPECT_AUX(t, 0x39, 0xfb, 0xfd);
	rel(t, 0, 0, 0, 0x6); /* buttons alone: middle and right */
	EXPECT_AUX(t, 0x0e, 0x00, 0x00);
	g_assert_cmpuint(hg_test_irq_raised_count(t, AUX_IRQ), ==, raised + 9);
	g_assert_cmpuint(hg_test_irq_raised_count(t, KBD_IRQ), ==, 0);
	hg_test_quit(t);
}

static void test_mouse_long_motion_is_split_and_lost_motion_sets_overflow(void)
{
	HgTest *t = start_with_mouse();

	rel(t, 300, 0, 0, 0);
	EXPECT_AUX(t, 0x08, 0xff, 0x00, 0x08, 45, 0x00);
	/* More than the mouse can count: the first packet says some was lost. */
	rel(t, 0, 3000, 0, 0);
	g_assert_cmphex(next_byte(t, true), ==, 0x08 | 0x20 | 0x80);
	g_assert_cmphex(next_byte(t, true), ==, 0x00);
	g_assert_cmphex(next_byte(t, true), ==, 0x01); /* -255 */
	g_assert_cmphex(next_byte(t, true), ==, 0x08 | 0x20);
	hg_test_quit(t);
}

static void test_mouse_intellimouse_knock_gives_id_3_and_a_wheel_byte(void)
{
	HgTest *t = start_with_mouse();

	knock(t, 200, 100, 80);
	mouse_command(t, 0xf2);
	EXPECT_AUX(t, 0xfa, 0x03);
	mouse_command(t, 0xf4);
	EXPECT_AUX(t, 0xfa);
	rel(t, 1, 0, 1, 0); /* wheel away from the user: negative Z */
	EXPECT_AUX(t, 0x08, 0x01, 0x00, 0xff);
	rel(t, 0, 0, -2, 0);
	EXPECT_AUX(t, 0x08, 0x00, 0x00, 0x02);
	hg_test_quit(t);
}

static void test_mouse_explorer_knock_gives_id_4_with_buttons_4_and_5(void)
{
	HgTest *t = start_with_mouse();

	knock(t, 200, 100, 80);
	knock(t, 200, 200, 80);
	mouse_command(t, 0xf2);
	EXPECT_AUX(t, 0xfa, 0x04);
	mouse_command(t, 0xf4);
	EXPECT_AUX(t, 0xfa);
	rel(t, 0, 0, -2, 0x18); /* towards the user, side and extra */
	EXPECT_AUX(t, 0x08, 0x00, 0x00, 0x32);
	rel(t, 0, 0, 1, 0);
	EXPECT_AUX(t, 0x08, 0x00, 0x00, 0x0f);
	/* Reset forgets the knock. */
	mouse_command(t, 0xff);
	EXPECT_AUX(t, 0xfa, 0xaa, 0x00);
	mouse_command(t, 0xf2);
	EXPECT_AUX(t, 0xfa, 0x00);
	hg_test_quit(t);
}

static void test_mouse_aux_disabled_sends_nothing(void)
{
	HgTest *t = start_with_mouse();

	command(t, 0xa7);
	rel(t, 2, 2, 0, 0);
	expect_nothing(t);
	g_assert_false(hg_test_irq_level(t, AUX_IRQ));
	command(t, 0xa8);
	EXPECT_AUX(t, 0x28, 0x02, 0xfe);
	hg_test_quit(t);
}

static void test_mouse_reporting_disabled_sends_nothing(void)
{
	HgTest *t = hg_test_startv(NULL);

	set_ctr(t, CTR_AUX_INT);
	rel(t, 2, 2, 0, 0);
	expect_nothing(t);
	hg_test_quit(t);
}

static void test_mouse_remote_mode_reads_on_request(void)
{
	HgTest *t = start_with_mouse();

	mouse_command(t, 0xf0);
	EXPECT_AUX(t, 0xfa);
	rel(t, 4, 0, 0, 0x1);
	expect_nothing(t);
	mouse_command(t, 0xeb);
	EXPECT_AUX(t, 0xfa, 0x09, 0x04, 0x00);
	mouse_command(t, 0xeb); /* nothing new: a packet all the same */
	EXPECT_AUX(t, 0xfa, 0x09, 0x00, 0x00);
	hg_test_quit(t);
}

static void test_mouse_status_request_reports_mode_resolution_and_rate(void)
{
	HgTest *t = start_with_mouse();

	mouse_command(t, 0xe8);
	mouse_command(t, 0x03);
	EXPECT_AUX(t, 0xfa, 0xfa);
	mouse_command(t, 0xe7);
	EXPECT_AUX(t, 0xfa);
	mouse_command(t, 0xe9);
	EXPECT_AUX(t, 0xfa, 0x30, 0x03, 100);
	mouse_command(t, 0xf6); /* defaults: reporting off, 1:1, 4 counts/mm */
	EXPECT_AUX(t, 0xfa);
	mouse_command(t, 0xe9);
	EXPECT_AUX(t, 0xfa, 0x00, 0x02, 100);
	hg_test_quit(t);
}

static void test_mouse_absolute_pointer_becomes_relative_motion(void)
{
	HgTest *t = start_with_mouse();

	request_ok(t, "input_abs 100 100 0");
	expect_nothing(t); /* the first position only sets the origin */
	request_ok(t, "input_abs 110 95 0");
	EXPECT_AUX(t, 0x08, 10, 5);
	hg_test_quit(t);
}

/* ---- save and restore ---- */

static void test_state_restore_mid_packet_gives_the_same_bytes(void)
{
	HgTest *a = start_with_mouse();
	g_autofree char *dir = g_build_filename(hg_test_dir(a), "saved", NULL);
	uint8_t expected[64];
	unsigned n = 0;
	HgTest *b;

	knock(a, 200, 100, 80);
	mouse_command(a, 0xf4);
	EXPECT_AUX(a, 0xfa);
	key(a, Q_UP, true);
	rel(a, 600, -20, 1, 0x1); /* three 4-byte packets */
	g_assert_cmphex(next_byte(a, false), ==, 0xe0);
	g_assert_cmphex(next_byte(a, false), ==, 0x48);
	g_assert_cmphex(next_byte(a, true), ==, 0x09); /* into the first packet */
	hg_test_save(a, dir);
	b = hg_test_start("--restore", dir, NULL);
	g_assert_true(hg_test_irq_level(b, AUX_IRQ));
	while (status(a) & ST_OBF) {
		g_assert_cmphex(status(b) & (ST_OBF | ST_AUX), ==, status(a) & (ST_OBF | ST_AUX));
		expected[n++] = hg_test_inb(a, DATA);
		g_assert_cmphex(hg_test_inb(b, DATA), ==, expected[n - 1]);
	}
	g_assert_cmpuint(n, ==, 11);
	expect_nothing(b);
	/* The restored devices carry on: mode, ID, translation. */
	rel(b, 0, 0, -1, 0);
	EXPECT_AUX(b, 0x08, 0x00, 0x00, 0x01);
	key(b, Q_UP, false);
	EXPECT_KBD(b, 0xe0, 0xc8);
	hg_test_quit(b);
	hg_test_quit(a);
}

static void test_state_load_rejects_corrupt_record(void)
{
	static const struct {
		const char *key, *value, *why;
	} cases[] = {
		{"pending-command", "byte 0x20", "takes none"},
		{"output-port", "byte 0xce", "reset line low"},
		{"kbd-queue", "@ay [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]", "at most 16"},
		{"kbd-queue-replies", "byte 9", "more replies"},
		{"kbd-scancode-set", "byte 3", "not 1 or 2"},
		{"kbd-command", "byte 0xf4", "unknown command"},
		{"mouse-id", "byte 2", "not 0, 3 or 4"},
		{"mouse-resolution", "byte 4", "not 0-3"},
		{"mouse-dx", "int32 100000", "out of range"},
		{"mouse-dy", "uint32 1", "as an int32"},
		{"ram", "@ay [1, 2]", "\"ram\" has 2 bytes"},
		{"system-control-a", NULL, "lacks \"system-control-a\""},
	};
	HgTest *t = start_with_mouse();
	g_autofree char *dir = g_build_filename(hg_test_dir(t), "saved", NULL);

	rel(t, 1, 1, 0, 0);
	key(t, Q_A, true);
	for (size_t c = 0; c < G_N_ELEMENTS(cases); c++) {
		hg_test_save(t, dir);
		hg_test_edit_saved_record_text(dir, "i8042", cases[c].key, cases[c].value);
		hg_test_expect_restore_refused(dir, NULL, "i8042", cases[c].why);
	}
	hg_test_quit(t);
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/i8042/controller/self-test-answers-55",
			test_controller_self_test_answers_55);
	g_test_add_func("/i8042/controller/command-byte-reads-back-what-was-written",
			test_controller_command_byte_reads_back_what_was_written);
	g_test_add_func("/i8042/controller/status-shows-the-last-port-written",
			test_controller_status_shows_the_last_port_written);
	g_test_add_func("/i8042/controller/interface-tests-pass",
			test_controller_interface_tests_pass);
	g_test_add_func("/i8042/controller/disable-commands-set-command-byte-bits",
			test_controller_disable_commands_set_command_byte_bits);
	g_test_add_func("/i8042/controller/aux-loopback-arrives-as-mouse-data-with-irq-12",
			test_controller_aux_loopback_arrives_as_mouse_data_with_irq_12);
	g_test_add_func("/i8042/controller/output-port-keeps-a20",
			test_controller_output_port_keeps_a20);
	g_test_add_func("/i8042/controller/output-port-reset-bit-resets-the-machine",
			test_controller_output_port_reset_bit_resets_the_machine);
	g_test_add_func("/i8042/controller/pulse-reset-still-resets",
			test_controller_pulse_reset_still_resets);
	g_test_add_func("/i8042/keyboard/reset-answers-fa-aa", test_keyboard_reset_answers_fa_aa);
	g_test_add_func("/i8042/keyboard/identify-answers-ab-83-or-ab-41-translated",
			test_keyboard_identify_answers_ab_83_or_ab_41_translated);
	g_test_add_func("/i8042/keyboard/leds-echo-typematic-and-unknown-commands",
			test_keyboard_leds_echo_typematic_and_unknown_commands);
	g_test_add_func("/i8042/keyboard/set-3-is-refused", test_keyboard_set_3_is_refused);
	g_test_add_func("/i8042/keyboard/translated-set-2-gives-set-1-make-and-break",
			test_keyboard_translated_set_2_gives_set_1_make_and_break);
	g_test_add_func("/i8042/keyboard/untranslated-set-2-gives-1c-and-f0-1c",
			test_keyboard_untranslated_set_2_gives_1c_and_f0_1c);
	g_test_add_func("/i8042/keyboard/set-1-when-selected", test_keyboard_set_1_when_selected);
	g_test_add_func("/i8042/keyboard/pause-sends-its-sequence-on-press-only",
			test_keyboard_pause_sends_its_sequence_on_press_only);
	g_test_add_func("/i8042/keyboard/print-screen-comes-with-its-fake-shift",
			test_keyboard_print_screen_comes_with_its_fake_shift);
	g_test_add_func("/i8042/keyboard/every-key-translates-back-to-its-qnum",
			test_keyboard_every_key_translates_back_to_its_qnum);
	g_test_add_func("/i8042/keyboard/repeated-key-downs-each-send-a-make-code",
			test_keyboard_repeated_key_downs_each_send_a_make_code);
	g_test_add_func("/i8042/keyboard/command-reply-goes-ahead-of-queued-keys",
			test_keyboard_command_reply_goes_ahead_of_queued_keys);
	g_test_add_func("/i8042/keyboard/disabled-interface-holds-keys",
			test_keyboard_disabled_interface_holds_keys);
	g_test_add_func("/i8042/keyboard/scanning-disabled-drops-keys",
			test_keyboard_scanning_disabled_drops_keys);
	g_test_add_func("/i8042/keyboard/queue-overflow-drops-keys",
			test_keyboard_queue_overflow_drops_keys);
	g_test_add_func("/i8042/irq/irq-1-rises-for-each-byte-when-enabled",
			test_irq_1_rises_for_each_byte_when_enabled);
	g_test_add_func("/i8042/irq/irq-1-stays-low-when-the-command-byte-disables-it",
			test_irq_1_stays_low_when_the_command_byte_disables_it);
	g_test_add_func("/i8042/mouse/reset-answers-fa-aa-00-and-id-0",
			test_mouse_reset_answers_fa_aa_00_and_id_0);
	g_test_add_func("/i8042/mouse/motion-makes-packets-with-sign-bits-and-irq-12",
			test_mouse_motion_makes_packets_with_sign_bits_and_irq_12);
	g_test_add_func("/i8042/mouse/long-motion-is-split-and-lost-motion-sets-overflow",
			test_mouse_long_motion_is_split_and_lost_motion_sets_overflow);
	g_test_add_func("/i8042/mouse/intellimouse-knock-gives-id-3-and-a-wheel-byte",
			test_mouse_intellimouse_knock_gives_id_3_and_a_wheel_byte);
	g_test_add_func("/i8042/mouse/explorer-knock-gives-id-4-with-buttons-4-and-5",
			test_mouse_explorer_knock_gives_id_4_with_buttons_4_and_5);
	g_test_add_func("/i8042/mouse/aux-disabled-sends-nothing",
			test_mouse_aux_disabled_sends_nothing);
	g_test_add_func("/i8042/mouse/reporting-disabled-sends-nothing",
			test_mouse_reporting_disabled_sends_nothing);
	g_test_add_func("/i8042/mouse/remote-mode-reads-on-request",
			test_mouse_remote_mode_reads_on_request);
	g_test_add_func("/i8042/mouse/status-request-reports-mode-resolution-and-rate",
			test_mouse_status_request_reports_mode_resolution_and_rate);
	g_test_add_func("/i8042/mouse/absolute-pointer-becomes-relative-motion",
			test_mouse_absolute_pointer_becomes_relative_motion);
	g_test_add_func("/i8042/state/restore-mid-packet-gives-the-same-bytes",
			test_state_restore_mid_packet_gives_the_same_bytes);
	g_test_add_func("/i8042/state/load-rejects-corrupt-record",
			test_state_load_rejects_corrupt_record);
	return g_test_run();
}
