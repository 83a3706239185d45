#include "preflight.h"

#include <stdio.h>

#include "probe.h"

#define LIBCURL "libcurl.so.4"
#define LIBDEVMAPPER "libdevmapper.so.1.02.1"

static int report(void (*fn)(const struct preflight_item *, void *), void *ctx, const char *name,
		  int ok, const char *detail, const char *action)
{
	struct preflight_item item = {name, ok, ok ? detail : NULL, action};

	fn(&item, ctx);
	return !ok;
}

int preflight_run(void (*fn)(const struct preflight_item *item, void *ctx), void *ctx)
{
	char path[512], backend[64];
	int missing = 0, ok;

	ok = probe_program("ip", path, sizeof(path));
	missing += report(fn, ctx, "ip", ok, path, "install iproute2: apt-get install iproute2");

	ok = probe_program("iptables", path, sizeof(path));
	if (ok && probe_iptables_backend(backend, sizeof(backend)) == 1)
		snprintf(path, sizeof(path), "%s", backend);
	else
		ok = 0;
	missing += report(fn, ctx, "iptables", ok, path,
			  "install iptables (nf_tables or legacy backend): apt-get install iptables");

	ok = probe_char_device("/dev/net/tun");
	missing += report(fn, ctx, "tun", ok, "/dev/net/tun",
			  "load the tun module (modprobe tun) or create /dev/net/tun (mknod /dev/net/tun c 10 200)");

	ok = probe_device_mapper();
	missing += report(fn, ctx, "device-mapper", ok, "/dev/mapper/control",
			  "load device-mapper: modprobe dm-mod");

	ok = probe_kernel_module("dm_thin_pool");
	missing += report(fn, ctx, "thin-pool", ok, "dm_thin_pool",
			  "load the thin-pool target: modprobe dm-thin-pool (Debian: linux-image-amd64)");

	ok = probe_library(LIBDEVMAPPER);
	missing += report(fn, ctx, "libdevmapper", ok, LIBDEVMAPPER,
			  "install libdevmapper: apt-get install libdevmapper1.02.1");

	ok = probe_library(LIBCURL);
	missing += report(fn, ctx, "libcurl", ok, LIBCURL, "install libcurl: apt-get install libcurl4");

	ok = probe_program("firecracker", path, sizeof(path));
	missing += report(fn, ctx, "firecracker", ok, path,
			  "install Firecracker and put 'firecracker' on PATH");

	ok = probe_char_device("/dev/kvm");
	missing += report(fn, ctx, "kvm", ok, "/dev/kvm",
			  "enable KVM: load kvm_intel or kvm_amd and give this user access to /dev/kvm");
	return missing;
}
