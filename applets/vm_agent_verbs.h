/* ember-vm's verbs through the guest agent: exec, cp, ping, wait, and the
 * agent wait of start --wait. Their rows and options are in applets/vm.c's
 * command table; what they do is lib/vm_agent.h. */
#ifndef EMBER_VM_AGENT_VERBS_H
#define EMBER_VM_AGENT_VERBS_H

#include "install.h"

#define VM_EXEC_ENV_MAX 256
/* -j: what exec keeps of each of stdout and stderr; the rest is read and dropped */
#define VM_EXEC_CAPTURE_MAX (16 * 1024 * 1024)

/* The options of exec (set by the parser). */
extern const char *vm_exec_env[VM_EXEC_ENV_MAX + 1];
extern int vm_exec_n_env;
extern const char *vm_exec_cwd, *vm_exec_stdin;

int vm_do_exec(struct install *in, int argc, char **argv);
int vm_do_cp(struct install *in, int argc, char **argv);
int vm_do_ping(struct install *in, int argc, char **argv);
int vm_do_wait(struct install *in, int argc, char **argv);
/* start --wait S (ARG; NULL: none): after InstanceStart, wait for the ping. */
void vm_start_wait(struct install *in, const char *name, const char *arg);
/* "-i" before "--" is "--stdin" (the parser knows long options only). */
void vm_stdin_short(int argc, char **argv);

/* In applets/vm.c: --timeout's value, and seconds to milliseconds (100 on
 * a bad value). */
const char *vm_timeout_arg(void);
int vm_timeout_ms(const char *what, const char *arg);

#define VM_AGENT_USAGE_OUTPUT                                                             \
	"  exec: the command's stdout and stderr as they come; -j: one object,\n"             \
	"    exit_code signal timed_out duration_ms stdout stderr (base64, each at most\n"   \
	"    16 MiB) stdout_truncated stderr_truncated; exit_code and signal null when\n"     \
	"    they do not apply\n"                                                             \
	"  cp: src dst bytes mode   ping, wait: name version protocol uptime_seconds\n"
#define VM_AGENT_USAGE_CODES                                                              \
	"  exec: the command's exit status, 128+N when signal N ended it, 124 when\n"         \
	"  --timeout did; a command that cannot start (no such program: 1) or an\n"          \
	"  agent that cannot be reached exits with ember's own codes; exec, cp, ping,\n"     \
	"  wait: 100 also a VM without vsock, 102 a VM not running, 111 the agent\n"          \
	"  not answering\n"

#endif
