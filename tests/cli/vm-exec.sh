#!/usr/bin/env bash
# ember-vm exec, ping and wait through the guest agent: the stand-in's guest
# is ember-agent serving on its vsock directory, as ember-agent serves on
# vsock port 1024 in a real guest.
. "$(dirname "$0")/../lib.sh"
need_netns "$@"
. "$(dirname "$0")/vm.lib"

ember-init init -q --instance-id a012
export EMBER_STANDIN_GUEST='exec ember-agent serve --uds "$EMBER_STANDIN_VSOCK_DIR/1024"'
ember-vm -q create vm1 --kernel "$KERNEL" --no-rootfs --no-net --cid 3
check "start --wait: the agent answers" 0 "*" ember-vm start vm1 --wait 10
ok "  and ping answers after it" ember-vm ping vm1

done_testing
