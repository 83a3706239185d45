/* ember-agent: the guest side. It runs inside the VM (it needs only libc and
 * libcjson) and answers the host's JSON-line requests on vsock. */
static const char usage[] =
	"usage: ember-agent [OPTION...] serve\n"
	"\n"
	"  serve               listen on AF_VSOCK (any CID) and answer requests, one\n"
	"                      process per connection, until SIGTERM or SIGINT; as\n"
	"                      PID 1: reap every orphan, SIGINT (Ctrl-Alt-Del) reboots\n"
	"\n"
	"options:\n"
	"      --port N            the vsock port (default 1024)\n"
	"      --uds PATH          listen on a Unix socket instead (tests, the stand-in)\n"
	"      --max-connections N connections served at once (default 64); past it\n"
	"                          a connection gets an EBUSY error line and is closed\n"
	"      --state-dir DIR     (not used: the agent keeps no state)\n"
	"  -j, --json              (not used: the protocol is JSON lines)\n"
	"  -q, --quiet             print no warnings\n"
	"  -v, --verbose           (no external commands are run)\n"
	"  -h, --help              print this help\n"
	"      --version           print the version\n"
	"\n"
	"protocol (one JSON object per line, at most 1 MiB; base64 frames at most\n"
	"512 KiB; \"id\" echoed in every reply line):\n"
	"  {\"op\":\"ping\"}            {\"ok\":true,\"version\",\"protocol\":1,\"uptime_seconds\"}\n"
	"  {\"op\":\"exec\",\"argv\":[..]|\"command\":\"..\",\"env\"?,\"cwd\"?,\"stdin\"?,\"timeout_ms\"?}\n"
	"                          {\"stdout\":b64} {\"stderr\":b64} ... then\n"
	"                          {\"exit_code\",\"signal\",\"timed_out\",\"duration_ms\"}\n"
	"  {\"op\":\"read_file\",\"path\",\"offset\"?,\"length\"?}\n"
	"                          {\"data\":b64} ... then {\"size\",\"mode\",\"eof\":true}\n"
	"  {\"op\":\"write_file\",\"path\",\"mode\"?} {\"data\":b64} ... {\"eof\":true}\n"
	"                          {\"ok\":true,\"written\"}\n"
	"  {\"op\":\"status\"}          hostname, uptime, load, memory, processes, pid\n"
	"  errors: {\"error\":{\"code\":\"ENOENT|EACCES|EBADREQ|EUNKNOWNOP|E2BIG|EBUSY|..\",\n"
	"          \"message\",\"errno\"?}}\n"
	"\n"
	"exit codes:\n"
	"  0 stopped by SIGTERM or SIGINT   100 usage   102 the socket path is in use\n"
	"  111 unable to listen (no vsock in this kernel: CONFIG_VIRTIO_VSOCKETS)\n";

#include <stdlib.h>

#include "agent.h"
#include "agent_proto.h"
#include "common.h"

enum { OPT_PORT = OPT_APPLET, OPT_UDS, OPT_MAX_CONNECTIONS };

static const struct option options[] = {
	{"port", required_argument, NULL, OPT_PORT},
	{"uds", required_argument, NULL, OPT_UDS},
	{"max-connections", required_argument, NULL, OPT_MAX_CONNECTIONS},
	{0},
};

static struct agent_options opts = {.port = AGENT_PORT, .max_connections = AGENT_MAX_CONNECTIONS};

static long number(const char *what, const char *arg, long min, long max)
{
	char *end;
	long v = strtol(arg, &end, 10);

	if (!*arg || *end || v < min || v > max)
		xusage("%s must be a number from %ld to %ld, not '%s'", what, min, max, arg);
	return v;
}

static void option(int key, const char *arg)
{
	switch (key) {
	case OPT_PORT:
		opts.port = (unsigned)number("--port", arg, 1, 4294967294L);
		break;
	case OPT_UDS:
		if (!*arg)
			xusage("--uds needs a path");
		opts.uds = arg;
		break;
	case OPT_MAX_CONNECTIONS:
		opts.max_connections = (int)number("--max-connections", arg, 1, 65536);
		break;
	}
}

static int do_serve(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (agent_serve(&opts) < 0)
		xdie(0);
	return finish(0);
}

static const struct verb verbs[] = {
	{"serve", do_serve, 0, 0},
	{0},
};

int agent_main(int argc, char **argv)
{
	int first = xparse_options(argc, argv, usage, options, option);

	return xrun_verb(verbs, argc - first, argv + first);
}
