// Package egress locks the way out of a Kubernetes pod that holds an agent:
// every container of a pod shares one network namespace, so the agent's
// container could reach the network directly, and a NetworkPolicy needs a
// network plugin that enforces it (many clusters have none). Lock sets
// nftables rules in the pod's own network namespace instead, from an init
// container with NET_ADMIN (the agent's container never has it): packets
// out through loopback (where the agent reaches the gate) and packets of
// sockets owned by the gate's uid pass, every other packet leaving the
// pod, IPv4 or IPv6, is refused.
//
// It talks netlink to the kernel of the namespace it runs in
// (github.com/google/nftables); it touches nothing else.
package egress

import "fmt"

// Table is the nftables table Lock owns (family inet: IPv4 and IPv6).
const Table = "hjk-egress"

// Chain is its chain on the output hook.
const Chain = "output"

// Rules says what Lock sets, for the error of a check and the docs.
func Rules(uid int) string {
	return fmt.Sprintf(`table inet %s { chain %s { type filter hook output priority 0; policy drop; oifname "lo" accept; meta skuid %d accept; reject } }`, Table, Chain, uid)
}
