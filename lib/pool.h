/* pool: this installation's device-mapper thin pool and volumes. Names:
 * pool "ember-<id>-pool", volumes "ember-<id>-img-<name>" and
 * "ember-<id>-vm-<owner>", dm UUIDs prefixed "EMBER-<id>-" (legacy:
 * "ember-pool", "ember-img-", "ember-vm-", "EMBER--").
 *
 * Thin ids and volume states (creating, ready, deleting, faulty) live in the
 * state database. Every create or delete first records the intended
 * operation and the pool transaction id it will move the pool to, then
 * messages the pool, then moves the pool's transaction id on with
 * set_transaction_id, then finishes the record. The next run that finds a
 * record left half-way compares it with the pool's transaction id and
 * completes or rolls it back (pool_recover); what cannot be decided is marked
 * faulty. Thin ids are handed out in increasing order and never reused.
 *
 * Mutating calls serialize on the lock file locks/pool. */
#ifndef EMBER_POOL_H
#define EMBER_POOL_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "install.h"
#include "output.h"
#include "tables.h"

#define POOL_NAME_LEN 96

struct pool_params {
	uint64_t size;		/* data bytes (rounded down to the block size) */
	uint64_t metadata_size; /* 0: sized for the pool */
	uint64_t block_size;	/* 0: 64 KiB */
	const char *data_dev;	/* NULL: file-backed (pool/data.img) */
};

struct pool_state {
	char name[POOL_NAME_LEN];
	int active;
	char mode[24]; /* inactive, rw, ro, out_of_data_space, needs_check, fail */
	long long transaction_id;
	uint64_t size, metadata_size, block_size;
	uint64_t data_used, metadata_used; /* bytes */
	int data_percent, metadata_percent;
	char data_dev[PATH_MAX]; /* "" when file-backed */
	int volumes, faulty, pending;
};

struct pool_volume {
	char name[POOL_NAME_LEN]; /* the dm name */
	char kind[4];		  /* "img" or "vm" */
	char ident[33];		  /* the image name, or the owner */
	char image[33];		  /* vm: the image it was cloned from */
	long long thin_id;
	uint64_t size;
	char state[12]; /* creating, ready, deleting, faulty */
	int active;
	char device[POOL_NAME_LEN + 16]; /* /dev/mapper/NAME when active */
};

void pool_name(const struct install *in, char *buf, size_t n);
/* KIND is "img" or "vm". */
void pool_volume_prefix(const struct install *in, const char *kind, char *buf, size_t n);
void pool_uuid_prefix(const struct install *in, char *buf, size_t n);
void pool_names(const struct install *in, struct out *o);
/* Remove this installation's volumes and pool from the kernel (files stay). */
int pool_teardown(struct install *in);

/* What a run wants to tell people (recoveries, quarantines): lib never
 * prints, the applet sets this to its warning printer. */
extern void (*pool_report)(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Import progress, called now and then with bytes done of total. */
typedef void (*pool_progress_fn)(uint64_t done, uint64_t total);

/* A thin-pool status line, as the kernel reports it. */
struct pool_kstatus {
	char mode[24]; /* rw, ro, out_of_data_space, needs_check; fail, error */
	long long tid; /* -1 when the pool has failed */
	uint64_t meta_used, meta_total, data_used, data_total; /* in blocks */
};

/* Parse "TID USED/TOTAL USED/TOTAL HELD MODE DISCARD POLICY NEEDS_CHECK ..."
 * (metadata, then data), "Fail" or "Error"; 101 when it is none of those. */
int pool_parse_status(const char *params, struct pool_kstatus *k);

/* A size operand: digits with an optional K, M, G or T (powers of 1024,
 * "KiB" and "K" alike); exit 100 naming WHAT when it is not a size. */
int pool_parse_size(const char *what, const char *s, uint64_t *bytes);

int pool_create(struct install *in, const struct pool_params *p, struct pool_state *st);
int pool_activate(struct install *in, struct pool_state *st);
/* Exit code 1 when this installation has no pool. */
int pool_status(struct install *in, struct pool_state *st);
int pool_grow(struct install *in, uint64_t size, struct pool_state *st);
/* Remove the volumes and the pool from the kernel, detach the loops;
 * refused while a volume is active unless FORCE. PURGE also forgets the pool
 * and its volumes and removes the files. */
int pool_destroy(struct install *in, int force, int purge);
/* Complete or roll back what a killed run left half-way. */
int pool_recover(struct install *in);

int pool_import(struct install *in, const char *image, const char *file, pool_progress_fn progress,
		struct pool_volume *v);
/* SIZE 0: the image's size. */
int pool_clone(struct install *in, const char *image, const char *owner, uint64_t size,
	       struct pool_volume *v);
/* VOLUME: an owner (its VM volume) or a full dm name of this installation. */
int pool_volume_activate(struct install *in, const char *volume, struct pool_volume *v);
int pool_volume_deactivate(struct install *in, const char *volume, struct pool_volume *v);
/* *FOUND = 0 when there was no such volume (which is no error). */
int pool_volume_delete(struct install *in, const char *volume, struct pool_volume *v, int *found);
int pool_list(struct install *in, int (*fn)(const struct pool_volume *v, void *ctx), void *ctx);

/* Its tables, for the one opener and the owners reconcile lists. */
extern const struct tables pool_tables;

#endif
