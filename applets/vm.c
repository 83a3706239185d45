/* ember-vm: VM records and the Firecracker process. Not built yet: every
 * verb says so and exits 111 (a retry with a later ember may work); the
 * common options behave as in every applet. */
static const char usage[] =
	"usage: ember-vm [OPTION...] VERB\n"
	"\n"
	"  (not implemented yet: every verb exits 111)\n"
	"\n"
	"options:\n"
	"      --state-dir DIR     state directory (default $EMBER_STATE_DIR, else /var/lib/ember)\n"
	"  -j, --json              print JSON\n"
	"  -q, --quiet             print no result and no warnings\n"
	"  -v, --verbose           print each external command on stderr\n"
	"  -h, --help              print this help\n"
	"      --version           print the version\n"
	"\n"
	"exit codes:\n"
	"  0 --help, --version   100 usage (an unknown option)\n"
	"  111 not implemented yet\n";

#include "common.h"

int vm_main(int argc, char **argv)
{
	return not_built(argc, argv, usage);
}
