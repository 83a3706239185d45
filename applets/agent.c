/* ember-agent: the guest side. It runs inside the VM (it needs only libc and
 * libcjson) and answers the host's JSON-line requests on vsock. */
static const char usage_tail[] =
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

enum { O_PORT, O_UDS, O_MAX_CONNECTIONS };

static const char *port_arg, *uds_arg, *max_arg;

static const struct opt options[] = {
    [O_PORT] = {"port", "N", "the vsock port (default 1024)", &port_arg, 0, NULL},
    [O_UDS] = {"uds", "PATH", "listen on a Unix socket instead (tests, the stand-in)", &uds_arg, 0, NULL},
    [O_MAX_CONNECTIONS] = {"max-connections", "N",
			   "connections served at once (default 64); past it\n"
			   "a connection gets an EBUSY error line and is closed",
			   &max_arg, 0, NULL},
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

static int do_serve(struct install *in, int argc, char **argv)
{
	(void)in;
	(void)argc;
	(void)argv;
	if (port_arg)
		opts.port = (unsigned)number("--port", port_arg, 1, 4294967294L);
	if (uds_arg) {
		if (!*uds_arg)
			xusage("--uds needs a path");
		opts.uds = uds_arg;
	}
	if (max_arg)
		opts.max_connections = (int)number("--max-connections", max_arg, 1, 65536);
	if (agent_serve(&opts) < 0)
		xdie(0);
	return 0;
}

static const struct verb verbs[] = {
    {.name = "serve", .operands = "", .opts = OPT(O_PORT) | OPT(O_UDS) | OPT(O_MAX_CONNECTIONS), .run = do_serve,
     .help = "listen on AF_VSOCK (any CID) and answer requests, one\n"
	     "process per connection, until SIGTERM or SIGINT; as\n"
	     "PID 1: reap every orphan, SIGINT (Ctrl-Alt-Del) reboots"},
    {0},
};

static const struct applet applet = {
    verbs, options, ARRAY_SIZE(options), "(no external commands are run)", NULL, usage_tail,
};

int agent_main(int argc, char **argv)
{
	return xrun(&applet, argc, argv);
}
