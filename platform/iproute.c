#include "iproute.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cidr.h"
#include "error.h"
#include "spawn.h"

#define IP_TIMEOUT_MS 30000

/* Copy a JSON string or number into BUF; "" when absent or of another type. */
static void copy_scalar(const cJSON *item, char *buf, size_t n)
{
	buf[0] = '\0';
	if (cJSON_IsString(item) && item->valuestring)
		snprintf(buf, n, "%s", item->valuestring);
	else if (cJSON_IsNumber(item) && item->valuedouble >= 0)
		snprintf(buf, n, "%.0f", item->valuedouble);
}

static int has_flag(const cJSON *flags, const char *flag)
{
	const cJSON *f;

	cJSON_ArrayForEach(f, flags) if (cJSON_IsString(f) &&
					 strcmp(f->valuestring, flag) == 0) return 1;
	return 0;
}

static void parse_linkinfo(const cJSON *info, struct iproute_link *l)
{
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(info, "info_kind");
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(info, "info_data");
	const cJSON *type;

	if (!cJSON_IsString(kind) || strcmp(kind->valuestring, "tun") != 0 || !cJSON_IsObject(data))
		return;
	type = cJSON_GetObjectItemCaseSensitive(data, "type");
	l->tap = cJSON_IsString(type) && strcmp(type->valuestring, "tap") == 0;
	l->multi_queue = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(data, "multi_queue"));
	l->persist = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(data, "persist"));
	copy_scalar(cJSON_GetObjectItemCaseSensitive(data, "user"), l->user, sizeof(l->user));
	copy_scalar(cJSON_GetObjectItemCaseSensitive(data, "group"), l->group, sizeof(l->group));
}

static int parse_addresses(const cJSON *addrs, struct iproute_link *l)
{
	const cJSON *a, *family, *local, *prefix;

	cJSON_ArrayForEach(a, addrs)
	{
		uint32_t ip;

		family = cJSON_GetObjectItemCaseSensitive(a, "family");
		if (!cJSON_IsString(family))
			continue;
		if (strcmp(family->valuestring, "inet6") == 0) {
			l->ninet6++;
			continue;
		}
		if (strcmp(family->valuestring, "inet") != 0)
			continue;
		local = cJSON_GetObjectItemCaseSensitive(a, "local");
		prefix = cJSON_GetObjectItemCaseSensitive(a, "prefixlen");
		if (!cJSON_IsString(local) || !cJSON_IsNumber(prefix) || prefix->valueint < 0 ||
		    prefix->valueint > 32 || ip4_parse(local->valuestring, &ip) < 0)
			return error_code(EXIT_INTERNAL,
					  "unable to read the addresses of '%s' from ip -j",
					  l->name);
		if (l->naddr++ == 0)
			snprintf(l->addr, sizeof(l->addr), "%s/%d", local->valuestring,
				 prefix->valueint);
	}
	return 0;
}

static int parse_link(const cJSON *item, struct iproute_link *l)
{
	const cJSON *name, *v;

	memset(l, 0, sizeof(*l));
	name = cJSON_GetObjectItemCaseSensitive(item, "ifname");
	if (!cJSON_IsString(name) || !*name->valuestring ||
	    strlen(name->valuestring) >= IPROUTE_NAME_LEN)
		return error_code(EXIT_INTERNAL,
				  "unable to read ip -j output: a link without a valid ifname");
	strcpy(l->name, name->valuestring);
	v = cJSON_GetObjectItemCaseSensitive(item, "ifindex");
	l->ifindex = cJSON_IsNumber(v) ? v->valueint : 0;
	v = cJSON_GetObjectItemCaseSensitive(item, "mtu");
	l->mtu = cJSON_IsNumber(v) ? v->valueint : 0;
	l->up = has_flag(cJSON_GetObjectItemCaseSensitive(item, "flags"), "UP");
	v = cJSON_GetObjectItemCaseSensitive(item, "ifalias");
	if (cJSON_IsString(v))
		snprintf(l->alias, sizeof(l->alias), "%s", v->valuestring);
	v = cJSON_GetObjectItemCaseSensitive(item, "linkinfo");
	if (cJSON_IsObject(v))
		parse_linkinfo(v, l);
	return parse_addresses(cJSON_GetObjectItemCaseSensitive(item, "addr_info"), l);
}

int iproute_parse_links(const char *json, struct iproute_links *links)
{
	const cJSON *item;
	cJSON *root;
	int n, rc = -1;

	links->v = NULL;
	links->n = 0;
	/* ip prints nothing at all (not "[]") for a filter that matches nothing */
	while (*json == ' ' || *json == '\n' || *json == '\t' || *json == '\r')
		json++;
	if (!*json)
		return 0;
	root = cJSON_Parse(json);
	if (!cJSON_IsArray(root)) {
		error_code(EXIT_INTERNAL, "unable to read ip -j output: not a JSON array");
		goto out;
	}
	n = cJSON_GetArraySize(root);
	if (n > 0) {
		links->v = calloc((size_t)n, sizeof(*links->v));
		if (!links->v) {
			error_errno("unable to read ip -j output");
			goto out;
		}
	}
	cJSON_ArrayForEach(item, root)
	{
		if (!cJSON_IsObject(item)) {
			error_code(EXIT_INTERNAL,
				   "unable to read ip -j output: a link is not an object");
			goto out;
		}
		if (parse_link(item, &links->v[links->n]) < 0)
			goto out;
		links->n++;
	}
	rc = 0;
out:
	cJSON_Delete(root);
	if (rc < 0)
		iproute_links_release(links);
	return rc;
}

void iproute_links_release(struct iproute_links *links)
{
	free(links->v);
	links->v = NULL;
	links->n = 0;
}

/* ip's stderr: the message of the failing line and the "Command failed -:N" line. */
void iproute_parse_failure(const char *err, struct iproute_failure *f)
{
	const char *line = err, *end, *p;
	size_t len;

	memset(f, 0, sizeof(*f));
	while (line && *line) {
		end = strchr(line, '\n');
		len = end ? (size_t)(end - line) : strlen(line);
		if (len > 15 && strncmp(line, "Command failed ", 15) == 0) {
			/* "Command failed -:N": N up to the end of this line only */
			for (p = line + len; p > line && p[-1] != ':'; p--)
				;
			f->line = 0;
			for (; p < line + len && *p >= '0' && *p <= '9' && f->line < 100000000; p++)
				f->line = f->line * 10 + (*p - '0');
		} else if (len > 0 && !f->message[0]) {
			if (len > 7 && strncmp(line, "Error: ", 7) == 0) {
				f->refused = 1;
				line += 7;
				len -= 7;
			}
			if (len >= sizeof(f->message))
				len = sizeof(f->message) - 1;
			memcpy(f->message, line, len);
			while (len > 0 &&
			       (f->message[len - 1] == '.' || f->message[len - 1] == ' '))
				len--;
			f->message[len] = '\0';
		}
		line = end ? end + 1 : NULL;
	}
	if (!f->message[0])
		snprintf(f->message, sizeof(f->message), "failed with no message");
}

static void print_script(const char *script)
{
	const char *p = script, *end;

	while (*p) {
		end = strchr(p, '\n');
		if (!end)
			end = p + strlen(p);
		fprintf(stderr, "  %.*s\n", (int)(end - p), p);
		p = *end ? end + 1 : end;
	}
}

int iproute_batch(const char *script, int force, struct iproute_failure *f)
{
	const char *const argv_plain[] = {"ip", "-batch", "-", NULL};
	const char *const argv_force[] = {"ip", "-force", "-batch", "-", NULL};
	struct spawn s;
	int rc = -1;

	memset(f, 0, sizeof(*f));
	if (spawn_run(force ? argv_force : argv_plain, script, strlen(script), IP_TIMEOUT_MS, &s) <
	    0) {
		f->line = -1; /* ip did not run (or was killed): its error stays recorded */
		snprintf(f->message, sizeof(f->message), "%s", error_message());
		return -1;
	}
	if (spawn_verbose) /* the batch is the command: show what it said */
		print_script(script);
	if (s.status == 0) {
		rc = 0;
		goto out;
	}
	if (s.signal) {
		/* killed part-way: any line may have run */
		f->line = -1;
		snprintf(f->message, sizeof(f->message), "ip %s", spawn_reason(&s));
	} else {
		iproute_parse_failure(s.err, f);
	}
	error_code(EXIT_TEMP, "ip -batch: %s", f->message);
out:
	spawn_release(&s);
	return rc;
}

int iproute_links_read(const char *dev, struct iproute_links *links)
{
	const char *argv[] = {"ip", "-j", "-d", "addr", "show", NULL, NULL, NULL};
	struct spawn s;
	int rc = -1;

	links->v = NULL;
	links->n = 0;
	if (dev) {
		argv[5] = "dev";
		argv[6] = dev;
	}
	if (spawn_run(argv, NULL, 0, IP_TIMEOUT_MS, &s) < 0)
		return -1;
	if (s.status != 0) {
		/* an absent device is an answer, not a failure */
		if (dev && strstr(s.err, "does not exist"))
			rc = 0;
		else
			error_code(EXIT_TEMP, "unable to list links with 'ip -j addr show': %s",
				   spawn_reason(&s));
		goto out;
	}
	rc = iproute_parse_links(s.out, links);
out:
	spawn_release(&s);
	return rc;
}

int iproute_link_exists(const char *name)
{
	return if_nametoindex(name) != 0;
}

int iproute_any_link_prefixed(const char *prefix)
{
	struct if_nameindex *all, *i;
	size_t n = strlen(prefix);
	int found = 0;

	all = if_nameindex();
	if (!all)
		return error_errno("unable to list the links");
	for (i = all; i->if_index != 0 && !found; i++)
		found = strncmp(i->if_name, prefix, n) == 0;
	if_freenameindex(all);
	return found;
}

int iproute_has_ipv6(void)
{
	return access("/proc/sys/net/ipv6/conf", F_OK) == 0;
}

int iproute_disable_ipv6(const char *name)
{
	char path[128];
	ssize_t w;
	int fd;

	if (strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return error_code(EXIT_INTERNAL, "invalid link name '%s'", name);
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return error_errno("unable to disable IPv6 on '%s'", name);
	w = write(fd, "1\n", 2);
	if (w != 2) {
		error_errno("unable to disable IPv6 on '%s'", name);
		close(fd);
		return -1;
	}
	if (close(fd) < 0)
		return error_errno("unable to disable IPv6 on '%s'", name);
	return 0;
}
