// Command readme fills the generated blocks of the READMEs that list the
// agents: README.md (the agents and the files hjk-init writes for them),
// images/README.md and internal/guest/shim/README.md (the variables
// hjk-init reads and the files it writes), from the agents' rows and
// creds' tables. `go run ./internal/gen` runs it; -check writes nothing
// and fails when a README is stale.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/gen/genfile"
	"github.com/hjk-dev/hjk/internal/guest/creds"
)

func main() {
	check := flag.Bool("check", false, "write nothing; fail when a README is stale")
	flag.Parse()
	if err := genfile.ToRoot(); err != nil {
		fmt.Fprintln(os.Stderr, "gen/readme:", err)
		os.Exit(1)
	}
	files, err := readmes(".")
	os.Exit(genfile.Main(".", files, err, *check, "gen/readme"))
}

// readmes returns the READMEs under root with their blocks filled.
func readmes(root string) ([]genfile.File, error) {
	all := agent.All()
	docs := []struct {
		path   string
		blocks map[string]string
	}{
		{"README.md", map[string]string{"agents": agentsTable(all), "hjk-init-files": initFilesTable(all)}},
		{"images/README.md", map[string]string{"variables": variablesTable(false), "hjk-init-files": initFilesTable(all)}},
		{"internal/guest/shim/README.md", map[string]string{"variables": variablesTable(true), "files": filesTable(), "export": exportTable()}},
	}
	var out []genfile.File
	for _, d := range docs {
		old, err := os.ReadFile(filepath.Join(root, d.path))
		if err != nil {
			return nil, err
		}
		b, err := genfile.Fill(old, d.blocks)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d.path, err)
		}
		out = append(out, genfile.File{Path: d.path, Data: b})
	}
	return out, nil
}

func code(s string) string { return "`" + s + "`" }

// agentsTable: each agent's CLI, its variables and its store items.
func agentsTable(all []agent.Agent) string {
	var b strings.Builder
	b.WriteString("| agent | CLI (npm, the version hjk's image pins) | login: variable, store item | API key: variable, store item |\n|---|---|---|---|\n")
	for _, a := range all {
		fmt.Fprintf(&b, "| %s | %s %s | %s, %s | %s, %s |\n", a.Name, code(a.Package), a.Version,
			code(a.SubscriptionVar), code(a.SubscriptionItem), code(a.APIKeyVar), code(a.APIKeyItem))
	}
	return b.String()
}

// initFilesTable: the files hjk-init writes for each agent's variables.
func initFilesTable(all []agent.Agent) string {
	names, folder := map[string][]string{}, map[string]string{}
	for _, f := range creds.Files() {
		names[f.Agent] = append(names[f.Agent], code(f.Name))
		folder[f.Agent] = f.Folder
	}
	var b strings.Builder
	b.WriteString("| variable | folder | files written |\n|---|---|---|\n")
	for _, a := range all {
		fmt.Fprintf(&b, "| %s or %s | %s | %s |\n", code(a.SubscriptionVar), code(a.APIKeyVar), code(folder[a.Name]), strings.Join(names[a.Name], ", "))
	}
	return b.String()
}

// variablesTable: every agent's variable hjk-init reads, with the
// subcommands that read it (readBy) or the agent it is for.
func variablesTable(readBy bool) string {
	var b strings.Builder
	if readBy {
		b.WriteString("| variable | read by | meaning |\n|---|---|---|\n")
	} else {
		b.WriteString("| variable | for | meaning |\n|---|---|---|\n")
	}
	for _, v := range creds.Variables() {
		mid := v.Agent
		if readBy {
			mid = v.ReadBy
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", code(v.Name), mid, v.Meaning)
	}
	return b.String()
}

// filesTable: every file hjk-init writes, its folder and what it holds.
func filesTable() string {
	var b strings.Builder
	b.WriteString("| agent | folder | file | holds a login | what hjk-init writes into it |\n|---|---|---|---|---|\n")
	for _, f := range creds.Files() {
		login := "no"
		if f.Login {
			login = "yes"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", f.Agent, code(f.Folder), code(f.Name), login, f.Holds)
	}
	return b.String()
}

// exportTable: what export prints for each agent, and from where.
func exportTable() string {
	var b strings.Builder
	b.WriteString("| agent | prints | from |\n|---|---|---|\n")
	for _, e := range creds.Exports() {
		prints := "nothing"
		if e.Prints != "" {
			prints = code(e.Prints)
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", e.Agent, prints, e.From)
	}
	return b.String()
}
