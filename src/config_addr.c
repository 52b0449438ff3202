/* Address settings: devices' addresses and the trusted PROXY senders, as
 * IPv4 and IPv6 addresses or networks, with a hint for host bits set. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "cidr.h"
#include "config_int.h"
#include "util.h"

static void	 cidrs_parse(struct load *ld, const config_setting_t *s,
		    struct cidr **out, size_t *n);
static bool	 cidr_network_hint(const char *text, char *dst, size_t len);

/* Read a device's addresses and networks, one per array element. */
void
device_addresses_parse(struct load *ld, const config_setting_t *s, void *obj)
{
	struct device *dev = obj;

	cidrs_parse(ld, s, &dev->addrs, &dev->naddrs);
}

/* Read the addresses and networks PROXY headers are accepted from. */
void
trusted_proxies_parse(struct load *ld, const config_setting_t *s, void *obj)
{
	struct config *cfg = obj;

	cidrs_parse(ld, s, &cfg->trusted_proxies, &cfg->ntrusted_proxies);
}

/* Read an array of addresses and networks (CIDR), as devices have. */
static void
cidrs_parse(struct load *ld, const config_setting_t *s, struct cidr **out,
    size_t *n)
{
	char path[PATH_TEXT_MAX], hint[INET6_ADDRSTRLEN + 8];
	const char *text;
	size_t i;

	if (!strings_check(ld, s, "address"))
		return;
	setting_path(s, path, sizeof(path));
	*n = (size_t)config_setting_length(s);
	*out = xcalloc(*n, sizeof(**out));
	for (i = 0; i < *n; i++) {
		text = config_setting_get_string_elem(s, i);
		if (cidr_parse(text, &(*out)[i]))
			continue;
		if (cidr_network_hint(text, hint, sizeof(hint)))
			load_error(ld, config_setting_get_elem(s, i),
			    "'%s': host bits set in '%s': write the network "
			    "as %s", path, text, hint);
		else
			load_error(ld, config_setting_get_elem(s, i),
			    "'%s': bad address '%s': expected an IPv4 or IPv6 "
			    "address or network (CIDR)", path, text);
	}
}

/* For "10.0.0.1/8", write the network "10.0.0.0/8" it was meant to be. */
static bool
cidr_network_hint(const char *text, char *dst, size_t len)
{
	const char *slash = strchr(text, '/');
	char addr[INET6_ADDRSTRLEN];
	struct cidr net;
	unsigned long prefix, bit;
	char *end;

	if (slash == NULL || (size_t)(slash - text) >= sizeof(addr) ||
	    !isdigit((unsigned char)slash[1]))
		return false;
	memcpy(addr, text, (size_t)(slash - text));
	addr[slash - text] = '\0';
	prefix = strtoul(slash + 1, &end, 10);
	if (*end != '\0' || !cidr_parse(addr, &net) || prefix >= net.prefix)
		return false;
	for (bit = prefix; bit < net.prefix; bit++)
		net.addr[bit / 8] &= (uint8_t)~(0x80u >> (bit % 8));
	net.prefix = (unsigned)prefix;
	cidr_format(&net, dst, len);
	return true;
}
