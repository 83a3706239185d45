/* unit.h: what every cmocka test file includes, in the order cmocka needs. */
#ifndef EMBER_UNIT_H
#define EMBER_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* Run the group with TAP output, which tests/run counts. */
#define UNIT_RUN(tests) \
	(cmocka_set_message_output(CM_OUTPUT_TAP), cmocka_run_group_tests(tests, NULL, NULL))

#endif
