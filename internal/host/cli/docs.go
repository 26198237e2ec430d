package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/pflag"

	"github.com/hjk-dev/hjk/internal/agent"
)

// helpDoc is what a command's --help says, kept as built by App.flags so
// that completion and the docs folder are made from the same source.
type helpDoc struct {
	name, usage, about, example string
	flags                       *pflag.FlagSet
}

// errDescribed ends a command run only to read its flags (App.describing).
var errDescribed = errors.New("described")

// subcommands are the words that name a command under another: a command
// dispatches them itself, so the table says which they are.
func subcommands(name string) []string {
	if name == "auth" {
		return append([]string{"status", "rm"}, agent.Names()...)
	}
	return nil
}

// describe returns the help of the command at path (e.g. "auth", "status")
// without running it: the command builds its flags and stops at parse.
func describe(path []string) (*helpDoc, error) {
	d := NewApp(strings.NewReader(""), io.Discard, io.Discard, func(string) string { return "" })
	d.describing = true
	for _, c := range commands() {
		if c.name != path[0] {
			continue
		}
		if err := c.run(d, path[1:]); !errors.Is(err, errDescribed) || d.help == nil {
			return nil, fmt.Errorf("hjk %s does not describe its flags (it must call app.flags and app.parse first): %v", strings.Join(path, " "), err)
		}
		return d.help, nil
	}
	return nil, fmt.Errorf("no command %q", path[0])
}

// visible are the commands --help lists, by name, each followed by its
// subcommands: the pages of the docs folder.
func visible() [][]string {
	var paths [][]string
	cs := commands()
	sort.Slice(cs, func(i, j int) bool { return cs[i].name < cs[j].name })
	for _, c := range cs {
		if c.summary == "" {
			continue
		}
		paths = append(paths, []string{c.name})
		for _, s := range subcommands(c.name) {
			paths = append(paths, []string{c.name, s})
		}
	}
	return paths
}

// docsCommand is `hjk __docs [--man] DIR` (hidden): it writes the docs
// folder, a Markdown page per command made from its --help and the index
// hjk.md; with --man, the man pages (hjk.1, hjk-<command>.1) instead.
// docs/cli and docs/man are made with it, and a test fails when they are
// stale.
func docsCommand(app *App, args []string) error {
	gen := docPages
	if len(args) == 2 && args[0] == "--man" {
		gen, args = manPages, args[1:]
	}
	if len(args) != 1 {
		return &UserError{Err: errors.New("usage: hjk __docs [--man] DIR"), Code: 2}
	}
	pages, err := gen()
	if err != nil {
		return err
	}
	dir := args[0]
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, b := range pages {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return fmt.Errorf("write docs: %w", err)
		}
	}
	return nil
}

// docPages returns the docs folder's files by name.
func docPages() (map[string][]byte, error) {
	pages := map[string][]byte{}
	var index bytes.Buffer
	index.WriteString("# hjk\n\n<!-- Made by 'go run ./cmd/hjk __docs docs/cli' from each command's --help: edit those, not this. -->\n\n")
	index.WriteString("hjk runs coding agents in one container per git branch, with your logins.\n\n")
	index.WriteString("Global flags, before or after the command: `-q`/`--quiet` says nothing but results, warnings and errors; `-v`/`--verbose` also says each slow step and how long it took.\n")
	index.WriteString("Colour is used only on a terminal, never with `NO_COLOR` set; `CLICOLOR_FORCE=1` forces it on a pipe.\n\n")
	index.WriteString("| Command | What it does |\n|---|---|\n")
	for _, p := range visible() {
		h, err := describe(p)
		if err != nil {
			return nil, err
		}
		file := "hjk_" + strings.Join(p, "_") + ".md"
		fmt.Fprintf(&index, "| [hjk %s](%s) | %s |\n", strings.Join(p, " "), file, summaryOf(p, h))
		var b bytes.Buffer
		fmt.Fprintf(&b, "# hjk %s\n\n<!-- Made by 'go run ./cmd/hjk __docs docs/cli' from 'hjk %s --help': edit that, not this. -->\n\n", strings.Join(p, " "), strings.Join(p, " "))
		fmt.Fprintf(&b, "## Usage\n\n```\n%s\n```\n\n%s\n", h.usage, h.about)
		if f := h.flags.FlagUsages(); f != "" {
			fmt.Fprintf(&b, "\n## Flags\n\n```\n%s```\n", f)
		}
		fmt.Fprintf(&b, "\n## Example\n\n```\n%s\n```\n\nSee also: [hjk](hjk.md)\n", h.example)
		pages[file] = b.Bytes()
	}
	pages["hjk.md"] = index.Bytes()
	return pages, nil
}

// summaryOf is a command's line in the table, or a subcommand's first
// sentence.
func summaryOf(p []string, h *helpDoc) string {
	if len(p) == 1 {
		for _, c := range commands() {
			if c.name == p[0] {
				return c.summary
			}
		}
	}
	return firstSentence(h.about)
}

// firstSentence is the first sentence of a help text, on one line.
func firstSentence(s string) string {
	s, _, _ = strings.Cut(s, "\n\n")
	s = strings.Join(strings.Fields(s), " ")
	if i := strings.Index(s, ". "); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSuffix(s, ".")
}

// manPages returns the man pages (section 1) by file name.
func manPages() (map[string][]byte, error) {
	pages := map[string][]byte{}
	var idx bytes.Buffer
	idx.WriteString(".\\\" Made by 'go run ./cmd/hjk __docs --man docs/man' from each command's --help.\n")
	idx.WriteString(".TH HJK 1 \"\" \"hjk\" \"hjk manual\"\n.SH NAME\nhjk \\- runs coding agents in one container per git branch, with your logins\n")
	idx.WriteString(".SH SYNOPSIS\n.B hjk\n[\\-q | \\-v]\n.I command\n[flags] [args]\n.SH COMMANDS\n")
	var also []string
	for _, p := range visible() {
		if len(p) > 1 {
			continue
		}
		for _, c := range commands() {
			if c.name == p[0] {
				fmt.Fprintf(&idx, ".TP\n.B %s\n%s (see \\fBhjk\\-%s\\fR(1))\n", c.name, roff(c.summary), c.name)
			}
		}
	}
	idx.WriteString(".SH OPTIONS\nBefore or after the command:\n.TP\n.B \\-q, \\-\\-quiet\nsay nothing but results, warnings and errors\n.TP\n.B \\-v, \\-\\-verbose\nalso say each slow step and how long it took\n")
	idx.WriteString(".SH ENVIRONMENT\n.TP\n.B NO_COLOR\nwhen set and not empty, hjk never paints its output\n.TP\n.B CLICOLOR_FORCE\nwhen set and not 0, hjk paints on a pipe too (NO_COLOR wins)\n")
	for _, p := range visible() {
		h, err := describe(p)
		if err != nil {
			return nil, err
		}
		name := "hjk-" + strings.Join(p, "-")
		also = append(also, "\\fB"+roff(name)+"\\fR(1)")
		var b bytes.Buffer
		fmt.Fprintf(&b, ".\\\" Made by 'go run ./cmd/hjk __docs --man docs/man' from 'hjk %s --help'.\n", strings.Join(p, " "))
		fmt.Fprintf(&b, ".TH %s 1 \"\" \"hjk\" \"hjk manual\"\n", strings.ToUpper(roff(name)))
		fmt.Fprintf(&b, ".SH NAME\n%s \\- %s\n", roff(name), roff(summaryOf(p, h)))
		fmt.Fprintf(&b, ".SH SYNOPSIS\n.nf\n%s\n.fi\n", roffLines(h.usage))
		fmt.Fprintf(&b, ".SH DESCRIPTION\n.nf\n%s\n.fi\n", roffLines(h.about))
		if f := h.flags.FlagUsages(); f != "" {
			fmt.Fprintf(&b, ".SH OPTIONS\n.nf\n%s\n.fi\n", roffLines(strings.TrimRight(f, "\n")))
		}
		fmt.Fprintf(&b, ".SH EXAMPLE\n.nf\n%s\n.fi\n.SH SEE ALSO\n\\fBhjk\\fR(1)\n", roffLines(h.example))
		pages[name+".1"] = b.Bytes()
	}
	fmt.Fprintf(&idx, ".SH SEE ALSO\n%s\n", strings.Join(also, ", "))
	pages["hjk.1"] = idx.Bytes()
	return pages, nil
}

// roff escapes text for a man page: backslashes and hyphens.
func roff(s string) string {
	return strings.NewReplacer(`\`, `\e`, "-", `\-`).Replace(s)
}

// roffLines escapes lines kept as they are (.nf): a leading . or ' would
// be read as a request.
func roffLines(s string) string {
	lines := strings.Split(roff(s), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, ".") || strings.HasPrefix(l, "'") {
			lines[i] = `\&` + l
		}
	}
	return strings.Join(lines, "\n")
}
