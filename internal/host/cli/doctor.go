package cli

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	goruntime "runtime"
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
	// Context and Namespace are the cluster's, with runtime kubernetes.
	Context, Namespace string
}

// NewCmdDoctor is `hjk doctor`; runF, when set, replaces doctorRun.
func NewCmdDoctor(app *App, runF func(*DoctorOptions) error) *cobra.Command {
	opts := &DoctorOptions{App: app}
	cmd := &cobra.Command{
		Use:   "doctor [--json] [--runtime <name>]",
		Short: "check the runtime, store, git, image and hjk-init",
		Long: "Check what hjk needs: the container runtime and the engine a new instance\n" +
			"would be made on (installed, answering, its version; an engine other than the\n" +
			"runtime's default is also asked whether it sees this machine's folders), every\n" +
			"other engine instances live on, the credential store (opens; no secret is\n" +
			"read), git, the default image, and the hjk-init carried inside hjk. Each\n" +
			"failure comes with its fix; the exit status is 1 when any check fails.",
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
	cmd.Flags().StringVar(&opts.Runtime, "runtime", "", "check this runtime, and engine: docker, podman, container or kubernetes, docker:CONTEXT, podman:CONNECTION, docker:ssh://HOST (env HJK_RUNTIME)")
	cmd.Flags().StringVar(&opts.Context, "context", "", "with kubernetes: check this kubeconfig context (default: kubernetes.context, else kubectl's current)")
	cmd.Flags().StringVar(&opts.Namespace, "namespace", "", "with kubernetes: check this namespace (default: kubernetes.namespace, else the context's)")
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

	if (runtime.Choice{Flag: o.Runtime, Env: app.Getenv("HJK_RUNTIME"), Config: cfg.Runtime}).Chosen() == runtime.Kubernetes {
		checks = append(checks, app.kubeDoctor(ctx, cfg, o)...)
		checks = append(checks, app.shimChecks()...)
		return checks
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
			add("runtime", "ok", fmt.Sprintf("%s, engine %s", (instance.Target{Runtime: rt.Name(), Engine: rt.Endpoint()}).String(), v), "")
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
		im, err := rt.ImageInspect(ctx, image)
		switch {
		case errors.Is(err, runtime.ErrNoSuchImage):
			add("image", "fail", fmt.Sprintf("%s is not present in %s", image, rt.Name()),
				"build it with 'make images' in hjk's source, or choose another with 'hjk config image <ref>'")
		case err != nil:
			add("image", "fail", fmt.Sprintf("%s: %v", image, err), "")
		case im.User == "" || im.User == "root" || strings.HasPrefix(im.User, "0"):
			add("image", "fail", fmt.Sprintf("%s runs as root: hjk runs agents as an image's own non-root user", image),
				"add `USER <name>` to its Dockerfile, or choose another with 'hjk config image <ref>'")
		default:
			add("image", "ok", fmt.Sprintf("%s present in %s (user %s, linux/%s)", image, rt.Name(), im.User, im.Arch), "")
			if !rt.Endpoint().IsDefault() {
				checks = append(checks, app.filesCheck(ctx, rt, image))
			}
		}
	}
	if rt != nil {
		checks = append(checks, app.engineChecks(ctx, instance.Target{Runtime: rt.Name(), Engine: rt.Endpoint()})...)
	}

	switch {
	case rt == nil:
	case rt.Name() == "container":
		add("gate", "warn", "Apple's container cannot run the credential gate yet: its instances get their logins injected (credentials = inject) and the engine's network", "")
	case cfg.Credentials == "inject":
		add("gate", "warn", "credentials = inject: new instances get the real logins, and the engine's network", "'hjk config credentials gate' keeps the logins in a gate outside the agent's container")
	default:
		net := cfg.Gate.Network
		if net == "" {
			net = "the engine's default network"
		}
		add("gate", "ok", fmt.Sprintf("logins stay in the credential gate; the agent's only way out is the gate (network %s; the gate and keeper on %s)", cmp.Or(cfg.Network.Preset, "dev"), net), "")
	}

	return append(checks, app.shimChecks()...)
}

// shimChecks: the binaries hjk carries.
func (app *App) shimChecks() []check {
	var checks []check
	add := func(name, status, detail, fix string) {
		checks = append(checks, check{name, status, detail, fix})
	}
	if have := shimbin.Embedded(); len(have) == len(shimbin.Arches) {
		add("hjk-init", "ok", "carried inside hjk for linux/"+strings.Join(have, ", linux/"), "")
	} else {
		add("hjk-init", "fail", shimbin.ErrNotEmbedded.Error(), "build hjk with 'make build' (or 'make install')")
	}
	if _, tar, err := shimbin.Tar(goruntime.GOARCH); err != nil || !bytes.Contains(tar, []byte("hjk-gate")) {
		add("hjk-gate", "warn", "this hjk carries no hjk-gate: instances can only get their logins injected", "build hjk with 'make build'")
	} else {
		add("hjk-gate", "ok", "carried inside hjk", "")
	}
	return checks
}

// filesCheck says whether the engine a new instance would go to sees this
// machine's folders, as hjk run asks it (a container created, never
// started, with a bind mount of a new folder).
func (app *App) filesCheck(ctx context.Context, rt runtime.Runtime, image string) check {
	is, err := app.instances()
	if err != nil {
		return check{Name: "files", Status: "fail", Detail: err.Error()}
	}
	remote, err := is.mgr.IsRemote(ctx, rt, image)
	switch {
	case err != nil:
		return check{Name: "files", Status: "fail", Detail: err.Error()}
	case remote:
		return check{Name: "files", Status: "ok", Detail: fmt.Sprintf("the engine %s shares no filesystem with this machine: instances there keep their files in volumes and get their commits as bundles", rt.Endpoint())}
	}
	return check{Name: "files", Status: "ok", Detail: fmt.Sprintf("the engine %s sees this machine's folders: workspace folders work there", rt.Endpoint())}
}

// engineChecks asks every other engine the catalog's instances live on
// whether it answers: commands for those instances go there.
func (app *App) engineChecks(ctx context.Context, seen instance.Target) []check {
	is, err := app.instances()
	if err != nil {
		return nil
	}
	targets, _ := is.mgr.Targets()
	var checks []check
	for _, t := range targets {
		if t == seen {
			continue
		}
		rt, err := app.runtimeNamed(t.Runtime, t.Engine)
		var v string
		if err == nil {
			v, err = rt.Version(ctx)
		}
		if err != nil {
			checks = append(checks, check{Name: "engine", Status: "fail", Detail: fmt.Sprintf("%s, where instances live: %v", t, err), Fix: runtimeFix(err)})
			continue
		}
		checks = append(checks, check{Name: "engine", Status: "ok", Detail: fmt.Sprintf("%s, engine %s, where instances live", t, v)})
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
	is, err := app.instances()
	if err != nil {
		return append(c, check{Name: "repo", Status: "warn", Detail: err.Error()})
	}
	r, err := is.mgr.FindRepo(ctx, wd)
	switch {
	case errors.Is(err, instance.ErrInData):
		return append(c, check{Name: "repo", Status: "warn", Detail: wd + " is a folder of hjk's own", Fix: "cd into a git repository, or an instance's workspace, before 'hjk run'"})
	case err != nil:
		return append(c, check{Name: "repo", Status: "warn", Detail: wd + " is not inside a git repository", Fix: "cd into a git repository before 'hjk run'"})
	}
	return append(c, check{Name: "repo", Status: "ok", Detail: r.Dir})
}
