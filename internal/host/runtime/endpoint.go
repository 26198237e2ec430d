package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Endpoint names the engine a CLI talks to: its own default, an address
// (docker's --host, podman's --url), a docker context or a podman
// connection. hjk records the one an instance was made on and drives every
// later call for that instance against it, whatever DOCKER_HOST, the
// current context or CONTAINER_HOST say by then.
type Endpoint struct {
	Kind  string `json:"kind"`            // EndpointDefault, EndpointHost, EndpointContext or EndpointConnection
	Value string `json:"value,omitempty"` // the address or the name
	// TLSVerify and CertPath are DOCKER_TLS_VERIFY and DOCKER_CERT_PATH
	// as they were when the instance was made (docker, Kind host).
	TLSVerify bool   `json:"tls_verify,omitempty"`
	CertPath  string `json:"cert_path,omitempty"`
	// Identity is CONTAINER_SSHKEY as it was (podman, Kind host): the
	// path of a key, never a key.
	Identity string `json:"identity,omitempty"`
}

// Kinds of Endpoint.
const (
	EndpointDefault    = "default"    // the CLI's own local engine
	EndpointHost       = "host"       // an address: tcp://, ssh://, unix://...
	EndpointContext    = "context"    // a docker context, by name
	EndpointConnection = "connection" // a podman connection, by name
)

// IsDefault reports whether e is the CLI's own default engine (an empty
// Endpoint is, as instances made before endpoints were recorded).
func (e Endpoint) IsDefault() bool { return e.Kind == "" || e.Kind == EndpointDefault }

// Normal is e with an empty Kind spelled out.
func (e Endpoint) Normal() Endpoint {
	if e.IsDefault() {
		return Endpoint{Kind: EndpointDefault}
	}
	return e
}

// Same reports whether e and o name the same engine.
func (e Endpoint) Same(o Endpoint) bool {
	return e.Normal().Kind == o.Normal().Kind && e.Value == o.Value
}

// String is how hjk shows e: "default", the address, "context=NAME" or
// "connection=NAME".
func (e Endpoint) String() string {
	switch {
	case e.IsDefault():
		return EndpointDefault
	case e.Kind == EndpointHost:
		return e.Value
	}
	return e.Kind + "=" + e.Value
}

// endpointName is what a docker context or podman connection may be
// called (docker's own rule for contexts): it can never look like a flag.
var endpointName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.+-]*$`)

// hostSchemes are the address schemes each CLI takes.
var hostSchemes = map[string][]string{
	"docker": {"tcp", "ssh", "unix", "npipe", "fd", "http", "https"},
	"podman": {"tcp", "ssh", "unix"},
}

// Named is the endpoint called value for runtime name: an address when it
// holds "://", else a docker context or podman connection of that name.
func Named(name, value string) (Endpoint, error) {
	if strings.Contains(value, "://") {
		scheme, _, _ := strings.Cut(value, "://")
		if !slices.Contains(hostSchemes[name], scheme) {
			return Endpoint{}, fmt.Errorf("%s does not reach an engine at %q: its addresses start with %s://", name, value, strings.Join(hostSchemes[name], "://, "))
		}
		if strings.ContainsFunc(value, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return Endpoint{}, fmt.Errorf("the address %q holds a space or a control character", value)
		}
		return Endpoint{Kind: EndpointHost, Value: value}, nil
	}
	if value == EndpointDefault {
		return Endpoint{Kind: EndpointDefault}, nil
	}
	if !endpointName.MatchString(value) || len(value) > 200 {
		return Endpoint{}, fmt.Errorf("%q is not a %s name: letters, digits and _.+- , not starting with a sign", value, namedKind(name))
	}
	switch name {
	case "docker":
		return Endpoint{Kind: EndpointContext, Value: value}, nil
	case "podman":
		return Endpoint{Kind: EndpointConnection, Value: value}, nil
	}
	return Endpoint{}, fmt.Errorf("%s has no engines but its own: it takes no context or connection", name)
}

// namedKind is what runtime name calls a named endpoint.
func namedKind(name string) string {
	if name == "podman" {
		return EndpointConnection
	}
	return EndpointContext
}

// ParseSpec reads a runtime as the user names it in --runtime, HJK_RUNTIME
// or the runtime setting: "docker", or "docker:NAME" (a context),
// "docker:tcp://host:2376" (an address), "podman:NAME" (a connection),
// "podman:ssh://user@host/run/podman/podman.sock". The endpoint is nil
// when the spec names none.
func ParseSpec(s string) (name string, ep *Endpoint, err error) {
	name, value, named := strings.Cut(s, ":")
	if !slices.Contains(Names, name) {
		return "", nil, fmt.Errorf("unknown runtime %q: choose one of %s", name, strings.Join(Names, ", "))
	}
	if !named {
		return name, nil, nil
	}
	e, err := Named(name, value)
	if err != nil {
		return "", nil, err
	}
	return name, &e, nil
}

// Resolver finds the engine a CLI would talk to now, as the environment
// and the CLI's own configuration have it: what a new instance is made on
// when the user names no engine.
type Resolver struct {
	Getenv func(string) string
	GOOS   string
	// Run runs a CLI and returns its output (run's, when nil): podman's
	// default connection is asked of podman.
	Run func(ctx context.Context, args ...string) ([]byte, error)
}

// Resolve returns the endpoint runtime name would use now:
//
//	docker: DOCKER_HOST (with DOCKER_TLS_VERIFY, DOCKER_CERT_PATH), else
//	        DOCKER_CONTEXT, else the current context of docker's config
//	        ($DOCKER_CONFIG/config.json, ~/.docker/config.json)
//	podman: CONTAINER_HOST (with CONTAINER_SSHKEY), else
//	        CONTAINER_CONNECTION, else, where podman always goes through
//	        a connection (macOS, Windows), its default connection
//
// and the default engine otherwise.
func (r Resolver) Resolve(ctx context.Context, name string) (Endpoint, error) {
	get := r.Getenv
	if get == nil {
		get = os.Getenv
	}
	switch name {
	case "docker":
		if h := get("DOCKER_HOST"); h != "" {
			e, err := Named(name, h)
			if err != nil || e.Kind != EndpointHost {
				return Endpoint{}, fmt.Errorf("DOCKER_HOST: %w", cmpErr(err, fmt.Errorf("%q is not an address", h)))
			}
			if v := get("DOCKER_TLS_VERIFY"); v != "" && v != "0" {
				e.TLSVerify = true
				e.CertPath = get("DOCKER_CERT_PATH")
				if e.CertPath == "" {
					e.CertPath = dockerConfigDir(get)
				}
			}
			return e, nil
		}
		c := get("DOCKER_CONTEXT")
		from := "DOCKER_CONTEXT"
		if c == "" {
			c, from = currentContext(dockerConfigDir(get)), "the current docker context"
		}
		if c == "" || c == EndpointDefault {
			return Endpoint{Kind: EndpointDefault}, nil
		}
		e, err := Named(name, c)
		if err != nil {
			return Endpoint{}, fmt.Errorf("%s: %w", from, err)
		}
		return e, nil
	case "podman":
		if h := get("CONTAINER_HOST"); h != "" {
			e, err := Named(name, h)
			if err != nil || e.Kind != EndpointHost {
				return Endpoint{}, fmt.Errorf("CONTAINER_HOST: %w", cmpErr(err, fmt.Errorf("%q is not an address", h)))
			}
			e.Identity = get("CONTAINER_SSHKEY")
			return e, nil
		}
		if c := get("CONTAINER_CONNECTION"); c != "" {
			e, err := Named(name, c)
			if err != nil {
				return Endpoint{}, fmt.Errorf("CONTAINER_CONNECTION: %w", err)
			}
			return e, nil
		}
		if r.GOOS != "linux" && r.GOOS != "" {
			return r.podmanDefault(ctx)
		}
	}
	return Endpoint{Kind: EndpointDefault}, nil
}

func cmpErr(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}

// dockerConfigDir is docker's configuration folder: $DOCKER_CONFIG, else
// ~/.docker.
func dockerConfigDir(get func(string) string) string {
	if d := get("DOCKER_CONFIG"); d != "" {
		return d
	}
	return filepath.Join(get("HOME"), ".docker")
}

// currentContext reads the current context from docker's config.json: ""
// when there is none, or the file says nothing readable.
func currentContext(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return ""
	}
	return parseCurrentContext(b)
}

func parseCurrentContext(b []byte) string {
	var cfg struct {
		CurrentContext string `json:"currentContext"`
	}
	if json.Unmarshal(b, &cfg) != nil {
		return ""
	}
	return cfg.CurrentContext
}

// podmanDefault asks podman for its default connection.
func (r Resolver) podmanDefault(ctx context.Context) (Endpoint, error) {
	runf := r.Run
	if runf == nil {
		runf = func(ctx context.Context, args ...string) ([]byte, error) { return run(ctx, call{args: args}) }
	}
	out, err := runf(ctx, "podman", "system", "connection", "list", "--format", "json")
	if errors.Is(err, os.ErrNotExist) {
		return Endpoint{Kind: EndpointDefault}, nil
	}
	if err != nil {
		return Endpoint{}, fmt.Errorf("list podman's connections: %w", err)
	}
	name, ok := parseDefaultConnection(out)
	if !ok {
		return Endpoint{Kind: EndpointDefault}, nil
	}
	return Named("podman", name)
}

// parseDefaultConnection finds the default in `podman system connection
// list --format json`.
func parseDefaultConnection(out []byte) (string, bool) {
	var list []struct {
		Name    string
		Default bool
	}
	if json.Unmarshal(out, &list) != nil {
		return "", false
	}
	for _, c := range list {
		if c.Default && c.Name != "" {
			return c.Name, true
		}
	}
	return "", false
}

// globalFlags are the flags that aim CLI name at e, before the command,
// and the variables dropped from its environment so that nothing else
// can aim it elsewhere. The default engine is named outright for docker
// (--context default), whose current context is otherwise whatever `docker
// context use` set last.
func globalFlags(name string, e Endpoint) (flags, drop []string, err error) {
	switch name {
	case "docker":
		drop = []string{"DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_TLS"}
		switch {
		case e.IsDefault():
			flags = []string{"--context=default"}
		case e.Kind == EndpointHost:
			flags = []string{"--host=" + e.Value}
			if e.TLSVerify {
				flags = append(flags, "--tlsverify")
				if e.CertPath != "" {
					flags = append(flags, "--tlscacert="+filepath.Join(e.CertPath, "ca.pem"),
						"--tlscert="+filepath.Join(e.CertPath, "cert.pem"), "--tlskey="+filepath.Join(e.CertPath, "key.pem"))
				}
			}
		case e.Kind == EndpointContext:
			flags = []string{"--context=" + e.Value}
		default:
			return nil, nil, fmt.Errorf("docker has no %s %q: it takes an address or a context", e.Kind, e.Value)
		}
	case "podman":
		drop = []string{"CONTAINER_HOST", "CONTAINER_CONNECTION", "CONTAINER_SSHKEY"}
		switch {
		case e.IsDefault():
		case e.Kind == EndpointHost:
			flags = []string{"--url=" + e.Value}
			if e.Identity != "" {
				flags = append(flags, "--identity="+e.Identity)
			}
		case e.Kind == EndpointConnection:
			flags = []string{"--connection=" + e.Value}
		default:
			return nil, nil, fmt.Errorf("podman has no %s %q: it takes an address or a connection", e.Kind, e.Value)
		}
	default:
		if !e.IsDefault() {
			return nil, nil, fmt.Errorf("%s has no engines but its own: it takes no address, context or connection", name)
		}
	}
	for _, f := range flags {
		if strings.ContainsAny(f, "\n\x00") {
			return nil, nil, fmt.Errorf("the engine %s holds a newline", e)
		}
	}
	return flags, drop, nil
}

// NamedEndpoints lists the docker contexts (name "docker") or podman
// connections (name "podman") the CLI knows, for completion: it reads the
// CLI's own configuration and asks no engine.
func NamedEndpoints(ctx context.Context, name string) ([]string, error) {
	var args []string
	switch name {
	case "docker":
		args = []string{"docker", "context", "ls", "--format", "{{.Name}}"}
	case "podman":
		args = []string{"podman", "system", "connection", "list", "--format", "{{.Name}}"}
	default:
		return nil, nil
	}
	out, err := run(ctx, call{args: args})
	if err != nil {
		return nil, err
	}
	var names []string
	for _, n := range strings.Fields(string(out)) {
		if endpointName.MatchString(n) {
			names = append(names, n)
		}
	}
	return names, nil
}
