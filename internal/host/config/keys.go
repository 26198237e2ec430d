package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/BurntSushi/toml"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/host/runtime"
	"github.com/hjk-dev/hjk/internal/host/store"
)

// Keys describes the settings `hjk config` knows, for help and errors.
const Keys = `agent, image, runtime, store, credentials, workspace, network, network.allow, gate.network, engine.remote, sync.max_bundle, kubernetes.context, kubernetes.namespace, kubernetes.storage_class, kubernetes.storage_size, kubernetes.shim_image, agents.<agent>.env.<VAR>, agents.<agent>.args, agents.<agent>.upstream, agents.<agent>.ca_file, agents.<agent>.token_url`

// ErrUnset is returned by Get for a valid key that has no value.
var ErrUnset = errors.New("not set")

// Shell is the agent name that opens a shell instead of an agent's CLI.
const Shell = "shell"

// Setting is one key and its value as `hjk config` prints it.
type Setting struct {
	Key   string
	Value string // TOML syntax: a quoted string or an array
}

// Settings lists every setting in c, in key order.
func (c Config) Settings() []Setting {
	var s []Setting
	add := func(k, v string) {
		if v != "" {
			s = append(s, Setting{k, strconv.Quote(v)})
		}
	}
	add("agent", c.Agent)
	add("image", c.Image)
	add("runtime", c.Runtime)
	add("store", c.Store)
	add("credentials", c.Credentials)
	add("workspace", c.Workspace)
	add("network", c.Network.Preset)
	if c.Network.Allow != nil {
		s = append(s, Setting{"network.allow", tomlArray(c.Network.Allow)})
	}
	add("gate.network", c.Gate.Network)
	add("engine.remote", c.Engine.Remote)
	add("sync.max_bundle", c.Sync.MaxBundle)
	for _, k := range kubeKeys {
		add(k, *c.Kubernetes.field(k))
	}
	names := make([]string, 0, len(c.Agents))
	for n := range c.Agents {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		a := c.Agents[n]
		if a.Args != nil {
			s = append(s, Setting{"agents." + n + ".args", tomlArray(a.Args)})
		}
		for _, f := range []struct{ k, v string }{{"ca_file", a.CAFile}, {"token_url", a.TokenURL}, {"upstream", a.Upstream}} {
			add("agents."+n+"."+f.k, f.v)
		}
		vars := make([]string, 0, len(a.Env))
		for v := range a.Env {
			vars = append(vars, v)
		}
		sort.Strings(vars)
		for _, v := range vars {
			s = append(s, Setting{"agents." + n + ".env." + v, strconv.Quote(a.Env[v])})
		}
	}
	return s
}

func tomlArray(a []string) string {
	q := make([]string, len(a))
	for i, s := range a {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// key is a parsed settings key.
type key struct {
	top   string // agent, image, ... network.allow, gate.network; or "" for agents.*
	agent string
	env   string // agents.<agent>.env.<env>
	args  bool   // agents.<agent>.args
	field string // agents.<agent>.upstream, ca_file, token_url
}

var topKeys = []string{"agent", "image", "runtime", "store", "credentials", "workspace", "network", "network.allow", "gate.network", "engine.remote", "sync.max_bundle"}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func parseKey(k string) (key, error) {
	if oneOf(k, topKeys) || isKubeKey(k) {
		return key{top: k}, nil
	}
	parts := strings.SplitN(k, ".", 4)
	if len(parts) >= 3 && parts[0] == "agents" {
		if _, err := agent.Lookup(parts[1]); err != nil {
			return key{}, fmt.Errorf("unknown agent %q in %q: agents are %s", parts[1], k, agentNames())
		}
		switch {
		case len(parts) == 3 && parts[2] == "args":
			return key{agent: parts[1], args: true}, nil
		case len(parts) == 3 && oneOf(parts[2], []string{"upstream", "ca_file", "token_url"}):
			return key{agent: parts[1], field: parts[2]}, nil
		case len(parts) == 4 && parts[2] == "env":
			if !envName.MatchString(parts[3]) {
				return key{}, fmt.Errorf("%q is not a variable name", parts[3])
			}
			return key{agent: parts[1], env: parts[3]}, nil
		}
	}
	return key{}, fmt.Errorf("unknown setting %q: settings are %s", k, Keys)
}

func agentNames() string { return strings.Join(agent.Names(), ", ") }

// Get returns the value of k as the user gave it: a string, or for args
// a TOML array. A valid key without a value gives ErrUnset.
func (c Config) Get(k string) (string, error) {
	pk, err := parseKey(k)
	if err != nil {
		return "", err
	}
	var v string
	switch {
	case pk.top == "agent":
		v = c.Agent
	case pk.top == "image":
		v = c.Image
	case pk.top == "runtime":
		v = c.Runtime
	case pk.top == "store":
		v = c.Store
	case pk.top == "credentials":
		v = c.Credentials
	case pk.top == "workspace":
		v = c.Workspace
	case pk.top == "network":
		v = c.Network.Preset
	case pk.top == "network.allow":
		if c.Network.Allow != nil {
			v = tomlArray(c.Network.Allow)
		}
	case pk.top == "gate.network":
		v = c.Gate.Network
	case pk.top == "engine.remote":
		v = c.Engine.Remote
	case pk.top == "sync.max_bundle":
		v = c.Sync.MaxBundle
	case isKubeKey(pk.top):
		v = *c.Kubernetes.field(pk.top)
	case pk.field != "":
		v = c.Agents[pk.agent].field(pk.field)
	case pk.args:
		if a := c.Agents[pk.agent].Args; a != nil {
			v = tomlArray(a)
		}
	default:
		v = c.Agents[pk.agent].Env[pk.env]
	}
	if v == "" {
		return "", fmt.Errorf("%s: %w", k, ErrUnset)
	}
	return v, nil
}

// Set validates value for k and sets it. args take a TOML array
// (`["--model", "opus"]`) or words split at spaces.
func (c *Config) Set(k, value string) error {
	pk, err := parseKey(k)
	if err != nil {
		return err
	}
	if !utf8.ValidString(value) {
		// TOML holds only UTF-8: such a file would not load again.
		return fmt.Errorf("the value for %s is not valid UTF-8", k)
	}
	switch pk.top {
	case "agent":
		if _, err := agent.Lookup(value); err != nil && value != Shell {
			return fmt.Errorf("unknown agent %q: choose one of %s, %s", value, agentNames(), Shell)
		}
		c.Agent = value
		return nil
	case "image":
		if value == "" || strings.ContainsAny(value, " \t\n") {
			return fmt.Errorf("image %q is not an image reference", value)
		}
		c.Image = value
		return nil
	case "runtime":
		if _, _, err := runtime.ParseSpec(value); err != nil {
			return err
		}
		c.Runtime = value
		return nil
	case "store":
		stores := []string{store.Keychain, store.SecretService, store.File}
		if !oneOf(value, stores) {
			return fmt.Errorf("unknown store %q: choose one of %s", value, strings.Join(stores, ", "))
		}
		c.Store = value
		return nil
	case "credentials":
		if !oneOf(value, []string{"gate", "inject"}) {
			return fmt.Errorf("credentials %q: choose gate or inject", value)
		}
		c.Credentials = value
		return nil
	case "workspace":
		if !oneOf(value, []string{"folder", "volume"}) {
			return fmt.Errorf("workspace %q: choose folder or volume", value)
		}
		c.Workspace = value
		return nil
	case "network":
		if !oneOf(value, Presets) {
			return fmt.Errorf("network %q: choose one of %s", value, strings.Join(Presets, ", "))
		}
		c.Network.Preset = value
		return nil
	case "network.allow":
		list, err := editList(c.Network.Allow, value)
		if err != nil {
			return fmt.Errorf("network.allow: %w", err)
		}
		for _, h := range list {
			if !hostPattern.MatchString(h) {
				return fmt.Errorf("network.allow: %q is not a host name, *.domain or an IP address", h)
			}
		}
		c.Network.Allow = list
		if len(list) == 0 {
			c.Network.Allow = nil
		}
		return nil
	case "kubernetes.context", "kubernetes.namespace", "kubernetes.storage_class", "kubernetes.storage_size", "kubernetes.shim_image":
		return c.Kubernetes.set(k, value)
	case "gate.network":
		if value == "" || strings.ContainsAny(value, " \t\n,") {
			return fmt.Errorf("gate.network %q is not a network name", value)
		}
		c.Gate.Network = value
		return nil
	case "engine.remote":
		if !oneOf(value, []string{RemoteAuto, RemoteYes, RemoteNo}) {
			return fmt.Errorf("engine.remote %q: choose auto, yes or no", value)
		}
		c.Engine.Remote = value
		return nil
	case "sync.max_bundle":
		if _, err := ParseSize(value); err != nil {
			return fmt.Errorf("sync.max_bundle: %w", err)
		}
		c.Sync.MaxBundle = value
		return nil
	}
	a := c.Agents[pk.agent]
	if pk.field != "" {
		if err := a.setField(pk.field, value); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		if c.Agents == nil {
			c.Agents = map[string]AgentConfig{}
		}
		c.Agents[pk.agent] = a
		return nil
	}
	if pk.args {
		args, err := parseArgs(value)
		if err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		if len(args) == 0 {
			// No extra flags is what an unset key means too; the file
			// can't tell them apart.
			return c.Unset(k)
		}
		a.Args = args
	} else {
		if isCredentialVar(pk.env) {
			return fmt.Errorf("%s carries a credential, which is never kept in the config file: store it with 'hjk auth %s'", pk.env, pk.agent)
		}
		if a.Env == nil {
			a.Env = map[string]string{}
		}
		a.Env[pk.env] = value
	}
	if c.Agents == nil {
		c.Agents = map[string]AgentConfig{}
	}
	c.Agents[pk.agent] = a
	return nil
}

// Unset removes k's value; an unset key is not an error.
func (c *Config) Unset(k string) error {
	pk, err := parseKey(k)
	if err != nil {
		return err
	}
	switch pk.top {
	case "agent":
		c.Agent = ""
	case "image":
		c.Image = ""
	case "runtime":
		c.Runtime = ""
	case "store":
		c.Store = ""
	case "credentials":
		c.Credentials = ""
	case "workspace":
		c.Workspace = ""
	case "network":
		c.Network.Preset = ""
	case "network.allow":
		c.Network.Allow = nil
	case "gate.network":
		c.Gate.Network = ""
	case "engine.remote":
		c.Engine.Remote = ""
	case "sync.max_bundle":
		c.Sync.MaxBundle = ""
	case "kubernetes.context", "kubernetes.namespace", "kubernetes.storage_class", "kubernetes.storage_size", "kubernetes.shim_image":
		*c.Kubernetes.field(k) = ""
	default:
		a, ok := c.Agents[pk.agent]
		if !ok {
			return nil
		}
		switch {
		case pk.field != "":
			a.setField(pk.field, "")
		case pk.args:
			a.Args = nil
		default:
			delete(a.Env, pk.env)
			if len(a.Env) == 0 {
				a.Env = nil
			}
		}
		if a.Args == nil && a.Env == nil && a.Upstream == "" && a.CAFile == "" && a.TokenURL == "" {
			delete(c.Agents, pk.agent)
		} else {
			c.Agents[pk.agent] = a
		}
	}
	return nil
}

func oneOf(v string, set []string) bool {
	for _, s := range set {
		if v == s {
			return true
		}
	}
	return false
}

func isCredentialVar(v string) bool {
	for _, a := range agent.All() {
		if v == a.SubscriptionVar || v == a.APIKeyVar {
			return true
		}
	}
	return false
}

func parseArgs(value string) ([]string, error) {
	if !strings.HasPrefix(strings.TrimSpace(value), "[") {
		return strings.Fields(value), nil
	}
	var doc struct{ V []string }
	if _, err := toml.Decode("V = "+value, &doc); err != nil {
		return nil, fmt.Errorf("not a TOML array of strings: %s", value)
	}
	if doc.V == nil {
		doc.V = []string{}
	}
	return doc.V, nil
}

// Header is the comment line Save puts on top of the file.
const Header = "# hjk settings: see 'hjk config --help'. Written by 'hjk config'."

// HasComments reports whether the file's text holds comments of the user's
// own, which Save does not keep.
func HasComments(text []byte) bool {
	for _, line := range strings.Split(string(text), "\n") {
		line = strings.TrimSpace(line)
		if line != Header && (strings.HasPrefix(line, "#") || strings.Contains(line, " #")) {
			return true
		}
	}
	return false
}

// Save writes c to path atomically (a temporary file in the same folder,
// then rename), 0600 in a 0700 folder. It refuses to replace a file that
// does not load, so a broken file is never overwritten: the user fixes it.
func Save(path string, c Config) error {
	if _, err := Load(path); err != nil {
		return err
	}
	var buf bytes.Buffer
	buf.WriteString(Header + "\n")
	enc := toml.NewEncoder(&buf)
	enc.Indent = ""
	if err := enc.Encode(c); err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	f, err := os.CreateTemp(dir, ".config-*.toml")
	if err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Close()
		return fmt.Errorf("write config: %w", err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("write config: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	return nil
}

// Presets are the network presets (gateconf's, named here to check the
// setting without importing the gate's packages).
var Presets = []string{"agents", "dev", "open"}

// hostPattern is what network.allow takes: a host name, *.domain, an
// address; the gate checks them again.
var hostPattern = regexp.MustCompile(`^(\*|(\*\.)?[A-Za-z0-9_.:-]+)$`)

// editList changes a list by value: "+X" adds X, "-X" removes it,
// anything else (words, or a TOML array) replaces the list.
func editList(list []string, value string) ([]string, error) {
	v := strings.TrimSpace(value)
	switch {
	case strings.HasPrefix(v, "+"):
		out := append([]string(nil), list...)
		for _, h := range strings.Fields(v[1:]) {
			if !oneOf(h, out) {
				out = append(out, h)
			}
		}
		return out, nil
	case strings.HasPrefix(v, "-"):
		var out []string
		for _, h := range list {
			if h != strings.TrimSpace(v[1:]) {
				out = append(out, h)
			}
		}
		return out, nil
	}
	return parseArgs(v)
}

func (a AgentConfig) field(name string) string {
	switch name {
	case "upstream":
		return a.Upstream
	case "ca_file":
		return a.CAFile
	}
	return a.TokenURL
}

func (a *AgentConfig) setField(name, value string) error {
	if value != "" && name != "ca_file" && !strings.HasPrefix(value, "https://") && !strings.HasPrefix(value, "http://") {
		return fmt.Errorf("%q is not an http(s) URL", value)
	}
	if value != "" && name == "ca_file" && !filepath.IsAbs(value) {
		return fmt.Errorf("%q is not an absolute path", value)
	}
	switch name {
	case "upstream":
		a.Upstream = value
	case "ca_file":
		a.CAFile = value
	default:
		a.TokenURL = value
	}
	return nil
}
