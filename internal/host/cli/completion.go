package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/host/config"
	"github.com/hjk-dev/hjk/internal/host/instance"
	"github.com/hjk-dev/hjk/internal/host/runtime"
	"github.com/hjk-dev/hjk/internal/host/store"
	"github.com/hjk-dev/hjk/internal/session"
)

const completionAbout = `Print the completion script of a shell. The script asks hjk itself what to
offer ('hjk __complete', cobra's protocol), so commands, flags and agents
stay those of the hjk installed, and branch and session names are those of
the moment. Every name is offered quoted for the shell: a branch named
'$(>x)' goes onto the command line as \$\(\>x\), and nothing in it runs.

  bash        source <(hjk completion bash)   (in ~/.bashrc)
  zsh         hjk completion zsh > "${fpath[1]}/_hjk"   (or source <(...) after compinit)
  fish        hjk completion fish > ~/.config/fish/completions/hjk.fish
  powershell  hjk completion powershell | Out-String | Invoke-Expression   (in $PROFILE)`

// shells are those hjk completion writes a script for.
var shells = []string{"bash", "zsh", "fish", "powershell"}

// CompletionOptions are hjk completion's.
type CompletionOptions struct {
	App   *App
	Shell string
	Root  *cobra.Command // the commands to complete
}

// NewCmdCompletion is `hjk completion`; runF, when set, replaces
// completionRun.
func NewCmdCompletion(app *App, runF func(*CompletionOptions) error) *cobra.Command {
	opts := &CompletionOptions{App: app}
	return &cobra.Command{
		Use:               "completion {bash | zsh | fish | powershell}",
		Short:             "print a shell's completion script (bash, zsh, fish or powershell)",
		Long:              completionAbout,
		Example:           "echo 'source <(hjk completion bash)' >> ~/.bashrc",
		ValidArgsFunction: completeFirst(completeShells),
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError(cmd, "completion needs a shell: bash, zsh, fish or powershell")
			}
			if !slices.Contains(shells, args[0]) {
				return &UsageError{Err: fmt.Errorf("no completion for shell %q: bash, zsh, fish or powershell", args[0])}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Shell, opts.Root = args[0], cmd.Root()
			if runF != nil {
				return runF(opts)
			}
			return completionRun(opts)
		},
	}
}

func completionRun(opts *CompletionOptions) error {
	w := opts.App.Stdout
	switch opts.Shell {
	case "bash":
		if err := opts.Root.GenBashCompletionV2(w, true); err != nil {
			return err
		}
		_, err := io.WriteString(w, bashHardening)
		return err
	case "zsh":
		return opts.Root.GenZshCompletion(w)
	case "fish":
		if err := opts.Root.GenFishCompletion(w, true); err != nil {
			return err
		}
		_, err := io.WriteString(w, fishHardening)
		return err
	default:
		return opts.Root.GenPowerShellCompletionWithDesc(w)
	}
}

// bashHardening follows cobra's bash script and replaces two of its
// functions (bash keeps the last definition):
//
//   - Every candidate goes onto the command line escaped (printf %q).
//     cobra's script escapes a candidate only when it is the last one
//     left; with several, bash inserts their common prefix as it is, so two
//     branches 'x$(>f)1' and 'x$(>f)2' would put x$(>f) on the line
//     unquoted, for the next TAB's eval of the line to run. hjk has kept
//     only the candidates that start with the word being completed (the
//     word as the shell reads it), so no filter is needed here.
//   - Without the bash-completion package (cobra's script needs its
//     _get_comp_words_by_ref), the words come from COMP_WORDS, with what
//     bash split at '=' and ':' joined again: '--agent=co' stays one word.
const bashHardening = `
# hjk's own versions of two of cobra's functions above: every candidate is
# inserted quoted (printf %q), even several candidates' common prefix; and
# the words are read without the bash-completion package too.
__hjk_handle_standard_completion_case()
{
    local tab=$'\t' line comp desc longest=0
    for line in "${completions[@]}"; do
        [[ -z $line ]] && continue
        comp=${line%%"$tab"*}
        desc=
        [[ $line == *"$tab"* ]] && desc=${line#*"$tab"}
        printf -v comp '%q' "$comp"
        COMPREPLY+=("$comp${desc:+$tab$desc}")
        ((${#comp} > longest)) && longest=${#comp}
    done
    if ((${#COMPREPLY[@]} == 1)); then
        COMPREPLY[0]=${COMPREPLY[0]%%"$tab"*}
    elif ((${#COMPREPLY[@]} > 1)); then
        __hjk_format_comp_descriptions "$longest"
    fi
}

__hjk_init_completion()
{
    COMPREPLY=()
    if declare -F _get_comp_words_by_ref >/dev/null 2>&1; then
        _get_comp_words_by_ref "$@" cur prev words cword
        return
    fi
    local i w trimmed rest=${COMP_LINE-} spaced sep=0 n
    words=()
    cword=0
    for ((i = 0; i < ${#COMP_WORDS[@]}; i++)); do
        w=${COMP_WORDS[i]}
        spaced=1
        if [[ -n ${COMP_LINE-} ]]; then
            trimmed=${rest#"${rest%%[![:blank:]]*}"}
            [[ $trimmed == "$rest" ]] && spaced=0
            rest=${trimmed#"$w"}
        elif [[ $w == +([=:]) ]] || ((sep)); then
            spaced=0
        fi
        n=${#words[@]}
        if ((n > 1 && !spaced)) && { [[ $w == +([=:]) ]] || ((sep)); }; then
            words[n-1]+=$w
        else
            words+=("$w")
        fi
        sep=0
        [[ $w == +([=:]) ]] && sep=1
        ((i == COMP_CWORD)) && cword=$((${#words[@]} - 1))
    done
    cur=${words[cword]-}
    prev=${words[cword-1]-}
}
`

// fishHardening replaces cobra's __hjk_perform_completion (fish keeps the
// last definition): cobra's joins the words on the line into a string and
// evals it, and 'commandline -o' has already unescaped them, so a branch
// named '(echo>f)' that was inserted quoted would run as a command
// substitution at the next TAB. This one passes the words to hjk as they
// are, as arguments, the word being completed unescaped as fish reads it
// (\(ec is "(ec"); fish escapes what it inserts.
const fishHardening = `
# hjk's own version of cobra's function above: the words go to hjk as
# arguments, never through eval (commandline -o has unescaped them).
function __hjk_perform_completion
    set -l args (commandline -opc)
    set -l raw (commandline -ct)
    set -l last (string unescape -- "$raw")
    set -l results (env HJK_ACTIVE_HELP=0 $args[1] __complete $args[2..-1] "$last" 2>/dev/null)
    while test (count $results) -gt 0; and test -z (string trim -- $results[-1])
        set -e results[-1]
    end
    test (count $results) -gt 0; or return
    set -l prefix (string match -r -- '^-[^=]*=' "$raw")
    for comp in $results[1..-2]
        printf '%s%s\n' "$prefix" "$comp"
    end
    printf '%s\n' $results[-1]
end
`

// Flag and positional completion. Each command names its own in its NewCmdX
// (ValidArgsFunction, completeFlag); they only read (git's branches, the
// sessions folder), never open the store or ask an engine, and offer only
// names git and hjk accept, so the shells' quoting is all a name needs.

// completeFlag registers the completion of a flag's values.
func completeFlag(cmd *cobra.Command, flag string, f cobra.CompletionFunc) {
	if err := cmd.RegisterFlagCompletionFunc(flag, f); err != nil {
		panic(err) // a flag that does not exist: a bug in NewCmdX
	}
}

// completeFirst completes the first argument with f, and no other.
func completeFirst(f cobra.CompletionFunc) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return f(cmd, args, toComplete)
	}
}

// candidates are the members of list that start with prefix, sorted.
func candidates(list []string, prefix string) []cobra.Completion {
	var out []cobra.Completion
	for _, v := range list {
		if strings.HasPrefix(v, prefix) {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out
}

func completeShells(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return candidates(shells, toComplete), cobra.ShellCompDirectiveNoFileComp
}

func completeAgents(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return candidates(agent.Names(), toComplete), cobra.ShellCompDirectiveNoFileComp
}

// completeRunAgents are --agent's values: the agents and the shell.
func completeRunAgents(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return candidates(append(agent.Names(), ShellAgent), toComplete), cobra.ShellCompDirectiveNoFileComp
}

func completeRuntimes(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return candidates([]string{"container", "docker", "podman"}, toComplete), cobra.ShellCompDirectiveNoFileComp
}

// completeNamed completes --context (docker's contexts) or --connection
// (podman's connections), as the engine's CLI lists them from its own
// configuration: no engine is asked.
func completeNamed(name string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Second)
		defer cancel()
		names, _ := runtime.NamedEndpoints(ctx, name)
		return candidates(names, toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// completeConfig completes hjk config's key, then the values hjk knows for
// it. A key that needs more typing (agents.codex.env.) takes no space.
func completeConfig(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	switch len(args) {
	case 0:
		keys := []string{"agent", "image", "runtime", "store"}
		for _, a := range agent.Names() {
			keys = append(keys, "agents."+a+".args", "agents."+a+".env.")
		}
		out := candidates(keys, toComplete)
		if len(out) > 0 && !slices.ContainsFunc(out, func(k string) bool { return !strings.HasSuffix(k, ".") }) {
			return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	case 1:
		switch args[0] {
		case "agent":
			return completeRunAgents(cmd, nil, toComplete)
		case "runtime":
			return completeRuntimes(cmd, nil, toComplete)
		case "store":
			return candidates(store.Names(), toComplete), cobra.ShellCompDirectiveNoFileComp
		}
	}
	return nil, cobra.ShellCompDirectiveNoFileComp
}

// completeBranch completes a command's one argument, a branch of the
// current repository.
func (app *App) completeBranch(_ *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return candidates(app.branchNames(), toComplete), cobra.ShellCompDirectiveNoFileComp
}

// completeBranchThenFiles completes a branch, then file names: run's
// prompt, and the words after "--" that run and exec hand on. (Those can
// not be told apart here: cobra parses the words twice for a completion,
// once with a "--" of its own, so cmd.ArgsLenAtDash cannot tell.)
func (app *App) completeBranchThenFiles(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveDefault
	}
	return app.completeBranch(cmd, args, toComplete)
}

// completeBranchSession completes <branch> [<session>] (attach, logs).
func (app *App) completeBranchSession(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	switch len(args) {
	case 0:
		return app.completeBranch(cmd, args, toComplete)
	case 1:
		return candidates(app.sessionNames(args[0]), toComplete), cobra.ShellCompDirectiveNoFileComp
	}
	return nil, cobra.ShellCompDirectiveNoFileComp
}

// completeKill completes <branch>/<session>, or <branch> <session>: a
// branch, and once the word holds a branch and a slash, its sessions.
func (app *App) completeKill(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	switch len(args) {
	case 0:
		var out []cobra.Completion
		for _, b := range app.branchNames() {
			// Branches may hold slashes: feat/one/claude is feat/one's
			// session claude.
			if s, ok := strings.CutPrefix(toComplete, b+"/"); ok {
				for _, n := range candidates(app.sessionNames(b), s) {
					out = append(out, b+"/"+n)
				}
			} else if strings.HasPrefix(b, toComplete) {
				out = append(out, b+"/")
			}
		}
		slices.Sort(out)
		return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	case 1:
		// kill <branch> <session>
		return candidates(app.sessionNames(args[0]), toComplete), cobra.ShellCompDirectiveNoFileComp
	}
	return nil, cobra.ShellCompDirectiveNoFileComp
}

// completionTimeout bounds each question a completion asks git: a shell
// waits for the answer.
const completionTimeout = 2 * time.Second

// branchNames are the local branches of the repository hjk runs in (in an
// instance's workspace, the one hjk recorded for it, as FindRepo says),
// those git and hjk accept as a name (validBranch). git runs on that
// repository's git dir, never in the folder hjk runs in: a workspace's
// subfolders are the container's, and so is any .git there.
func (app *App) branchNames() []string {
	ctx, cancel := context.WithTimeout(context.Background(), completionTimeout)
	defer cancel()
	dirs, err := config.DirsFrom(app.Getenv)
	if err != nil {
		return nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return nil
	}
	repo, err := (&instance.Manager{Data: dirs.Data}).FindRepo(ctx, wd)
	if err != nil {
		return nil
	}
	// Full ref names, each ended by a NUL: a short name may be ambiguous
	// (heads/x beside a tag x), and a name cannot hold a NUL.
	cmd := exec.CommandContext(ctx, "git", "--git-dir="+repo.GitDir, "for-each-ref", "--format=%(refname)%00", "refs/heads/")
	cmd.Dir = repo.GitDir
	out, err := cmd.Output()
	if err != nil {
		return nil
	}
	var names []string
	for _, line := range strings.Split(string(out), "\x00\n") {
		if name, ok := strings.CutPrefix(line, "refs/heads/"); ok && validBranch(name) {
			names = append(names, name)
		}
	}
	return names
}

// sessionNames are the sessions of a branch's instance in the current
// repository, read from the instance's sessions folder, where the
// instance layer keeps them. The folder is found from the repository and
// the branch, as the instance layer names it, without the catalog: its
// lock may be held for minutes by a 'hjk run' making an instance, and a
// shell waits for the answer.
func (app *App) sessionNames(branch string) []string {
	if !validBranch(branch) {
		return nil
	}
	is, err := app.instances()
	if err != nil {
		return nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), completionTimeout)
	defer cancel()
	repo, err := is.mgr.FindRepo(ctx, wd)
	if err != nil {
		return nil
	}
	in, ok := is.mgr.Peek(repo, branch)
	if !ok {
		return nil
	}
	var names []string
	for _, n := range slices.Backward(in.Sessions) {
		if session.CheckName(n) == nil {
			names = append(names, n)
		}
	}
	return names
}

// validBranch reports whether name is a branch name both git and hjk take
// (git check-ref-format --branch, and instance.CheckBranch), and one that
// is safe to hand a shell as a candidate: valid UTF-8 of printable
// characters. git's rules: no control character, space, ~ ^ : ? * [ or \;
// no "..", "@{", "//", leading or trailing "/", trailing "."; no part
// that begins with "." or ends with ".lock"; not "HEAD" or "@"; hjk's: not
// beginning with "-" (it would read as a flag).
func validBranch(name string) bool {
	if name == "" || name == "HEAD" || name == "@" || strings.HasPrefix(name, "-") || !utf8.ValidString(name) {
		return false
	}
	if strings.Contains(name, "..") || strings.Contains(name, "@{") || strings.HasSuffix(name, ".") {
		return false
	}
	for _, r := range name {
		if r <= ' ' || r == 0x7f || strings.ContainsRune(`~^:?*[\`, r) || !unicode.IsGraphic(r) {
			return false
		}
	}
	for part := range strings.SplitSeq(name, "/") {
		if part == "" || part[0] == '.' || strings.HasSuffix(part, ".lock") {
			return false
		}
	}
	return true
}
