#include "firecracker.h"

/* the plain prototypes: typecheck-gcc.h's macros cannot take __typeof__ */
#define CURL_DISABLE_TYPECHECK 1

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "error.h"

#define LIBCURL "libcurl.so.4"

#define CURL_FUNCTIONS(X)                                                                          \
	X(curl_easy_init)                                                                          \
	X(curl_easy_setopt)                                                                        \
	X(curl_easy_perform)                                                                       \
	X(curl_easy_getinfo)                                                                       \
	X(curl_easy_cleanup)                                                                       \
	X(curl_easy_strerror)                                                                      \
	X(curl_slist_append)                                                                       \
	X(curl_slist_free_all)

static struct {
	void *handle;
#define FIELD(f) __typeof__(&f) f;
	CURL_FUNCTIONS(FIELD)
#undef FIELD
} lib;

static int load(void)
{
	if (lib.handle)
		return 0;
	lib.handle = dlopen(LIBCURL, RTLD_LAZY | RTLD_LOCAL);
	if (!lib.handle) {
		error_code(EXIT_TEMP, "unable to load %s: %s", LIBCURL, dlerror());
		error_hint("install libcurl: apt-get install libcurl4");
		return -1;
	}
#define RESOLVE(f)                                                                                 \
	if (!(*(void **)&lib.f = dlsym(lib.handle, #f))) {                                         \
		error_code(EXIT_TEMP, "%s has no %s", LIBCURL, #f);                                \
		dlclose(lib.handle);                                                               \
		lib.handle = NULL;                                                                 \
		return -1;                                                                         \
	}
	CURL_FUNCTIONS(RESOLVE)
#undef RESOLVE
	return 0;
}

/* A load begun early on a thread of its own, and its result. */
static struct {
	pthread_t thread;
	int started, rc;
	struct error_saved e;
} pre;

static void *preload(void *arg)
{
	(void)arg;
	pre.rc = load();
	if (pre.rc < 0)
		error_save(&pre.e);
	return NULL;
}

void firecracker_preload(void)
{
	if (!lib.handle && !pre.started && pthread_create(&pre.thread, NULL, preload, NULL) == 0)
		pre.started = 1;
}

int firecracker_load(void)
{
	if (pre.started) {
		pthread_join(pre.thread, NULL);
		pre.started = 0;
		if (pre.rc < 0) {
			error_restore(&pre.e);
			return -1;
		}
	}
	return load();
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

struct buffer {
	char *data;
	size_t len, cap;
	int failed;
};

static size_t collect(char *ptr, size_t size, size_t n, void *arg)
{
	struct buffer *b = arg;
	size_t add = size * n;
	char *p;

	if (b->len + add + 1 > b->cap) {
		size_t c = b->cap ? b->cap : 1024;

		while (c < b->len + add + 1)
			c *= 2;
		p = realloc(b->data, c);
		if (!p) {
			b->failed = 1;
			return 0; /* libcurl fails the transfer */
		}
		b->data = p;
		b->cap = c;
	}
	memcpy(b->data + b->len, ptr, add);
	b->len += add;
	b->data[b->len] = '\0';
	return add;
}

int firecracker_open(struct firecracker *fc, const char *sock, int verbose)
{
	static const char *const headers[] = {
	    "Expect:", /* no 100-continue round trip */
	    "Content-Type: application/json",
	    "Accept: application/json",
	};
	struct curl_slist *l;
	size_t i;

	memset(fc, 0, sizeof(*fc));
	fc->verbose = verbose;
	if (firecracker_load() < 0)
		return -1;
	fc->sock = strdup(sock);
	fc->curl = lib.curl_easy_init();
	if (!fc->sock || !fc->curl)
		goto fail;
	for (i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
		l = lib.curl_slist_append(fc->headers, headers[i]);
		if (!l)
			goto fail;
		fc->headers = l;
	}
	lib.curl_easy_setopt(fc->curl, CURLOPT_UNIX_SOCKET_PATH, fc->sock);
	lib.curl_easy_setopt(fc->curl, CURLOPT_HTTPHEADER, fc->headers);
	lib.curl_easy_setopt(fc->curl, CURLOPT_NOSIGNAL, 1L);
	lib.curl_easy_setopt(fc->curl, CURLOPT_WRITEFUNCTION, collect);
	return 0;
fail:
	firecracker_close(fc);
	return error_code(EXIT_TEMP, "unable to set up a connection to '%s'", sock);
}

void firecracker_close(struct firecracker *fc)
{
	if (fc->curl)
		lib.curl_easy_cleanup(fc->curl);
	if (fc->headers)
		lib.curl_slist_free_all(fc->headers);
	free(fc->sock);
	fc->curl = fc->headers = NULL;
	fc->sock = NULL;
}

void firecracker_answer_release(struct firecracker_answer *a)
{
	free(a->body);
	free(a->fault);
	a->body = a->fault = NULL;
}

/* Firecracker's fault_message, when the body is {"fault_message": "..."}. */
static char *fault_of(const char *body)
{
	cJSON *j = cJSON_Parse(body);
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "fault_message");
	char *s = NULL;

	if (cJSON_IsString(m))
		s = strdup(m->valuestring);
	cJSON_Delete(j);
	return s;
}

int firecracker_call(struct firecracker *fc, const char *method, const char *path,
		     const char *body, int timeout_ms, struct firecracker_answer *a)
{
	struct buffer b = {0};
	char url[256];
	double t0;
	CURLcode rc;

	memset(a, 0, sizeof(*a));
	fc->timed_out = 0;
	snprintf(url, sizeof(url), "http://localhost%s", path);
	if (fc->verbose)
		fprintf(stderr, "firecracker: %s %s%s%s\n", method, path, body ? " " : "",
			body ? body : "");
	lib.curl_easy_setopt(fc->curl, CURLOPT_URL, url);
	lib.curl_easy_setopt(fc->curl, CURLOPT_WRITEDATA, &b);
	lib.curl_easy_setopt(fc->curl, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	if (body) {
		lib.curl_easy_setopt(fc->curl, CURLOPT_POSTFIELDS, body);
		lib.curl_easy_setopt(fc->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
		lib.curl_easy_setopt(fc->curl, CURLOPT_CUSTOMREQUEST, method);
	} else {
		lib.curl_easy_setopt(fc->curl, CURLOPT_HTTPGET, 1L);
		lib.curl_easy_setopt(fc->curl, CURLOPT_CUSTOMREQUEST,
				     strcmp(method, "GET") == 0 ? NULL : method);
	}
	t0 = now_ms();
	rc = lib.curl_easy_perform(fc->curl);
	a->ms = now_ms() - t0;
	fc->waited_ms += a->ms;
	if (rc != CURLE_OK) {
		free(b.data);
		if (fc->verbose)
			fprintf(stderr, "firecracker: -> no answer (%.2f ms)\n", a->ms);
		fc->timed_out = rc == CURLE_OPERATION_TIMEDOUT;
		if (fc->timed_out)
			return error_code(EXIT_TEMP, "%s %s: no answer within %d ms", method, path,
					  timeout_ms);
		if (b.failed)
			return error_code(EXIT_TEMP, "%s %s: out of memory", method, path);
		return error_code(EXIT_TEMP, "%s %s: %s", method, path, lib.curl_easy_strerror(rc));
	}
	lib.curl_easy_getinfo(fc->curl, CURLINFO_RESPONSE_CODE, &a->status);
	a->body = b.data ? b.data : strdup("");
	if (!a->body)
		return error_code(EXIT_TEMP, "%s %s: out of memory", method, path);
	if (a->status >= 300)
		a->fault = fault_of(a->body);
	if (fc->verbose)
		fprintf(stderr, "firecracker: -> %ld%s%s (%.2f ms)\n", a->status, *a->body ? " " : "",
			a->body, a->ms);
	return 0;
}

int firecracker_socket_answers(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path))
		return error_code(EXIT_USAGE, "socket path '%s' is too long", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return error_errno("unable to make a socket");
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	if (rc == 0) {
		close(fd);
		return 1;
	}
	rc = errno;
	close(fd);
	if (rc == ENOENT || rc == ECONNREFUSED)
		return 0;
	return error_errnum(rc, "unable to connect to '%s'", path);
}
