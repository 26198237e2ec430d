package cli

import (
	"encoding/json"
	"fmt"
	"runtime"

	"github.com/hjk-dev/hjk/internal/version"
)

// versionJSON is `hjk version --json`. Field names are stable.
type versionJSON struct {
	Version string `json:"version"`
	OS      string `json:"os"`
	Arch    string `json:"arch"`
	Go      string `json:"go"`
}

func versionCommand(app *App, args []string) error {
	fs := app.flags("version", "hjk version [--json]", "Print hjk's version, and the system it was built for.\n--json prints an object with the fields version, os, arch and go.", "hjk version --json | jq -r .version")
	asJSON := fs.Bool("json", false, "print JSON with stable field names")
	if err := app.parse(fs, args); err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(app.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(versionJSON{version.Version, runtime.GOOS, runtime.GOARCH, runtime.Version()})
	}
	fmt.Fprintf(app.Stdout, "hjk %s %s/%s\n", version.Version, runtime.GOOS, runtime.GOARCH)
	return nil
}
