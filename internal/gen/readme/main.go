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

// table is a markdown table of head and rows, one line each.
func table(head []string, rows [][]string) string {
	var b strings.Builder
	line := func(cells []string) { b.WriteString("| " + strings.Join(cells, " | ") + " |\n") }
	line(head)
	b.WriteString(strings.Repeat("|---", len(head)) + "|\n")
	for _, r := range rows {
		line(r)
	}
	return b.String()
}

// agentsTable: each agent's CLI, its variables and its store items.
func agentsTable(all []agent.Agent) string {
	var rows [][]string
	for _, a := range all {
		rows = append(rows, []string{a.Name, code(a.Package) + " " + a.Version,
			code(a.SubscriptionVar) + ", " + code(a.SubscriptionItem), code(a.APIKeyVar) + ", " + code(a.APIKeyItem)})
	}
	return table([]string{"agent", "CLI (npm, the version hjk's image pins)", "login: variable, store item", "API key: variable, store item"}, rows)
}

// initFilesTable: the files hjk-init writes for each agent's variables.
func initFilesTable(all []agent.Agent) string {
	names, folder := map[string][]string{}, map[string]string{}
	for _, f := range creds.Files() {
		names[f.Agent] = append(names[f.Agent], code(f.Name))
		folder[f.Agent] = f.Folder
	}
	var rows [][]string
	for _, a := range all {
		rows = append(rows, []string{code(a.SubscriptionVar) + " or " + code(a.APIKeyVar), code(folder[a.Name]), strings.Join(names[a.Name], ", ")})
	}
	return table([]string{"variable", "folder", "files written"}, rows)
}

// variablesTable: every agent's variable hjk-init reads, with the
// subcommands that read it (readBy) or the agent it is for.
func variablesTable(readBy bool) string {
	head := []string{"variable", "for", "meaning"}
	if readBy {
		head[1] = "read by"
	}
	var rows [][]string
	for _, v := range creds.Variables() {
		mid := v.Agent
		if readBy {
			mid = v.ReadBy
		}
		rows = append(rows, []string{code(v.Name), mid, v.Meaning})
	}
	return table(head, rows)
}

// filesTable: every file hjk-init writes, its folder and what it holds.
func filesTable() string {
	var rows [][]string
	for _, f := range creds.Files() {
		login := "no"
		if f.Login {
			login = "yes"
		}
		rows = append(rows, []string{f.Agent, code(f.Folder), code(f.Name), login, f.Holds})
	}
	return table([]string{"agent", "folder", "file", "holds a login", "what hjk-init writes into it"}, rows)
}

// exportTable: what export prints for each agent, and from where.
func exportTable() string {
	var rows [][]string
	for _, e := range creds.Exports() {
		prints := "nothing"
		if e.Prints != "" {
			prints = code(e.Prints)
		}
		rows = append(rows, []string{e.Agent, prints, e.From})
	}
	return table([]string{"agent", "prints", "from"}, rows)
}
