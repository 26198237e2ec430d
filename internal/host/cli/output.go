package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/hjk-dev/hjk/internal/textsafe"
)

// output is how much hjk says besides a command's results: the global -q
// and -v (the root's persistent flags). It lives in the App, so each
// command reads it through the helpers below.
type output struct {
	quiet   bool
	verbose bool
}

// checkGlobal refuses -q with -v: one of them would be ignored. It is the
// root's PersistentPreRunE, so it runs before a command's work and never
// for help or completion.
func (app *App) checkGlobal(cmd *cobra.Command) error {
	if app.out.quiet && app.out.verbose {
		return usageError(cmd, "-q and -v contradict each other")
	}
	return nil
}

// Quiet reports whether -q was given.
func (app *App) Quiet() bool { return app.out.quiet }

// Verbose reports whether -v was given.
func (app *App) Verbose() bool { return app.out.verbose }

// Notef tells the user what hjk did, on stderr (stdout is for results):
// "hjk: " and the message, unless -q.
func (app *App) Notef(format string, a ...any) {
	if app.out.quiet {
		return
	}
	fmt.Fprintf(app.Stderr, "hjk: "+strings.TrimRight(format, "\n")+"\n", a...)
}

// Warnf warns, on stderr, even with -q: "hjk: warning: " and the
// message, made safe for a terminal (a warning often quotes what an engine
// or a container said).
func (app *App) Warnf(format string, a ...any) {
	msg := textsafe.Text(fmt.Sprintf(strings.TrimRight(format, "\n"), a...), 8000)
	fmt.Fprintf(app.Stderr, "hjk: warning: %s\n", msg)
}

// Debugf says what only -v asks for.
func (app *App) Debugf(format string, a ...any) {
	if !app.out.verbose {
		return
	}
	fmt.Fprintf(app.Stderr, "hjk: "+strings.TrimRight(format, "\n")+"\n", a...)
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// colour reports whether hjk may paint what it writes to w: only on a
// terminal that is not "dumb", and never with NO_COLOR set (no-color.org).
// CLICOLOR_FORCE (not "0") paints on a pipe too, for pagers such as
// 'less -R'; NO_COLOR still wins over it.
func (app *App) colour(w io.Writer) bool {
	if app.Getenv("NO_COLOR") != "" {
		return false
	}
	if f := app.Getenv("CLICOLOR_FORCE"); f != "" && f != "0" {
		return true
	}
	return app.Getenv("TERM") != "dumb" && isTerminal(w)
}

// Styles hjk paints with: few, and only where colour carries meaning.
const (
	green  = "32"
	yellow = "33"
	red    = "31"
	bold   = "1"
)

// paint wraps s in the SGR style when colour is allowed on w.
func (app *App) paint(w io.Writer, style, s string) string {
	if !app.colour(w) {
		return s
	}
	return "\x1b[" + style + "m" + s + "\x1b[0m"
}

// Step shows what hjk is doing during a slow step (creating a worktree,
// building or pulling an image, starting a container) and returns the
// function that ends it. On a terminal the line is drawn on stderr and
// erased when done; on a pipe nothing is drawn (with -v, a line per step
// with its duration is written instead). -q hides it.
func (app *App) Step(what string) (done func()) {
	if app.out.quiet {
		return func() {}
	}
	start := time.Now()
	if !app.out.verbose && !isTerminal(app.Stderr) {
		return func() {}
	}
	if !isTerminal(app.Stderr) {
		return func() { app.Debugf("%s (%s)", what, time.Since(start).Round(time.Millisecond)) }
	}
	p := &progress{w: app.Stderr, what: what, start: start, stop: make(chan struct{}), ended: make(chan struct{})}
	p.draw()
	go p.tick()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(p.stop)
			<-p.ended
			// Erase the line: what follows starts where it began.
			fmt.Fprint(p.w, "\r\x1b[K")
			if app.out.verbose {
				app.Debugf("%s (%s)", what, time.Since(start).Round(time.Millisecond))
			}
		})
	}
}

// progress is one drawn step line, redrawn each second with the time spent.
type progress struct {
	w     io.Writer
	what  string
	start time.Time
	stop  chan struct{}
	ended chan struct{}
}

var spinner = []string{"|", "/", "-", `\`}

func (p *progress) draw() {
	s := time.Since(p.start)
	fmt.Fprintf(p.w, "\r\x1b[K%s hjk: %s… %ds", spinner[int(s/(250*time.Millisecond))%len(spinner)], p.what, int(s.Seconds()))
}

func (p *progress) tick() {
	defer close(p.ended)
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.draw()
		}
	}
}

// statusStyle paints hjk doctor's verdicts.
var statusStyle = map[string]string{"ok": green, "warn": yellow, "fail": red + ";" + bold}
