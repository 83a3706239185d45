/* ember-vm's pure parts: /proc/<pid>/stat after the last ')', whole-argument
 * matching of a command line, handles.json, state names. */
#include "unit.h"

#include <string.h>
#include <unistd.h>

#include "error.h"
#include "proc.h"
#include "vm.h"

static void stat_fields_after_the_last_paren(void **state)
{
	struct proc_stat st;
	/* a command name holding blanks and ") " must not shift the fields */
	const char *tricky = "4242 (fire) 1 2 (x)) S 17 4242 4242 0 -1 4194560 120 0 0 0 3 1 0 0 20 0 "
			     "3 0 987654321 12345678 300 18446744073709551615\n";

	(void)state;
	assert_int_equal(proc_parse_stat(tricky, &st), 0);
	assert_int_equal(st.state, 'S');
	assert_int_equal(st.ppid, 17);
	assert_true(st.start_time == 987654321ULL);
	assert_int_equal(proc_parse_stat("1 (init) Z 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0\n", &st),
			 0);
	assert_int_equal(st.state, 'Z');
	assert_true(st.start_time == 5ULL);
}

static void stat_refuses_what_is_not_one(void **state)
{
	struct proc_stat st;

	(void)state;
	assert_int_equal(proc_parse_stat("", &st), -1);
	assert_int_equal(proc_parse_stat("12 (no close paren S 1 2", &st), -1);
	/* too few fields for field 22 */
	assert_int_equal(proc_parse_stat("12 (a) S 1 2 3 4 5 6 7 8", &st), -1);
	assert_int_equal(proc_parse_stat("12 (a) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 x", &st),
			 -1);
	error_clear();
}

static void stat_of_this_process(void **state)
{
	struct proc_stat st;

	(void)state;
	assert_int_equal(proc_stat(getpid(), &st), 0);
	assert_int_equal(st.ppid, getppid());
	assert_true(st.start_time > 0);
	assert_int_equal(proc_stat(0, &st), -2);
}

static void args_are_whole(void **state)
{
	static const char a[] = "firecracker\0--api-sock\0/s/vms/vm1/firecracker.sock\0--id\0vm1";
	static const char b[] = "x\0--api-sock\0/s/vms/vm1/firecracker.sock.old";
	static const char c[] = "x\0--api-sock";
	static const char d[] = "x\0--api-sock=/s/vms/vm1/firecracker.sock";

	(void)state;
	assert_int_equal(proc_args_have(a, sizeof(a), "--api-sock", "/s/vms/vm1/firecracker.sock"), 1);
	/* a prefix of the argument is not the argument */
	assert_int_equal(proc_args_have(a, sizeof(a), "--api-sock", "/s/vms/vm1/firecracker"), 0);
	assert_int_equal(proc_args_have(b, sizeof(b), "--api-sock", "/s/vms/vm1/firecracker.sock"), 0);
	/* the option last, with no value */
	assert_int_equal(proc_args_have(c, sizeof(c), "--api-sock", ""), 0);
	assert_int_equal(proc_args_have(d, sizeof(d), "--api-sock", "/s/vms/vm1/firecracker.sock"), 0);
	/* another option's value that looks like the option */
	assert_int_equal(proc_args_have(a, sizeof(a), "--id", "vm1"), 1);
	assert_int_equal(proc_args_have(a, sizeof(a), "--id", "vm"), 0);
}

static void handles_round_trip(void **state)
{
	struct vm_handles h;

	(void)state;
	assert_int_equal(vm_handles_parse("{\"pid\":123,\"start_time\":\"18446744073709551615\","
					  "\"api_sock\":\"/a/firecracker.sock\",\"vsock_uds\":null}",
					  &h),
			 0);
	assert_int_equal(h.pid, 123);
	assert_true(h.start_time == 18446744073709551615ULL);
	assert_string_equal(h.api_sock, "/a/firecracker.sock");
	assert_string_equal(h.vsock_uds, "");
	assert_int_equal(vm_handles_parse("{\"pid\":5,\"start_time\":\"9\",\"api_sock\":\"/a\","
					  "\"vsock_uds\":\"/b\"}",
					  &h),
			 0);
	assert_string_equal(h.vsock_uds, "/b");
}

static void handles_refuses_what_is_not_one(void **state)
{
	struct vm_handles h;

	(void)state;
	assert_int_equal(vm_handles_parse("", &h), -1);
	assert_int_equal(vm_handles_parse("{\"pid\":\"1\",\"start_time\":\"9\",\"api_sock\":\"/a\"}", &h), -1);
	assert_int_equal(vm_handles_parse("{\"pid\":0,\"start_time\":\"9\",\"api_sock\":\"/a\",\"vsock_uds\":null}", &h), -1);
	assert_int_equal(vm_handles_parse("{\"pid\":1,\"start_time\":9,\"api_sock\":\"/a\",\"vsock_uds\":null}", &h), -1);
	assert_int_equal(vm_handles_parse("{\"pid\":1,\"start_time\":\"x\",\"api_sock\":\"/a\",\"vsock_uds\":null}", &h), -1);
	assert_int_equal(vm_handles_parse("{\"pid\":1,\"start_time\":\"9\",\"vsock_uds\":null}", &h), -1);
}

static void state_names(void **state)
{
	enum vm_state s;
	int i;

	(void)state;
	for (i = 0; i < VM_STATES; i++) {
		assert_int_equal(vm_parse_state(vm_state_name((enum vm_state)i), &s), 0);
		assert_int_equal(s, i);
	}
	assert_int_equal(vm_parse_state("Running", &s), -1);
	assert_int_equal(error_exit_code(), EXIT_USAGE);
	error_clear();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(stat_fields_after_the_last_paren),
	    cmocka_unit_test(stat_refuses_what_is_not_one),
	    cmocka_unit_test(stat_of_this_process),
	    cmocka_unit_test(args_are_whole),
	    cmocka_unit_test(handles_round_trip),
	    cmocka_unit_test(handles_refuses_what_is_not_one),
	    cmocka_unit_test(state_names),
	};

	return UNIT_RUN(tests);
}
