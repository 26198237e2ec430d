package cli

import (
	"fmt"
	"runtime"

	"github.com/hjk-dev/hjk/internal/version"
)

func versionCommand(app *App, args []string) error {
	fs := app.flags("version", "hjk version", "Print hjk's version.", "hjk version")
	if err := app.parse(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(app.Stdout, "hjk %s %s/%s\n", version.Version, runtime.GOOS, runtime.GOARCH)
	return nil
}
