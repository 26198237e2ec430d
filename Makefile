# hjk: see README.md. `make test` is the command CI runs (via .ci/run).
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/hjk-dev/hjk/internal/version.Version=$(VERSION)
PREFIX  ?= /usr/local

.PHONY: all generate build embed hjk hjk-init images test-images test bench install clean quickstart release release-check goreleaser

all: build

# Every file made from the agents' rows and the commands' help: both
# sides' tables of agents and the READMEs' tables (internal/gen), the docs
# and the agent image's list of CLIs (hjk __docs). Tests fail when one is
# stale.
generate:
	$(GO) run ./internal/gen
	rm -rf docs/cli docs/man
	$(GO) run ./cmd/hjk __docs docs/cli
	$(GO) run ./cmd/hjk __docs --man docs/man
	$(GO) run ./cmd/hjk __docs --agents images/agents/agents.txt

# The static linux binaries (no cgo) hjk carries inside itself, for both
# architectures: built into bin/linux-<arch>/ (the shim image's build
# context) and copied into internal/host/shimbin/bin/, which hjk embeds.
# The release runs this target before it builds hjk (.goreleaser.yaml).
EMBED := hjk-init hjk-gate
embed:
	@set -e; for b in $(EMBED); do for a in amd64 arm64; do \
	  echo "build bin/linux-$$a/$$b ($(VERSION))"; \
	  CGO_ENABLED=0 GOOS=linux GOARCH=$$a $(GO) build -trimpath -ldflags='$(LDFLAGS)' -o bin/linux-$$a/$$b ./cmd/$$b; \
	  mkdir -p internal/host/shimbin/bin/linux-$$a; \
	  cp bin/linux-$$a/$$b internal/host/shimbin/bin/linux-$$a/$$b; \
	done; done

hjk-init: embed

hjk: embed
	$(GO) build -trimpath -ldflags='$(LDFLAGS)' -o bin/hjk ./cmd/hjk

build: hjk hjk-init

install: build
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 bin/hjk $(DESTDIR)$(PREFIX)/bin/hjk

# The images, for the host's architecture, from the hjk-init just built.
# DOCKER=podman builds them with Podman. Multi-arch: images/README.md.
DOCKER    ?= docker
HOST_ARCH := $(shell $(GO) env GOHOSTARCH)
IMAGE_TAG ?= $(VERSION)
# e.g. AGENTS_BUILD_ARGS="--build-arg BASE=debian:bookworm --build-arg AGENTS_FROM=context"
AGENTS_BUILD_ARGS ?=
images: hjk-init
	$(DOCKER) build --build-arg TARGETARCH=$(HOST_ARCH) -t hjk/hjk-init:$(IMAGE_TAG) -t hjk/hjk-init:latest -f images/hjk-init/Dockerfile bin
	$(DOCKER) build --build-arg HJK_INIT_IMAGE=hjk/hjk-init:$(IMAGE_TAG) $(AGENTS_BUILD_ARGS) -t hjk/agents:$(IMAGE_TAG) -t hjk/agents:latest images/agents

# The images the end-to-end tests use, in Docker and Podman (scripts/test-images).
test-images:
	./scripts/test-images

test: build test-images
	./scripts/test

bench: build
	./scripts/bench

# From a fresh clone: the binaries, the agent image (unless IMAGE names one
# you have), then a session in an instance of this repository.
BRANCH ?= hjk-try
AGENT  ?= shell
IMAGE  ?=
quickstart: build
	@if [ -z "$(IMAGE)" ] && ! $(DOCKER) image inspect hjk/agents:latest >/dev/null 2>&1; then $(MAKE) images; fi
	bin/hjk run $(BRANCH) --agent $(AGENT) --runtime $(DOCKER) $(if $(IMAGE),--image $(IMAGE))

# Releases are GoReleaser's (.goreleaser.yaml). scripts/goreleaser runs the
# pinned version, installing it once into a cache when missing.
GORELEASER ?= ./scripts/goreleaser
goreleaser:
	$(GORELEASER) --version

# A snapshot of a release in dist/, offline, publishing nothing: hjk for
# darwin and linux, amd64 and arm64 (with hjk-init inside), hjk-init for
# linux, checksums and a Homebrew formula. The multi-arch images need
# docker buildx: HJK_RELEASE_IMAGES=1 builds them too.
release:
	$(GORELEASER) release --snapshot --clean $(if $(HJK_RELEASE_IMAGES),,--skip=docker)

# goreleaser check, then a snapshot in a temporary folder, checked file by file.
release-check:
	GORELEASER=$(GORELEASER) ./scripts/release-check

clean:
	rm -rf bin dist internal/host/shimbin/bin/linux-*
