#include "tests/harness/saved_state.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/harness/harness.h"

#define EXIT_RESTORE_FAILED 10 /* HG_EXIT_RESTORE_FAILED, engine/machine.h */

static GVariant *read_state(const char *dir)
{
	g_autofree char *path = g_build_filename(dir, "state", NULL);
	g_autofree char *data = NULL;
	g_autoptr(GError) error = NULL;
	gsize len;

	g_assert_true(g_file_get_contents(path, &data, &len, &error));
	g_autoptr(GBytes) bytes = g_bytes_new_take(g_steal_pointer(&data), len);
	return g_variant_ref_sink(g_variant_new_from_bytes(G_VARIANT_TYPE_VARDICT, bytes, FALSE));
}

static GVariant *lookup_record(GVariantDict *devs, const char *device)
{
	GVariant *record = g_variant_dict_lookup_value(devs, device, G_VARIANT_TYPE_VARDICT);

	if (!record)
		g_error("the saved state has no record for device \"%s\"", device);
	return record;
}

GVariant *hg_test_saved_record(const char *dir, const char *device)
{
	g_autoptr(GVariant) state = read_state(dir);
	g_auto(GVariantDict) top = G_VARIANT_DICT_INIT(state);
	g_autoptr(GVariant) devices =
		g_variant_dict_lookup_value(&top, "devices", G_VARIANT_TYPE_VARDICT);
	g_assert_nonnull(devices);
	g_auto(GVariantDict) devs = G_VARIANT_DICT_INIT(devices);

	return lookup_record(&devs, device);
}

void hg_test_edit_saved_record(const char *dir, const char *device, const char *key,
			       GVariant *value)
{
	g_autofree char *path = g_build_filename(dir, "state", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) state = read_state(dir);
	g_auto(GVariantDict) top = G_VARIANT_DICT_INIT(state);
	g_autoptr(GVariant) devices =
		g_variant_dict_lookup_value(&top, "devices", G_VARIANT_TYPE_VARDICT);
	g_assert_nonnull(devices);
	g_auto(GVariantDict) devs = G_VARIANT_DICT_INIT(devices);
	g_autoptr(GVariant) record = lookup_record(&devs, device);
	g_auto(GVariantDict) rec = G_VARIANT_DICT_INIT(record);

	if (value)
		g_variant_dict_insert_value(&rec, key, value);
	else
		g_assert_true(g_variant_dict_remove(&rec, key));
	g_variant_dict_insert_value(&devs, device, g_variant_dict_end(&rec));
	g_variant_dict_insert_value(&top, "devices", g_variant_dict_end(&devs));
	g_autoptr(GVariant) edited = g_variant_ref_sink(g_variant_dict_end(&top));
	g_assert_true(g_file_set_contents(path, g_variant_get_data(edited),
					  g_variant_get_size(edited), &error));
}

void hg_test_edit_saved_record_text(const char *dir, const char *device, const char *key,
				    const char *value)
{
	g_autoptr(GVariant) parsed = NULL;

	if (value) {
		g_autoptr(GError) error = NULL;
		parsed = g_variant_parse(NULL, value, NULL, NULL, &error);
		g_assert_no_error(error);
	}
	g_test_message("corrupting %s \"%s\": %s", device, key, value ? value : "(removed)");
	hg_test_edit_saved_record(dir, device, key, parsed);
}

int hg_test_run_engine_expect_exit(const char *const *args, char **err)
{
	g_autofree char *sock_dir = g_dir_make_tmp("hangar-run-XXXXXX", NULL);
	g_autofree char *sock = g_build_filename(sock_dir, "h.sock", NULL);
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autoptr(GError) error = NULL;
	GString *text = g_string_new(NULL);
	GPid pid;
	int err_fd, status = 0;

	g_assert_nonnull(sock_dir);
	g_assert_nonnull(g_getenv("HANGAR_ENGINE"));
	g_ptr_array_add(argv, (char *)g_getenv("HANGAR_ENGINE"));
	g_ptr_array_add(argv, "--test-harness");
	g_ptr_array_add(argv, sock);
	for (; *args; args++)
		g_ptr_array_add(argv, (char *)*args);
	g_ptr_array_add(argv, NULL);
	/* Its stdout goes nowhere: nothing may mix into the test's TAP stream. */
	g_spawn_async_with_pipes(NULL, (char **)argv->pdata, NULL,
				 G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
				 &pid, NULL, NULL, &err_fd, &error);
	g_assert_no_error(error);
	for (;;) {
		char buf[512];
		size_t n = hg_test_read_fd(err_fd, buf, sizeof(buf), 10000);
		if (n == 0)
			break; /* end of stderr: the engine exited, or is stuck */
		g_string_append_len(text, buf, n);
	}
	close(err_fd);
	for (int i = 0; waitpid(pid, &status, WNOHANG) != pid; i++) {
		if (i == 1000) {
			g_autofree char *line = g_strjoinv(" ", (char **)argv->pdata);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			g_error("the engine kept running instead of exiting: %s\n%s", line,
				text->str);
		}
		g_usleep(10000);
	}
	g_spawn_close_pid(pid);
	hg_test_remove_tree(sock_dir);
	*err = g_string_free(text, FALSE);
	g_assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

int hg_test_run_restore(const char *dir, const char *const *extra, char **err)
{
	g_autoptr(GPtrArray) args = g_ptr_array_new();

	for (; extra && *extra; extra++)
		g_ptr_array_add(args, (char *)*extra);
	g_ptr_array_add(args, "--restore");
	g_ptr_array_add(args, (char *)dir);
	g_ptr_array_add(args, NULL);
	return hg_test_run_engine_expect_exit((const char *const *)args->pdata, err);
}

void hg_test_expect_restore_refused(const char *dir, const char *const *extra, const char *name,
				    const char *why)
{
	g_autofree char *err = NULL;
	int status = hg_test_run_restore(dir, extra, &err);

	g_test_message("the restore said: %s", err);
	g_assert_cmpint(status, ==, EXIT_RESTORE_FAILED);
	if ((name && !strstr(err, name)) || (why && !strstr(err, why)))
		g_error("expected \"%s\" and \"%s\" in: %s", name ? name : "", why ? why : "", err);
}
