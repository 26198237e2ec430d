package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/pflag"
)

// flags returns a flag set for a command whose --help prints its usage line,
// what it does, its flags and an example.
func (app *App) flags(name, usage, about, example string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(app.Stderr)
	fs.SetInterspersed(true)
	app.help = &helpDoc{name: name, usage: usage, about: about, example: example, flags: fs}
	fs.Usage = func() {
		fmt.Fprintf(app.Stdout, "Usage:\n  %s\n\n%s\n", usage, about)
		if s := fs.FlagUsages(); s != "" {
			fmt.Fprintf(app.Stdout, "\nFlags:\n%s", s)
		}
		fmt.Fprintf(app.Stdout, "\nExample:\n  %s\n", example)
	}
	return fs
}

// parse parses args, turning -h into errHelp and a bad flag into a usage error.
// The global -q and -v are added here, after the command's own flags.
func (app *App) parse(fs *pflag.FlagSet, args []string) error {
	app.addGlobal(fs)
	if app.describing {
		return errDescribed
	}
	// pflag would print usage on every error; we print it on -h only.
	usage := fs.Usage
	fs.Usage = func() {}
	fs.SetOutput(discard{})
	err := fs.Parse(args)
	fs.Usage = usage
	if errors.Is(err, pflag.ErrHelp) {
		usage()
		return errHelp
	}
	if err != nil {
		return &UserError{Err: withoutValue(err), Hint: fmt.Sprintf("Run 'hjk %s --help' for usage.", fs.Name()), Code: 2}
	}
	return app.checkGlobal(fs.Name())
}

// withoutValue keeps a flag's value out of its error: the value given to a
// mistyped flag is often the secret itself (`--api-key=sk-...`), and errors
// end up in terminals' scrollback and CI logs.
func withoutValue(err error) error {
	var iv *pflag.InvalidValueError
	if errors.As(err, &iv) {
		f := iv.GetFlag()
		if f.Value.Type() == "bool" {
			return fmt.Errorf("--%s takes no value (it is a switch)", f.Name)
		}
		return fmt.Errorf("invalid value for --%s", f.Name)
	}
	return err
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
