package runner

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/gate/wire"
	"github.com/hjk-dev/hjk/internal/host/gateconf"
	"github.com/hjk-dev/hjk/internal/host/instance"
	"github.com/hjk-dev/hjk/internal/host/refresh"
	"github.com/hjk-dev/hjk/internal/host/runtime"
	"github.com/hjk-dev/hjk/internal/host/store"
	"github.com/hjk-dev/hjk/internal/layout"
)

// login is the credential a session of an agent is handed.
type login struct {
	agent   agent.Agent
	account string
	cred    agent.Credential
}

func (l login) item() string { return l.agent.Item(l.cred.Kind, l.account) }

// handed is the gate's view of a login, with the user's settings for its
// agent (upstream, ca_file, token_url).
func (r *Runner) handed(item string) (gateconf.Handed, error) {
	a, k, _, ok := agent.ParseItem(item)
	if !ok {
		return gateconf.Handed{}, fmt.Errorf("%q names no agent's login", item)
	}
	conf := r.Config.Agents[a.Name]
	h := gateconf.Handed{Agent: a, Kind: k, Item: item, Upstream: conf.Upstream, TokenURL: conf.TokenURL}
	if conf.CAFile != "" {
		b, err := os.ReadFile(conf.CAFile)
		if err != nil {
			return h, fmt.Errorf("agents.%s.ca_file: %w", a.Name, err)
		}
		h.CAPEM = string(b)
	}
	return h, nil
}

// prepareGate tells the instance's gate its routes (every login its
// sessions were handed, l among them) and the hosts it lets through, and
// hands the keeper l's real login, on stdin. It returns the instance with
// l recorded as handed.
func (r *Runner) prepareGate(ctx context.Context, rt runtime.Execer, in instance.Instance, l login) (instance.Instance, error) {
	items := slices.Clone(in.Handed)
	if !slices.Contains(items, l.item()) {
		items = append(items, l.item())
	}
	allow, err := gateconf.Allow(r.Config.Network.Preset, r.Config.Network.Allow)
	if err != nil {
		return in, err
	}
	p := wire.Prepare{Config: wire.Config{
		Instance: in.Name, Allow: allow, Preset: cmp.Or(r.Config.Network.Preset, gateconf.DefaultPreset),
		RefuseHint:  "hjk config network.allow +%s",
		MissingHint: "no %s login is loaded for this instance: run 'hjk run " + in.Branch + "' on the host",
	}}
	for _, it := range items {
		h, err := r.handed(it)
		if err != nil {
			return in, err
		}
		p.Config.Routes = append(p.Config.Routes, gateconf.Route(in.Name, h))
		if it == l.item() {
			p.Logins = append(p.Logins, gateconf.Login(h, l.cred))
		}
	}
	if in.Runtime == runtime.Kubernetes {
		// Pods share no socket: the gate reaches the keeper over TLS on
		// its pod's address, with its token and its certificate's pin.
		peer, err := r.Mgr.KeeperPeer(ctx, in)
		if err != nil {
			return in, err
		}
		p.Keeper = &peer
	}
	b, err := json.Marshal(p)
	if err != nil {
		return in, err
	}
	var out bytes.Buffer
	spec := r.Mgr.GateExec(in, false, "prepare")
	spec.Stdin, spec.Stdout, spec.Interactive = bytes.NewReader(b), &capped{w: &out, max: 64 << 10}, true
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := rt.Exec(ctx, spec); err != nil {
		return in, fmt.Errorf("prepare the gate of %q: %w", in.Branch, err)
	}
	var res wire.PrepareResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		return in, fmt.Errorf("the gate of %q answered prepare with something else: %v", in.Branch, err)
	}
	for _, lr := range res.Logins {
		if lr.Result == wire.Invalid {
			return in, fmt.Errorf("the credential keeper refused the %s login: %s", l.agent.Name, lr.Error)
		}
	}
	if !slices.Equal(items, in.Handed) {
		return r.Mgr.Update(in, func(i *instance.Instance) { i.Handed = items })
	}
	return in, nil
}

// gateSession puts placeholders and the gate's addresses in a session's
// environment and command for login l.
func gateSession(in instance.Instance, spec runtime.ExecSpec, l login, h gateconf.Handed, now time.Time) (runtime.ExecSpec, error) {
	env, args, err := gateconf.Session(in.Name, h, l.cred.Secret, now)
	if err != nil {
		return spec, err
	}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		spec.Env = append(spec.Env, k)
		spec.Values = append(spec.Values, k+"="+env[k])
	}
	if len(spec.Cmd) > 0 && len(args) > 0 {
		spec.Cmd = append(append([]string{spec.Cmd[0]}, args...), spec.Cmd[1:]...)
	}
	return spec, nil
}

// takeFromKeeper brings home every login the keeper refreshed: the only
// place a rotated token comes from with the gate (never the agent's
// container). Each is checked as one read back from a container is.
func (r *Runner) takeFromKeeper(ctx context.Context, in instance.Instance) {
	rt, err := r.Mgr.Execer(in)
	if err != nil {
		return
	}
	st, err := r.Store()
	if err != nil {
		return
	}
	var out bytes.Buffer
	spec := r.Mgr.GateExec(in, true, "export")
	spec.Stdout = &capped{w: &out, max: wire.MaxRequest}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err = rt.Exec(ctx, spec)
	if code, ok := runtime.ExitCode(err); ok && code == layout.ExitNothing {
		return
	}
	if err != nil {
		if !runtime.NotRunning(rt.Name(), err) {
			r.emit(Failed{Branch: in.Branch, Step: "take back logins", Err: err})
		}
		return
	}
	logins, err := wire.DecodeLogins(out.Bytes())
	if err != nil {
		r.emit(Failed{Branch: in.Branch, Step: "take back logins", Err: err})
		return
	}
	for _, l := range logins {
		a, k, account, ok := agent.ParseItem(l.Item)
		if !ok || a.Name != l.Agent || k != agent.Subscription || l.Kind != agent.Subscription {
			continue
		}
		secret := strings.TrimSpace(l.Secret)
		export := func(context.Context, agent.Agent) ([]byte, error) { return []byte(secret), nil }
		res, err := refresh.Take(ctx, st, r.Lock, a, account, export, r.now())
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		r.emit(LoginTaken{Agent: a.Name, Account: account, Branch: in.Branch, Outcome: res, Err: err})
	}
}
