package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/hjk-dev/hjk/internal/host/config"
)

// configOptions are the flags of hjk config.
type configOptions struct {
	unset bool
	path  bool
	json  bool
}

func configCommand(app *App, args []string) error {
	var o configOptions
	fs := app.flags("config", "hjk config [--unset] [<key> [<value>]]",
		"Show or change hjk's settings, kept in $XDG_CONFIG_HOME/hjk/config.toml.\n"+
			"With no key, print every setting; with a key, print its value; with a\n"+
			"key and a value, set it. Credentials are never kept here: see 'hjk auth'.\n\n"+
			"Keys: "+config.Keys+"\n"+
			"agents.<agent>.args takes words (\"--model opus\") or a TOML array.",
		"hjk config runtime podman")
	fs.BoolVar(&o.unset, "unset", false, "remove the setting <key>")
	fs.BoolVar(&o.path, "path", false, "print the settings file's path")
	fs.BoolVar(&o.json, "json", false, "print every setting as JSON: file, agent, image, runtime, store, agents.<agent>.{args,env}")
	// Flags come first: a value may itself start with "--" (agent args).
	fs.SetInterspersed(false)
	if err := app.parse(fs, args); err != nil {
		return err
	}
	return app.config(o, fs.Args())
}

func (app *App) config(o configOptions, args []string) error {
	dirs, err := config.DirsFrom(app.Getenv)
	if err != nil {
		return &UserError{Err: err}
	}
	file := dirs.File()
	usage := func(msg string) error {
		return &UserError{Err: errors.New(msg), Hint: "Run 'hjk config --help' for usage.", Code: 2}
	}
	if o.path {
		if len(args) > 0 || o.unset {
			return usage("--path takes no key")
		}
		fmt.Fprintln(app.Stdout, file)
		return nil
	}
	if o.json && (len(args) > 0 || o.unset) {
		return usage("--json takes no key: it prints every setting")
	}
	if len(args) > 2 || (o.unset && len(args) != 1) {
		return usage("hjk config takes at most a key and a value; --unset takes one key")
	}
	c, err := config.Load(file)
	if err != nil {
		return Hintf(err, "Fix the file by hand: hjk never overwrites a broken settings file.")
	}
	switch {
	case o.json:
		return printConfigJSON(app.Stdout, file, c)
	case len(args) == 0:
		for _, s := range c.Settings() {
			fmt.Fprintf(app.Stdout, "%s = %s\n", s.Key, s.Value)
		}
		return nil
	case o.unset:
		if err := c.Unset(args[0]); err != nil {
			return &UserError{Err: err, Code: 2}
		}
	case len(args) == 1:
		v, err := c.Get(args[0])
		if errors.Is(err, config.ErrUnset) {
			return &UserError{Err: fmt.Errorf("%s is not set", args[0])}
		}
		if err != nil {
			return &UserError{Err: err, Code: 2}
		}
		fmt.Fprintln(app.Stdout, v)
		return nil
	default:
		if err := c.Set(args[0], args[1]); err != nil {
			return &UserError{Err: err, Code: 2}
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
