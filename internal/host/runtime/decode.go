package runtime

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// decodeObjects decodes CLI output that is either one JSON array (podman,
// Apple's container) or one JSON object per line (docker), or nothing.
func decodeObjects[T any](out []byte) ([]T, error) {
	out = bytes.TrimSpace(out)
	if len(out) == 0 {
		return nil, nil
	}
	if out[0] == '[' {
		var all []T
		if err := json.Unmarshal(out, &all); err != nil {
			return nil, fmt.Errorf("decode JSON array: %w", err)
		}
		return all, nil
	}
	var all []T
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var v T
		err := dec.Decode(&v)
		if err == io.EOF {
			return all, nil
		}
		if err != nil {
			return nil, fmt.Errorf("decode JSON lines: %w", err)
		}
		all = append(all, v)
	}
}

// inspectJSON is the part of `docker/podman container inspect` hjk reads;
// both engines print it alike.
type inspectJSON struct {
	ID      string `json:"Id"`
	Name    string
	Created time.Time
	State   struct{ Status string }
	Config  struct {
		Image  string
		Labels map[string]string
	}
	ImageName string // podman: the reference as given (Config.Image too)
}

func decodeInspect(out []byte) ([]Container, error) {
	raw, err := decodeObjects[inspectJSON](out)
	if err != nil {
		return nil, err
	}
	cs := make([]Container, 0, len(raw))
	for _, r := range raw {
		img := r.Config.Image
		if img == "" {
			img = r.ImageName
		}
		cs = append(cs, Container{
			ID:      r.ID,
			Name:    strings.TrimPrefix(r.Name, "/"),
			Image:   img,
			State:   normalState(r.State.Status),
			Labels:  r.Config.Labels,
			Created: r.Created,
		})
	}
	return cs, nil
}

// dockerPS is a line of `docker ps --format '{{json .}}'`: every field a
// string, the labels joined with commas.
type dockerPS struct {
	ID        string
	Names     string
	Image     string
	State     string
	Labels    string
	CreatedAt string
}

// dockerTime is the layout of docker ps's CreatedAt (Go's time.String).
const dockerTime = "2006-01-02 15:04:05 -0700 MST"

func decodeDockerPS(out []byte) ([]Container, error) {
	raw, err := decodeObjects[dockerPS](out)
	if err != nil {
		return nil, fmt.Errorf("docker ps: %w", err)
	}
	cs := make([]Container, 0, len(raw))
	for _, r := range raw {
		created, _ := time.Parse(dockerTime, r.CreatedAt)
		name, _, _ := strings.Cut(r.Names, ",") // links add more names
		cs = append(cs, Container{
			ID:      r.ID,
			Name:    name,
			Image:   r.Image,
			State:   normalState(r.State),
			Labels:  splitLabels(r.Labels),
			Created: created,
		})
	}
	return cs, nil
}

// splitLabels parses docker ps's "k=v,k2=v2". A value may itself hold a
// comma: a piece without '=' belongs to the value before it. (A value
// holding ",x=y" can't be told apart; Inspect is exact.)
func splitLabels(s string) map[string]string {
	m := map[string]string{}
	if s == "" {
		return m
	}
	last := ""
	for _, p := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(p, "=")
		if !ok && last != "" {
			m[last] += "," + p
			continue
		}
		m[k] = v
		last = k
	}
	return m
}

// podmanPS is an element of `podman ps --format json`.
type podmanPS struct {
	ID      string `json:"Id"`
	Names   []string
	Image   string
	State   string
	Labels  map[string]string
	Created int64 // Unix seconds
}

func decodePodmanPS(out []byte) ([]Container, error) {
	raw, err := decodeObjects[podmanPS](out)
	if err != nil {
		return nil, fmt.Errorf("podman ps: %w", err)
	}
	cs := make([]Container, 0, len(raw))
	for _, r := range raw {
		c := Container{ID: r.ID, Image: r.Image, State: normalState(r.State), Labels: r.Labels}
		if len(r.Names) > 0 {
			c.Name = r.Names[0]
		}
		if r.Created > 0 {
			c.Created = time.Unix(r.Created, 0).UTC()
		}
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		cs = append(cs, c)
	}
	return cs, nil
}

// normalState maps each engine's words onto docker's: running, created,
// exited, paused...
func normalState(s string) string {
	switch s = strings.ToLower(s); s {
	case "stopped": // podman 3, Apple's container
		return "exited"
	case "configured": // podman 3: created, never started
		return "created"
	}
	return s
}

// imageFormat prints what Image holds, in one JSON object; docker names the
// id Id, podman ID.
func imageFormat(engine string) string {
	id := ".Id"
	if engine == "podman" {
		id = ".ID"
	}
	return `{"id":{{json ` + id + `}},"user":{{json .Config.User}},"os":{{json .Os}},"arch":{{json .Architecture}}}`
}

func decodeImage(out []byte) (Image, error) {
	var im struct{ ID, User, OS, Arch string }
	if err := json.Unmarshal(bytes.TrimSpace(out), &im); err != nil {
		return Image{}, fmt.Errorf("decode image inspect: %w", err)
	}
	return Image{ID: im.ID, User: im.User, OS: im.OS, Arch: goArch(im.Arch)}, nil
}

// goArch maps the architecture names engines print onto Go's.
func goArch(arch string) string {
	switch arch {
	case "x86_64":
		return "amd64"
	case "aarch64":
		return "arm64"
	}
	return arch
}
