# network.awk: what a network configuration asks of the guest's interfaces, as a
# plan that cloud-init-lite carries out with ip(8). Reads two files: the guest's
# interfaces ("NAME MAC" lines), then the configuration flattened by yaml.awk:
# NoCloud network-config version 1 or 2 (with or without a top "network:" key),
# or ConfigDrive's network_data.json (OpenStack links/networks/services).
# Interfaces are found by MAC address when one is given, else by name.
# Prints, in this order:
#   addr IFACE ADDRESS/PREFIX        route IFACE DEST|default VIA
#   dhcp IFACE | nodhcp IFACE        (one per configured interface)
#   dns ADDRESS                      search DOMAIN
#   skip WHAT...                     (something not supported, or not found)

FNR == NR { mac2if[tolower($2)] = $1; isif[$1] = 1; next }
{
	t = index($0, "\t")
	k = substr($0, 1, t - 1)
	sub(/^network\//, "", k)
	V[k] = substr($0, t + 1)
	K[++nk] = k
}

END {
	if (V["config"] == "disabled") { print "skip network config disabled"; exit }
	if (V["version"] == "2" || prefixed("ethernets/")) v2()
	else if (V["version"] == "1" || prefixed("config/")) v1()
	else if (prefixed("links/") || prefixed("networks/")) openstack()
	else if (nk > 0) { print "skip network config of unknown format"; exit }
	for (i = 1; i <= ndev; i++) for (j = 1; j <= naddr[dev[i]]; j++) print "addr", dev[i], addr[dev[i], j]
	for (i = 1; i <= ndev; i++) for (j = 1; j <= nroute[dev[i]]; j++) print "route", dev[i], route[dev[i], j]
	for (i = 1; i <= ndev; i++) print (dhcp[dev[i]] ? "dhcp" : "nodhcp"), dev[i]
	for (i = 1; i <= ndns; i++) print "dns", dns[i]
	for (i = 1; i <= nsearch; i++) print "search", search[i]
}

function prefixed(p,    i) {
	for (i = 1; i <= nk; i++) if (index(K[i], p) == 1) return 1
	return 0
}

function truth(v) { return tolower(v) ~ /^(true|yes|on|1)$/ }

# iface(ID, NAME, MAC): the guest interface meant, registered as configured; "" if none.
function iface(id, name, mac,    d) {
	if (mac != "" && (tolower(mac) in mac2if)) d = mac2if[tolower(mac)]
	else if (mac == "" && name in isif) d = name
	if (d == "") { print "skip", id, "(no interface" (mac != "" ? " with MAC " mac : " named " name) ")"; return "" }
	if (!(d in seen)) { seen[d] = 1; dev[++ndev] = d }
	return d
}

function add_addr(d, a, mask) {
	if (a == "") return
	if (a !~ /\//) a = a "/" (mask != "" ? prefix(mask) : a ~ /:/ ? 64 : 32)
	addr[d, ++naddr[d]] = a
}

# add_route(D, NETWORK, MASK, VIA): MASK a netmask or prefix length; 0.0.0.0/0 is "default".
function add_route(d, net, mask, via) {
	if (via == "" || net == "") return
	if (net !~ /\// && mask != "") net = net "/" (mask ~ /[.:]/ ? prefix(mask) : mask)
	if (net ~ /^(0\.0\.0\.0|::)(\/0)?$/ || net == "default") net = "default"
	route[d, ++nroute[d]] = net " " via
}

function add_dns(a) { if (a != "" && !((a, "dns") in listed)) { listed[a, "dns"] = 1; dns[++ndns] = a } }
function add_search(a) { if (a != "" && !((a, "search") in listed)) { listed[a, "search"] = 1; search[++nsearch] = a } }

# each_*(P): P's value, or each of P/0, P/1, ... (a scalar or a list).
function each_dns(p,    i) { add_dns(V[p]); for (i = 0; (p "/" i) in V; i++) add_dns(V[p "/" i]) }
function each_search(p,    i) { add_search(V[p]); for (i = 0; (p "/" i) in V; i++) add_search(V[p "/" i]) }

# prefix(MASK): the prefix length of a dotted IPv4 or a hex IPv6 netmask.
function prefix(m,    n, i, o, b, parts) {
	if (m ~ /^[0-9]+$/) return m
	b = 0
	if (m ~ /\./) {
		n = split(m, parts, ".")
		for (i = 1; i <= n; i++) for (o = parts[i] + 0; o > 0; o = (o * 2) % 256) b++
		return b
	}
	sub(/::.*/, "", m)
	n = split(m, parts, ":")
	for (i = 1; i <= n; i++) {
		o = tolower(parts[i])
		while (length(o) < 4) o = "0" o
		for (; o != ""; o = substr(o, 2)) b += index("08cef", substr(o, 1, 1)) - 1
	}
	return b
}

function v1(    i, p, t, d, j, s, st, r) {
	for (i = 0; ("config/" i "/type") in V; i++) {
		p = "config/" i
		t = V[p "/type"]
		if (t == "nameserver") { each_dns(p "/address"); each_search(p "/search"); continue }
		if (t != "physical") { print "skip", "v1 " t, V[p "/name"]; continue }
		d = iface(V[p "/name"], V[p "/name"], V[p "/mac_address"])
		if (d == "") continue
		for (j = 0; (p "/subnets/" j "/type") in V; j++) {
			s = p "/subnets/" j
			st = V[s "/type"]
			if (st == "dhcp" || st == "dhcp4") dhcp[d] = 1
			else if (st == "static" || st == "static6") {
				add_addr(d, V[s "/address"], V[s "/netmask"] != "" ? V[s "/netmask"] : V[s "/prefix"])
				add_route(d, "default", "", V[s "/gateway"])
				for (r = 0; (s "/routes/" r "/gateway") in V; r++)
					add_route(d, V[s "/routes/" r "/network"] V[s "/routes/" r "/destination"], \
						V[s "/routes/" r "/netmask"] V[s "/routes/" r "/prefix"], V[s "/routes/" r "/gateway"])
				each_dns(s "/dns_nameservers")
				each_search(s "/dns_search")
			} else if (st != "manual") print "skip", d, st
		}
	}
}

function v2(    i, k, id, ids, nid, p, d, j) {
	for (i = 1; i <= nk; i++) {
		k = K[i]
		if (k ~ /^(bonds|bridges|vlans|wifis|tunnels|vrfs)\//) { split(k, ids, "/"); if (!((ids[1] "/" ids[2]) in told)) { told[ids[1] "/" ids[2]] = 1; print "skip", "v2", ids[1], ids[2] } }
		if (k !~ /^ethernets\//) continue
		split(k, ids, "/")
		if (!(ids[2] in known)) { known[ids[2]] = 1; order[++nid] = ids[2] }
	}
	for (i = 1; i <= nid; i++) {
		id = order[i]
		p = "ethernets/" id
		d = iface(id, (p "/match/name") in V ? V[p "/match/name"] : (p "/match/macaddress") in V ? "" : id, V[p "/match/macaddress"])
		if (d == "") continue
		if (truth(V[p "/dhcp4"])) dhcp[d] = 1
		if (truth(V[p "/dhcp6"])) print "skip", d, "dhcp6"
		add_addr(d, V[p "/addresses"], "")
		for (j = 0; (p "/addresses/" j) in V; j++) add_addr(d, V[p "/addresses/" j], "")
		add_route(d, "default", "", V[p "/gateway4"])
		add_route(d, "default", "", V[p "/gateway6"])
		for (j = 0; (p "/routes/" j "/to") in V; j++) add_route(d, V[p "/routes/" j "/to"], "", V[p "/routes/" j "/via"])
		each_dns(p "/nameservers/addresses")
		each_search(p "/nameservers/search")
	}
}

function openstack(    i, p, d, t, r, lk, linkdev) {
	for (i = 0; ("links/" i "/id") in V; i++) {
		p = "links/" i
		linkmac[V[p "/id"]] = V[p "/ethernet_mac_address"]
		linkname[V[p "/id"]] = V[p "/name"]
	}
	for (i = 0; ("networks/" i "/type") in V; i++) {
		p = "networks/" i
		lk = V[p "/link"]
		if (!(lk in linkdev)) linkdev[lk] = iface(lk, linkname[lk] != "" ? linkname[lk] : lk, linkmac[lk])
		d = linkdev[lk]
		if (d == "") continue
		t = V[p "/type"]
		if (t == "ipv4_dhcp" || t == "dhcp4") dhcp[d] = 1
		else if (t == "ipv4" || t == "ipv6") {
			add_addr(d, V[p "/ip_address"], V[p "/netmask"])
			add_route(d, "default", "", V[p "/gateway"])
			for (r = 0; (p "/routes/" r "/gateway") in V; r++)
				add_route(d, V[p "/routes/" r "/network"], V[p "/routes/" r "/netmask"], V[p "/routes/" r "/gateway"])
			each_dns(p "/dns_nameservers")
		} else print "skip", d, t
	}
	for (i = 0; ("services/" i "/type") in V; i++)
		if (V["services/" i "/type"] == "dns") add_dns(V["services/" i "/address"])
}
