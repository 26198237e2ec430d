package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
	"github.com/spf13/pflag"

	"github.com/hjk-dev/hjk/internal/agent"
)

// DocsOptions are hjk __docs's.
type DocsOptions struct {
	App    *App
	Man    bool
	Agents bool
	Dir    string // with Agents, the file
}

// NewCmdDocs is `hjk __docs [--man] DIR` (hidden): it writes the docs
// folder, a Markdown page per command made by cobra/doc from the command's
// help, and the index hjk.md; with --man, the man pages (hjk.1,
// hjk-<command>.1) instead. docs/cli and docs/man are made with it, and a
// test fails when they are stale. `hjk __docs --agents FILE` writes the
// agent image's list of CLIs (images/agents/agents.txt) from the agents'
// rows, for the Dockerfile and the scripts, which cannot read Go. runF,
// when set, replaces docsRun.
func NewCmdDocs(app *App, runF func(*DocsOptions) error) *cobra.Command {
	opts := &DocsOptions{App: app}
	cmd := &cobra.Command{
		Use:   "__docs [--man] <dir> | __docs --agents <file>",
		Short: "write the Markdown pages (or man pages) of every command, or the image's list of agents",
		Long: "Write the Markdown pages of every command into <dir> (docs/cli); with --man, the man pages (docs/man); " +
			"with --agents, the agent image's list of CLIs into <file> (images/agents/agents.txt).",
		Example: "hjk __docs docs/cli",
		Hidden:  true,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 || opts.Man && opts.Agents {
				return &UsageError{Err: fmt.Errorf("usage: hjk __docs [--man] DIR, or hjk __docs --agents FILE")}
			}
			return nil
		},
		RunE: func(_ *cobra.Command, args []string) error {
			opts.Dir = args[0]
			if runF != nil {
				return runF(opts)
			}
			return docsRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Man, "man", false, "write man pages (section 1) instead of Markdown")
	cmd.Flags().BoolVar(&opts.Agents, "agents", false, "write the agent image's list of CLIs (images/agents/agents.txt) instead")
	return cmd
}

func docsRun(opts *DocsOptions) error {
	if opts.Agents {
		if err := os.WriteFile(opts.Dir, agentList(), 0o644); err != nil {
			return fmt.Errorf("write the list of agents: %w", err)
		}
		return nil
	}
	gen := docPages
	if opts.Man {
		gen = manPages
	}
	pages, err := gen(opts.App)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return err
	}
	for name, b := range pages {
		if err := os.WriteFile(filepath.Join(opts.Dir, name), b, 0o644); err != nil {
			return fmt.Errorf("write docs: %w", err)
		}
	}
	return nil
}

// agentList is images/agents/agents.txt: a line per agent of
// agent.All(), its name, command, npm package, pinned version and the
// oldest node major it runs on (0: none),
// separated by a space, for the agent image's Dockerfile, .ci/install and
// scripts/test-images to read with sh and awk (agent's TestRowsComplete
// keeps the words free of spaces and quotes).
func agentList() []byte {
	var b bytes.Buffer
	b.WriteString("# Made by 'go run ./cmd/hjk __docs --agents images/agents/agents.txt' from the agents'\n" +
		"# rows (internal/agent): edit those, not this. The agent image installs these\n" +
		"# CLIs (its ARG AGENT_VERSIONS overrides a version, see images/README.md).\n" +
		"#\n" +
		"# name command package version node\n")
	for _, a := range agent.All() {
		fmt.Fprintf(&b, "%s %s %s %s %d\n", a.Name, a.Command, a.Package, a.Version, a.MinNode)
	}
	return b.Bytes()
}

// documented are the commands that have a page: root and every command it
// lists, not the hidden ones.
func documented(root *cobra.Command) []*cobra.Command {
	var list []*cobra.Command
	var add func(c *cobra.Command)
	add = func(c *cobra.Command) {
		list = append(list, c)
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() && !sub.IsAdditionalHelpTopicCommand() {
				add(sub)
			}
		}
	}
	add(root)
	return list
}

// docPages returns the docs folder's files by name: hjk_<path>.md, as
// cobra/doc names and links them.
func docPages(app *App) (map[string][]byte, error) {
	root := NewCmdRoot(app)
	pages := map[string][]byte{}
	for _, c := range documented(root) {
		c.Short, c.Long = mdEscape(c.Short), mdText(c.Long)
	}
	for _, c := range documented(root) {
		var b bytes.Buffer
		fmt.Fprintf(&b, "<!-- Made by 'go run ./cmd/hjk __docs docs/cli' from '%s --help': edit that, not this. -->\n\n", c.CommandPath())
		if err := doc.GenMarkdown(c, &b); err != nil {
			return nil, fmt.Errorf("docs of %s: %w", c.CommandPath(), err)
		}
		pages[strings.ReplaceAll(c.CommandPath(), " ", "_")+".md"] = b.Bytes()
	}
	return pages, nil
}

// manDate is the date cobra/doc puts in every page's header, blanked once
// written: the pages are checked in, and a date would make them stale each
// month.
var manDate = time.Date(1, time.January, 1, 0, 0, 0, 0, time.UTC)

// manPages returns the man pages (section 1) by file name:
// hjk-<path>.1, as cobra/doc names and links them.
func manPages(app *App) (map[string][]byte, error) {
	root := NewCmdRoot(app)
	// cobra/doc renders the usage line and the flags' help as Markdown too.
	seen := map[*pflag.Flag]bool{}
	escapeFlag := func(f *pflag.Flag) {
		if !seen[f] {
			seen[f], f.Usage = true, mdEscape(f.Usage)
		}
	}
	for _, c := range documented(root) {
		c.Short, c.Long, c.Use = mdEscape(c.Short), mdText(c.Long), mdEscape(c.Use)
		c.PersistentFlags().VisitAll(escapeFlag)
		c.LocalFlags().VisitAll(escapeFlag)
	}
	pages := map[string][]byte{}
	blank := []byte(`"` + manDate.Format("Jan 2006") + `"`)
	for _, c := range documented(root) {
		var b bytes.Buffer
		fmt.Fprintf(&b, ".\\\" Made by 'go run ./cmd/hjk __docs --man docs/man' from '%s --help'.\n", c.CommandPath())
		h := &doc.GenManHeader{Section: "1", Date: &manDate, Source: "hjk", Manual: "hjk manual"}
		if err := doc.GenMan(c, h, &b); err != nil {
			return nil, fmt.Errorf("man page of %s: %w", c.CommandPath(), err)
		}
		pages[strings.ReplaceAll(c.CommandPath(), " ", "-")+".1"] = bytes.Replace(b.Bytes(), blank, []byte(`""`), 1)
	}
	return pages, nil
}

// mdEscape escapes the characters Markdown would read as markup (<key>
// as an HTML tag, _ and * as emphasis), so a help text reads the same in
// the docs.
func mdEscape(s string) string {
	return mdEscaper.Replace(s)
}

var mdEscaper = strings.NewReplacer(`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "<", `\<`, ">", `\>`, "|", `\|`)

// mdText is a command's help text as Markdown: its indented lines (a
// table of names, commands to type) a code block kept as it is, the rest
// escaped.
func mdText(s string) string {
	var b strings.Builder
	code, text := false, false // the last line that was not blank
	for i, l := range strings.Split(s, "\n") {
		if i > 0 {
			b.WriteString("\n")
		}
		switch {
		case l == "":
		case strings.HasPrefix(l, "  "):
			if text {
				b.WriteString("\n") // a code block begins after a blank line
			}
			b.WriteString("    " + l)
			code, text = true, false
		default:
			if code {
				b.WriteString("\n")
			}
			b.WriteString(mdEscape(l))
			code, text = false, true
		}
		if l == "" {
			code, text = false, false
		}
	}
	return b.String()
}
