/* iptables: the kernel's IPv4 rules through iptables-save (read) and
 * `iptables-restore --noflush -w` (one transaction per change). The parser
 * is a pure function over iptables-save's text, so it is tested on captured
 * output. The backend is the one the `iptables` alternative points to
 * (xtables-nft-multi or xtables-legacy-multi), or $EMBER_IPTABLES
 * ("nft" or "legacy") when set. */
#ifndef EMBER_IPTABLES_H
#define EMBER_IPTABLES_H

#include <stddef.h>

#define IPT_TABLE_LEN 16
#define IPT_CHAIN_LEN 32 /* xtables allows 28 characters */

struct ipt_chain {
	char table[IPT_TABLE_LEN];
	char name[IPT_CHAIN_LEN];
	char policy[16]; /* "ACCEPT", "DROP" for built-in chains, "-" for user chains */
};

struct ipt_rule {
	char table[IPT_TABLE_LEN];
	char chain[IPT_CHAIN_LEN];
	char *spec;    /* the text after "-A CHAIN ", exactly as iptables-save printed it */
	char *norm;    /* SPEC's tokens unquoted, one space apart (for comparing) */
	char *comment; /* the value of its first `-m comment --comment`, unquoted; NULL none */
	char *target;  /* the value of -j / -g; NULL none */
};

struct ipt_ruleset {
	struct ipt_chain *chains;
	int nchains;
	struct ipt_rule *rules;
	int nrules;
};

/* Parse the output of iptables-save into RS (every table it holds). A line
 * that is none of "*table", ":chain policy [p:b]", "-A chain ...", "COMMIT"
 * or a "#" comment is an error (exit 101). */
int ipt_parse_save(const char *text, struct ipt_ruleset *rs);
void ipt_ruleset_release(struct ipt_ruleset *rs);

/* Split SPEC into tokens the way iptables-restore does (double quotes group,
 * a backslash escapes the next character inside them) and write them to OUT
 * unquoted, one space apart. -1 when SPEC has an unterminated quote. */
int ipt_normalize(const char *spec, char *out, size_t n);
/* The value of the first `--comment` option of SPEC after `-m comment`
 * (unquoted) into OUT: 1 found, 0 none. */
int ipt_spec_comment(const char *spec, char *out, size_t n);

/* The chain called NAME in TABLE, or NULL. */
const struct ipt_chain *ipt_find_chain(const struct ipt_ruleset *rs, const char *table, const char *name);

/* "nft" or "legacy": $EMBER_IPTABLES, else where the `iptables` on PATH
 * leads, else what `iptables --version` says; "" when none of them tells. */
const char *ipt_backend(void);
/* $EMBER_IPTABLES is unset, "nft" or "legacy"; anything else 100. */
int ipt_env_check(void);

/* Read every table of the backend (one iptables-save). */
int ipt_save(struct ipt_ruleset *rs);
/* Apply SCRIPT (iptables-restore input: "*table ... COMMIT" sections) with
 * `iptables-restore --noflush -w`. Each section is a transaction of its own:
 * a failure leaves the sections before the failing one applied. */
int ipt_restore(const char *script);
/* The same, for a script that asserts as it goes (-C lines, -D of rules that
 * should exist): 0 applied, 1 iptables refused it at line *LINE (the
 * sections that end before it were applied, the rest not; no error
 * recorded), -1 it could not run or failed without naming a line (error
 * recorded: anything may have been applied). */
int ipt_try_restore(const char *script, int *line);
/* Read only the chains CHAINS[i] of TABLES[i] ("filter" or "nat") into RS:
 * on nft one iptables-nft-restore of "-S CHAIN" lines, which reads those
 * chains only; on legacy one iptables-save. 0 read, 1 a chain does not
 * exist (no error recorded), -1 error. */
int ipt_read_chains(const char *const *tables, const char *const *chains, int n,
		    struct ipt_ruleset *rs);
/* Does TABLE have CHAIN? One `iptables -S CHAIN`, which reads that chain
 * only (nft). 1 yes, 0 no, -1 error. */
int ipt_chain_exists(const char *table, const char *chain);

#endif
