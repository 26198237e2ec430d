package instance

import (
	"encoding/json"
	"strconv"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/layout"
)

// The objects hjk makes on Kubernetes, as JSON for `kubectl apply`: only
// the fields hjk sets (the cluster fills the rest).

type kObject struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   kMeta  `json:"metadata"`
	Spec       any    `json:"spec"`
}

type kMeta struct {
	Name        string            `json:"name"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type kPodSpec struct {
	RestartPolicy                 string       `json:"restartPolicy"`
	AutomountServiceAccountToken  bool         `json:"automountServiceAccountToken"`
	EnableServiceLinks            bool         `json:"enableServiceLinks"`
	TerminationGracePeriodSeconds int          `json:"terminationGracePeriodSeconds"`
	InitContainers                []kContainer `json:"initContainers,omitempty"`
	Containers                    []kContainer `json:"containers"`
	Volumes                       []kVolume    `json:"volumes"`
}

type kContainer struct {
	Name                     string     `json:"name"`
	Image                    string     `json:"image"`
	ImagePullPolicy          string     `json:"imagePullPolicy"`
	Command                  []string   `json:"command"`
	WorkingDir               string     `json:"workingDir,omitempty"`
	Env                      []kEnv     `json:"env,omitempty"`
	SecurityContext          kSecurity  `json:"securityContext"`
	VolumeMounts             []kMount   `json:"volumeMounts"`
	TerminationMessagePolicy string     `json:"terminationMessagePolicy,omitempty"`
	Ports                    []kPort    `json:"ports,omitempty"`
	Resources                *kResource `json:"resources,omitempty"`
}

type kPort struct {
	Name          string `json:"name"`
	ContainerPort int    `json:"containerPort"`
}

type kResource struct {
	Requests map[string]string `json:"requests,omitempty"`
}

type kEnv struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type kSecurity struct {
	RunAsUser                *int      `json:"runAsUser,omitempty"`
	RunAsGroup               *int      `json:"runAsGroup,omitempty"`
	RunAsNonRoot             *bool     `json:"runAsNonRoot,omitempty"`
	AllowPrivilegeEscalation bool      `json:"allowPrivilegeEscalation"`
	ReadOnlyRootFilesystem   bool      `json:"readOnlyRootFilesystem,omitempty"`
	Capabilities             kCaps     `json:"capabilities"`
	SeccompProfile           *kSeccomp `json:"seccompProfile,omitempty"`
}

type kSeccomp struct {
	Type string `json:"type"`
}

type kCaps struct {
	Drop []string `json:"drop"`
	Add  []string `json:"add,omitempty"`
}

type kMount struct {
	Name      string `json:"name"`
	MountPath string `json:"mountPath"`
	SubPath   string `json:"subPath,omitempty"`
	ReadOnly  bool   `json:"readOnly,omitempty"`
}

type kVolume struct {
	Name                  string    `json:"name"`
	EmptyDir              *kEmpty   `json:"emptyDir,omitempty"`
	PersistentVolumeClaim *kClaimOf `json:"persistentVolumeClaim,omitempty"`
}

type kEmpty struct {
	Medium string `json:"medium,omitempty"`
}

type kClaimOf struct {
	ClaimName string `json:"claimName"`
}

type kClaimSpec struct {
	AccessModes      []string  `json:"accessModes"`
	StorageClassName *string   `json:"storageClassName,omitempty"`
	Resources        kResource `json:"resources"`
}

// Volume names inside the pods.
const (
	volShim  = "hjk-bin"
	volSetup = "hjk-setup"
	volRun   = "hjk-run"
	volGate  = "hjk-gate"
	volTmp   = "hjk-tmp"
	volWork  = "hjk-claim"
	volKeep  = "hjk-keeper"
)

// Where the setup container sees the folders it hands to the agent.
const (
	setupUser = "/.hjk/setup/user"
	mntData   = "/mnt/data"
	mntWork   = "/mnt/work"
	mntRun    = "/mnt/run"
)

func ptr[T any](v T) *T { return &v }

// noCaps is a container's security with no capability and no way to gain
// one.
func noCaps() kSecurity {
	return kSecurity{Capabilities: kCaps{Drop: []string{"ALL"}}, SeccompProfile: &kSeccomp{Type: "RuntimeDefault"}}
}

// asGate runs a container as the gate's uid, read-only.
func asGate() kSecurity {
	s := noCaps()
	s.RunAsUser, s.RunAsGroup, s.RunAsNonRoot = ptr(layout.GateUID), ptr(layout.GateUID), ptr(true)
	s.ReadOnlyRootFilesystem = true
	return s
}

func (m *Manager) labels(in Instance, id, role string) map[string]string {
	return map[string]string{LabelInstance: "1", LabelRole: role, LabelHost: id, LabelOwner: in.Name}
}

func annotations(in Instance) map[string]string {
	return map[string]string{
		LabelRepo: in.GitDir, LabelBranch: in.Branch, LabelAgent: in.Agent, LabelAccount: in.Account,
		LabelWorkMode: in.Workspace, annoImage: in.Image, annoCredentials: in.Credentials,
	}
}

// kubeClaim is the instance's claim: its data and its workspace.
func (m *Manager) kubeClaim(in Instance, id string) kObject {
	size := m.Kube.StorageSize
	if size == "" {
		size = DefaultStorageSize
	}
	spec := kClaimSpec{AccessModes: []string{"ReadWriteOnce"}, Resources: kResource{Requests: map[string]string{"storage": size}}}
	if m.Kube.StorageClass != "" {
		spec.StorageClassName = ptr(m.Kube.StorageClass)
	}
	return kObject{APIVersion: "v1", Kind: "PersistentVolumeClaim",
		Metadata: kMeta{Name: in.Name, Labels: m.labels(in, id, "data"), Annotations: annotations(in)}, Spec: spec}
}

// shimInit copies hjk-init and hjk-gate into the pod's emptyDir.
func (m *Manager) shimInit() kContainer {
	return kContainer{
		Name: "hjk-shim", Image: m.Kube.ShimImage, ImagePullPolicy: "IfNotPresent",
		Command:         []string{"/hjk-init", "install", layout.ShimDir},
		SecurityContext: asGate(),
		VolumeMounts:    []kMount{{Name: volShim, MountPath: layout.ShimDir}},
	}
}

// kubePod is the instance's pod (see kube.go).
func (m *Manager) kubePod(in Instance, id string) kObject {
	gated := in.Credentials == CredentialsGate
	gateUID := strconv.Itoa(layout.GateUID)
	setup := []string{"/hjk-gate", "setup", "--gate-uid", gateUID, "--user-file", setupUser, "--own", mntData, "--own", mntWork, "--own", mntRun}
	if !gated {
		setup = append(setup, "--no-lock")
	}
	setupSec := noCaps()
	setupSec.RunAsUser, setupSec.RunAsNonRoot, setupSec.ReadOnlyRootFilesystem = ptr(0), ptr(false), true
	setupSec.Capabilities.Add = []string{"CHOWN", "NET_ADMIN"}
	inits := []kContainer{
		m.shimInit(),
		{
			Name: "hjk-user", Image: in.Image, ImagePullPolicy: "IfNotPresent",
			Command:                  []string{layout.InitPath, "whoami", setupUser},
			Env:                      []kEnv{{layout.GateUIDVar, gateUID}},
			SecurityContext:          noCaps(),
			TerminationMessagePolicy: "FallbackToLogsOnError",
			VolumeMounts:             []kMount{{Name: volShim, MountPath: layout.ShimDir, ReadOnly: true}, {Name: volSetup, MountPath: "/.hjk/setup"}},
		},
		{
			Name: "hjk-setup", Image: m.Kube.ShimImage, ImagePullPolicy: "IfNotPresent",
			Command: setup, SecurityContext: setupSec, TerminationMessagePolicy: "FallbackToLogsOnError",
			VolumeMounts: []kMount{
				{Name: volSetup, MountPath: "/.hjk/setup", ReadOnly: true},
				{Name: volWork, MountPath: mntData, SubPath: "data"},
				{Name: volWork, MountPath: mntWork, SubPath: "work"},
				{Name: volRun, MountPath: mntRun},
			},
		},
	}
	env := []kEnv{
		{layout.WorkspaceVar, layout.WorkspaceVolume},
		{layout.ReadyVar, layout.ReadyFile},
		{agent.WorkdirVar, layout.Workdir},
		{layout.GateUIDVar, gateUID},
	}
	mounts := []kMount{
		{Name: volShim, MountPath: layout.ShimDir, ReadOnly: true},
		{Name: volWork, MountPath: layout.DataDir, SubPath: "data"},
		{Name: volWork, MountPath: layout.Workdir, SubPath: "work"},
		{Name: volRun, MountPath: layout.RunDir},
	}
	if gated {
		env = append(env, kEnv{layout.GateVar, gatePorts()})
		mounts = append(mounts, kMount{Name: volGate, MountPath: layout.GateDir, ReadOnly: true})
	}
	containers := []kContainer{{
		Name: kubeAgent, Image: in.Image, ImagePullPolicy: "IfNotPresent",
		Command: []string{layout.InitPath, "boot"}, WorkingDir: layout.Workdir,
		Env: env, SecurityContext: noCaps(), VolumeMounts: mounts, TerminationMessagePolicy: "FallbackToLogsOnError",
	}}
	if gated {
		containers = append(containers, kContainer{
			Name: kubeGate, Image: in.Image, ImagePullPolicy: "IfNotPresent",
			Command:         []string{layout.GatePath, "serve", "--dir", gateDir, "--keeper", ""},
			SecurityContext: asGate(), TerminationMessagePolicy: "FallbackToLogsOnError",
			VolumeMounts: []kMount{
				{Name: volShim, MountPath: layout.ShimDir, ReadOnly: true},
				{Name: volGate, MountPath: gateDir},
				{Name: volTmp, MountPath: "/tmp"},
			},
		})
	}
	vols := []kVolume{
		{Name: volShim, EmptyDir: &kEmpty{}},
		{Name: volSetup, EmptyDir: &kEmpty{Medium: "Memory"}},
		{Name: volRun, EmptyDir: &kEmpty{Medium: "Memory"}},
		{Name: volWork, PersistentVolumeClaim: &kClaimOf{ClaimName: in.Name}},
	}
	if gated {
		vols = append(vols, kVolume{Name: volGate, EmptyDir: &kEmpty{}}, kVolume{Name: volTmp, EmptyDir: &kEmpty{Medium: "Memory"}})
	}
	return kObject{APIVersion: "v1", Kind: "Pod",
		Metadata: kMeta{Name: in.Name, Labels: m.labels(in, id, "agent"), Annotations: annotations(in)},
		Spec: kPodSpec{
			RestartPolicy: "Always", TerminationGracePeriodSeconds: 10,
			InitContainers: inits, Containers: containers, Volumes: vols,
		},
	}
}

// kubeKeeperPod is the keeper's pod: hjk-gate keep, listening on TLS, from
// the image of the instance that needed it first (its CA certificates).
func (m *Manager) kubeKeeperPod(in Instance, id string) kObject {
	name := KeeperPod(id)
	return kObject{APIVersion: "v1", Kind: "Pod",
		Metadata: kMeta{Name: name, Labels: map[string]string{LabelRole: "keeper", LabelHost: id}},
		Spec: kPodSpec{
			RestartPolicy: "Always", TerminationGracePeriodSeconds: 5,
			InitContainers: []kContainer{m.shimInit()},
			Containers: []kContainer{{
				Name: kubeKeeper, Image: in.Image, ImagePullPolicy: "IfNotPresent",
				Command:         []string{layout.GatePath, "keep", "--dir", keeperDir, "--listen", ":" + strconv.Itoa(KeeperPort)},
				SecurityContext: asGate(), TerminationMessagePolicy: "FallbackToLogsOnError",
				Ports: []kPort{{Name: "keeper", ContainerPort: KeeperPort}},
				VolumeMounts: []kMount{
					{Name: volShim, MountPath: layout.ShimDir, ReadOnly: true},
					{Name: volKeep, MountPath: keeperDir},
					{Name: volTmp, MountPath: "/tmp"},
				},
			}},
			Volumes: []kVolume{
				{Name: volShim, EmptyDir: &kEmpty{}},
				{Name: volKeep, EmptyDir: &kEmpty{}},
				{Name: volTmp, EmptyDir: &kEmpty{Medium: "Memory"}},
			},
		},
	}
}

// kubeList is objs as one List for kubectl apply.
func kubeList(objs []any) []byte {
	b, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "List", "items": objs})
	return b
}

// KubeProbe is the manifest of a pod as an instance of image would get it
// (init containers, NET_ADMIN, claim and all, under a name of its own), for
// `hjk doctor` to ask the cluster's admission with a dry run.
func (m *Manager) KubeProbe(image string) ([]byte, error) {
	id, err := m.HostID()
	if err != nil {
		return nil, err
	}
	in := Instance{Name: "hjk-doctor-" + randomHex(4), Image: image, Runtime: "kubernetes", Credentials: CredentialsGate, Workspace: "volume"}
	return kubeList([]any{m.kubeClaim(in, id), m.kubePod(in, id)}), nil
}
