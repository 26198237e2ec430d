package egress

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestLock sets the rules in a network namespace of its own (the test
// binary re-run under unshare --net, as root) and reads them back with
// nft when it is there.
func TestLock(t *testing.T) {
	if os.Getenv("HJK_EGRESS_CHILD") == "1" {
		if err := Lock(65533); err != nil {
			t.Fatal(err)
		}
		if err := Lock(65533); err != nil { // again: replaced, not doubled
			t.Fatal(err)
		}
		if err := Lock(0); err == nil {
			t.Error("locked for root")
		}
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root for a network namespace")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("needs unshare")
	}
	cmd := exec.Command(unshare, "--net", os.Args[0], "-test.run", "^TestLock$", "-test.v")
	cmd.Env = append(os.Environ(), "HJK_EGRESS_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "Operation not permitted") {
			t.Skipf("no network namespace here: %s", out)
		}
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS: TestLock") {
		t.Fatalf("the child did not run the test:\n%s", out)
	}
}

func TestRulesText(t *testing.T) {
	r := Rules(65533)
	for _, want := range []string{"inet " + Table, "policy drop", `oifname "lo" accept`, "skuid 65533 accept", "reject"} {
		if !strings.Contains(r, want) {
			t.Errorf("Rules does not say %q: %s", want, r)
		}
	}
}
