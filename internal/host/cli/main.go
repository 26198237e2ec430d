// Package cli is hjk's command line, on spf13/cobra: one file per command,
// each with an options struct (its dependencies and flags), a NewCmdX that
// parses the command line into it, and an xRun that does the work with the
// store, runtime and streams the App hands it, so tests call xRun without
// argv. NewCmdRoot lists the commands.
//
// Parsing, help, completion and the docs never do a command's work: cobra
// runs no RunE for them, and nothing in flag parsing or PersistentPreRunE
// opens the store, asks an engine or writes a file. Positional completion
// (completion.go) only reads: git's branches, the sessions folder.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hjk-dev/hjk/internal/textsafe"
)

// Main runs hjk with args (without the program name) and returns the exit
// code. It is the whole of cmd/hjk, and what testscript calls in-process.
func Main(args []string) int {
	app := NewApp(os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	return app.Run(args)
}

// Run runs the command args name and turns its error into an exit code,
// printing the error once, with its hint.
func (app *App) Run(args []string) int {
	root := NewCmdRoot(app)
	if args == nil {
		args = []string{} // cobra reads os.Args for nil
	}
	root.SetArgs(args)
	return app.report(root.Execute())
}

// report prints err (if any) and returns the exit code its type stands for.
func (app *App) report(err error) int {
	if err == nil {
		return 0
	}
	// Every error is printed here, once, and made safe for the terminal:
	// an engine's message in it may quote what a container wrote.
	var ee *ExitError
	if errors.As(err, &ee) {
		if ee.Err != nil {
			fmt.Fprintf(app.Stderr, "hjk: %s\n", textsafe.Text(ee.Err.Error(), 8000))
		}
		return ee.Code
	}
	fmt.Fprintf(app.Stderr, "hjk: %s\n", textsafe.Text(err.Error(), 8000))
	if h := hintOf(err); h != "" {
		fmt.Fprintf(app.Stderr, "%s\n", textsafe.Text(strings.TrimRight(h, "\n"), 2000))
	}
	var ue *UsageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return exitFailure
}

const rootAbout = `hjk runs coding agents in one container per git branch, with your logins.

Global flags, before or after the command: -q (--quiet) says nothing but
results, warnings and errors; -v (--verbose) also says each slow step and
how long it took.

Colour is used only on a terminal that is not "dumb", never with NO_COLOR
set; CLICOLOR_FORCE (set and not 0) paints on a pipe too, for pagers such
as 'less -R' (NO_COLOR still wins).`

// NewCmdRoot is hjk: the global flags, the help and error conventions, and
// every command.
func NewCmdRoot(app *App) *cobra.Command {
	var version bool
	root := &cobra.Command{
		Use:                   "hjk <command> [flags] [args]",
		Short:                 "runs coding agents in one container per git branch, with your logins",
		Long:                  rootAbout,
		Example:               "hjk run fix-login --agent claude 'fix the login bug'",
		Args:                  unknownCommand,
		SilenceErrors:         true, // App.report prints them, once
		SilenceUsage:          true,
		DisableFlagsInUseLine: true,
		DisableAutoGenTag:     true, // the docs are checked in: no date
		CompletionOptions:     cobra.CompletionOptions{DisableDefaultCmd: true},
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return app.checkGlobal(cmd)
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if version {
				return versionRun(&VersionOptions{App: app})
			}
			app.usage(cmd.OutOrStdout(), cmd)
			// The usage said it: only the status is left.
			return &ExitError{Code: exitUsage}
		},
	}
	root.PersistentFlags().BoolVarP(&app.out.quiet, "quiet", "q", false, "say nothing but results, warnings and errors")
	root.PersistentFlags().BoolVarP(&app.out.verbose, "verbose", "v", false, "also say each slow step and how long it took")
	root.Flags().BoolVar(&version, "version", false, "print hjk's version, as 'hjk version' does")
	root.SetFlagErrorFunc(flagError)
	root.SetHelpFunc(app.help)
	root.SetHelpCommand(newHelpCmd())
	root.SetIn(app.Stdin)
	root.SetOut(app.Stdout)
	root.SetErr(app.Stderr)
	root.AddCommand(
		NewCmdVersion(app, nil),
		NewCmdConfig(app, nil),
		NewCmdDoctor(app, nil),
		NewCmdAuth(app),
		NewCmdRun(app, nil),
		NewCmdPs(app, nil),
		NewCmdStop(app, nil),
		NewCmdRm(app, nil),
		NewCmdRecreate(app, nil),
		NewCmdExec(app, nil),
		NewCmdAttach(app, nil),
		NewCmdLogs(app, nil),
		NewCmdKill(app, nil),
		NewCmdSync(app, nil),
		NewCmdNetwork(app, nil),
		NewCmdCompletion(app, nil),
		// Hidden: the docs generator. (cobra adds the shells' __complete.)
		NewCmdDocs(app, nil),
	)
	// Every command's usage line is written out in its Use, as gh's
	// syntax has it: cobra must not append " [flags]".
	walk(root, func(c *cobra.Command) {
		c.DisableFlagsInUseLine = true
		c.DisableAutoGenTag = true
		c.Flags().BoolP("help", "h", false, "print this help")
	})
	return root
}

// walk calls f for c and every command under it.
func walk(c *cobra.Command, f func(*cobra.Command)) {
	f(c)
	for _, sub := range c.Commands() {
		walk(sub, f)
	}
}

// unknownCommand is the root's argument check: a word that names no
// command.
func unknownCommand(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		return &UsageError{Err: fmt.Errorf("unknown command %q", args[0]), Hint: "Run 'hjk --help' for the list of commands."}
	}
	return nil
}

// newHelpCmd is 'hjk help [command]': the help of hjk or of a command, as
// --help prints it. Hidden, as hjk's list of commands never showed it.
func newHelpCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "help [<command>]",
		Short:  "show the help of hjk or of a command",
		Hidden: true,
		RunE: func(c *cobra.Command, args []string) error {
			target, rest, err := c.Root().Find(args)
			if err != nil || len(rest) > 0 {
				return &UsageError{Err: fmt.Errorf("no help for %q: no such command", strings.Join(args, " ")), Hint: "Run 'hjk --help' for the list of commands."}
			}
			target.InitDefaultHelpFlag()
			return target.Help()
		},
	}
}

// help is every command's --help, on stdout: its usage line, what it does,
// its flags (the global ones too) and an example.
func (app *App) help(cmd *cobra.Command, _ []string) {
	w := cmd.OutOrStdout()
	if !cmd.HasParent() {
		app.usage(w, cmd)
		return
	}
	fmt.Fprintf(w, "Usage:\n  %s\n\n%s\n", cmd.UseLine(), cmd.Long)
	cmd.InheritedFlags() // merges the global flags into cmd.Flags()
	if s := cmd.Flags().FlagUsages(); s != "" {
		fmt.Fprintf(w, "\nFlags:\n%s", s)
	}
	fmt.Fprintf(w, "\nExample:\n  %s\n", cmd.Example)
}

// usage is hjk's own help: what it is, its commands and the global flags.
func (app *App) usage(w io.Writer, root *cobra.Command) {
	fmt.Fprintf(w, "hjk runs coding agents in one container per git branch, with your logins.\n\nUsage:\n  hjk <command> [flags] [args]\n\nCommands:\n")
	for _, c := range root.Commands() {
		if c.IsAvailableCommand() {
			fmt.Fprintf(w, "  %-10s %s\n", c.Name(), c.Short)
		}
	}
	fmt.Fprintf(w, "\nFlags (before or after the command):\n  -q, --quiet     say nothing but results, warnings and errors\n  -v, --verbose   also say each slow step and how long it took\n")
	fmt.Fprintf(w, "\nRun 'hjk <command> --help' for a command's flags and an example.\n")
}
