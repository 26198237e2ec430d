# hjk: see README.md. `make test` is the command CI runs (via .ci/run).
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/hjk-dev/hjk/internal/version.Version=$(VERSION)
PREFIX  ?= /usr/local

.PHONY: all build hjk hjk-init test bench install clean

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

test: build
	./scripts/test

bench: build
	./scripts/bench

clean:
	rm -rf bin internal/host/shimbin/bin/linux-*
