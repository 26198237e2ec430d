// Package images holds no code: its folder has the Dockerfiles of the shim
// image (hjk-init/) and of hjk's default agent image (agents/), and its
// tests build them (scripts/test-images) and check them in real Docker and
// Podman: the user, the CLIs, hjk-init's doctor and credential files, and
// that no credential ends up in an image. See README.md.
package images
