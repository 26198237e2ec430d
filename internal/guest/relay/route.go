package relay

import (
	"fmt"
	"strconv"
	"strings"
)

// Route is one loopback port and the socket it leads to.
type Route struct {
	Port int
	Sock string // a name in the gate's folder
}

// Parse reads HJK_GATE: port=name entries, comma-separated.
func Parse(spec string) ([]Route, error) {
	var rs []Route
	for _, e := range strings.Split(spec, ",") {
		if e == "" {
			continue
		}
		p, name, ok := strings.Cut(e, "=")
		port, err := strconv.Atoi(p)
		if !ok || err != nil || port < 1 || port > 65535 {
			return nil, fmt.Errorf("%q is not PORT=NAME", e)
		}
		if name == "" || strings.ContainsAny(name, "/\x00") || name[0] == '.' {
			return nil, fmt.Errorf("%q: %q is not a socket name", e, name)
		}
		rs = append(rs, Route{Port: port, Sock: name})
	}
	return rs, nil
}
