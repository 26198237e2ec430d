package wire

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Allowlist is the hosts an instance may reach through the gate's proxy.
// An entry is a host name ("example.com", matched exactly), a wildcard
// ("*.example.com": any name below it, at any depth, but not example.com
// itself), an IP address ("10.0.0.7", "::1"), or "*" for every host. Names
// match case-insensitively and without a final dot.
type Allowlist struct {
	all      bool
	exact    map[string]bool
	suffixes []string // ".example.com"
}

// ParseAllow checks and compiles entries.
func ParseAllow(entries []string) (Allowlist, error) {
	a := Allowlist{exact: map[string]bool{}}
	for _, e := range entries {
		switch {
		case e == "*":
			a.all = true
		case strings.HasPrefix(e, "*."):
			h, err := normalHost(e[2:])
			if err != nil || isIP(h) {
				return Allowlist{}, fmt.Errorf("entry %q is not a wildcard of a host name", clip(e))
			}
			a.suffixes = append(a.suffixes, "."+h)
		default:
			h, err := normalHost(e)
			if err != nil {
				return Allowlist{}, fmt.Errorf("entry %q: %w", clip(e), err)
			}
			a.exact[h] = true
		}
	}
	return a, nil
}

// Allows reports whether host (a name or an IP address, as from
// ParseTarget) may be reached.
func (a Allowlist) Allows(host string) bool {
	h, err := normalHost(host)
	if err != nil {
		return false
	}
	if a.all || a.exact[h] {
		return true
	}
	if isIP(h) {
		return false
	}
	for _, s := range a.suffixes {
		if strings.HasSuffix(h, s) {
			return true
		}
	}
	return false
}

// Names reports whether host is one of the entries itself, not only
// matched by a wildcard: the gate reaches loopback and link-local
// addresses only for hosts named so.
func (a Allowlist) Names(host string) bool {
	h, err := normalHost(host)
	return err == nil && a.exact[h]
}

// ParseTarget splits a CONNECT target or a URL's host into host and port
// (defaultPort when hostport has none and defaultPort > 0). IPv6 addresses
// come without brackets; names are lowercased, without a final dot.
func ParseTarget(hostport string, defaultPort int) (string, int, error) {
	if hostport == "" || len(hostport) > 300 {
		return "", 0, errors.New("no host")
	}
	host, portText, err := net.SplitHostPort(hostport)
	if err != nil {
		if defaultPort <= 0 {
			return "", 0, errors.New("not host:port")
		}
		host, portText = hostport, strconv.Itoa(defaultPort)
		if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
			host = host[1 : len(host)-1]
		}
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 1 || port > 65535 || portText[0] == '+' || portText[0] == '0' {
		return "", 0, errors.New("port is not 1-65535")
	}
	h, err := normalHost(host)
	if err != nil {
		return "", 0, err
	}
	return h, port, nil
}

// normalHost checks a host name or IP address and puts it in the form
// entries are matched in.
func normalHost(h string) (string, error) {
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	if ip, err := netip.ParseAddr(h); err == nil {
		if ip.Zone() != "" {
			return "", errors.New("has an IPv6 zone")
		}
		return ip.Unmap().String(), nil
	}
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	if h == "" || len(h) > 253 {
		return "", errors.New("is not a host name")
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "", errors.New("is not a host name")
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", errors.New("is not a host name")
			}
		}
	}
	// No top-level domain starts with a digit; a name whose last label
	// does is an address in a form netip refused ("1.2.3", "0x7f.1",
	// "010.0.0.1"), which resolvers read in ways of their own.
	if last := h[strings.LastIndexByte(h, '.')+1:]; last[0] >= '0' && last[0] <= '9' {
		return "", errors.New("is not a host name or a plain IP address")
	}
	return h, nil
}

func isIP(h string) bool {
	_, err := netip.ParseAddr(h)
	return err == nil
}

// clip keeps an entry short in an error (entries are not secrets, but
// need not fill a screen).
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
