/* vm: VM records and their Firecracker processes.
 *
 * The durable record (what the VM is, its state and the last reason) lives
 * in the table vms of state.db; what is true right now (the pid, its start
 * time, the sockets) lives in vms/<name>/handles.json, written atomically
 * right after the spawn and before the first API call, and rebuilt from
 * /proc (the process whose --api-sock argument is the VM's socket path)
 * when it is missing. A process counts as the VM's only when its pid exists,
 * is not a zombie, has the recorded start time and names the VM's exact API
 * socket; anything else is never signalled.
 *
 * The module is three files: vm.c (the record, its table, create, delete,
 * list), vm_proc.c (the handles, liveness, kill and stop) and vm_start.c
 * (the start sequence and its rollback). Every changing call holds the VM's
 * lock (locks/vm.<name>); reading calls never wait for it. ember-vm owns the
 * record and the process only: TAPs, rules, addresses, CIDs and volumes are
 * asked about (through their modules) but never changed. */
#ifndef EMBER_VM_H
#define EMBER_VM_H

#include <stdint.h>
#include <sys/types.h>

#include "cidr.h"
#include "install.h"
#include "name.h"
#include "tables.h"

#define VM_SUN_PATH 108            /* sizeof(sun_path), its NUL included */
#define VM_DRIVES_MAX 16           /* extra drives besides the rootfs */
#define VM_DRIVE_ID_MAX 32
#define VM_VCPUS_MAX 32
#define VM_MEMORY_MIN 128          /* MiB */
#define VM_MEMORY_MAX (1024 * 1024) /* MiB: 1 TiB */
#define VM_BOOT_ARGS_MAX 2048      /* the x86 kernel command line, its NUL included */
#define VM_BOOT_ARGS_DEFAULT "console=ttyS0 reboot=k panic=1 pci=off"
#define VM_START_TIMEOUT_MS 5000
#define VM_STOP_TIMEOUT_MS 10000
#define VM_MAC_LEN 18
#define VM_TAP_LEN 16              /* IFNAMSIZ */

enum vm_state { VM_CREATED, VM_STARTING, VM_RUNNING, VM_STOPPED, VM_FAILED, VM_STATES };

const char *vm_state_name(enum vm_state s);
/* "created", "starting", ...; anything else 100. */
int vm_parse_state(const char *s, enum vm_state *st);

struct vm_drive {
	char id[VM_DRIVE_ID_MAX + 1];
	char *path; /* absolute, owned */
	int read_only;
};

/* What create was asked, as the user gave it (NULL: not given). */
struct vm_request {
	const char *kernel, *rootfs, *initrd, *boot_args, *vcpus, *memory;
	const char *drives[VM_DRIVES_MAX + 1]; /* ID=PATH[:ro] */
	int n_drives;                          /* VM_DRIVES_MAX + 1: too many */
	const char *tap, *guest_ip, *host_ip, *mac, *mtu, *cid;
	int no_rootfs, read_only, no_net, no_vsock;
};

/* One VM: its record, and what liveness found. */
struct vm {
	char name[NAME_MAX_LEN + 1];
	char *kernel, *initrd, *rootfs; /* absolute, owned; initrd, rootfs NULL: none */
	int read_only;                  /* of the rootfs */
	char *boot_args;                /* as Firecracker gets them (ip= included) */
	int vcpus, memory;
	struct vm_drive drives[VM_DRIVES_MAX];
	int n_drives;
	char tap[VM_TAP_LEN];        /* "" no network */
	char mac[VM_MAC_LEN];        /* "" no network */
	char guest_ip[IP4_LEN];
	char host_ip[CIDR_LEN];      /* with its prefix */
	int mtu;                     /* 0: not advertised */
	uint32_t cid;                /* 0: no vsock */
	char api_sock[VM_SUN_PATH];  /* absolute */
	char vsock_uds[VM_SUN_PATH]; /* "" no vsock */
	enum vm_state state;
	char *reason;                /* owned, NULL none */
	long long started, created;  /* unix seconds; started 0: never */

	/* liveness (vm_probe) */
	int alive;
	pid_t pid;                     /* the live process's, else 0 */
	unsigned long long start_time; /* its /proc start time */
	const char *why;               /* not alive although recorded running: why */
	int rebuilt;                   /* the handles came from /proc */
	/* vm_show only: what Firecracker itself says ("" when not asked) */
	char fc_state[32], fc_id[72];
};

void vm_release(struct vm *v);

struct vm_records {
	struct vm *v;
	int n;
};
void vm_records_release(struct vm_records *l);

/* Create NAME as R asks, after validating everything (100 on bad input,
 * naming it), or confirm it exists with these parameters (CREATED says
 * which); other parameters: 102. Network and vsock not given come from what
 * the owner NAME holds in ember-tap, ember-ipalloc and ember-cidalloc. */
int vm_create(struct install *in, const char *name, const struct vm_request *r, struct vm *v,
	      int *created);

struct vm_start_opts {
	int timeout_ms; /* socket, GET / and each request; 0: VM_START_TIMEOUT_MS */
	int verbose;    /* each request and answer on stderr */
	/* filled: time spent waiting for Firecracker's answers, and the rest
	 * of the start from the call to InstanceStart answered */
	double waited_ms, own_ms;
};
/* Start NAME's Firecracker and configure it; running already: 0. Any
 * failure kills the process, removes its sockets and handles and records
 * state failed with the reason (Firecracker's fault_message: 100; the
 * system or Firecracker: 111). No such VM: 1. */
int vm_start(struct install *in, const char *name, struct vm_start_opts *o, struct vm *v);

struct vm_stop_opts {
	int force;      /* SIGKILL at once */
	int timeout_ms; /* for the exit after Ctrl-Alt-Del; 0: VM_STOP_TIMEOUT_MS */
	int verbose;
};
/* Stop NAME: SendCtrlAltDel, wait for the exit up to the timeout, then
 * SIGKILL; remove the sockets and handles; state stopped with the reason.
 * Stopped already: 0. No such VM: 1. */
int vm_stop(struct install *in, const char *name, const struct vm_stop_opts *o, struct vm *v);
/* Stop every VM of the installation that is starting, running or alive, all
 * at once. Each result goes to DONE (ERR: 0, or the exit code of its failure
 * with the error recorded). Returns how many failed, or -1. */
int vm_stop_all(struct install *in, const struct vm_stop_opts *o,
		void (*done)(const struct vm *v, int err, void *ctx), void *ctx);
/* Delete NAME's record and vms/<name>/. Alive or starting/running without
 * FORCE: 102; with it, stopped first (SIGKILL). Absent: 0, *DELETED = 0. */
int vm_delete(struct install *in, const char *name, int force, struct vm *v, int *deleted);

/* NAME's record and liveness: 1, or 0 when there is no such VM. With ASK,
 * a live Firecracker is asked GET / for its own state and id. */
int vm_show(struct install *in, const char *name, int ask, struct vm *v);
/* Every VM (those in STATE only, when STATE >= 0), by name, with liveness. */
int vm_list(struct install *in, int state, struct vm_records *l);

/* Replace STATE/hosts with TEXT ('IP NAME' lines), under locks/hosts so that
 * two writers take turns: a temporary file renamed over it (readers see the
 * old or the new file, never half; no fsync: it names processes, which a
 * power loss ends anyway), after removing what a killed writer left. */
int vm_hosts_write(struct install *in, const char *text);

/* Calls FN for each registered VM name; returns how many, or -1. */
int vm_each_registered(struct install *in, void (*fn)(const char *name, void *ctx), void *ctx);

/* Its table, for the one opener and the owners reconcile lists. */
extern const struct tables vm_tables;

/* ---- shared by the files of lib/vm (not for applets) ---- */

/* The database with the table (CREATE), or without: 0 when there is none. */
int vm_db(struct install *in, struct db **db, int create);
/* Read NAME's record: 1, 0 none. */
int vm_read(struct db *db, const char *name, struct vm *v);
/* Record STATE and REASON (NULL: none); STARTED > 0 sets it. */
int vm_set_state(struct db *db, const char *name, enum vm_state state, const char *reason,
		 long long started);
/* The VM's lock, taken (exclusive, waiting): its descriptor, or -1. */
int vm_lock(struct install *in, const char *name);
/* vms/<name>/REL into BUF (absolute). */
int vm_path(const struct install *in, const char *name, const char *rel, char *buf, size_t n);

/* The handles file and liveness (vm_proc.c). */
struct vm_handles {
	pid_t pid;
	unsigned long long start_time;
	char api_sock[VM_SUN_PATH];
	char vsock_uds[VM_SUN_PATH];
};
/* 1 read, 0 missing or unreadable (no error recorded), -1. */
int vm_handles_read(const struct install *in, const char *name, struct vm_handles *h);
int vm_handles_write(const struct install *in, const char *name, const struct vm_handles *h);
/* Parse the text of handles.json: 0, or -1 (not a handles file). */
int vm_handles_parse(const char *text, struct vm_handles *h);
/* Fill V's liveness from its handles (or /proc). */
int vm_probe(const struct install *in, struct vm *v);
/* A pidfd of V's live process, its identity checked again after the pidfd
 * pinned it: the descriptor, -2 when it is not alive (any more), -1. */
int vm_pidfd(const struct vm *v);
/* SIGKILL through PIDFD and wait up to TIMEOUT_MS for the exit. */
int vm_kill(int pidfd, int timeout_ms);
/* Wait up to TIMEOUT_MS for PIDFD's process to exit: 1 exited, 0 not yet. */
int vm_wait_exit(int pidfd, int timeout_ms);
/* Unlink the sockets Firecracker never unlinks and handles.json. */
int vm_cleanup(const struct install *in, const struct vm *v);
/* The reason liveness gives for a recorded-running VM whose process is gone. */
#define VM_GONE "process gone"
#define VM_GONE_REUSED "process gone (pid reused)"

#endif
