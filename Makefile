# tandem — see README.md. Quick start: `make demo`, then `make test`.
GO      ?= go
BIN     := bin/tandem
COMMIT  := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
VERSION ?= 0.1.0-dev
LDFLAGS := -X github.com/tandem-io/tandem/internal/cli.version=$(VERSION) -X github.com/tandem-io/tandem/internal/cli.commit=$(COMMIT)
# kustomize (linked through cli-runtime and kubectl's drain) imports Go's
# plugin package unless this tag is set, and a binary that can load plugins
# keeps every exported method and symbol: 190 MB instead of 66 MB, and more
# of it paged in at run time. tandem loads no kustomize plugins.
TAGS    := kustomize_disable_go_plugin_support

.PHONY: all build deps test-deps demo test unit e2e bench bench-scale lint clean generate

all: build

build:
	$(GO) build -trimpath -tags "$(TAGS)" -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/tandem

# HAProxy is the lab's load balancer (Debian package); everything else comes from the Go module proxy.
deps:
	@command -v haproxy >/dev/null 2>&1 || { echo "installing haproxy (apt)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq haproxy >/dev/null; }

# Chromium (Debian package) is the browser of the dashboard's e2e tests.
test-deps: deps
	@command -v chromium >/dev/null 2>&1 || { echo "installing chromium (apt)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }
	@command -v aws >/dev/null 2>&1 || { echo "installing awscli (apt): the AWS fakes are judged by AWS's own client"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq awscli >/dev/null; }

demo: deps build
	./hack/demo.sh

# Unit tests, then the e2e suite against a lab it starts once and stops at the end.
test: test-deps build
	$(GO) test -count=1 -timeout 45m $$($(GO) list ./... | grep -v /bench) ; rc=$$?; ./$(BIN) lab down --dir "$${TANDEM_E2E_DIR:-$${XDG_STATE_HOME:-$$HOME/.local/state}/tandem/e2e-lab}" >/dev/null 2>&1; exit $$rc

unit:
	$(GO) test -count=1 $$($(GO) list ./... | grep -v -e /test/e2e -e /bench)

bench: deps build
	$(GO) test -count=1 -run '^$$' -bench . -skip SyncScale -benchtime 1x -timeout 60m ./bench/...

# Sync at 10k, 30k and 100k objects of two data sets (≈ 2 h; see bench/README.md).
bench-scale: deps build
	$(GO) test -count=1 -run '^$$' -bench SyncScale -benchtime 1x -timeout 300m ./bench/...

# The API's deepcopy code, its CRDs and the controller's RBAC, from the Go types and markers.
generate:
	$(GO) tool controller-gen object paths=./api/... crd:allowDangerousTypes=true output:crd:dir=./charts/tandem/crds \
	  rbac:roleName=tandem-controller paths=./pkg/controller/... output:rbac:dir=./charts/tandem/files

lint:
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "not gofmt'd:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf bin
