// Package config reads and writes hjk's settings file,
// $XDG_CONFIG_HOME/hjk/config.toml, and knows hjk's folders. It touches only
// those files.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// Config is the settings file. Every field is optional; the zero value means
// "use the built-in default".
type Config struct {
	Agent string `toml:"agent,omitempty"` // default agent for hjk run
	Image string `toml:"image,omitempty"` // default image
	// Runtime is docker, podman, container or kubernetes, and may name
	// the engine: "docker:CONTEXT", "podman:CONNECTION",
	// "docker:ssh://HOST" (see runtime.ParseSpec).
	Runtime string `toml:"runtime,omitempty"`
	Store   string `toml:"store,omitempty"` // keychain, secret-service or file
	// Credentials is "gate" (the default) or "inject" for new instances.
	Credentials string `toml:"credentials,omitempty"`
	// Workspace is "folder" (the default) or "volume" for new instances.
	Workspace string `toml:"workspace,omitempty"`
	// Network is what the gate lets instances reach.
	Network Network `toml:"network,omitempty"`
	// Gate is where the gate and the keeper run.
	Gate Gate `toml:"gate,omitempty"`
	// Engine says how hjk treats the engines it makes instances on.
	Engine Engine `toml:"engine,omitempty"`
	// Sync caps what hjk takes back from an instance.
	Sync Sync `toml:"sync,omitempty"`
	// Kubernetes is where instances on Kubernetes go (kube.go).
	Kubernetes Kubernetes `toml:"kubernetes,omitempty"`
	// Agents holds per-agent settings, keyed by agent name.
	Agents map[string]AgentConfig `toml:"agents,omitempty"`
}

// Network is the gate's allow list: a preset ("agents", "dev", "open")
// and hosts of the user's own.
type Network struct {
	Preset string   `toml:"preset,omitempty"`
	Allow  []string `toml:"allow,omitempty"`
}

// Gate is the engine network of the gate and the keeper ("" the engine's
// default; "host" where the default has no way out).
type Gate struct {
	Network string `toml:"network,omitempty"`
}

// Sync holds MaxBundle, the most one pull takes from an instance: a size
// as ParseSize reads it ("" the built-in 2GiB).
type Sync struct {
	MaxBundle string `toml:"max_bundle,omitempty"`
}

// ParseSize reads a size in bytes: digits, then optionally K, M or G
// (powers of 1024), with or without "iB" or "B" after it: "512MiB",
// "2G", "1048576". It refuses zero, signs, spaces and sizes over 1TiB.
func ParseSize(s string) (int64, error) {
	num := strings.TrimRight(s, "KMGiB")
	unit := s[len(num):]
	shift := map[string]uint{"": 0, "B": 0, "K": 10, "KB": 10, "KiB": 10, "M": 20, "MB": 20, "MiB": 20, "G": 30, "GB": 30, "GiB": 30}
	sh, ok := shift[unit]
	if !ok || num == "" || len(num) > 13 || strings.Trim(num, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not a size: digits and K, M or G (512MiB, 2GiB)", s)
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > 1<<40>>sh {
		return 0, fmt.Errorf("%q is not a size between 1 byte and 1TiB", s)
	}
	return n << sh, nil
}

// Engine holds Remote: "auto" (the default: an engine other than the
// CLI's own default is asked whether it sees a folder of this machine),
// "yes" (every engine is taken to share no filesystem with this machine:
// volumes and bundles, never a host path) or "no" (every engine is taken
// to share it, and is not asked).
type Engine struct {
	Remote string `toml:"remote,omitempty"`
}

// Values of Engine.Remote.
const (
	RemoteAuto = "auto"
	RemoteYes  = "yes"
	RemoteNo   = "no"
)

// AgentConfig is the settings of one agent.
type AgentConfig struct {
	Env  map[string]string `toml:"env,omitempty"`  // extra, non-secret variables
	Args []string          `toml:"args,omitempty"` // flags added to every session
	// Upstream replaces the agent's API behind the gate (a company's LLM
	// gateway); CAFile adds a CA to trust for it; TokenURL replaces the
	// login's refresh endpoint.
	Upstream string `toml:"upstream,omitempty"`
	CAFile   string `toml:"ca_file,omitempty"`
	TokenURL string `toml:"token_url,omitempty"`
}

// Dirs are the folders hjk keeps its files in, from the XDG variables.
type Dirs struct {
	Config string // $XDG_CONFIG_HOME/hjk
	Data   string // $XDG_DATA_HOME/hjk
}

// File is the settings file's path.
func (d Dirs) File() string { return filepath.Join(d.Config, "config.toml") }

// DirsFrom resolves hjk's folders with getenv, following the XDG base
// directory rules (a relative XDG value is ignored, as the spec says).
func DirsFrom(getenv func(string) string) (Dirs, error) {
	home := getenv("HOME")
	base := func(v, fallback string) (string, error) {
		if p := getenv(v); filepath.IsAbs(p) {
			return p, nil
		}
		if home == "" {
			return "", fmt.Errorf("neither %s nor HOME is set", v)
		}
		return filepath.Join(home, fallback), nil
	}
	c, err := base("XDG_CONFIG_HOME", ".config")
	if err != nil {
		return Dirs{}, err
	}
	d, err := base("XDG_DATA_HOME", ".local/share")
	if err != nil {
		return Dirs{}, err
	}
	return Dirs{Config: filepath.Join(c, "hjk"), Data: filepath.Join(d, "hjk")}, nil
}

// Load reads the settings file at path. A missing file is an empty Config;
// a broken one is an error naming the file and the line.
func Load(path string) (Config, error) {
	var c Config
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("read config: %w", err)
	}
	md, err := toml.Decode(string(b), &c)
	if err != nil {
		return Config{}, fmt.Errorf("config file %s is not valid TOML: %w", path, err)
	}
	// A setting hjk does not know is most likely a typo: saying so beats
	// ignoring it, and 'hjk config' would drop it on its next write.
	if u := md.Undecoded(); len(u) > 0 {
		return Config{}, fmt.Errorf("config file %s: unknown setting %q (settings are %s)", path, u[0].String(), Keys)
	}
	// A variable's name reaches the engine as "-e NAME": podman reads
	// "-e OPENAI*" as every host variable starting with OPENAI.
	for n, a := range c.Agents {
		for v := range a.Env {
			if !envName.MatchString(v) {
				return Config{}, fmt.Errorf("config file %s: agents.%s.env: %q is not a variable name (letters, digits and _, not starting with a digit)", path, n, v)
			}
		}
	}
	return c, nil
}
