package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sort"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/tidwall/gjson"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/host/config"
)

const completionAbout = `Print the completion script of a shell. The script asks hjk itself what to
offer ('hjk __complete'), so commands, flags and agents stay those of the
hjk installed, and branch and session names are those of the moment.

  bash  source <(hjk completion bash)   (in ~/.bashrc)
  zsh   hjk completion zsh > "${fpath[1]}/_hjk"   (or source <(...) after compinit)
  fish  hjk completion fish > ~/.config/fish/completions/hjk.fish`

func completionCommand(app *App, args []string) error {
	fs := app.flags("completion", "hjk completion {bash | zsh | fish}", completionAbout,
		"echo 'source <(hjk completion bash)' >> ~/.bashrc")
	if err := app.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return &UserError{Err: errors.New("completion needs a shell: bash, zsh or fish"), Hint: "Run 'hjk completion --help' for usage.", Code: 2}
	}
	s, ok := completionScripts[fs.Arg(0)]
	if !ok {
		return &UserError{Err: fmt.Errorf("no completion for shell %q: bash, zsh or fish", fs.Arg(0)), Code: 2}
	}
	_, err := io.WriteString(app.Stdout, s)
	return err
}

// The scripts hand the words typed so far, the current one last, to
// 'hjk __complete' and offer what it prints, a word per line.
var completionScripts = map[string]string{
	"bash": `# bash completion for hjk: source <(hjk completion bash)
_hjk() {
	local IFS=$'\n' cur="${COMP_WORDS[COMP_CWORD]}"
	COMPREPLY=($("${COMP_WORDS[0]}" __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
	# A word hjk cannot complete (after --, an image) falls back to file names.
	if [ ${#COMPREPLY[@]} -eq 0 ]; then
		COMPREPLY=($(compgen -f -- "$cur"))
	fi
}
complete -F _hjk hjk
`,
	"zsh": `#compdef hjk
# zsh completion for hjk: hjk completion zsh > "${fpath[1]}/_hjk"
_hjk() {
	local -a reply
	reply=("${(@f)$("${words[1]}" __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")
	reply=(${reply:#})
	if (( ${#reply} )); then
		compadd -Q -- "${reply[@]}"
	else
		_files
	fi
}
if [ "$funcstack[1]" = "_hjk" ]; then
	_hjk "$@"
else
	compdef _hjk hjk
fi
`,
	"fish": `# fish completion for hjk: hjk completion fish > ~/.config/fish/completions/hjk.fish
function __hjk_complete
	set -l words (commandline -opc)
	hjk __complete $words[2..-1] (commandline -ct) 2>/dev/null
end
complete -c hjk -f -a '(__hjk_complete)'
`,
}

// completeCommand is `hjk __complete WORD... CURRENT` (hidden): the words
// after "hjk" up to the cursor, the one being typed last (maybe empty). It
// prints the candidates that start with it, a line each, and never fails:
// a shell has nowhere to show an error.
func completeCommand(app *App, args []string) error {
	for _, w := range app.complete(args) {
		fmt.Fprintln(app.Stdout, w)
	}
	return nil
}

// complete returns the candidates for the last of words.
func (app *App) complete(words []string) []string {
	if len(words) == 0 {
		words = []string{""}
	}
	cur, before := words[len(words)-1], words[:len(words)-1]
	// bash splits --agent=co into "--agent", "=", "co": the value is cur.
	var valueOf string
	if n := len(before); n >= 2 && before[n-1] == "=" && strings.HasPrefix(before[n-2], "--") {
		valueOf, before = before[n-2], before[:n-2]
	}

	var path, pos []string
	var help *helpDoc
	dash := false
	for i := 0; i < len(before); i++ {
		w := before[i]
		switch {
		case dash:
			pos = append(pos, w)
		case w == "--":
			dash = true
		case strings.HasPrefix(w, "-") && w != "-":
			if _, ok := globalFlags[w]; ok || help == nil || strings.Contains(w, "=") {
				continue
			}
			if f := lookupFlag(help.flags, w); f != nil && f.NoOptDefVal == "" {
				i++ // its value
			}
		case path == nil:
			if !hasCommand(w) {
				return nil
			}
			path = []string{w}
			help, _ = describe(path)
		case len(path) == 1 && len(pos) == 0 && contains(subcommands(path[0]), w):
			path = append(path, w)
			help, _ = describe(path)
		default:
			pos = append(pos, w)
		}
	}
	if dash {
		return nil // the agent's or the command's own words
	}
	if valueOf == "" && len(before) > 0 && help != nil {
		if last := before[len(before)-1]; strings.HasPrefix(last, "-") && !strings.Contains(last, "=") {
			if f := lookupFlag(help.flags, last); f != nil && f.NoOptDefVal == "" {
				valueOf = last
			}
		}
	}
	if valueOf != "" {
		if cur == "=" && strings.HasPrefix(valueOf, "--") {
			// bash at "--agent=": COMP_WORDS ends in "=", but readline
			// completes the empty text after it.
			cur = ""
		}
		return prefixed(app.flagValues(strings.TrimLeft(valueOf, "-")), cur)
	}
	if name, val, ok := strings.Cut(cur, "="); ok && strings.HasPrefix(name, "--") {
		var out []string
		for _, v := range prefixed(app.flagValues(name[2:]), val) {
			out = append(out, name+"="+v)
		}
		return out
	}
	if strings.HasPrefix(cur, "-") {
		var out []string
		if help == nil {
			out = []string{"--help", "--quiet", "--verbose", "--version"}
		} else {
			help.flags.VisitAll(func(f *pflag.Flag) { out = append(out, "--"+f.Name) })
			out = append(out, "--help")
		}
		return prefixed(out, cur)
	}
	if path == nil {
		var out []string
		for _, c := range commands() {
			if c.summary != "" {
				out = append(out, c.name)
			}
		}
		return prefixed(out, cur)
	}
	if len(path) == 1 && len(pos) == 0 && subcommands(path[0]) != nil {
		return prefixed(subcommands(path[0]), cur)
	}
	return app.positional(strings.Join(path, " "), len(pos), pos, cur)
}

// positional completes the n-th argument of a command.
func (app *App) positional(cmd string, n int, pos []string, cur string) []string {
	switch cmd {
	case "completion":
		if n == 0 {
			return prefixed([]string{"bash", "fish", "zsh"}, cur)
		}
	case "auth rm":
		if n == 0 {
			return prefixed(agent.Names(), cur)
		}
	case "config":
		if n == 0 {
			return prefixed(strings.Fields(strings.NewReplacer(",", " ").Replace(config.Keys)), cur)
		}
	case "kill":
		// BRANCH/SESSION
		if n == 0 {
			if b, s, ok := strings.Cut(cur, "/"); ok {
				var out []string
				for _, v := range prefixed(app.sessionNames(b), s) {
					out = append(out, b+"/"+v)
				}
				return out
			}
			return prefixed(app.branchNames(), cur)
		}
	case "run", "stop", "rm", "recreate", "exec", "ps":
		if n == 0 {
			return prefixed(app.branchNames(), cur)
		}
	case "attach", "logs":
		switch n {
		case 0:
			return prefixed(app.branchNames(), cur)
		case 1:
			return prefixed(app.sessionNames(pos[0]), cur)
		}
	}
	return nil
}

// flagValues are the values a flag takes, where hjk knows them.
func (app *App) flagValues(name string) []string {
	switch name {
	case "agent":
		return append(agent.Names(), ShellAgent)
	case "runtime":
		return []string{"container", "docker", "podman"}
	}
	return nil
}

// branchNames are the local branches of the repository hjk runs in.
func (app *App) branchNames() []string {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "git", "for-each-ref", "--format=%(refname:short)", "refs/heads/").Output()
	if err != nil {
		return nil
	}
	return strings.Fields(string(out))
}

// sessionNames are the sessions of a branch's instance, as 'hjk ps BRANCH
// --json' lists them: the field name of each element of its sessions
// array (or of the array itself).
func (app *App) sessionNames(branch string) []string {
	if branch == "" {
		return nil
	}
	var out strings.Builder
	sub := NewApp(strings.NewReader(""), &out, io.Discard, app.Getenv)
	sub.OpenStore, sub.OpenRuntime = app.OpenStore, app.OpenRuntime
	if sub.Run([]string{"ps", "--json", branch}) != 0 {
		return nil
	}
	return parseSessionNames(out.String())
}

// parseSessionNames reads the session names out of 'hjk ps BRANCH --json':
// {"sessions": [{"name": ...}]}, or an array of such objects.
func parseSessionNames(js string) []string {
	j := gjson.Parse(js)
	names := j.Get("sessions.#.name")
	if !names.Exists() || len(names.Array()) == 0 {
		names = j.Get("#.sessions.#.name|@flatten")
	}
	var list []string
	for _, n := range names.Array() {
		if n.String() != "" {
			list = append(list, n.String())
		}
	}
	return list
}

func lookupFlag(fs *pflag.FlagSet, w string) *pflag.Flag {
	if strings.HasPrefix(w, "--") {
		return fs.Lookup(w[2:])
	}
	if len(w) == 2 {
		return fs.ShorthandLookup(w[1:])
	}
	return nil
}

func hasCommand(name string) bool {
	for _, c := range commands() {
		if c.name == name && c.summary != "" {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// prefixed returns the members of list that start with prefix, sorted.
func prefixed(list []string, prefix string) []string {
	var out []string
	for _, v := range list {
		if strings.HasPrefix(v, prefix) {
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}
