/* firecracker: a stand-in for Firecracker v1.16.1 that behaves like it from
 * the outside, for ember's tests on machines without KVM. Never installed;
 * a real user runs real Firecracker. See tests/firecracker/README.
 *
 *   firecracker --api-sock PATH --id ID [--log-path P] [--level L]
 *               [--boot-timer] [--http-api-max-payload-size N] [--version]
 *
 * HTTP/1.1 over the Unix socket with micro-http's exact bytes; bodies checked
 * against schema.json (derived from Firecracker's OpenAPI file) with serde's
 * texts; resources opened when their PUT arrives; InstanceStart starts a
 * guest without a CPU (guest.c).
 *
 * Test knobs (environment):
 *   EMBER_STANDIN_GUEST=CMD        the guest's command: /bin/sh -c CMD in the
 *                                  guest's network namespace at InstanceStart,
 *                                  with EMBER_STANDIN_VSOCK_DIR set; its process
 *                                  group is killed when the guest stops
 *   EMBER_STANDIN_VSOCK_CID=N      hybrid vsock CONNECTs go to AF_VSOCK CID N
 *                                  instead of $EMBER_STANDIN_VSOCK_DIR/<port>
 *   EMBER_STANDIN_FAIL=OP=MESSAGE  (one a line) answer OP with 400 MESSAGE
 *   EMBER_STANDIN_HANG=OP          (one a line) never answer OP; the API then
 *                                  answers nothing more (its thread is stuck)
 *   EMBER_STANDIN_EXIT_AT=OP       exit 1 when OP arrives, before answering
 *   EMBER_STANDIN_IGNORE_CAD=1     SendCtrlAltDel answers 204, nothing happens
 *   EMBER_STANDIN_SOCKET_DELAY_MS=N  bind the API socket N ms after start
 *   EMBER_STANDIN_TRANSCRIPT=FILE  append "METHOD PATH BODY -> STATUS" per
 *                                  request (BODY compact, '-' for none; STATUS
 *                                  '-' for a hang)
 *   EMBER_STANDIN_SCHEMA=FILE      the derived schema (default: schema.json
 *                                  beside this binary, then beside the source)
 * OP is "METHOD PATH" as on the request line ("PUT /drives/rootfs", "GET /"),
 * and "PUT /actions InstanceStart" (or SendCtrlAltDel, FlushMetrics).
 */
#include "standin.h"

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNECTIONS 10
#define BUFFER_SIZE 1024
#define MAX_DRIVES 16
#define MAX_NETS 8

static const char too_many[] =
    "HTTP/1.1 503\r\nServer: Firecracker API\r\nConnection: close\r\n"
    "Content-Length: 40\r\n\r\n{ \"error\": \"Too many open connections\" }";

static struct {
	const char *id;
	int log_fd;
	int log_level; /* 0 off, 1 error, 2 warn, 3 info, 4 debug, 5 trace */
	int show_level;
	size_t max_payload;
	int started, paused, hung;
	long stop_at_ms; /* SendCtrlAltDel: when the "reboot" ends the process */
	FILE *transcript;
	cJSON *boot_source, *machine_config, *vsock, *logger, *metrics, *mmds_config, *entropy,
	    *balloon, *cpu_config;
	int kernel_fd, initrd_fd;
	struct drive {
		char id[65];
		int fd;
		cJSON *config;
	} drives[MAX_DRIVES];
	int ndrives;
	struct net {
		struct guest_net guest;
		cJSON *config;
	} nets[MAX_NETS];
	int nnets;
} vm = {.id = "anonymous-instance",
	.log_fd = 1,
	.log_level = 3,
	.max_payload = 51200,
	.kernel_fd = -1,
	.initrd_fd = -1};

struct conn {
	int fd;
	char *in;
	size_t len, cap;
	size_t discard; /* body bytes of a refused request still to skip */
	int continued;	/* the 100 of the request in the buffer was sent */
};
static struct conn conns[MAX_CONNECTIONS];

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

void fc_log(const char *level, const char *fmt, ...)
{
	static const char *const levels[] = {"", "ERROR", "WARN", "INFO", "DEBUG", "TRACE"};
	char line[4096];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int rank, n;

	for (rank = 1; rank < 5 && strcmp(levels[rank], level); rank++)
		;
	if (rank > vm.log_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%09ld [%s:%s%s%s] ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     ts.tv_nsec, vm.id, "main", vm.show_level ? ":" : "",
		     vm.show_level ? level : "");
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(vm.log_fd, line, n) < 0)
		return;
}

/* Firecracker's release binaries are linked with musl: its texts, not
 * glibc's, follow an io::Error ("Address in use (os error 98)"). */
const char *os_error(int e)
{
	static const struct {
		int e;
		const char *text;
	} musl[] = {
	    {EPERM, "Operation not permitted"},
	    {ENOENT, "No such file or directory"},
	    {EACCES, "Permission denied"},
	    {EBUSY, "Resource busy"},
	    {EEXIST, "File exists"},
	    {ENODEV, "No such device"},
	    {ENOTDIR, "Not a directory"},
	    {EISDIR, "Is a directory"},
	    {EINVAL, "Invalid argument"},
	    {EROFS, "Read-only file system"},
	    {ENAMETOOLONG, "Filename too long"},
	    {ELOOP, "Symbolic link loop"},
	    {EADDRINUSE, "Address in use"},
	    {ECONNREFUSED, "Connection refused"},
	    {ENXIO, "No such device or address"},
	    {EAGAIN, "Resource temporarily unavailable"},
	};
	size_t i;

	for (i = 0; i < sizeof(musl) / sizeof(musl[0]); i++)
		if (musl[i].e == e)
			return musl[i].text;
	return strerror(e);
}

/* --- the knobs --- */

/* Does the environment list (one OP a line, or OP=VALUE) name OP? */
static const char *knob(const char *name, const char *op)
{
	static char value[1024];
	const char *list = getenv(name), *line, *end;
	size_t oplen = strlen(op);

	if (!list)
		return NULL;
	for (line = list; *line; line = *end ? end + 1 : end) {
		end = strchr(line, '\n');
		if (!end)
			end = line + strlen(line);
		if ((size_t)(end - line) >= oplen && !strncmp(line, op, oplen) &&
		    (line + oplen == end || line[oplen] == '=')) {
			size_t n = line + oplen == end ? 0 : (size_t)(end - line - oplen - 1);

			if (n >= sizeof(value))
				n = sizeof(value) - 1;
			memcpy(value, line + oplen + (n || line + oplen < end ? 1 : 0), n);
			value[n] = 0;
			return value;
		}
	}
	return NULL;
}

static void transcript(const char *method, const char *uri, const char *body, size_t len,
		       const char *status)
{
	cJSON *json;
	char *compact = NULL;

	if (!vm.transcript)
		return;
	json = body ? cJSON_ParseWithLength(body, len) : NULL;
	if (json)
		compact = cJSON_PrintUnformatted(json);
	if (compact)
		fprintf(vm.transcript, "%s %s %s -> %s\n", method, uri, compact, status);
	else
		fprintf(vm.transcript, "%s %s %.*s -> %s\n", method, uri, body ? (int)len : 1,
			body ? body : "-", status);
	fflush(vm.transcript);
	free(compact);
	cJSON_Delete(json);
}

/* --- responses --- */

static void send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= n;
	}
}

static void respond(struct conn *c, int status, const char *body, int deprecation)
{
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d \r\nServer: Firecracker API\r\nConnection: keep-alive\r\n%s",
			 status, deprecation ? "Deprecation: true\r\n" : "");

	if (body)
		n += snprintf(head + n, sizeof(head) - n,
			      "Content-Type: application/json\r\nContent-Length: %zu\r\n",
			      strlen(body));
	n += snprintf(head + n, sizeof(head) - n, "\r\n");
	send_all(c->fd, head, n);
	if (body)
		send_all(c->fd, body, strlen(body));
}

/* A request's answer: 204, 200 with JSON, or 400 with a fault_message. */
struct answer {
	int status;
	char *body;
	int deprecation;
};

static struct answer fault(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static struct answer fault(const char *fmt, ...)
{
	struct answer a = {400, NULL, 0};
	char msg[2048];
	cJSON *o = cJSON_CreateObject();
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cJSON_AddStringToObject(o, "fault_message", msg);
	a.body = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	fc_log("ERROR", "Received Error. Status code: 400 Bad Request. Message: %s", msg);
	return a;
}

static struct answer fault_take(char *msg)
{
	struct answer a = fault("%s", msg ? msg : "out of memory");

	free(msg);
	return a;
}

static struct answer ok_json(cJSON *json)
{
	struct answer a = {200, cJSON_PrintUnformatted(json), 0};

	cJSON_Delete(json);
	fc_log("INFO", "The request was executed successfully. Status code: 200 OK.");
	return a;
}

static struct answer no_content(void)
{
	struct answer a = {204, NULL, 0};

	fc_log("INFO", "The request was executed successfully. Status code: 204 No Content.");
	return a;
}

#define NOT_AFTER "The requested operation is not supported after starting the microVM."
#define NOT_BEFORE "The requested operation is not supported before starting the microVM."

/* --- the operations --- */

static const char *state_name(void)
{
	return !vm.started ? "Not started" : vm.paused ? "Paused" : "Running";
}

static cJSON *machine_config(void)
{
	return vm.machine_config
		   ? cJSON_Duplicate(vm.machine_config, 1)
		   : cJSON_Parse("{\"vcpu_count\":1,\"mem_size_mib\":128,\"smt\":false,"
				 "\"track_dirty_pages\":false,\"huge_pages\":\"None\"}");
}

static cJSON *or_null(const cJSON *c)
{
	return c ? cJSON_Duplicate(c, 1) : cJSON_CreateNull();
}

static struct answer get_full_config(void)
{
	cJSON *o = cJSON_CreateObject(), *drives = cJSON_CreateArray(), *nets = cJSON_CreateArray();
	int i;

	for (i = 0; i < vm.ndrives; i++)
		cJSON_AddItemToArray(drives, cJSON_Duplicate(vm.drives[i].config, 1));
	for (i = 0; i < vm.nnets; i++)
		cJSON_AddItemToArray(nets, cJSON_Duplicate(vm.nets[i].config, 1));
	cJSON_AddItemToObject(o, "balloon", or_null(vm.balloon));
	cJSON_AddItemToObject(o, "drives", drives);
	cJSON_AddItemToObject(o, "boot-source", or_null(vm.boot_source));
	cJSON_AddItemToObject(o, "cpu-config", or_null(vm.cpu_config));
	cJSON_AddItemToObject(o, "logger", or_null(vm.logger));
	cJSON_AddItemToObject(o, "machine-config", machine_config());
	cJSON_AddItemToObject(o, "metrics", or_null(vm.metrics));
	cJSON_AddItemToObject(o, "mmds-config", or_null(vm.mmds_config));
	cJSON_AddItemToObject(o, "network-interfaces", nets);
	cJSON_AddItemToObject(o, "vsock", or_null(vm.vsock));
	cJSON_AddItemToObject(o, "entropy", or_null(vm.entropy));
	cJSON_AddItemToObject(o, "pmem", cJSON_CreateArray());
	cJSON_AddItemToObject(o, "memory-hotplug", cJSON_CreateNull());
	return ok_json(o);
}

static const char *str(const cJSON *o, const char *key)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

static void replace(cJSON **slot, cJSON *value)
{
	cJSON_Delete(*slot);
	*slot = value;
}

static struct answer put_boot_source(cJSON *body)
{
	const char *kernel = str(body, "kernel_image_path"), *initrd = str(body, "initrd_path");
	int kfd, ifd = -1, e;

	kfd = open(kernel, O_RDONLY | O_CLOEXEC);
	if (kfd < 0) {
		e = errno;
		return fault(
		    "Boot source error: The kernel file cannot be opened: %s (os error %d)",
		    os_error(e), e);
	}
	if (initrd && (ifd = open(initrd, O_RDONLY | O_CLOEXEC)) < 0) {
		e = errno;
		close(kfd);
		return fault(
		    "Boot source error: The initrd file cannot be opened due to invalid path "
		    "or invalid permissions. %s (os error %d)",
		    os_error(e), e);
	}
	if (vm.kernel_fd >= 0)
		close(vm.kernel_fd);
	if (vm.initrd_fd >= 0)
		close(vm.initrd_fd);
	vm.kernel_fd = kfd;
	vm.initrd_fd = ifd;
	replace(&vm.boot_source, schema_normalise("BootSource", body));
	return no_content();
}

static struct drive *drive_find(const char *id)
{
	int i;

	for (i = 0; i < vm.ndrives; i++)
		if (!strcmp(vm.drives[i].id, id))
			return &vm.drives[i];
	return NULL;
}

static struct answer put_drive(cJSON *body)
{
	const char *id = str(body, "drive_id"), *path = str(body, "path_on_host");
	int ro = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(body, "is_read_only"));
	int root = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(body, "is_root_device"));
	struct drive *d = drive_find(id);
	int i, fd, e;

	for (i = 0; root && i < vm.ndrives; i++)
		if (&vm.drives[i] != d && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
					      vm.drives[i].config, "is_root_device")))
			return fault("Drive config error: A root block device already exists!");
	if (!path)
		return fault("Drive config error: Unable to create the virtio block device: Virtio "
			     "backend error: Error manipulating the backing file: No such file or "
			     "directory (os error 2) ");
	fd = open(path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		return fault(
		    "Drive config error: Unable to create the virtio block device: Virtio "
		    "backend error: Error manipulating the backing file: %s (os error %d) %s",
		    os_error(e), e, path);
	}
	if (!d) {
		if (vm.ndrives == MAX_DRIVES) {
			close(fd);
			return fault("Drive config error: the stand-in holds at most %d drives",
				     MAX_DRIVES);
		}
		d = &vm.drives[vm.ndrives++];
		snprintf(d->id, sizeof(d->id), "%s", id);
		d->config = NULL;
	} else {
		close(d->fd);
	}
	d->fd = fd;
	replace(&d->config, schema_normalise("Drive", body));
	return no_content();
}

static int parse_mac(const char *s, unsigned char mac[6])
{
	unsigned int b[6];
	char tail;
	int i;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &tail) != 6 ||
	    strlen(s) != 17)
		return -1;
	for (i = 0; i < 6; i++)
		mac[i] = b[i];
	return 0;
}

/* Tap::open_named: /dev/net/tun, TUNSETIFF IFF_TAP|IFF_NO_PI|IFF_VNET_HDR
 * (and the 12-byte virtio_net_hdr_v1 Firecracker's device sets). NULL, or
 * the error as Firecracker's TapError says it. */
static const char *tap_open(const char *name, int *fd, char *buf, size_t size)
{
	struct ifreq ifr;
	int hdr = 12, e;

	*fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (*fd < 0) {
		e = errno;
		snprintf(buf, size, "Couldn't open /dev/net/tun: %s (os error %d)", os_error(e), e);
		return buf;
	}
	if (strlen(name) >= IFNAMSIZ) {
		close(*fd);
		return "Invalid interface name";
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(*fd, TUNSETIFF, &ifr) < 0 || ioctl(*fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		e = errno;
		close(*fd);
		snprintf(buf, size,
			 "Error while creating ifreq structure: %s (os error %d). Invalid TUN/TAP "
			 "Backend provided by %s. Check our documentation on setting up the "
			 "network devices.",
			 os_error(e), e, name);
		return buf;
	}
	return NULL;
}

static struct answer put_net(cJSON *body)
{
	const char *id = str(body, "iface_id"), *dev = str(body, "host_dev_name");
	const char *mac_text = str(body, "guest_mac");
	unsigned char mac[6];
	struct net *n = NULL;
	const char *err;
	char why[512];
	int i, fd;

	if (mac_text && parse_mac(mac_text, mac) < 0)
		return fault("An error occurred when deserializing the json body of a request: "
			     "invalid value: string \"%s\", expected a MAC address.",
			     mac_text);
	for (i = 0; i < vm.nnets; i++) {
		if (!strcmp(vm.nets[i].guest.iface_id, id))
			n = &vm.nets[i];
		else if (mac_text && vm.nets[i].guest.has_mac &&
			 !memcmp(vm.nets[i].guest.mac, mac, 6))
			return fault("Network config error: The MAC address is already in use: %s",
				     mac_text);
	}
	/* Firecracker drops the old entry before it opens the new TAP. */
	if (n) {
		close(n->guest.tap_fd);
		cJSON_Delete(n->config);
		*n = vm.nets[--vm.nnets];
		n = NULL;
	}
	err = tap_open(dev, &fd, why, sizeof(why));
	if (err)
		return fault("Network config error: Could not create the network device: Open tap "
			     "device failed: %s",
			     err);
	if (vm.nnets == MAX_NETS) {
		close(fd);
		return fault("Network config error: the stand-in holds at most %d interfaces",
			     MAX_NETS);
	}
	n = &vm.nets[vm.nnets++];
	memset(n, 0, sizeof(*n));
	snprintf(n->guest.iface_id, sizeof(n->guest.iface_id), "%s", id);
	snprintf(n->guest.host_dev, sizeof(n->guest.host_dev), "%s", dev);
	n->guest.has_mac = mac_text != NULL;
	if (mac_text)
		memcpy(n->guest.mac, mac, 6);
	n->guest.tap_fd = fd;
	n->config = schema_normalise("NetworkInterface", body);
	return no_content();
}

static struct answer put_vsock(cJSON *body)
{
	char *msg = NULL;
	struct answer a;
	int deprecated = cJSON_GetObjectItemCaseSensitive(body, "vsock_id") != NULL;

	if (vsock_bind(str(body, "uds_path"), &msg) < 0)
		return fault_take(msg);
	replace(&vm.vsock, schema_normalise("Vsock", body));
	if (deprecated)
		fc_log("WARN", "PUT /vsock: vsock_id field is deprecated.");
	a = no_content();
	a.deprecation = deprecated;
	return a;
}

static struct answer put_machine_config(cJSON *body)
{
	cJSON *mc = machine_config(), *f;
	int vcpus, smt;

	cJSON_ArrayForEach(f, body) if (!cJSON_IsNull(f))
	    cJSON_ReplaceItemInObjectCaseSensitive(mc, f->string, cJSON_Duplicate(f, 1));
	vcpus = cJSON_GetObjectItemCaseSensitive(mc, "vcpu_count")->valueint;
	smt = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(mc, "smt"));
	if (vcpus == 0 || vcpus > 32 || (smt && vcpus > 1 && vcpus % 2)) {
		cJSON_Delete(mc);
		return fault(
		    "Machine config error: The number of vCPUs must be greater than 0, less "
		    "than 32 and must be 1 or an even number if SMT is enabled.");
	}
	if (cJSON_GetObjectItemCaseSensitive(mc, "mem_size_mib")->valuedouble == 0) {
		cJSON_Delete(mc);
		return fault("Machine config error: The memory size (MiB) is either 0, or not a "
			     "multiple of the configured page size.");
	}
	replace(&vm.machine_config, mc);
	return no_content();
}

static char *boot_args(void)
{
	const char *args = str(vm.boot_source, "boot_args");

	return strdup(args ? args
			   : "reboot=k panic=1 nomodule 8250.nr_uarts=0 i8042.noaux i8042.nomux "
			     "i8042.dumbkbd swiotlb=noforce");
}

static struct answer action(const char *type)
{
	if (!strcmp(type, "InstanceStart")) {
		struct guest_net nets[MAX_NETS];
		char *msg = NULL, *args;
		int i, rc;

		if (vm.started)
			return fault(NOT_AFTER);
		if (!vm.boot_source)
			return fault("Start microvm error: Cannot start microvm without kernel "
				     "configuration.");
		for (i = 0; i < vm.nnets; i++)
			nets[i] = vm.nets[i].guest;
		args = boot_args();
		rc = guest_start(nets, vm.nnets, args, &msg);
		free(args);
		if (rc < 0)
			return fault_take(msg);
		vm.started = 1;
		return no_content();
	}
	if (!vm.started)
		return fault(NOT_BEFORE);
	if (!strcmp(type, "SendCtrlAltDel") && !getenv("EMBER_STANDIN_IGNORE_CAD"))
		vm.stop_at_ms = now_ms() + 100; /* the guest's reboot=k */
	return no_content();
}

static int valid_id_char(char c)
{
	return c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z');
}

/* checked_id: the id from the path. */
static const char *checked_id(const char *id)
{
	const char *p;

	if (!id || !*id)
		return "The ID cannot be empty.";
	for (p = id; *p; p++)
		if (!valid_id_char(*p))
			return "API Resource IDs can only contain alphanumeric characters and "
			       "underscores.";
	return NULL;
}

/* A PUT or PATCH body checked against the schema for PATH. */
static int parse_body(const char *method, const char *path, const char *body, size_t len,
		      cJSON **out, struct answer *a)
{
	char *msg = NULL;

	if (schema_check(schema_body(method, path), body, len, !strcmp(method, "PATCH"), out,
			 &msg) < 0) {
		*a = fault_take(msg);
		return -1;
	}
	return 0;
}

static struct answer unsupported(const char *method, const char *path)
{
	return fault("The Firecracker stand-in does not reproduce %s %s.", method, path);
}

static struct answer put_logger(cJSON *body)
{
	const char *path = str(body, "log_path"), *level = str(body, "level");
	static const char *const names[] = {"off", "error", "warning", "info", "debug", "trace"};
	int fd, i;

	if (level) {
		for (i = 0; i < 6 && strcasecmp(level, names[i]) &&
			    !(i == 2 && !strcasecmp(level, "warn"));
		     i++)
			;
		if (i < 6)
			vm.log_level = i;
	}
	if (cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(body, "show_level")))
		vm.show_level = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(body, "show_level"));
	if (path) {
		fd = open(path, O_WRONLY | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0644);
		if (fd < 0) {
			int e = errno;

			return fault("Logger error: Failed to open target file: %s (os error %d)",
				     os_error(e), e);
		}
		if (vm.log_fd != 1)
			close(vm.log_fd);
		vm.log_fd = fd;
	}
	replace(&vm.logger, schema_normalise("Logger", body));
	return no_content();
}

/* Pre-boot-only and post-boot-only requests, with Firecracker's rules. */
static const char *gate(const char *method, const char *first, const char *second)
{
	static const char *const pre[] = {
	    "PUT boot-source",	 "PUT logger",	       "PUT metrics",	       "PUT serial",
	    "PUT vsock",	 "PUT balloon",	       "PUT mmds/config",      "PUT entropy",
	    "PUT cpu-config",	 "PUT machine-config", "PATCH machine-config", "PUT snapshot/load",
	    "PUT hotplug/memory"};
	static const char *const post[] = {"PATCH vm",
					   "PATCH drives",
					   "PATCH network-interfaces",
					   "PATCH pmem",
					   "PUT snapshot/create",
					   "PATCH balloon",
					   "PATCH hotplug/memory"};
	char op1[300], op2[300];
	size_t i;

	snprintf(op1, sizeof(op1), "%s %s", method, first);
	snprintf(op2, sizeof(op2), "%s %s/%s", method, first, second);
	for (i = 0; vm.started && i < sizeof(pre) / sizeof(pre[0]); i++)
		if (!strcmp(op1, pre[i]) || !strcmp(op2, pre[i]))
			return NOT_AFTER;
	for (i = 0; !vm.started && i < sizeof(post) / sizeof(post[0]); i++)
		if (!strcmp(op1, post[i]) || !strcmp(op2, post[i]))
			return NOT_BEFORE;
	return NULL;
}

/* Firecracker's ParsedRequest::try_from, then the VMM: the route by the
 * first path token and whether there is a body, the id, the body, the
 * pre-/post-boot rule, the resource. */
static struct answer route(const char *method, const char *path, const char *body, size_t len)
{
	char first[128] = "", second[128] = "", canon[300];
	const char *p = path, *end, *gated, *err;
	int get = !strcmp(method, "GET"), put = !strcmp(method, "PUT");
	int patch = !strcmp(method, "PATCH"), del = !strcmp(method, "DELETE");
	int has_id;
	cJSON *json = NULL;
	struct answer a;

	while (*p == '/')
		p++;
	end = strchr(p, '/');
	snprintf(first, sizeof(first), "%.*s", (int)(end ? end - p : (long)strlen(p)), p);
	if (end) {
		p = end + 1;
		end = strchr(p, '/');
		snprintf(second, sizeof(second), "%.*s", (int)(end ? end - p : (long)strlen(p)), p);
	}
	if (get && !body) {
		if (!*first) {
			cJSON *o = cJSON_CreateObject();

			cJSON_AddStringToObject(o, "id", vm.id);
			cJSON_AddStringToObject(o, "state", state_name());
			cJSON_AddStringToObject(o, "vmm_version", FC_VERSION);
			cJSON_AddStringToObject(o, "app_name", "Firecracker");
			return ok_json(o);
		}
		if (!strcmp(first, "version"))
			return ok_json(cJSON_Parse("{\"firecracker_version\":\"" FC_VERSION "\"}"));
		if (!strcmp(first, "machine-config"))
			return ok_json(machine_config());
		if (!strcmp(first, "vm") && !strcmp(second, "config"))
			return get_full_config();
		if (!strcmp(first, "balloon") || !strcmp(first, "mmds") ||
		    (!strcmp(first, "hotplug") && !strcmp(second, "memory")))
			return unsupported(method, path);
	}
	if (get && body)
		return fault("GET request cannot have a body.");
	if ((put || patch) && !body)
		return fault(put ? "Empty PUT request." : "Empty PATCH request.");
	if (del && body)
		return fault("Empty Delete request.");
	static const char *const puts[] = {
	    "actions",	"balloon", "boot-source",    "cpu-config", "drives", "pmem",
	    "logger",	"serial",  "machine-config", "metrics",	   "mmds",   "network-interfaces",
	    "snapshot", "vsock",   "entropy",	     "hotplug"};
	static const char *const patches[] = {
	    "balloon", "drives", "machine-config", "mmds", "network-interfaces",
	    "pmem",    "vm",	 "hotplug"};
	size_t i, nt = put     ? sizeof(puts) / sizeof(puts[0])
		       : patch ? sizeof(patches) / sizeof(patches[0])
			       : 0;
	const char *const *table = put ? puts : patches;

	for (i = 0; i < nt && strcmp(first, table[i]); i++)
		;
	if (i == nt || (!strcmp(first, "hotplug") && strcmp(second, "memory")))
		return del && (!strcmp(first, "drives") || !strcmp(first, "pmem") ||
			       !strcmp(first, "network-interfaces"))
			   ? unsupported(method, path)
			   : fault("Invalid request method and/or path: %s %s.", method, first);
	has_id = !strcmp(first, "drives") || !strcmp(first, "network-interfaces") ||
		 !strcmp(first, "pmem");
	if (has_id && (err = checked_id(second)))
		return fault("%s", err);
	if (has_id)
		snprintf(canon, sizeof(canon), "/%s/x", first);
	else if (*second)
		snprintf(canon, sizeof(canon), "/%s/%s", first, second);
	else
		snprintf(canon, sizeof(canon), "/%s", first);
	if (!schema_body(method, canon))
		snprintf(canon, sizeof(canon), "/%s", first);
	if (parse_body(method, canon, body, len, &json, &a) < 0)
		return a;
	if (!strcmp(first, "drives") && strcmp(str(json, "drive_id"), second)) {
		cJSON_Delete(json);
		return fault("The id from the path does not match the id from the body!");
	}
	if (!strcmp(first, "network-interfaces") && strcmp(str(json, "iface_id"), second)) {
		a = fault("The id from the path [%s] does not match the id from the body [%s]!",
			  second, str(json, "iface_id"));
		cJSON_Delete(json);
		return a;
	}
	if (!strcmp(first, "actions")) {
		a = action(str(json, "action_type"));
		cJSON_Delete(json);
		return a;
	}
	gated = gate(method, first, second);
	if (gated) {
		a = fault("%s", gated);
	} else if (put &&
		   (!strcmp(first, "drives") || !strcmp(first, "network-interfaces") ||
		    !strcmp(first, "pmem")) &&
		   vm.started) {
		a = fault("PCI is not enabled");
	} else if (put && !strcmp(first, "boot-source")) {
		a = put_boot_source(json);
	} else if (put && !strcmp(first, "drives")) {
		a = put_drive(json);
	} else if (put && !strcmp(first, "network-interfaces")) {
		a = put_net(json);
	} else if (put && !strcmp(first, "vsock")) {
		a = put_vsock(json);
	} else if (!strcmp(first, "machine-config")) {
		a = put_machine_config(json);
	} else if (put && !strcmp(first, "logger")) {
		a = put_logger(json);
	} else if (patch && !strcmp(first, "vm")) {
		vm.paused = !strcmp(str(json, "state"), "Paused");
		a = no_content();
	} else if (patch && !strcmp(first, "drives")) {
		a = drive_find(second)
			? no_content()
			: fault("Drive config error: The block device ID is invalid!");
	} else if (patch && !strcmp(first, "network-interfaces")) {
		for (i = 0; i < (size_t)vm.nnets && strcmp(vm.nets[i].guest.iface_id, second); i++)
			;
		a = i < (size_t)vm.nnets
			? no_content()
			: fault("Network config error: The net device ID is invalid!");
	} else if (put && !strcmp(first, "metrics")) {
		replace(&vm.metrics, schema_normalise("Metrics", json));
		a = no_content();
	} else if (put && !strcmp(first, "entropy")) {
		replace(&vm.entropy, schema_normalise("EntropyDevice", json));
		a = no_content();
	} else if (put && !strcmp(first, "balloon")) {
		replace(&vm.balloon, schema_normalise("Balloon", json));
		a = no_content();
	} else if (put && !strcmp(first, "cpu-config")) {
		replace(&vm.cpu_config, cJSON_Duplicate(json, 1));
		a = no_content();
	} else if (put && !strcmp(first, "mmds") && !strcmp(second, "config")) {
		replace(&vm.mmds_config, schema_normalise("MmdsConfig", json));
		a = no_content();
	} else if (put && !strcmp(first, "serial")) {
		a = no_content();
	} else {
		a = unsupported(method, path);
	}
	cJSON_Delete(json);
	return a;
}

/* Rust's {:?} of a str, for the log line. */
static void debug_str(char *out, size_t size, const char *s, size_t len)
{
	size_t o = 0, i;

	out[o++] = '"';
	for (i = 0; i < len && o + 8 < size; i++) {
		char c = s[i];

		if (c == '"' || c == '\\')
			o += snprintf(out + o, size - o, "\\%c", c);
		else if (c == '\n')
			o += snprintf(out + o, size - o, "\\n");
		else if (c == '\r')
			o += snprintf(out + o, size - o, "\\r");
		else if (c == '\t')
			o += snprintf(out + o, size - o, "\\t");
		else
			out[o++] = c;
	}
	out[o++] = '"';
	out[o] = 0;
}

/* Rust's {:?} of micro-http's Method. */
static const char *method_debug(const char *method)
{
	return !strcmp(method, "GET")	  ? "Get"
	       : !strcmp(method, "PUT")	  ? "Put"
	       : !strcmp(method, "PATCH") ? "Patch"
					  : "Delete";
}

static void stop_and_exit(int code)
{
	guest_stop();
	if (code == 0)
		fc_log("INFO", "Firecracker exiting successfully. exit_code=0");
	exit(code);
}

/* One whole request: the knobs, the log line, the route, the answer. */
static void serve(struct conn *c, const char *method, const char *uri, const char *body, size_t len)
{
	const char *path = uri, *fail;
	char op[512], described[4096], status[8];
	struct answer a;

	if (!strncmp(path, "http://", 7))
		path = strchr(path + 7, '/') ? strchr(path + 7, '/') : "";
	snprintf(op, sizeof(op), "%s %s", method, uri);
	if (!strcmp(method, "PUT") && !strcmp(path, "/actions") && body) {
		cJSON *j = cJSON_ParseWithLength(body, len);
		const char *t = str(j, "action_type");

		if (t)
			snprintf(op, sizeof(op), "%s %s %s", method, uri, t);
		cJSON_Delete(j);
	}
	if (knob("EMBER_STANDIN_EXIT_AT", op)) {
		transcript(method, uri, body, len, "-");
		fc_log("ERROR", "Firecracker exiting with error. exit_code=1");
		_exit(1);
	}
	if (knob("EMBER_STANDIN_HANG", op)) {
		transcript(method, uri, body, len, "-");
		vm.hung = 1;
		return;
	}
	if (body) {
		debug_str(described, sizeof(described) - 1, body, len);
		fc_log("INFO", "The API server received a %s request on \"%s\" with body %s.",
		       method_debug(method), path, described);
	} else {
		fc_log("INFO", "The API server received a %s request on \"%s\".",
		       method_debug(method), path);
	}
	fail = knob("EMBER_STANDIN_FAIL", op);
	a = fail ? fault("%s", fail) : route(method, path, body, len);
	snprintf(status, sizeof(status), "%d", a.status);
	transcript(method, uri, body, len, status);
	respond(c, a.status, a.body, a.deprecation);
	free(a.body);
}

/* micro-http's parse errors: 400 with its own (invalid JSON) body, and the
 * requests parsed but not yet answered on this connection dropped. */
static void parse_error(struct conn *c, const char *detail)
{
	char body[1400];

	snprintf(body, sizeof(body),
		 "{ \"error\": \"%s\nAll previous unanswered requests will be dropped.\" }",
		 detail);
	respond(c, 400, body, 0);
	c->len = 0;
}

static char *find_crlf(char *s, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i++)
		if (s[i] == '\r' && s[i + 1] == '\n')
			return s + i;
	return NULL;
}

static void consume(struct conn *c, size_t n)
{
	memmove(c->in, c->in + n, c->len - n);
	c->len -= n;
	c->continued = 0;
}

/* One request's head (request line and headers, in a copy of the buffer):
 * 0 and its parts, or -1 after answering micro-http's parse error. */
struct head {
	char *method, *uri;
	size_t length;
	int expect;
};

static int parse_head(struct conn *c, char *copy, size_t head, struct head *r)
{
	char *eol = find_crlf(copy, head), *h, *sp1, *sp2, *version;
	char detail[1200];

	*eol = 0;
	sp1 = strchr(copy, ' ');
	sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	if (!sp1 || !sp2) {
		parse_error(c, "Invalid request.");
		return -1;
	}
	*sp1 = *sp2 = 0;
	r->method = copy;
	r->uri = sp1 + 1;
	version = sp2 + 1;
	if (strcmp(r->method, "GET") && strcmp(r->method, "PUT") && strcmp(r->method, "PATCH") &&
	    strcmp(r->method, "DELETE")) {
		parse_error(c, "Invalid HTTP Method: Unsupported HTTP method.");
		return -1;
	}
	if (!*r->uri) {
		parse_error(c, "Invalid URI: Empty URI not allowed.");
		return -1;
	}
	if (strcmp(version, "HTTP/1.1") && strcmp(version, "HTTP/1.0")) {
		parse_error(c, "Invalid HTTP Version: Unsupported HTTP version.");
		return -1;
	}
	for (h = eol + 2; h < copy + head - 2; h = eol + 2) {
		char *colon, *value, *vend;

		eol = find_crlf(h, copy + head - h);
		*eol = 0;
		colon = strchr(h, ':');
		if (!colon) {
			snprintf(detail, sizeof(detail),
				 "Invalid header. Reason: Invalid header. Key: %s", h);
			parse_error(c, detail);
			return -1;
		}
		*colon = 0;
		for (value = colon + 1; *value == ' ' || *value == '\t'; value++)
			;
		for (vend = value + strlen(value);
		     vend > value && (vend[-1] == ' ' || vend[-1] == '\t');)
			*--vend = 0;
		if (!strcasecmp(h, "Content-Length")) {
			char *e;
			unsigned long v = strtoul(value, &e, 10);

			if (!*value || *e || v > UINT32_MAX || *value == '-') {
				snprintf(
				    detail, sizeof(detail),
				    "Invalid header. Reason: Invalid value. Key:Content-Length; "
				    "Value:%s",
				    value);
				parse_error(c, detail);
				return -1;
			}
			r->length = v;
		} else if (!strcasecmp(h, "Expect") && !strcasecmp(value, "100-continue")) {
			r->expect = 1;
		}
	}
	return 0;
}

static const char continue_bytes[] =
    "HTTP/1.1 100 \r\nServer: Firecracker API\r\nConnection: keep-alive\r\n\r\n";

/* Every whole request in C's buffer, in order. */
static void parse_requests(struct conn *c)
{
	while (c->len > 0 && !vm.hung) {
		struct head r = {NULL, NULL, 0, 0};
		char *eol, *copy;
		size_t head;
		char detail[512];

		if (c->discard) {
			size_t n = c->discard < c->len ? c->discard : c->len;

			c->discard -= n;
			consume(c, n);
			continue;
		}
		/* The head must be whole; micro-http's buffer holds 1024 bytes. */
		eol = memmem(c->in, c->len, "\r\n\r\n", 4);
		if (!eol) {
			if (c->len >= BUFFER_SIZE)
				parse_error(c, "Overflow occurred when parsing a request.");
			return;
		}
		head = eol + 4 - c->in;
		copy = malloc(head + 1);
		memcpy(copy, c->in, head);
		copy[head] = 0;
		if (parse_head(c, copy, head, &r) < 0) {
			free(copy);
			return;
		}
		if (r.length > vm.max_payload) {
			snprintf(detail, sizeof(detail),
				 "Request payload with size %zu is larger than the limit of %zu "
				 "allowed by server.",
				 r.length, vm.max_payload);
			transcript(r.method, r.uri, NULL, 0, "400");
			parse_error(c, detail);
			/* Skip the body the client may still send. */
			c->len = 0;
			c->discard = r.length;
			free(copy);
			return;
		}
		if (r.length && r.expect && !c->continued) {
			send_all(c->fd, continue_bytes, strlen(continue_bytes));
			c->continued = 1;
		}
		if (c->len < head + r.length) {
			free(copy);
			return;
		}
		serve(c, r.method, r.uri, r.length ? c->in + head : NULL, r.length);
		free(copy);
		consume(c, head + r.length);
	}
}

static void conn_close(struct conn *c)
{
	close(c->fd);
	free(c->in);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static void conn_read(struct conn *c)
{
	ssize_t n;

	if (c->cap - c->len < 4096) {
		c->cap = c->cap * 2 + 8192;
		c->in = realloc(c->in, c->cap);
	}
	n = recv(c->fd, c->in + c->len, c->cap - c->len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(c);
		return;
	}
	c->len += n;
	parse_requests(c);
}

static void api_accept(int listener)
{
	int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC), i;

	if (fd < 0)
		return;
	for (i = 0; i < MAX_CONNECTIONS; i++) {
		if (conns[i].fd < 0) {
			conns[i].fd = fd;
			return;
		}
	}
	send_all(fd, too_many, sizeof(too_many) - 1);
	close(fd);
}

static void usage_error(const char *fmt, const char *arg)
{
	char msg[512];

	snprintf(msg, sizeof(msg), fmt, arg);
	fc_log("ERROR", "Arguments parsing error: %s", msg);
	fprintf(stderr, "Error: ParseArguments(%s)\n", msg);
	fc_log("ERROR", "Firecracker exiting with error. exit_code=153");
	exit(153);
}

static int valid_instance_id(const char *id)
{
	size_t n = strlen(id), i;

	if (n < 1 || n > 64)
		return 0;
	for (i = 0; i < n; i++)
		if (!(id[i] == '-' || (id[i] >= '0' && id[i] <= '9') ||
		      (id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z')))
			return 0;
	return 1;
}

static const char *schema_path(void)
{
	static char path[PATH_MAX + 32];
	ssize_t n;
	char *slash;

	if (getenv("EMBER_STANDIN_SCHEMA"))
		return getenv("EMBER_STANDIN_SCHEMA");
	n = readlink("/proc/self/exe", path, PATH_MAX);
	if (n > 0) {
		path[n] = 0;
		slash = strrchr(path, '/');
		strcpy(slash + 1, "schema.json");
		if (access(path, R_OK) == 0)
			return path;
	}
	return STANDIN_SCHEMA;
}

/* The command line's bytes, for standin_retitle. */
static char *cmdline;
static size_t cmdline_len;

void standin_retitle(const char *title)
{
	if (!cmdline_len)
		return;
	memset(cmdline, 0, cmdline_len);
	snprintf(cmdline, cmdline_len, "%s", title);
}

int main(int argc, char **argv)
{
	static const char *const flags[] = {"--boot-timer",	 "--no-seccomp", "--show-level",
					    "--show-log-origin", "--enable-pci", NULL};
	static const char *const valued[] = {
	    "--seccomp-filter",	    "--start-time-us", "--start-time-cpu-us",
	    "--parent-cpu-time-us", "--module",	       "--metrics-path",
	    "--mmds-size-limit",    "--metadata",      NULL};
	const char *api_sock = "/run/firecracker.socket", *log_path = NULL, *level = NULL;
	const char *delay = getenv("EMBER_STANDIN_SOCKET_DELAY_MS");
	struct pollfd fds[64];
	int i, j, listener;

	cmdline = argv[0];
	cmdline_len = (size_t)(argv[argc - 1] + strlen(argv[argc - 1]) + 1 - argv[0]);
	for (i = 0; i < MAX_CONNECTIONS; i++)
		conns[i].fd = -1;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--version")) {
			printf("Firecracker v" FC_VERSION "\n");
			return 0;
		}
		for (j = 0; flags[j] && strcmp(flags[j], a); j++)
			;
		if (flags[j]) {
			if (!strcmp(a, "--show-level"))
				vm.show_level = 1;
			continue;
		}
		if (!strcmp(a, "--config-file") || !strcmp(a, "--no-api"))
			usage_error("the Firecracker stand-in does not take '%s'", a);
		for (j = 0; valued[j] && strcmp(valued[j], a); j++)
			;
		if (!valued[j] && strcmp(a, "--api-sock") && strcmp(a, "--id") &&
		    strcmp(a, "--log-path") && strcmp(a, "--level") &&
		    strcmp(a, "--http-api-max-payload-size"))
			usage_error(
			    "Found argument '%s' which wasn't expected, or isn't valid in this "
			    "context.",
			    a);
		if (i + 1 >= argc || !strncmp(argv[i + 1], "--", 2))
			usage_error("The argument '%s' requires a value, but none was supplied", a);
		if (!strcmp(a, "--api-sock"))
			api_sock = argv[i + 1];
		else if (!strcmp(a, "--id"))
			vm.id = argv[i + 1];
		else if (!strcmp(a, "--log-path"))
			log_path = argv[i + 1];
		else if (!strcmp(a, "--level"))
			level = argv[i + 1];
		else if (!strcmp(a, "--http-api-max-payload-size"))
			vm.max_payload = strtoul(argv[i + 1], NULL, 10);
		i++;
	}
	if (!valid_instance_id(vm.id)) {
		fprintf(stderr, "thread 'main' panicked: Invalid instance ID: InvalidChar\n");
		abort();
	}
	if (level) {
		static const char *const names[] = {"off",  "error", "warning",
						    "info", "debug", "trace"};

		for (j = 0; j < 6 && strcasecmp(level, names[j]) &&
			    !(j == 2 && !strcasecmp(level, "warn"));
		     j++)
			;
		if (j == 6) {
			fprintf(stderr, "Error: InvalidLogLevel(InvalidLevel(\"%s\"))\n", level);
			return 152;
		}
		vm.log_level = j;
	}
	if (log_path) {
		vm.log_fd = open(log_path, O_WRONLY | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0644);
		if (vm.log_fd < 0) {
			fprintf(stderr, "Error: Logger(OpenFile(\"%s\", %s))\n", log_path,
				strerror(errno));
			return 1;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	if (getenv("EMBER_STANDIN_TRANSCRIPT")) {
		int fd = open(getenv("EMBER_STANDIN_TRANSCRIPT"),
			      O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

		vm.transcript = fd < 0 ? NULL : fdopen(fd, "a");
	}
	if (schema_load(schema_path()) < 0) {
		fprintf(stderr, "firecracker stand-in: cannot read the schema '%s'\n",
			schema_path());
		return 1;
	}
	fc_log("INFO", "Running Firecracker v" FC_VERSION);
	if (delay)
		usleep(atol(delay) * 1000);
	listener = unix_listen(api_sock);
	if (listener < 0) {
		if (errno == EADDRINUSE) {
			fc_log("ERROR",
			       "Failed to open the API socket at: %s. Check that it is not already "
			       "used.",
			       api_sock);
			fprintf(stderr, "Error: RunWithApi(FailedToBindSocket(\"%s\"))\n",
				api_sock);
		} else {
			fc_log("ERROR", "Failed to bind and run the HTTP server: %s",
			       strerror(errno));
			fprintf(stderr,
				"Error: RunWithApi(FailedToBindAndRunHttpServer(IOError(%s)))\n",
				strerror(errno));
		}
		fc_log("ERROR", "Firecracker exiting with error. exit_code=1");
		return 1;
	}
	fc_log("INFO", "Listening on API socket (\"%s\").", api_sock);
	fc_log("INFO", "API server started.");
	for (;;) {
		int n = 0, timeout = -1, ready, api = !vm.hung;

		if (api) {
			fds[n++] = (struct pollfd){.fd = listener, .events = POLLIN};
			for (i = 0; i < MAX_CONNECTIONS; i++)
				fds[n++] = (struct pollfd){.fd = conns[i].fd, .events = POLLIN};
		}
		n += guest_poll_fds(fds + n, 64 - n);
		if (vm.stop_at_ms) {
			long left = vm.stop_at_ms - now_ms();

			if (left <= 0)
				stop_and_exit(0);
			timeout = (int)left;
		}
		ready = poll(fds, n, timeout);
		if (ready < 0 && errno != EINTR)
			return 1;
		if (ready <= 0)
			continue;
		i = 0;
		if (api) {
			if (fds[0].revents & POLLIN)
				api_accept(listener);
			for (i = 0; i < MAX_CONNECTIONS; i++)
				if (conns[i].fd >= 0 && fds[1 + i].fd == conns[i].fd &&
				    fds[1 + i].revents)
					conn_read(&conns[i]);
			i = 1 + MAX_CONNECTIONS;
		}
		guest_poll_handle(fds + i, n - i);
	}
}
