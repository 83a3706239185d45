#include "subsys.h"

#include "nat.h"
#include "pool.h"
#include "tap.h"

const struct subsystem subsystems[] = {
	{"tap", tap_names, tap_teardown},
	{"nat", nat_names, nat_teardown},
	{"pool", pool_names, pool_teardown},
};

const int subsystem_count = sizeof(subsystems) / sizeof(subsystems[0]);
