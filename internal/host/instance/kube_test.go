package instance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hjk-dev/hjk/internal/layout"
)

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

func TestKubeName(t *testing.T) {
	id := strings.Repeat("a", 32)
	names := map[string]bool{}
	for _, b := range []string{"a/b", "a-b", "A_B", "feature/ÜBER.long-branch-name-that-goes-on-and-on", "-", "..."} {
		n := KubeName(id, "/src/My_Repo.git", "My_Repo", b)
		if len(n) > 63 || !dnsLabel.MatchString(n) {
			t.Errorf("KubeName(%q) = %q: not a DNS label", b, n)
		}
		if names[n] {
			t.Errorf("KubeName(%q) = %q twice", b, n)
		}
		names[n] = true
	}
	if KubeName(id, "/r", "r", "b") == KubeName(strings.Repeat("b", 32), "/r", "r", "b") {
		t.Error("two data folders name the same branch's pod alike")
	}
	if k := KeeperPod(id); len(k) > 63 || !dnsLabel.MatchString(k) {
		t.Errorf("KeeperPod = %q", k)
	}
}

func FuzzKubeName(f *testing.F) {
	f.Add("repo", "feature/x")
	f.Add("", "")
	f.Add("ÜÖ", "---")
	f.Fuzz(func(t *testing.T, repo, branch string) {
		n := KubeName("id", "/g", repo, branch)
		if len(n) > 63 || !dnsLabel.MatchString(n) {
			t.Fatalf("KubeName(%q, %q) = %q", repo, branch, n)
		}
	})
}

func loadGet(t *testing.T) []kubeObject {
	b, err := os.ReadFile("testdata/kube-get-running.json")
	if err != nil {
		t.Fatal(err)
	}
	var l struct{ Items []kubeObject }
	if err := json.Unmarshal(b, &l); err != nil {
		t.Fatal(err)
	}
	return l.Items
}

// The states hjk shows, from what a real cluster answered (testdata: a
// running instance's pod and claim, kubectl get -o json), changed as a
// pod's life changes it.
func TestKubeStatus(t *testing.T) {
	items := loadGet(t)
	var st kubeStatus
	for i := range items {
		switch items[i].Kind {
		case "Pod":
			st.pod = &items[i]
		case "PersistentVolumeClaim":
			st.claim = &items[i]
		}
	}
	if st.pod == nil || st.claim == nil {
		t.Fatal("testdata holds no pod and claim")
	}
	if got := st.state(); got != "running" || st.podErr() != nil {
		t.Errorf("the running pod: %s %v", got, st.podErr())
	}
	if got := (kubeStatus{claim: st.claim}).state(); got != "stopped" {
		t.Errorf("a claim without its pod: %s", got)
	}
	if got := (kubeStatus{}).state(); got != StateMissing {
		t.Errorf("nothing: %s", got)
	}
	p := *st.pod
	p.Status.Conditions = nil
	p.Status.InitContainerStatuses = slices.Clone(p.Status.InitContainerStatuses)
	p.Status.InitContainerStatuses[1].State = kubeCState{Terminated: &kubeTerminated{ExitCode: 125, Message: "hjk-init: whoami: the image runs as root: hjk runs agents as the image's own non-root user (its USER)\n"}}
	failed := kubeStatus{pod: &p}
	var pe *PodError
	if err := failed.podErr(); !errors.As(err, &pe) || pe.Container != "hjk-user" || !strings.Contains(pe.Message, "root") {
		t.Errorf("a failed init container: %v", err)
	}
	if got := failed.state(); got != "starting" {
		t.Errorf("a pod not ready: %s", got)
	}
	k := &fakeKube{watch: [][]byte{mustJSON(t, p)}}
	m := &Manager{}
	if err := m.kubeWait(context.Background(), k, Instance{Name: p.Metadata.Name, Image: "img"}); !errors.As(err, new(*RootImageError)) {
		t.Errorf("kubeWait on an image running as root: %v", err)
	}
	pull := *st.pod
	pull.Status.Conditions = nil
	pull.Status.ContainerStatuses = slices.Clone(pull.Status.ContainerStatuses)
	pull.Status.ContainerStatuses[0].State = kubeCState{Waiting: &struct {
		Reason  string `json:"reason"`
		Message string `json:"message"`
	}{Reason: "ErrImageNeverPull"}}
	k = &fakeKube{watch: [][]byte{mustJSON(t, pull)}}
	if err := m.kubeWait(context.Background(), k, Instance{Name: pull.Metadata.Name, Image: imageOf(&pull, "agent")}); !errors.As(err, new(*NoImageError)) {
		t.Errorf("kubeWait on an image the cluster lacks: %v", err)
	}
	k = &fakeKube{watch: [][]byte{mustJSON(t, p), mustJSON(t, *st.pod)}}
	p.Status.InitContainerStatuses = st.pod.Status.InitContainerStatuses // not failed: still starting
	k.watch[0] = mustJSON(t, p)
	if err := m.kubeWait(context.Background(), k, Instance{Name: p.Metadata.Name}); err != nil || k.seen != 2 {
		t.Errorf("kubeWait through starting to ready: %v after %d states", err, k.seen)
	}
}

// A pod waiting for its claim to be bound is still starting; one the
// scheduler cannot place for another reason has failed.
func TestKubeUnschedulable(t *testing.T) {
	pod := func(msg string) kubeStatus {
		var o kubeObject
		b := `{"kind":"Pod","metadata":{"name":"p"},"status":{"phase":"Pending","conditions":[{"type":"PodScheduled","status":"False","reason":"Unschedulable","message":` + strconv.Quote(msg) + `}]}}`
		if err := json.Unmarshal([]byte(b), &o); err != nil {
			t.Fatal(err)
		}
		return kubeStatus{pod: &o}
	}
	claim := "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. not found"
	if err := pod(claim).podErr(); err != nil {
		t.Errorf("a pod waiting for its claim: %v", err)
	}
	if got := pod(claim).pendingWhy(); got != claim {
		t.Errorf("pendingWhy = %q", got)
	}
	var pe *PodError
	if err := pod("0/1 nodes are available: 1 Insufficient memory.").podErr(); !errors.As(err, &pe) || pe.Reason != "unschedulable" {
		t.Errorf("a pod no node can take: %v", err)
	}
}

func FuzzKubeStatus(f *testing.F) {
	f.Add([]byte(`{"kind":"Pod","status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"}]}}`))
	f.Add([]byte(`{"kind":"Pod","status":{"initContainerStatuses":[{"name":"x","lastState":{"terminated":{"exitCode":1}}}]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var o kubeObject
		if json.Unmarshal(b, &o) != nil {
			return
		}
		st := kubeStatus{pod: &o}
		switch s := st.state(); s {
		case "running", "starting", "stopping", "exited":
		default:
			t.Fatalf("state %q", s)
		}
		if err := st.podErr(); err != nil && st.state() == "running" && o.Status.Phase == "Failed" {
			t.Fatalf("a failed pod is running")
		}
	})
}

// The pod an instance gets: the agent's container has no capability and
// no way to gain one and runs as its image's user; only the setup init
// container is root, with CHOWN and NET_ADMIN; the gate and the shim copy
// run as the gate's uid; no service account token; nothing secret.
func TestKubePod(t *testing.T) {
	m := &Manager{Kube: KubeSettings{ShimImage: "shim:1", StorageClass: "fast"}}
	in := Instance{Name: "hjk-r-b-12345678", Image: "img:1", Credentials: CredentialsGate, Branch: "b", GitDir: "/r/.git"}
	b, _ := json.Marshal(m.kubePod(in, "id"))
	var pod struct {
		Spec struct {
			AutomountServiceAccountToken *bool `json:"automountServiceAccountToken"`
			InitContainers, Containers   []kContainer
		}
	}
	if err := json.Unmarshal(b, &pod); err != nil {
		t.Fatal(err)
	}
	if a := pod.Spec.AutomountServiceAccountToken; a == nil || *a {
		t.Error("the pod mounts a service account token")
	}
	byName := map[string]kContainer{}
	for _, c := range slices.Concat(pod.Spec.InitContainers, pod.Spec.Containers) {
		byName[c.Name] = c
		if c.SecurityContext.AllowPrivilegeEscalation || !slices.Equal(c.SecurityContext.Capabilities.Drop, []string{"ALL"}) {
			t.Errorf("%s may gain privileges or keeps capabilities", c.Name)
		}
	}
	if got := len(pod.Spec.InitContainers); got != 3 {
		t.Errorf("%d init containers", got)
	}
	agent := byName["agent"]
	if agent.SecurityContext.RunAsUser != nil || len(agent.SecurityContext.Capabilities.Add) > 0 || agent.Image != "img:1" {
		t.Errorf("the agent's container: %+v", agent.SecurityContext)
	}
	for _, mnt := range agent.VolumeMounts {
		if mnt.MountPath == layout.ShimDir && !mnt.ReadOnly || mnt.MountPath == layout.GateDir && !mnt.ReadOnly {
			t.Errorf("%s is writable in the agent's container", mnt.MountPath)
		}
	}
	setup := byName["hjk-setup"]
	if !slices.Equal(setup.SecurityContext.Capabilities.Add, []string{"CHOWN", "NET_ADMIN"}) || setup.Image != "shim:1" || !slices.Contains(setup.Command, "--gate-uid") || slices.Contains(setup.Command, "--no-lock") {
		t.Errorf("the setup container: %v %v", setup.SecurityContext.Capabilities, setup.Command)
	}
	for _, n := range []string{"gate", "hjk-shim"} {
		if u := byName[n].SecurityContext.RunAsUser; u == nil || *u != layout.GateUID {
			t.Errorf("%s does not run as the gate's uid", n)
		}
	}
	if !bytes.Contains(kubeList([]any{m.kubeClaim(in, "id")}), []byte(`"storageClassName":"fast"`)) {
		t.Error("the claim does not ask for the storage class")
	}
	in.Credentials = CredentialsInject
	b, _ = json.Marshal(m.kubePod(in, "id"))
	if !bytes.Contains(b, []byte("--no-lock")) || bytes.Contains(b, []byte(`"name":"gate"`)) {
		t.Error("with inject: the egress locked, or a gate")
	}
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fakeKube answers kubeWait's watch with the states in watch.
type fakeKube struct {
	Kubectl
	watch [][]byte
	seen  int
}

func (f *fakeKube) Watch(ctx context.Context, kind, name string, fn func([]byte) (bool, error)) error {
	for _, b := range f.watch {
		f.seen++
		done, err := fn(b)
		if err != nil || done {
			return err
		}
	}
	return errors.New("the watch ended")
}
