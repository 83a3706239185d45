/* libFuzzer target: the iptables-save parser never crashes or leaks; what it
 * accepts is consistent (each rule's norm and comment are what the helpers
 * make of its spec), and printed back as iptables-save text it parses to the
 * same ruleset. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iptables.h"

static int same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* RS as iptables-save text: one table section per chain and per rule, so
 * that the order of each list survives. NULL when a table or spec ends in
 * '\r' (the parser strips one, so such a line cannot be printed back). */
static char *print(const struct ipt_ruleset *rs)
{
	size_t cap = 64, len = 0, need;
	char *buf;
	int i;

	for (i = 0; i < rs->nchains; i++) {
		need = strlen(rs->chains[i].table);
		if (rs->chains[i].table[need - 1] == '\r')
			return NULL;
		cap += 80;
	}
	for (i = 0; i < rs->nrules; i++) {
		need = strlen(rs->rules[i].spec);
		if ((need && rs->rules[i].spec[need - 1] == '\r') ||
		    rs->rules[i].table[strlen(rs->rules[i].table) - 1] == '\r')
			return NULL;
		cap += need + 64;
	}
	buf = malloc(cap);
	if (!buf)
		return NULL;
	buf[0] = '\0';
	for (i = 0; i < rs->nchains; i++)
		len +=
		    (size_t)snprintf(buf + len, cap - len, "*%s\n:%s %s [0:0]\nCOMMIT\n",
				     rs->chains[i].table, rs->chains[i].name, rs->chains[i].policy);
	for (i = 0; i < rs->nrules; i++)
		len += (size_t)snprintf(buf + len, cap - len, "*%s\n-A %s %s\nCOMMIT\n",
					rs->rules[i].table, rs->rules[i].chain, rs->rules[i].spec);
	if (len >= cap) {
		free(buf);
		return NULL;
	}
	return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipt_ruleset rs, back;
	char *text = malloc(size + 1), *again, *norm, comment[1024];
	const struct ipt_rule *r;
	int i;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (ipt_parse_save(text, &rs) < 0) {
		if (rs.nrules || rs.nchains || rs.rules || rs.chains)
			abort();
		free(text);
		return 0;
	}
	for (i = 0; i < rs.nchains; i++) {
		if (!rs.chains[i].table[0] || !rs.chains[i].name[0] || !rs.chains[i].policy[0])
			abort();
		if (ipt_find_chain(&rs, rs.chains[i].table, rs.chains[i].name) == NULL)
			abort();
	}
	for (i = 0; i < rs.nrules; i++) {
		r = &rs.rules[i];
		if (!r->table[0] || !r->chain[0] || !r->spec || !r->norm ||
		    strlen(r->norm) > strlen(r->spec))
			abort();
		norm = malloc(strlen(r->spec) + 1);
		if (!norm)
			abort();
		if (ipt_normalize(r->spec, norm, strlen(r->spec) + 1) != 0 ||
		    strcmp(norm, r->norm) != 0)
			abort();
		free(norm);
		if (ipt_spec_comment(r->spec, comment, sizeof(comment)) == 1) {
			if (!r->comment || strcmp(comment, r->comment) != 0)
				abort();
		} else if (r->comment) {
			abort();
		}
	}
	again = print(&rs);
	if (again) {
		if (ipt_parse_save(again, &back) != 0 || back.nchains != rs.nchains ||
		    back.nrules != rs.nrules)
			abort();
		for (i = 0; i < rs.nchains; i++)
			if (strcmp(back.chains[i].table, rs.chains[i].table) != 0 ||
			    strcmp(back.chains[i].name, rs.chains[i].name) != 0 ||
			    strcmp(back.chains[i].policy, rs.chains[i].policy) != 0)
				abort();
		for (i = 0; i < rs.nrules; i++)
			if (strcmp(back.rules[i].table, rs.rules[i].table) != 0 ||
			    strcmp(back.rules[i].chain, rs.rules[i].chain) != 0 ||
			    strcmp(back.rules[i].spec, rs.rules[i].spec) != 0 ||
			    !same(back.rules[i].comment, rs.rules[i].comment) ||
			    !same(back.rules[i].target, rs.rules[i].target))
				abort();
		ipt_ruleset_release(&back);
		free(again);
	}
	ipt_ruleset_release(&rs);
	free(text);
	return 0;
}
