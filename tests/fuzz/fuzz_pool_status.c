/* libFuzzer target: the thin-pool status parser never crashes; "Fail" and
 * "Error" are failed pools; any other accepted line is a pool's status (a
 * transaction id, counts within their totals, one of the kernel's modes)
 * and, printed back in the kernel's format, parses to the same status. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[512], back[512];
	struct pool_kstatus k, k2;

	if (size >= sizeof(text))
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (pool_parse_status(text, &k) < 0)
		return 0;
	if (!k.mode[0] || strlen(k.mode) >= sizeof(k.mode))
		abort();
	/* "Fail" and "Error" carry nothing but the failure */
	if (strncmp(text, "Fail", 4) == 0 || strncmp(text, "Error", 5) == 0) {
		if (k.tid != -1 || k.meta_used || k.meta_total || k.data_used || k.data_total ||
		    strcmp(k.mode, text[0] == 'F' ? "fail" : "error") != 0)
			abort();
		return 0;
	}
	/* any other accepted line is a pool's status, as the kernel prints it */
	if (k.tid < 0 || k.meta_used > k.meta_total || k.data_used > k.data_total ||
	    (strcmp(k.mode, "rw") != 0 && strcmp(k.mode, "ro") != 0 &&
	     strcmp(k.mode, "out_of_data_space") != 0 && strcmp(k.mode, "needs_check") != 0))
		abort();
	snprintf(back, sizeof(back),
		 "%lld %" PRIu64 "/%" PRIu64 " %" PRIu64 "/%" PRIu64
		 " - %s discard_passdown queue_if_no_space %s 1",
		 k.tid, k.meta_used, k.meta_total, k.data_used, k.data_total,
		 strcmp(k.mode, "needs_check") == 0 ? "ro" : k.mode,
		 strcmp(k.mode, "needs_check") == 0 ? "needs_check" : "-");
	if (pool_parse_status(back, &k2) != 0 || strcmp(k.mode, k2.mode) != 0 || k.tid != k2.tid ||
	    k.meta_used != k2.meta_used || k.meta_total != k2.meta_total ||
	    k.data_used != k2.data_used || k.data_total != k2.data_total)
		abort();
	return 0;
}
