package runtime

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

func TestKubeExecArgs(t *testing.T) {
	k := &Kube{Context: "ctx", Namespace: "ns", Workdir: "/workspace"}
	args, err := k.execArgs(ExecSpec{Pod: "p", Container: "agent", Cmd: []string{"/x", "-y"}, Stdin: bytes.NewReader(nil), TTY: true, Workdir: "/workspace"})
	want := []string{"kubectl", "--context", "ctx", "--namespace", "ns", "exec", "-i", "-t", "p", "-c", "agent", "--", "/x", "-y"}
	if err != nil || !slices.Equal(args, want) {
		t.Errorf("execArgs = %q, %v\nwant %q", args, err, want)
	}
	for _, bad := range []ExecSpec{
		{Container: "agent", Cmd: []string{"x"}},                                    // no pod
		{Pod: "p", Container: "agent", Cmd: []string{"x"}, Env: []string{"A"}},      // kubectl exec passes no environment
		{Pod: "p", Container: "agent", Cmd: []string{"x"}, Values: []string{"A=s"}}, // nor values
		{Pod: "p", Container: "agent", Cmd: []string{"x"}, User: "1000"},            // nor a user
		{Pod: "p", Container: "agent", Cmd: []string{"x"}, Workdir: "/elsewhere"},   // nor a folder
	} {
		if args, err := k.execArgs(bad); err == nil {
			t.Errorf("execArgs(%+v) = %q, want a refusal", bad, args)
		} else if strings.Contains(err.Error(), "A=s") {
			t.Errorf("the refusal shows a value: %v", err)
		}
	}
	// The engines refuse a pod.
	if _, err := execFlags(ExecSpec{Pod: "p", Container: "c", Cmd: []string{"x"}}); err == nil {
		t.Error("docker's exec took a pod")
	}
}

func TestKubeRefused(t *testing.T) {
	for _, tt := range []struct {
		code int
		head string
		want bool
	}{
		{1, `Error from server (NotFound): pods "hjk-x" not found`, true},
		{1, "error: cannot exec into a container in a completed pod; current phase is Succeeded", true},
		{1, `error: unable to upgrade connection: container not found ("agent")`, true},
		{2, `Error from server (NotFound): pods "hjk-x" not found`, false},
		{1, "the session said: Error from server (NotFound): pods", false},
		{1, "hjk-init: repo: nothing", false},
	} {
		err := &ExitError{Code: tt.code, Stderr: tt.head}
		if got := Refused(Kubernetes, err, tt.head); got != tt.want {
			t.Errorf("Refused(%d, %q) = %v", tt.code, tt.head, got)
		}
	}
}

func TestSelector(t *testing.T) {
	if got := selector(map[string]string{"b": "2", "a": "1"}); got != "a=1,b=2" {
		t.Errorf("selector = %q", got)
	}
}
