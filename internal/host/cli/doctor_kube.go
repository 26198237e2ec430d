package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/hjk-dev/hjk/internal/host/config"
	"github.com/hjk-dev/hjk/internal/host/runtime"
	"github.com/hjk-dev/hjk/internal/layout"
)

// kubeDoctor checks what hjk needs of a cluster: kubectl and the cluster
// answering, the namespace, the permissions hjk uses (kubectl auth can-i),
// and, with a server-side dry run of the pod an instance gets, whether the
// namespace's admission (Pod Security, policies) lets its init container
// have NET_ADMIN. What hjk cannot check is the cluster admin's: that the
// nodes' kernels have nftables, who else may exec into pods of the
// namespace, and whether the shim image can be pulled.
func (app *App) kubeDoctor(ctx context.Context, cfg config.Config, o *DoctorOptions) []check {
	var checks []check
	add := func(name, status, detail, fix string) { checks = append(checks, check{name, status, detail, fix}) }
	k := &runtime.Kube{Context: firstOf(o.Context, cfg.Kubernetes.Context), Namespace: firstOf(o.Namespace, cfg.Kubernetes.Namespace), Workdir: layout.Workdir}
	v, err := k.Version(ctx)
	if err != nil {
		add("runtime", "fail", err.Error(), runtimeFix(err))
		return checks
	}
	c, ns, err := k.Where(ctx)
	if err != nil {
		add("runtime", "fail", err.Error(), "set a context with 'kubectl config use-context', or give --context")
		return checks
	}
	k.Context, k.Namespace = c, ns
	add("runtime", "ok", fmt.Sprintf("kubernetes %s, context %s, namespace %s", v, c, ns), "")

	nsMissing := false
	switch _, err := k.Object(ctx, "namespace", ns); {
	case err == nil:
		add("namespace", "ok", ns+" exists", "")
	case errors.Is(err, runtime.ErrNotFound):
		nsMissing = true
		add("namespace", "fail", ns+" does not exist", "create it ('kubectl create namespace "+ns+"'), or choose another with 'hjk config kubernetes.namespace <name>'")
	default:
		add("namespace", "warn", "cannot tell whether "+ns+" exists: "+firstLineOf(err), "")
	}

	var missing []string
	for _, p := range []struct{ verb, res string }{
		{"create", "pods"}, {"get", "pods"}, {"list", "pods"}, {"watch", "pods"}, {"delete", "pods"}, {"create", "pods/exec"},
		{"create", "persistentvolumeclaims"}, {"get", "persistentvolumeclaims"}, {"list", "persistentvolumeclaims"}, {"delete", "persistentvolumeclaims"},
	} {
		ok, err := k.CanI(ctx, p.verb, p.res)
		if err != nil || !ok {
			missing = append(missing, p.verb+" "+p.res)
		}
	}
	if len(missing) > 0 {
		add("access", "fail", "kubectl may not "+strings.Join(missing, ", ")+" in "+ns, "ask the cluster's admin for a Role with these verbs in the namespace")
	} else {
		add("access", "ok", "pods (create, get, list, watch, delete, exec) and claims (create, get, list, delete) in "+ns, "")
	}

	is, err := app.instances()
	switch {
	case nsMissing:
		add("admission", "fail", "not checked: the namespace does not exist", "")
	case err == nil:
		image := firstOf(cfg.Image, DefaultImage)
		var probe []byte
		if probe, err = is.mgr.KubeProbe(image); err == nil {
			err = k.DryRun(ctx, probe)
		}
		if err != nil {
			add("admission", "fail", "the namespace refuses hjk's pods: "+firstLineOf(err),
				"an instance's pod needs an init container with NET_ADMIN (it locks the pod's egress to the gate): label the namespace 'pod-security.kubernetes.io/enforce=privileged' or ask the admin for an exemption")
		} else {
			add("admission", "ok", "the namespace admits an instance's pod (a dry run: init containers as root with CHOWN and NET_ADMIN, the agent with no capability)", "")
		}
	}

	if cfg.Kubernetes.StorageClass != "" {
		if _, err := k.Object(ctx, "storageclass", cfg.Kubernetes.StorageClass); err != nil {
			add("storage", "fail", "storage class "+cfg.Kubernetes.StorageClass+": "+firstLineOf(err), "choose one of 'kubectl get storageclass' with 'hjk config kubernetes.storage_class <name>'")
		} else {
			add("storage", "ok", "claims of storage class "+cfg.Kubernetes.StorageClass, "")
		}
	} else if b, err := k.Get(ctx, "storageclasses", nil); err == nil {
		var l struct {
			Items []struct {
				Metadata struct {
					Name        string            `json:"name"`
					Annotations map[string]string `json:"annotations"`
				} `json:"metadata"`
			} `json:"items"`
		}
		def := ""
		if json.Unmarshal(b, &l) == nil {
			for _, sc := range l.Items {
				if sc.Metadata.Annotations["storageclass.kubernetes.io/is-default-class"] == "true" {
					def = sc.Metadata.Name
				}
			}
		}
		if def == "" {
			add("storage", "fail", "the cluster has no default storage class", "choose one with 'hjk config kubernetes.storage_class <name>'")
		} else {
			add("storage", "ok", "claims of the default storage class "+def, "")
		}
	} else {
		add("storage", "warn", "cannot tell the default storage class: "+firstLineOf(err), "")
	}

	shim := firstOf(cfg.Kubernetes.ShimImage, DefaultShimImage)
	add("shim", "ok", "pods' init containers run "+shim+" (the cluster pulls it; not checked from here)", "")
	if cfg.Credentials == "inject" {
		add("gate", "warn", "credentials = inject: new instances get the real logins, and the pod's network", "'hjk config credentials gate' keeps the logins in a gate outside the agent's container")
	} else {
		add("gate", "ok", "logins stay in the gate; the pod's egress is locked to loopback and the gate's uid by nftables in the pod (no NetworkPolicy needed); the keeper is reached over TLS", "")
	}
	return checks
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func firstLineOf(err error) string {
	var ee *runtime.ExitError
	if errors.As(err, &ee) && ee.Stderr != "" {
		line, _, _ := strings.Cut(ee.Stderr, "\n")
		return strings.TrimSpace(line)
	}
	line, _, _ := strings.Cut(err.Error(), "\n")
	return line
}
