/* vsock: what the kernel's answers to the CID probe mean. */
#include "unit.h"

#include <errno.h>
#include <string.h>

#include "error.h"
#include "vsock.h"

static void no_device_means_no_probe(void **state)
{
	(void)state;
	assert_int_equal(vsock_decide(0, ENOENT, "/dev/vhost-vsock", 3), VSOCK_NO_DEVICE);
	assert_int_equal(vsock_decide(0, ENODEV, "/dev/vhost-vsock", 3), VSOCK_NO_DEVICE);
	assert_int_equal(vsock_decide(0, ENXIO, "/dev/vhost-vsock", 3), VSOCK_NO_DEVICE);
}

static void a_device_that_cannot_be_opened_is_a_system_failure(void **state)
{
	(void)state;
	error_clear();
	assert_int_equal(vsock_decide(0, EACCES, "/dev/vhost-vsock", 7), -1);
	assert_int_equal(error_exit_code(), EXIT_TEMP);
	assert_string_equal(
	    error_message(),
	    "unable to open '/dev/vhost-vsock' to probe vsock CID 7: Permission denied");
	assert_non_null(strstr(error_hint_text(), "run as root"));
	assert_int_equal(vsock_decide(0, EIO, "/dev/x", 7), -1);
	assert_null(error_hint_text());
}

static void the_ioctl_answers(void **state)
{
	(void)state;
	assert_int_equal(vsock_decide(1, 0, "/dev/vhost-vsock", 3), VSOCK_FREE);
	assert_int_equal(vsock_decide(1, EADDRINUSE, "/dev/vhost-vsock", 3), VSOCK_HELD);
	error_clear();
	assert_int_equal(vsock_decide(1, ENOTTY, "/dev/null", 9), -1);
	assert_int_equal(error_exit_code(), EXIT_TEMP);
	assert_string_equal(
	    error_message(),
	    "unable to probe vsock CID 9 with '/dev/null': Inappropriate ioctl for device");
}

static void the_real_probe_of_a_missing_device(void **state)
{
	(void)state;
	assert_int_equal(vsock_probe_cid("/nonexistent/vhost-vsock", 3), VSOCK_NO_DEVICE);
	assert_int_equal(vsock_probe_cid("/dev/null", 3), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(no_device_means_no_probe),
	    cmocka_unit_test(a_device_that_cannot_be_opened_is_a_system_failure),
	    cmocka_unit_test(the_ioctl_answers),
	    cmocka_unit_test(the_real_probe_of_a_missing_device),
	};

	return UNIT_RUN(tests);
}
