package cli

import (
	"encoding/json"
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/hjk-dev/hjk/internal/version"
)

// VersionOptions are hjk version's.
type VersionOptions struct {
	App  *App
	JSON bool
}

// versionJSON is `hjk version --json`. Field names are stable.
type versionJSON struct {
	Version string `json:"version"`
	OS      string `json:"os"`
	Arch    string `json:"arch"`
	Go      string `json:"go"`
}

// NewCmdVersion is `hjk version`; runF, when set, replaces versionRun.
func NewCmdVersion(app *App, runF func(*VersionOptions) error) *cobra.Command {
	opts := &VersionOptions{App: app}
	cmd := &cobra.Command{
		Use:     "version [--json]",
		Short:   "print hjk's version",
		Long:    "Print hjk's version, and the system it was built for.\n--json prints an object with the fields version, os, arch and go.",
		Example: "hjk version --json | jq -r .version",
		RunE: func(*cobra.Command, []string) error {
			if runF != nil {
				return runF(opts)
			}
			return versionRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON with stable field names")
	return cmd
}

func versionRun(opts *VersionOptions) error {
	app := opts.App
	if opts.JSON {
		enc := json.NewEncoder(app.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(versionJSON{version.Version, runtime.GOOS, runtime.GOARCH, runtime.Version()})
	}
	fmt.Fprintf(app.Stdout, "hjk %s %s/%s\n", version.Version, runtime.GOOS, runtime.GOARCH)
	return nil
}
