/* Output: the same calls give the plain line and the JSON document. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"

static char *render(int json, int list, int vertical)
{
	static const char *const allow[] = {"10.0.0.0/8", "1.1.1.1/32"};
	struct out o;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int i;

	out_init(&o, f, json, 0);
	if (list)
		out_list_begin(&o);
	for (i = 0; i < (list ? 2 : 1); i++) {
		if (vertical)
			out_record_vertical(&o);
		else
			out_record_begin(&o);
		out_str(&o, "owner", i ? "vm2" : "vm1");
		out_int(&o, "cid", 3 + i);
		out_bool(&o, "up", i);
		out_str(&o, "note", NULL);
		out_strv(&o, "allow", allow, i ? 0 : 2);
		out_record_end(&o);
	}
	if (list)
		out_list_end(&o);
	assert_int_equal(out_finish(&o), 0);
	fclose(f);
	return buf;
}

static void plain_record(void **state)
{
	char *s = render(0, 0, 0);

	(void)state;
	assert_string_equal(s, "vm1 3 no - 10.0.0.0/8,1.1.1.1/32\n");
	free(s);
}

static void plain_list(void **state)
{
	char *s = render(0, 1, 0);

	(void)state;
	assert_string_equal(s, "vm1 3 no - 10.0.0.0/8,1.1.1.1/32\nvm2 4 yes - -\n");
	free(s);
}

static void plain_vertical(void **state)
{
	char *s = render(0, 0, 1);

	(void)state;
	assert_string_equal(s, "owner vm1\ncid 3\nup no\nnote -\nallow 10.0.0.0/8,1.1.1.1/32\n");
	free(s);
}

static void json_record(void **state)
{
	char *s = render(1, 0, 0);

	(void)state;
	assert_string_equal(s, "{\"owner\":\"vm1\",\"cid\":3,\"up\":false,\"note\":null,"
			       "\"allow\":[\"10.0.0.0/8\",\"1.1.1.1/32\"]}\n");
	free(s);
}

static void json_list(void **state)
{
	char *s = render(1, 1, 0);

	(void)state;
	assert_string_equal(s, "[{\"owner\":\"vm1\",\"cid\":3,\"up\":false,\"note\":null,"
			       "\"allow\":[\"10.0.0.0/8\",\"1.1.1.1/32\"]},"
			       "{\"owner\":\"vm2\",\"cid\":4,\"up\":true,\"note\":null,\"allow\":[]}]\n");
	free(s);
}

static void json_empty_list_and_escapes(void **state)
{
	struct out o;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	out_init(&o, f, 1, 0);
	out_list_begin(&o);
	out_list_end(&o);
	out_finish(&o);
	fflush(f);
	assert_string_equal(buf, "[]\n");
	rewind(f);
	out_init(&o, f, 1, 0);
	out_record_begin(&o);
	out_str(&o, "s", "a\"b\\c\n\x01");
	out_record_end(&o);
	out_finish(&o);
	fputc('\0', f);
	fclose(f);
	assert_string_equal(buf, "{\"s\":\"a\\\"b\\\\c\\n\\u0001\"}\n");
	free(buf);
}

static void quiet_prints_nothing(void **state)
{
	struct out o;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	out_init(&o, f, 1, 1);
	out_record_begin(&o);
	out_str(&o, "owner", "vm1");
	out_record_end(&o);
	out_finish(&o);
	fclose(f);
	assert_int_equal(len, 0);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plain_record),
		cmocka_unit_test(plain_list),
		cmocka_unit_test(plain_vertical),
		cmocka_unit_test(json_record),
		cmocka_unit_test(json_list),
		cmocka_unit_test(json_empty_list_and_escapes),
		cmocka_unit_test(quiet_prints_nothing),
	};

	return UNIT_RUN(tests);
}
