package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Kubernetes is where and how instances on Kubernetes are made (runtime
// "kubernetes"): the kubeconfig context and namespace ("" kubectl's own
// rules), the claims' storage class ("" the cluster's default) and size,
// and the shim image its pods' init containers run ("" this hjk's).
type Kubernetes struct {
	Context      string `toml:"context,omitempty"`
	Namespace    string `toml:"namespace,omitempty"`
	StorageClass string `toml:"storage_class,omitempty"`
	StorageSize  string `toml:"storage_size,omitempty"`
	ShimImage    string `toml:"shim_image,omitempty"`
}

// kubeKeys are the kubernetes.* settings.
var kubeKeys = []string{"kubernetes.context", "kubernetes.namespace", "kubernetes.storage_class", "kubernetes.storage_size", "kubernetes.shim_image"}

func (k *Kubernetes) field(key string) *string {
	switch key {
	case "kubernetes.context":
		return &k.Context
	case "kubernetes.namespace":
		return &k.Namespace
	case "kubernetes.storage_class":
		return &k.StorageClass
	case "kubernetes.storage_size":
		return &k.StorageSize
	case "kubernetes.shim_image":
		return &k.ShimImage
	}
	return nil
}

var (
	dnsLabel  = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	dnsName   = regexp.MustCompile(`^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$`)
	quantity  = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$`)
	noSpaceRe = regexp.MustCompile(`^\S+$`)
)

// set checks and sets one kubernetes.* value.
func (k *Kubernetes) set(key, value string) error {
	ok := false
	switch key {
	case "kubernetes.context":
		ok = value != "" && noSpaceRe.MatchString(value) && !strings.HasPrefix(value, "-")
	case "kubernetes.namespace":
		ok = len(value) <= 63 && dnsLabel.MatchString(value)
	case "kubernetes.storage_class":
		ok = len(value) <= 253 && dnsName.MatchString(value)
	case "kubernetes.storage_size":
		ok = quantity.MatchString(value)
	case "kubernetes.shim_image":
		ok = value != "" && noSpaceRe.MatchString(value) && !strings.HasPrefix(value, "-")
	}
	if !ok {
		return fmt.Errorf("%s %q is not valid", key, value)
	}
	*k.field(key) = value
	return nil
}

func isKubeKey(k string) bool { return slices.Contains(kubeKeys, k) }
