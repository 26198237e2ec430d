// Package version holds the build's version, shared by hjk and hjk-init so
// the host can tell whether the shim it mounts is its own.
package version

// Version is set at link time: -ldflags "-X github.com/hjk-dev/hjk/internal/version.Version=v1.2.3".
var Version = "dev"
