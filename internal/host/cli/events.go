package cli

import (
	"cmp"
	"fmt"

	"github.com/hjk-dev/hjk/internal/host/instance"
	"github.com/hjk-dev/hjk/internal/host/refresh"
	"github.com/hjk-dev/hjk/internal/host/runner"
	"github.com/hjk-dev/hjk/internal/host/store"
	"github.com/hjk-dev/hjk/internal/textsafe"
)

// event words what the runner did, on stderr (stdout is the session's and
// the results'). Everything that can hold a byte of the container's (a
// session name, an engine's message) goes through textsafe.
func (app *App) event(e runner.Event) {
	switch e := e.(type) {
	case runner.Acted:
		in := e.Instance
		switch e.Action {
		case instance.Created:
			where := "in the volume " + in.WorkVolume()
			if in.Folder != "" {
				where = "in " + in.Folder
			}
			app.Notef("new instance of %q: its files %s, container %s (%s, credentials: %s)", in.Branch, where, in.Name, textsafe.Field(in.Where(), 300), in.Credentials)
		case instance.Started:
			app.Notef("started the stopped container of %q", in.Branch)
		case instance.Restored:
			app.Notef("the container of %q had been removed; made a new one (its files and repository are kept)", in.Branch)
		}
	case runner.Switched:
		app.Notef("the instance of %q now uses account %s (was %s)", e.Branch, e.To, cmp.Or(e.From, "the default"))
	case runner.ImageDiffers:
		app.Warnf("the instance of %q runs %s; 'hjk recreate %s --image %s' changes it", e.Branch, e.Have, quoteArg(e.Branch), e.Want)
	case runner.Expiring:
		what := "the " + e.Agent + " login"
		if e.Account != "" {
			what += " of account " + e.Account
		}
		app.Warnf("%s %s: renew it with '%s'", what, e.When, (&store.NotConfiguredError{Agent: e.Agent, Account: e.Account}).Command())
	case runner.Detached:
		name := textsafe.Field(e.Session, 64)
		app.Notef("session %s runs detached: 'hjk attach %s %s' to see it", name, quoteArg(e.Branch), name)
	case runner.Pulled:
		app.pulled(e)
	case runner.Pushed:
		app.pushed(e)
	case runner.LoginTaken:
		what := e.Agent + " login"
		if e.Account != "" {
			what += " of account " + e.Account
		}
		switch {
		case e.Err != nil:
			app.Warnf("%s", textsafe.Text(e.Err.Error(), 2000))
			app.Warnf("the store keeps its %s; should %s say its login expired, run '%s'", what, e.Agent,
				(&store.NotConfiguredError{Agent: e.Agent, Account: e.Account}).Command())
		case e.Outcome == refresh.Updated:
			app.Notef("took back the refreshed %s", what)
		case e.Outcome == refresh.Unchanged:
			app.Debugf("the %s in the keeper or container of %q is not newer than the store's", what, e.Branch)
		}
	case runner.Failed:
		app.Warnf("%s of %q: %s", e.Step, e.Branch, textsafe.Text(e.Err.Error(), 2000))
	}
}

func (app *App) pulled(e runner.Pulled) {
	r, b := e.Result, e.Instance.Branch
	switch {
	case r.Tip == "":
		app.Debugf("no new commits in the instance of %q", b)
	case r.Moved && r.From == "":
		app.Notef("branch %q made at the instance's %s", b, short(r.Tip))
	case r.Moved:
		app.Notef("branch %q moved to the instance's %s (from %s)", b, short(r.Tip), short(r.From))
	case r.Why == instance.KeptCheckedOut:
		app.Warnf("branch %q is checked out in %s, so hjk left it: the instance's commits are at %s; 'git merge --ff-only %s' there brings them",
			b, textsafe.Field(fmt.Sprint(r.Worktrees), 400), r.Kept, r.Kept)
	case r.Why == instance.KeptDiverged:
		app.Warnf("branch %q and its instance both have commits the other lacks: the branch is as it was, the instance's tip is at %s; 'git merge %s' joins them, then 'hjk sync %s'",
			b, r.Kept, r.Kept, quoteArg(b))
	default:
		app.Debugf("the host has the instance of %q's commits already", b)
	}
}

func (app *App) pushed(e runner.Pushed) {
	r, b := e.Result, e.Instance.Branch
	switch {
	case r.Moved:
		app.Notef("the instance of %q moved to the branch's %s", b, short(r.To))
	case r.Why == "dirty":
		app.Warnf("branch %q moved ahead on the host, but the instance has uncommitted changes: commit them there, then 'hjk sync %s'", b, quoteArg(b))
	case r.Why == "ahead":
		app.Debugf("the instance of %q has commits the branch lacks: 'hjk sync %s' brings them first", b, quoteArg(b))
	}
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
