package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hjk-dev/hjk/internal/host/config"
	"github.com/hjk-dev/hjk/internal/host/instance"
	"github.com/hjk-dev/hjk/internal/host/runtime"
	"github.com/hjk-dev/hjk/internal/host/shimbin"
)

// check is one line of hjk doctor: what was checked, how it went, and the
// fix when it failed. Its JSON fields are stable.
type check struct {
	Name   string `json:"name"`
	Status string `json:"status"` // ok, warn (works, worth knowing) or fail
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// DoctorOptions are hjk doctor's.
type DoctorOptions struct {
	App     *App
	JSON    bool
	Runtime string
}

// NewCmdDoctor is `hjk doctor`; runF, when set, replaces doctorRun.
func NewCmdDoctor(app *App, runF func(*DoctorOptions) error) *cobra.Command {
	opts := &DoctorOptions{App: app}
	cmd := &cobra.Command{
		Use:   "doctor [--json] [--runtime <name>]",
		Short: "check the runtime, store, git, image and hjk-init",
		Long: "Check what hjk needs: the container runtime (installed, answering, its\n" +
			"version), the credential store (opens; no secret is read), git, the\n" +
			"default image, and the hjk-init carried inside hjk. Each failure comes\n" +
			"with its fix; the exit status is 1 when any check fails.",
		Example:           "hjk doctor --json",
		Args:              argsRange(0, 0, "hjk doctor takes no arguments"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(*cobra.Command, []string) error {
			if runF != nil {
				return runF(opts)
			}
			return doctorRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the checks as JSON")
	cmd.Flags().StringVar(&opts.Runtime, "runtime", "", "check this runtime: docker, podman or container (env HJK_RUNTIME)")
	completeFlag(cmd, "runtime", completeRuntimes)
	return cmd
}

func doctorRun(opts *DoctorOptions) error {
	app, o := opts.App, opts
	checks := app.doctor(o)
	failed := 0
	for _, c := range checks {
		if c.Status == "fail" {
			failed++
		}
	}
	if o.JSON {
		enc := json.NewEncoder(app.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			OK     bool    `json:"ok"`
			Checks []check `json:"checks"`
		}{failed == 0, checks}); err != nil {
			return err
		}
	} else {
		for _, c := range checks {
			fmt.Fprintf(app.Stdout, "%s  %-8s %s\n", app.paint(app.Stdout, statusStyle[c.Status], fmt.Sprintf("%-4s", c.Status)), c.Name, c.Detail)
			if c.Fix != "" {
				fmt.Fprintf(app.Stdout, "      %-8s fix: %s\n", "", c.Fix)
			}
		}
	}
	if failed > 0 {
		// The checks said it all; only the exit status is left.
		return &ExitError{Code: exitFailure}
	}
	return nil
}

// doctor runs every check; none stops the others.
func (app *App) doctor(o *DoctorOptions) []check {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var checks []check
	add := func(name, status, detail, fix string) {
		checks = append(checks, check{name, status, detail, fix})
	}

	cfg, cfgErr := app.doctorConfig()
	if cfgErr != nil {
		add("config", "fail", cfgErr.Error(), "fix the file by hand: hjk never overwrites a broken settings file")
	} else {
		add("config", "ok", "settings read", "")
	}

	rt, err := app.Runtime(o.Runtime)
	var rtOK bool
	switch {
	case err != nil:
		add("runtime", "fail", err.Error(), runtimeFix(err))
	default:
		v, err := rt.Version(ctx)
		if err != nil {
			add("runtime", "fail", err.Error(), runtimeFix(err))
		} else {
			rtOK = true
			add("runtime", "ok", fmt.Sprintf("%s, engine %s", rt.Name(), v), "")
		}
	}

	s, err := app.Store()
	if err == nil {
		_, err = s.List() // item names only: no secret is read
	}
	if err != nil {
		// The store's errors say what to start or set; a usage error's
		// hint lists the valid names.
		add("store", "fail", err.Error(), hintOf(err))
	} else {
		add("store", "ok", s.Name()+" opens", "")
	}

	checks = append(checks, app.gitChecks(ctx)...)

	image := cfg.Image
	if image == "" {
		image = DefaultImage
	}
	switch {
	case !rtOK:
		add("image", "fail", image+": not checked, the runtime does not answer", "fix the runtime first")
	default:
		ok, err := rt.ImageExists(ctx, image)
		switch {
		case err != nil:
			add("image", "fail", fmt.Sprintf("%s: %v", image, err), "")
		case !ok:
			add("image", "fail", fmt.Sprintf("%s is not present in %s", image, rt.Name()),
				"build it with 'make images' in hjk's source, or choose another with 'hjk config image <ref>'")
		default:
			add("image", "ok", fmt.Sprintf("%s present in %s", image, rt.Name()), "")
		}
	}

	if have := shimbin.Embedded(); len(have) == len(shimbin.Arches) {
		add("hjk-init", "ok", "carried inside hjk for linux/"+strings.Join(have, ", linux/"), "")
	} else {
		add("hjk-init", "fail", shimbin.ErrNotEmbedded.Error(), "build hjk with 'make build' (or 'make install')")
	}
	return checks
}

// doctorConfig reads the settings file; a broken one is a failed check,
// and the other checks go on with the defaults.
func (app *App) doctorConfig() (config.Config, error) {
	dirs, err := config.DirsFrom(app.Getenv)
	if err != nil {
		return config.Config{}, err
	}
	return config.Load(dirs.File())
}

// runtimeFix is the fix for a runtime that can't be used. An unavailable
// runtime's message already is the fix.
func runtimeFix(err error) string {
	if errors.Is(err, runtime.ErrUnavailable) {
		return ""
	}
	return "choose a runtime with --runtime, HJK_RUNTIME or 'hjk config runtime <docker|podman|container>'"
}

// gitChecks: git is installed, and the repository hjk run would use here
// (hjk run needs one; elsewhere that is only worth knowing): inside an
// instance's workspace the one hjk recorded, as FindRepo decides, with no
// git run in a folder the container writes.
func (app *App) gitChecks(ctx context.Context) []check {
	out, err := exec.CommandContext(ctx, "git", "--version").Output()
	if err != nil {
		return []check{{Name: "git", Status: "fail", Detail: "git is not installed", Fix: "install git (https://git-scm.com/downloads)"}}
	}
	c := []check{{Name: "git", Status: "ok", Detail: strings.TrimSpace(string(out))}}
	wd, _ := os.Getwd()
	dirs, err := config.DirsFrom(app.Getenv)
	if err != nil {
		return append(c, check{Name: "repo", Status: "warn", Detail: err.Error()})
	}
	r, err := (&instance.Manager{Data: dirs.Data}).FindRepo(ctx, wd)
	switch {
	case errors.Is(err, instance.ErrInData):
		return append(c, check{Name: "repo", Status: "warn", Detail: wd + " is a folder of hjk's own", Fix: "cd into a git repository, or an instance's workspace, before 'hjk run'"})
	case err != nil:
		return append(c, check{Name: "repo", Status: "warn", Detail: wd + " is not inside a git repository", Fix: "cd into a git repository before 'hjk run'"})
	}
	return append(c, check{Name: "repo", Status: "ok", Detail: r.Dir})
}
