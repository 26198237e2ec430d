package agent

// How each agent reaches its API through the credential gate: the agent's
// container has no network; hjk-init relays a loopback port per route to
// the gate's socket of that route, and the agent is pointed at
// http://127.0.0.1:PORT (https for a TLS route) with a placeholder for its
// credential. The gate
// swaps the placeholder for the real credential on requests to Upstream,
// and only there. Facts checked against the real CLIs offline (see
// docs/notes/gate-facts.md).

// GateRoute is one login kind of one agent, through the gate.
type GateRoute struct {
	// Name is the route's socket in the gate ("claude", "codex-api"...).
	Name string
	// Port is the loopback port hjk-init relays to it in the container.
	Port int
	// Upstream is the API the gate sends the requests to (a per-agent
	// "upstream" setting replaces it).
	Upstream string
	// Header, Scheme and Query say where the credential travels:
	// "Authorization" with "Bearer", "x-api-key" raw, ...
	Header, Scheme, Query string
	// PlaceholderVar is the variable that carries the placeholder to the
	// agent (for codex's login, a whole placeholder auth.json).
	PlaceholderVar string
	// Env is what the agent's session gets: each value's {url} is the
	// route's local URL (http://127.0.0.1:PORT), {placeholder} the
	// placeholder and {ca} the path of the gate's CA certificate in the
	// container. The credential's own variable gets the placeholder too.
	Env map[string]string
	// Args are added to the agent's command line ({url} expanded): codex
	// takes its endpoints as -c settings.
	Args []string
	// TokenURL is the refresh endpoint the keeper uses for this login
	// ("" for a login that never refreshes).
	TokenURL string
	// TLS has the gate serve the route over TLS ({url} is then
	// https://127.0.0.1:PORT), with a certificate of its own CA ({ca}):
	// for an agent that takes nothing else.
	TLS bool
}

// ProxyPort is the loopback port of the gate's forward proxy, for every
// other host the agent reaches (package registries, code hosts).
const ProxyPort = 7800

// ProxyEnv points every HTTP client at the gate's proxy, and keeps the
// routes' own loopback URLs off it (all three CLIs send a loopback URL to
// the proxy otherwise).
func ProxyEnv() map[string]string {
	p := "http://127.0.0.1:7800"
	return map[string]string{
		"HTTPS_PROXY": p, "HTTP_PROXY": p, "https_proxy": p, "http_proxy": p,
		"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
	}
}

// Gate returns the route of a's login of kind k.
func (a Agent) Gate(k Kind) GateRoute {
	if k == APIKey {
		return a.GateKey
	}
	return a.GateLogin
}
