package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/hjk-dev/hjk/internal/host/config"
)

// ConfigOptions are hjk config's: its flags, and the key and value.
type ConfigOptions struct {
	App   *App
	Unset bool
	Path  bool
	JSON  bool
	Args  []string // [<key> [<value>]]
}

// NewCmdConfig is `hjk config`; runF, when set, replaces configRun.
func NewCmdConfig(app *App, runF func(*ConfigOptions) error) *cobra.Command {
	opts := &ConfigOptions{App: app}
	cmd := &cobra.Command{
		Use:   "config [--unset] [<key> [<value>]]",
		Short: "show or change hjk's settings",
		Long: "Show or change hjk's settings, kept in $XDG_CONFIG_HOME/hjk/config.toml.\n" +
			"With no key, print every setting; with a key, print its value; with a\n" +
			"key and a value, set it. Credentials are never kept here: see 'hjk auth'.\n\n" +
			"Keys: " + config.Keys + "\n" +
			"agents.<agent>.args takes words (\"--model opus\") or a TOML array.\n" +
			"runtime may name the engine of new instances: docker:CONTEXT, podman:CONNECTION, or\n" +
			"an address (docker:ssh://me@host). engine.remote is auto (an engine other than the\n" +
			"runtime's default is asked whether it sees this machine's folders), yes (no engine\n" +
			"does: volumes and bundles only) or no (every engine does).",
		Example:           "hjk config runtime podman",
		ValidArgsFunction: completeConfig,
		RunE: func(_ *cobra.Command, args []string) error {
			opts.Args = args
			if runF != nil {
				return runF(opts)
			}
			return configRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Unset, "unset", false, "remove the setting <key>")
	cmd.Flags().BoolVar(&opts.Path, "path", false, "print the settings file's path")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print every setting as JSON: file, agent, image, runtime, store, agents.<agent>.{args,env}")
	// Flags come first: a value may itself start with "--" (agent args).
	cmd.Flags().SetInterspersed(false)
	return cmd
}

func configRun(opts *ConfigOptions) error {
	app, o, args := opts.App, opts, opts.Args
	dirs, err := config.DirsFrom(app.Getenv)
	if err != nil {
		return &UserError{Err: err}
	}
	file := dirs.File()
	usage := func(msg string) error {
		return &UsageError{Err: errors.New(msg), Hint: "Run 'hjk config --help' for usage."}
	}
	if o.Path {
		if len(args) > 0 || o.Unset {
			return usage("--path takes no key")
		}
		fmt.Fprintln(app.Stdout, file)
		return nil
	}
	if o.JSON && (len(args) > 0 || o.Unset) {
		return usage("--json takes no key: it prints every setting")
	}
	if len(args) > 2 || (o.Unset && len(args) != 1) {
		return usage("hjk config takes at most a key and a value; --unset takes one key")
	}
	c, err := config.Load(file)
	if err != nil {
		return Hintf(err, "Fix the file by hand: hjk never overwrites a broken settings file.")
	}
	switch {
	case o.JSON:
		return printConfigJSON(app.Stdout, file, c)
	case len(args) == 0:
		for _, s := range c.Settings() {
			fmt.Fprintf(app.Stdout, "%s = %s\n", s.Key, s.Value)
		}
		return nil
	case o.Unset:
		if err := c.Unset(args[0]); err != nil {
			return &UsageError{Err: err}
		}
	case len(args) == 1:
		v, err := c.Get(args[0])
		if errors.Is(err, config.ErrUnset) {
			return &UserError{Err: fmt.Errorf("%s is not set", args[0])}
		}
		if err != nil {
			return &UsageError{Err: err}
		}
		fmt.Fprintln(app.Stdout, v)
		return nil
	default:
		if err := c.Set(args[0], args[1]); err != nil {
			return &UsageError{Err: err}
		}
	}
	old, _ := os.ReadFile(file)
	// The rewrite cannot keep the user's comments: the file as it was is
	// kept beside it first, so nothing of theirs is lost.
	commented := config.HasComments(old)
	if commented {
		if err := os.WriteFile(file+".bak", old, 0o600); err != nil {
			return fmt.Errorf("keep a copy of %s before rewriting it without its comments: %w", file, err)
		}
	}
	if err := config.Save(file, c); err != nil {
		return Hintf(err, "Fix the file by hand: hjk never overwrites a broken settings file.")
	}
	if commented {
		fmt.Fprintf(app.Stderr, "hjk: note: rewrote %s without its comments; the file as it was is in %s.bak\n", file, file)
	}
	return nil
}

// configJSON is `hjk config --json`: the settings file's path and every
// setting, unset ones as "" (agents: {} when none). Field names are stable.
type configJSON struct {
	File    string                     `json:"file"`
	Agent   string                     `json:"agent"`
	Image   string                     `json:"image"`
	Runtime string                     `json:"runtime"`
	Store   string                     `json:"store"`
	Agents  map[string]agentConfigJSON `json:"agents"`
}

type agentConfigJSON struct {
	Args []string          `json:"args"` // [] when unset
	Env  map[string]string `json:"env"`  // {} when unset
}

func printConfigJSON(w io.Writer, file string, c config.Config) error {
	out := configJSON{File: file, Agent: c.Agent, Image: c.Image, Runtime: c.Runtime, Store: c.Store, Agents: map[string]agentConfigJSON{}}
	for name, a := range c.Agents {
		j := agentConfigJSON{Args: a.Args, Env: a.Env}
		if j.Args == nil {
			j.Args = []string{}
		}
		if j.Env == nil {
			j.Env = map[string]string{}
		}
		out.Agents[name] = j
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
