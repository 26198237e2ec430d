package gateconf

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hjk-dev/hjk/internal/gate/wire"
)

// Network presets: what an instance's proxy lets through besides the
// agents' routes.
const (
	// Agents: only the agents' own services.
	Agents = "agents"
	// Dev: those, the usual package registries and code hosts. The
	// default: agents install dependencies and fetch code as a matter of
	// course, and a preset that broke that would be turned to open.
	Dev = "dev"
	// Open: every host.
	Open = "open"
)

// DefaultPreset is the preset of an instance whose settings name none.
const DefaultPreset = Dev

// Presets lists the presets, for help and completion.
var Presets = []string{Agents, Dev, Open}

// agentHosts are the agents' services, for their clients beyond the
// routes (feature flags, logins). Their usage statistics and telemetry
// (statsig.anthropic.com, play.googleapis.com) are not among them: an
// agent works without, a refusal is answered at once, and whoever wants
// them sent allows them (network.allow).
var agentHosts = []string{
	"api.anthropic.com", "console.anthropic.com",
	"chatgpt.com", "auth.openai.com", "api.openai.com",
	"cloudcode-pa.googleapis.com", "generativelanguage.googleapis.com", "oauth2.googleapis.com",
}

// devHosts are package registries and code hosts.
var devHosts = []string{
	// JavaScript
	"registry.npmjs.org", "registry.yarnpkg.com", "nodejs.org",
	// Python
	"pypi.org", "files.pythonhosted.org",
	// Go
	"proxy.golang.org", "sum.golang.org", "go.dev", "golang.org",
	// Rust
	"crates.io", "index.crates.io", "static.crates.io", "static.rust-lang.org",
	// Ruby, Java
	"rubygems.org", "index.rubygems.org", "repo.maven.apache.org", "repo1.maven.org", "plugins.gradle.org", "services.gradle.org",
	// Debian, Ubuntu, Alpine
	"deb.debian.org", "security.debian.org", "archive.ubuntu.com", "security.ubuntu.com", "dl-cdn.alpinelinux.org",
	// Code hosts
	"github.com", "api.github.com", "codeload.github.com", "objects.githubusercontent.com", "raw.githubusercontent.com",
	"gitlab.com", "bitbucket.org",
}

// Allow is the proxy's allow list for a preset and the user's own hosts.
func Allow(preset string, extra []string) ([]string, error) {
	var list []string
	switch preset {
	case "", Dev:
		list = append(slices.Clone(agentHosts), devHosts...)
	case Agents:
		list = slices.Clone(agentHosts)
	case Open:
		list = []string{"*"}
	default:
		return nil, fmt.Errorf("network %q: want one of %s", preset, strings.Join(Presets, ", "))
	}
	list = append(list, extra...)
	slices.Sort(list)
	list = slices.Compact(list)
	if _, err := wire.ParseAllow(list); err != nil {
		return nil, fmt.Errorf("network.allow: %w", err)
	}
	return list, nil
}
