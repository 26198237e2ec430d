# hjk: see README.md. `make test` is the command CI runs (via .ci/run).
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/hjk-dev/hjk/internal/version.Version=$(VERSION)
PREFIX  ?= /usr/local

.PHONY: all build hjk hjk-init images test-images test bench install clean quickstart release release-check

all: build

# hjk-init is static (no cgo) for both linux architectures; hjk embeds both.
hjk-init:
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags='$(LDFLAGS)' -o bin/linux-amd64/hjk-init ./cmd/hjk-init
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -ldflags='$(LDFLAGS)' -o bin/linux-arm64/hjk-init ./cmd/hjk-init
	for a in amd64 arm64; do mkdir -p internal/host/shimbin/bin/linux-$$a && cp bin/linux-$$a/hjk-init internal/host/shimbin/bin/linux-$$a/hjk-init; done

hjk: hjk-init
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

# A release's files in dist/ (hjk for darwin and linux, amd64 and arm64;
# hjk-init; SHA256SUMS), publishing nothing; it prints the multi-arch image
# commands. release-check builds them in a temporary folder and checks them.
release:
	VERSION=$(VERSION) ./scripts/release dist

release-check:
	./scripts/release-check

clean:
	rm -rf bin dist internal/host/shimbin/bin/linux-*
