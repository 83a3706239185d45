#include "iptables.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "probe.h"
#include "spawn.h"

#define IPT_TIMEOUT_MS 60000

/* The next token of *P into BUF (capacity N), unquoted; *QUOTED says whether
 * it was quoted (a quoted "--comment" is a value, never an option). 1 found,
 * 0 end, -1 an unterminated quote. */
static int next_token(const char **p, char *buf, size_t n, int *quoted)
{
	const char *s = *p;
	size_t len = 0;
	int inq = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s) {
		*p = s;
		return 0;
	}
	*quoted = 0;
	while (*s && (inq || (*s != ' ' && *s != '\t'))) {
		if (*s == '"') {
			inq = !inq;
			*quoted = 1;
			s++;
			continue;
		}
		if (inq && *s == '\\' && (s[1] == '"' || s[1] == '\\'))
			s++;
		if (len + 1 < n)
			buf[len++] = *s;
		s++;
	}
	buf[len] = '\0';
	*p = s;
	return inq ? -1 : 1;
}

int ipt_normalize(const char *spec, char *out, size_t n)
{
	char tok[1024];
	size_t len = 0;
	int quoted, rc;

	if (n)
		out[0] = '\0';
	while ((rc = next_token(&spec, tok, sizeof(tok), &quoted)) == 1) {
		len += (size_t)snprintf(out + (len < n ? len : n), len < n ? n - len : 0, "%s%s",
					len ? " " : "", tok);
	}
	return rc < 0 ? -1 : 0;
}

/* Options whose next token is a value, whatever it looks like: iptables-save
 * leaves a plain word unquoted, so an interface or a comment may read "-j". */
static int takes_value(const char *opt)
{
	static const char *const with_value[] = {"-s", "-d", "-i", "-o", "-p", "-m", "--comment",
						 "--log-prefix", NULL};
	int i;

	for (i = 0; with_value[i]; i++)
		if (strcmp(opt, with_value[i]) == 0)
			return 1;
	return 0;
}

/* The value following the option OPT (unquoted), after a "-m MATCH" when
 * MATCH is given: 1 found, 0 not. */
static int spec_option(const char *spec, const char *match, const char *opt, char *out, size_t n)
{
	char tok[1024], prev[1024] = "";
	int quoted, in_match = match == NULL, rc, value;

	while ((rc = next_token(&spec, tok, sizeof(tok), &quoted)) == 1) {
		value = prev[0] && takes_value(prev); /* TOK is the value of PREV */
		if (!quoted && match && strcmp(prev, "-m") == 0)
			in_match = strcmp(tok, match) == 0 || in_match;
		if (value) {
			prev[0] = '\0';
			continue;
		}
		if (!quoted && in_match && strcmp(tok, opt) == 0) {
			if (next_token(&spec, out, n, &quoted) != 1)
				return 0;
			return 1;
		}
		snprintf(prev, sizeof(prev), "%s", quoted ? "" : tok);
	}
	return 0;
}

int ipt_spec_comment(const char *spec, char *out, size_t n)
{
	return spec_option(spec, "comment", "--comment", out, n);
}

static char *dup_or_null(const char *s, int present)
{
	return present ? strdup(s) : NULL;
}

static int grow(void **v, int n, int *cap, size_t size)
{
	void *p;

	if (n < *cap)
		return 0;
	*cap = *cap ? *cap * 2 : 64;
	p = realloc(*v, (size_t)*cap * size);
	if (!p)
		return error_errno("unable to grow the rule list");
	*v = p;
	return 0;
}

/* "-A CHAIN SPEC" of TABLE into RS. */
static int add_rule(struct ipt_ruleset *rs, int *cap, const char *table, const char *line, int lineno)
{
	char chain[IPT_CHAIN_LEN], value[1024];
	const char *sp = line + 3, *end;
	struct ipt_rule *r;
	size_t clen, slen = strlen(line);

	end = strchr(sp, ' ');
	clen = end ? (size_t)(end - sp) : strlen(sp);
	if (clen == 0 || clen >= sizeof(chain))
		return error("iptables-save line %d: bad chain in '%s'", lineno, line);
	memcpy(chain, sp, clen);
	chain[clen] = '\0';
	sp = end ? end + 1 : sp + clen;
	if (grow((void **)&rs->rules, rs->nrules, cap, sizeof(*rs->rules)) < 0)
		return -1;
	r = &rs->rules[rs->nrules];
	memset(r, 0, sizeof(*r));
	snprintf(r->table, sizeof(r->table), "%s", table);
	snprintf(r->chain, sizeof(r->chain), "%s", chain);
	r->spec = strdup(sp);
	r->norm = malloc(slen + 1);
	if (!r->spec || !r->norm) {
		free(r->spec);
		free(r->norm);
		return error_errno("unable to read the rules");
	}
	rs->nrules++;
	if (ipt_normalize(sp, r->norm, slen + 1) < 0)
		return error("iptables-save line %d: unterminated quote in '%s'", lineno, line);
	r->comment = dup_or_null(value, ipt_spec_comment(sp, value, sizeof(value)));
	if (!spec_option(sp, NULL, "-j", value, sizeof(value)))
		r->target = dup_or_null(value, spec_option(sp, NULL, "-g", value, sizeof(value)));
	else
		r->target = strdup(value);
	return 0;
}

static int add_chain(struct ipt_ruleset *rs, int *cap, const char *table, const char *line, int lineno)
{
	struct ipt_chain *c;
	char name[IPT_CHAIN_LEN], policy[16];

	const char *sp = strchr(line, ' ');
	size_t nlen = sp ? (size_t)(sp - line - 1) : 0;

	/* a name or policy longer than any iptables writes is no iptables-save */
	if (!sp || nlen == 0 || nlen >= sizeof(name) || strcspn(sp + 1, " ") >= sizeof(policy) ||
	    sscanf(line, ":%31s %15s", name, policy) != 2)
		return error("iptables-save line %d: bad chain '%s'", lineno, line);
	if (grow((void **)&rs->chains, rs->nchains, cap, sizeof(*rs->chains)) < 0)
		return -1;
	c = &rs->chains[rs->nchains++];
	snprintf(c->table, sizeof(c->table), "%s", table);
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->policy, sizeof(c->policy), "%s", policy);
	return 0;
}

int ipt_parse_save(const char *text, struct ipt_ruleset *rs)
{
	char table[IPT_TABLE_LEN] = "", *line = NULL;
	const char *p = text, *nl;
	int chain_cap = 0, rule_cap = 0, lineno = 0, rc = -1;
	size_t len;

	memset(rs, 0, sizeof(*rs));
	for (; *p; p = *nl ? nl + 1 : nl) {
		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p);
		len = (size_t)(nl - p);
		lineno++;
		free(line);
		line = strndup(p, len);
		if (!line) {
			error_errno("unable to read the rules");
			goto out;
		}
		if (len && line[len - 1] == '\r')
			line[len - 1] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if (line[0] == '*') {
			if (strlen(line + 1) == 0 || strlen(line + 1) >= sizeof(table)) {
				error("iptables-save line %d: bad table '%s'", lineno, line);
				goto out;
			}
			snprintf(table, sizeof(table), "%s", line + 1);
		} else if (!table[0]) {
			error("iptables-save line %d: '%s' outside a table", lineno, line);
			goto out;
		} else if (strcmp(line, "COMMIT") == 0) {
			table[0] = '\0';
		} else if (line[0] == ':') {
			if (add_chain(rs, &chain_cap, table, line, lineno) < 0)
				goto out;
		} else if (strncmp(line, "-A ", 3) == 0) {
			if (add_rule(rs, &rule_cap, table, line, lineno) < 0)
				goto out;
		} else {
			error("iptables-save line %d: unexpected '%s'", lineno, line);
			goto out;
		}
	}
	rc = 0;
out:
	free(line);
	if (rc < 0) {
		error_hint("iptables-save printed something this version of ember cannot read");
		ipt_ruleset_release(rs);
	}
	return rc;
}

void ipt_ruleset_release(struct ipt_ruleset *rs)
{
	int i;

	for (i = 0; i < rs->nrules; i++) {
		free(rs->rules[i].spec);
		free(rs->rules[i].norm);
		free(rs->rules[i].comment);
		free(rs->rules[i].target);
	}
	free(rs->rules);
	free(rs->chains);
	memset(rs, 0, sizeof(*rs));
}

const struct ipt_chain *ipt_find_chain(const struct ipt_ruleset *rs, const char *table, const char *name)
{
	int i;

	for (i = 0; i < rs->nchains; i++)
		if (strcmp(rs->chains[i].name, name) == 0 && strcmp(rs->chains[i].table, table) == 0)
			return &rs->chains[i];
	return NULL;
}

const char *ipt_backend(void)
{
	static const char *cached;
	const char *argv[] = {"iptables", "--version", NULL};
	char path[PATH_MAX], real[PATH_MAX];
	const char *env = getenv("EMBER_IPTABLES");
	struct spawn s;

	if (cached)
		return cached;
	if (env && (strcmp(env, "nft") == 0 || strcmp(env, "legacy") == 0))
		return cached = strcmp(env, "nft") == 0 ? "nft" : "legacy";
	cached = "";
	/* Debian: /usr/sbin/iptables -> /etc/alternatives/iptables ->
	 * /usr/sbin/iptables-nft -> xtables-nft-multi; no program to run */
	if (probe_program("iptables", path, sizeof(path)) && realpath(path, real)) {
		if (strstr(real, "xtables-nft-multi"))
			return cached = "nft";
		if (strstr(real, "xtables-legacy-multi"))
			return cached = "legacy";
	}
	if (spawn_run(argv, NULL, 0, 5000, &s) == 0) {
		if (s.status == 0 && strstr(s.out, "(nf_tables)"))
			cached = "nft";
		else if (s.status == 0 && strstr(s.out, "(legacy)"))
			cached = "legacy";
		spawn_release(&s);
	}
	error_clear();
	return cached;
}

int ipt_env_check(void)
{
	const char *env = getenv("EMBER_IPTABLES");

	if (!env || strcmp(env, "nft") == 0 || strcmp(env, "legacy") == 0)
		return 0;
	error_code(EXIT_USAGE, "invalid EMBER_IPTABLES '%s': nft or legacy", env);
	error_hint("unset it to use the backend the iptables alternative points to");
	return -1;
}

/* "iptables-nft-save", "iptables-legacy-save" or "iptables-save" (WHAT = "save"). */
static int program(const char *what, char *buf, size_t n)
{
	const char *b;

	if (ipt_env_check() < 0)
		return -1;
	b = ipt_backend();
	if (*b)
		snprintf(buf, n, "iptables-%s-%s", b, what);
	else
		snprintf(buf, n, "iptables-%s", what);
	return 0;
}

int ipt_save(struct ipt_ruleset *rs)
{
	char prog[64];
	const char *argv[] = {prog, NULL};
	struct spawn s;
	int rc;

	memset(rs, 0, sizeof(*rs));
	if (program("save", prog, sizeof(prog)) < 0)
		return -1;
	if (spawn_run(argv, NULL, 0, IPT_TIMEOUT_MS, &s) < 0) {
		error_hint("install iptables (apt-get install iptables), or set EMBER_IPTABLES=nft|legacy");
		return -1;
	}
	if (s.status != 0) {
		error_code(EXIT_TEMP, "unable to read the rules: %s: %s", prog, spawn_reason(&s));
		spawn_release(&s);
		return -1;
	}
	rc = ipt_parse_save(s.out, rs);
	spawn_release(&s);
	return rc;
}

/* The line iptables-restore names in its complaint ("line N failed",
 * "Error occurred at line: N"); 0 when it names none. */
static int failed_line(const char *err)
{
	static const char *const marks[] = {": line ", "Error occurred at line: "};
	const char *p;
	size_t i;
	long n;

	for (i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
		p = strstr(err, marks[i]);
		if (p) {
			n = strtol(p + strlen(marks[i]), NULL, 10);
			if (n > 0 && n < INT_MAX)
				return (int)n;
		}
	}
	return 0;
}

/* Run SCRIPT through iptables-restore --noflush: 0 applied, 1 refused by
 * iptables at a line it names (*LINE; the tables committed before it stay
 * applied: each "*table ... COMMIT" is a transaction of its own), -1 could
 * not run, or failed without saying where. */
static int restore(const char *script, int *line)
{
	char prog[64];
	const char *argv[] = {prog, "--noflush", "-w", "30", NULL};
	struct spawn s;

	if (program("restore", prog, sizeof(prog)) < 0)
		return -1;
	if (spawn_verbose)
		fputs(script, stderr);
	if (spawn_run(argv, script, strlen(script), IPT_TIMEOUT_MS, &s) < 0)
		return -1;
	if (s.status != 0) {
		/* 1 (a -C or -D that does not hold) or 2 (a chain that does not
		 * exist, named by -C, -D or -j): refused where it says */
		if (line && !s.signal && (s.status == 1 || s.status == 2) &&
		    (*line = failed_line(s.err)) > 0) {
			spawn_release(&s);
			return 1;
		}
		error_code(EXIT_TEMP, "unable to change the rules: %s: %s", prog, spawn_reason(&s));
		spawn_release(&s);
		return -1;
	}
	spawn_release(&s);
	return 0;
}

int ipt_restore(const char *script)
{
	return restore(script, NULL);
}

int ipt_try_restore(const char *script, int *line)
{
	*line = 0;
	return restore(script, line);
}

/* The -S listing of chains (iptables-nft-restore prints one for each "-S
 * CHAIN" line, "-N CHAIN" then its "-A CHAIN ..." rules) as iptables-save
 * text, each chain in the table TABLES gives it. */
static int listing_to_save(const char *list, const char *const *tables, const char *const *chains,
			   int n, char **text)
{
	const char *p = list, *nl, *table = NULL, *t;
	size_t len = 0;
	FILE *f;
	int i;

	f = open_memstream(text, &len);
	if (!f)
		return error_errno("unable to read the rules");
	for (; *p; p = *nl ? nl + 1 : nl) {
		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p);
		if (strncmp(p, "-N ", 3) == 0) {
			for (t = NULL, i = 0; i < n; i++)
				if ((size_t)(nl - p - 3) == strlen(chains[i]) &&
				    strncmp(p + 3, chains[i], strlen(chains[i])) == 0)
					t = tables[i];
			if (!t)
				continue;
			if (!table || strcmp(t, table) != 0)
				fprintf(f, "%s*%s\n", table ? "COMMIT\n" : "", t);
			table = t;
			fprintf(f, ":%.*s - [0:0]\n", (int)(nl - p - 3), p + 3);
		} else if (table && strncmp(p, "-A ", 3) == 0) {
			fprintf(f, "%.*s\n", (int)(nl - p), p);
		}
	}
	if (table)
		fputs("COMMIT\n", f);
	fclose(f);
	return 0;
}

int ipt_read_chains(const char *const *tables, const char *const *chains, int n,
		    struct ipt_ruleset *rs)
{
	const char *argv[] = {NULL, "--noflush", "-w", "30", NULL};
	char prog[64], *script = NULL, *text = NULL;
	size_t len = 0;
	struct spawn s;
	int i, t, rc = -1;
	FILE *f;

	memset(rs, 0, sizeof(*rs));
	if (ipt_env_check() < 0)
		return -1;
	if (strcmp(ipt_backend(), "nft") != 0) {
		/* iptables-legacy reads a whole table from the kernel for any
		 * listing: one iptables-save is as cheap */
		if (ipt_save(rs) < 0)
			return -1;
		for (i = 0; i < n; i++)
			if (!ipt_find_chain(rs, tables[i], chains[i]))
				return 1;
		return 0;
	}
	f = open_memstream(&script, &len);
	if (!f)
		return error_errno("unable to read the rules");
	for (t = 0; t < 2; t++) {
		fprintf(f, "*%s\n", t ? "nat" : "filter");
		for (i = 0; i < n; i++)
			if (strcmp(tables[i], t ? "nat" : "filter") == 0)
				fprintf(f, "-S %s\n", chains[i]);
		fputs("COMMIT\n", f);
	}
	fclose(f);
	snprintf(prog, sizeof(prog), "iptables-nft-restore");
	argv[0] = prog;
	if (spawn_verbose)
		fputs(script, stderr);
	if (spawn_run(argv, script, len, IPT_TIMEOUT_MS, &s) < 0)
		goto out;
	if (s.status == 1) {
		rc = 1; /* a chain that does not exist */
	} else if (s.status != 0) {
		error_code(EXIT_TEMP, "unable to read the rules: %s: %s", prog, spawn_reason(&s));
	} else if (listing_to_save(s.out, tables, chains, n, &text) == 0) {
		rc = ipt_parse_save(text, rs);
	}
	spawn_release(&s);
out:
	free(script);
	free(text);
	return rc;
}

int ipt_chain_exists(const char *table, const char *chain)
{
	char prog[64];
	const char *argv[] = {prog, "-w", "30", "-t", table, "-S", chain, NULL};
	const char *b;
	struct spawn s;
	int rc;

	if (ipt_env_check() < 0)
		return -1;
	b = ipt_backend();
	if (*b)
		snprintf(prog, sizeof(prog), "iptables-%s", b);
	else
		snprintf(prog, sizeof(prog), "iptables");
	if (spawn_run(argv, NULL, 0, IPT_TIMEOUT_MS, &s) < 0)
		return -1;
	/* 1: "No chain/target/match by that name" */
	rc = s.status == 0 ? 1 : s.status == 1 ? 0 : -1;
	if (rc < 0)
		error_code(EXIT_TEMP, "unable to read chain '%s': %s: %s", chain, prog, spawn_reason(&s));
	spawn_release(&s);
	return rc;
}
