package cli

import (
	"context"
	"time"

	"github.com/hjk-dev/hjk/internal/host/runtime"
	"github.com/hjk-dev/hjk/internal/host/shimbin"
)

// Conditions for the config and doctor scripts: [hjkinit] this test binary
// carries hjk-init (make build ran first); [docker], [podman] the engine
// answers. Under HJK_E2E=1 a false one fails the script (scriptCondition).
func init() {
	scriptConditions["hjkinit"] = func() bool { return len(shimbin.Embedded()) == len(shimbin.Arches) }
	for _, name := range []string{"docker", "podman"} {
		scriptConditions[name] = func() bool {
			r, err := runtime.New(name)
			if err != nil {
				return false
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_, err = r.Version(ctx)
			return err == nil
		}
	}
}
