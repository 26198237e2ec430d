package privdrop

import (
	"reflect"
	"strings"
	"testing"
)

// Switch's paths that need no privilege: unset, the caller's own uid, and
// the refusal to run on as the wrong user. The drop itself is tested on
// the real binary (cmd/hjk-init), as root.
func TestSwitchWithoutRoot(t *testing.T) {
	t.Parallel()
	env := []string{"HOME=/home/me", "PATH=/bin"}
	if got, err := Switch(env, 4242); err != nil || !reflect.DeepEqual(got, env) {
		t.Errorf("unset HJK_USER: %q, %v; want the environment as it was", got, err)
	}
	if got, err := Switch(append(env, "HJK_USER="), 4242); err != nil || len(got) != 3 {
		t.Errorf("empty HJK_USER: %q, %v; want it treated as unset", got, err)
	}
	same := append([]string{"HJK_USER=4242:4242"}, env...)
	if got, err := Switch(same, 4242); err != nil || !reflect.DeepEqual(got, same) {
		t.Errorf("HJK_USER naming the caller: %q, %v; want nothing changed", got, err)
	}
	_, err := Switch(append([]string{"HJK_USER=0"}, env...), 4242)
	if err == nil || !strings.Contains(err.Error(), "HJK_USER=0: hjk-init runs as uid 4242, not root, and cannot switch to uid 0") {
		t.Errorf("HJK_USER naming another uid, not as root: %v", err)
	}
	// The first HJK_USER counts, as for every variable hjk-init reads.
	if _, err := Switch([]string{"HJK_USER=4242", "HJK_USER=0"}, 4242); err != nil {
		t.Errorf("HJK_USER twice: %v; want the first to count", err)
	}
}
