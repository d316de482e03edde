# steadywatch — `make help` lists the targets.
SHELL := /bin/bash
GO ?= go
TOOL := $(GO) tool -modfile=tools/go.mod
PKG := github.com/steadywatch/steadywatch
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X github.com/prometheus/common/version.Version=$(VERSION) \
	-X github.com/prometheus/common/version.Revision=$(REVISION) \
	-X github.com/prometheus/common/version.Branch=main
# Release builds: static (CGO_ENABLED=0; the SQLite driver is modernc.org's, pure Go),
# paths trimmed, symbol table and DWARF stripped. The Dockerfile uses the same.
RELEASE_LDFLAGS := -s -w $(LDFLAGS)
# make image: the tag, the platform, and the build time (the commit's, so that a
# rebuild of the same commit gives the same image digest).
IMAGE ?= ghcr.io/steadywatch/steadywatch
IMAGE_TAG ?= $(VERSION)
IMAGE_ARCH ?= $(shell $(GO) env GOARCH)
CREATED ?= $(shell git log -1 --format=%cI 2>/dev/null || echo 1970-01-01T00:00:00Z)
LICENSES ?= NOASSERTION
# Packages whose tests need the real control plane.
E2E_PKGS := ./e2e/ ./internal/testenv/testbed/
# Modules of their own (the Helm SDK's k8s.io versions stay out of the main
# module): the chart's template tests, and its install test on the testbed.
CHART_TEST_MOD := deploy/helm/test
CHART_E2E_MOD := e2e/helm
# Argo Workflows' types, to check the Workflow example against (a module of
# its own: Argo's module never enters steadywatch's).
ARGO_TYPES_MOD := examples/integrations/argotypes

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-16s %s\n", $$1, $$2}'

.PHONY: build
build: ## build bin/steadywatch (static, trimmed, stripped) and print its size
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(RELEASE_LDFLAGS)' -o bin/steadywatch ./cmd/steadywatch
	@ls -l bin/steadywatch

.PHONY: image
image: ## build bin/steadywatch-image.tar, a docker-load-able linux image, without a container engine
	CGO_ENABLED=0 GOOS=linux GOARCH=$(IMAGE_ARCH) $(GO) build -trimpath -ldflags '$(RELEASE_LDFLAGS)' -o bin/linux-$(IMAGE_ARCH)/steadywatch ./cmd/steadywatch
	$(GO) run ./cmd/ociimage -binary bin/linux-$(IMAGE_ARCH)/steadywatch -arch $(IMAGE_ARCH) \
		-version '$(VERSION)' -revision '$(REVISION)' -created '$(CREATED)' -licenses '$(LICENSES)' \
		-tag '$(IMAGE):$(IMAGE_TAG)' -o bin/steadywatch-image.tar

.PHONY: test
test: ## unit tests with the race detector (no control plane; store tests start a real PostgreSQL via pgtest), and the Helm chart's
	STEADYWATCH_SKIP_TESTBED=1 $(GO) test -race -count=1 ./...
	cd $(CHART_TEST_MOD) && $(GO) test -race -count=1 ./...
	cd $(ARGO_TYPES_MOD) && $(GO) test -count=1 ./...

.PHONY: testbed-build
testbed-build: ## build (once, then cached) the control-plane binaries
	$(GO) run -tags testbedbuildonly ./cmd/testbed build

.PHONY: e2e
e2e: testbed-build ## tests against a real local control plane (etcd, kube-apiserver, KCM, scheduler, kwok, metrics-server)
	$(GO) test -race -count=1 -timeout 30m -v $(E2E_PKGS) 2>&1 | tee e2e.out | grep -E '^(=== RUN|--- |PASS|FAIL|ok|panic|\s+\S+_test.go:)' ; \
	rc=$${PIPESTATUS[0]}; if [ $$rc -ne 0 ]; then scripts/failures.sh e2e.out; fi; exit $$rc
	set -o pipefail; cd $(CHART_E2E_MOD) && $(GO) test -count=1 -timeout 20m -v ./... 2>&1 | tee ../../e2e-helm.out | \
		grep -E '^(=== RUN|--- |PASS|FAIL|ok|panic|\s+\S+_test.go:)'

.PHONY: lint
lint: ## golangci-lint (config in .golangci.yml) and go vet, of the main module and the Helm test modules
	$(GO) vet ./...
	$(TOOL) golangci-lint run ./...
	for m in $(CHART_TEST_MOD) $(CHART_E2E_MOD) $(ARGO_TYPES_MOD); do \
		(cd $$m && $(GO) vet ./... && $(GO) tool -modfile=$(CURDIR)/tools/go.mod golangci-lint run ./...) || exit 1; \
	done

.PHONY: fmt
fmt: ## format with gofumpt and goimports
	$(TOOL) golangci-lint fmt ./...

.PHONY: bench
bench: testbed-build ## benchmarks: event pipeline, store, webhook ingest, weekly report (1M alerts; sqlite3 CLI floor), statistics and judging, and the testbed ones (memory per pod, deletion→/metrics latency)
	$(GO) test -run '^$$' -bench . -benchmem -cpu 1 ./watcher/ ./tracker/
	$(GO) test -run '^$$' -bench . -benchmem ./store/ ./receiver/ ./verdict/...
	$(GO) test -run '^$$' -bench . -benchtime 3s -benchmem ./bench/ingest/
	$(GO) test -run '^$$' -bench . -benchtime 3x -benchmem -timeout 30m ./bench/report/
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 30m ./e2e/

.PHONY: bench-costcurve
bench-costcurve: ## the cost curve (issue 16): heap and RSS per pod, time to sync, CPU per pod event, /metrics scrape at 1k, 10k, 100k and 1M pods on client-go's fake clientset (minutes, several GiB)
	STEADYWATCH_BENCH_COSTCURVE=1 $(GO) test -run '^$$' -bench CostCurve -benchtime 1x -timeout 60m ./bench/costcurve/

.PHONY: bench-compare
bench-compare: testbed-build ## steadywatch serve beside kube-state-metrics v2.15.0 on a filled testbed, one table (STEADYWATCH_BENCH_COMPARE_REPLICAS pods per Deployment, default 500: 10,090 pods; not in ci)
	STEADYWATCH_BENCH_COMPARE=1 $(GO) test -count=1 -v -timeout 120m -run '^TestSideBySide$$' ./bench/compare/

.PHONY: generate
generate: ## regenerate dashboards/generated, rules/generated, deploy/generated and the Helm chart's files/ from deploy/steadywatch.yml and examples/, and README.md's metrics table from contract/
	scripts/generate.sh .

.PHONY: check-generated
check-generated: ## fail if the committed generated files differ from what make generate would write
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && scripts/generate.sh "$$tmp" && \
	for d in dashboards/generated rules/generated deploy/generated deploy/helm/steadywatch/files; do \
		diff -r "$$d" "$$tmp/$$d" || { echo "$$d is stale: run make generate and commit it" >&2; exit 1; }; \
	done && \
	diff README.md "$$tmp/README.md" || { echo "README.md's metrics table is stale: run make generate and commit it" >&2; exit 1; }

.PHONY: fuzz
fuzz: ## run each fuzz target for FUZZTIME (default 10m) on FUZZPARALLEL workers (default: all cores); a crash fails it
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $${FUZZTIME:-10m} -parallel $${FUZZPARALLEL:-$$(nproc)} ./config/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $${FUZZTIME:-10m} -parallel $${FUZZPARALLEL:-$$(nproc)} ./hypothesis/
	$(GO) test -run '^$$' -fuzz '^FuzzWebhook$$' -fuzztime $${FUZZTIME:-10m} -parallel $${FUZZPARALLEL:-$$(nproc)} ./receiver/
	$(GO) test -run '^$$' -fuzz '^FuzzPullOnce$$' -fuzztime $${FUZZTIME:-10m} -parallel $${FUZZPARALLEL:-$$(nproc)} ./alertpull/
	$(GO) test -run '^$$' -fuzz '^FuzzKthDifference$$' -fuzztime $${FUZZTIME:-10m} -parallel $${FUZZPARALLEL:-$$(nproc)} ./verdict/stats/
	$(GO) test -run '^$$' -fuzz '^FuzzImport$$' -fuzztime $${FUZZTIME:-10m} -parallel $${FUZZPARALLEL:-$$(nproc)} ./importer/chaostoolkit/

.PHONY: soak
soak: testbed-build ## the long fault suite: the SIGKILL crash test with SOAK_CYCLES (default 100) kills per store under an 8-sender storm
	set -o pipefail; STEADYWATCH_CRASH_CYCLES=$${SOAK_CYCLES:-100} $(GO) test -count=1 -timeout 60m -v -run '^TestCrash' ./e2e/ 2>&1 | tee soak.out | \
	grep -E 'RELIABILITY|cycles in|^(--- |PASS|FAIL|ok|panic)'

.PHONY: vuln
vuln: ## govulncheck (needs the vulnerability database, not reachable from every machine)
	$(TOOL) govulncheck ./...

.PHONY: testbed
testbed: ## start a local control plane by hand; prints export KUBECONFIG=...; Ctrl-C stops it
	$(GO) run ./cmd/testbed up

.PHONY: demo
demo: testbed-build ## the main job: the seeds' four chaos experiments on a local cluster, each judged experimental against control (output in demo-out/; DEMO_ARGS=-once exits after, -broken breaks each on purpose)
	bash scripts/install-tools.sh
	$(GO) run ./cmd/steadywatch-demo -out $${DEMO_OUT:-demo-out} $(DEMO_ARGS)

.PHONY: e2e-demo
e2e-demo: testbed-build ## the demo's e2e test: `demo -once` passes the four experiments, `demo -once -broken` fails each for its defect, Ctrl-C and a killed Prometheus stop everything (about 12 minutes)
	bash scripts/install-tools.sh
	set -o pipefail; $(GO) test -count=1 -timeout 30m -v ./e2e/demo/ 2>&1 | tee e2e-demo.out | \
		grep -E '^(=== RUN|--- |PASS|FAIL|ok|panic|\s+\S+_test.go:)'

.PHONY: serve-local
serve-local: build testbed-build ## start a local control plane and `steadywatch serve` against it (Ctrl-C stops both)
	bash scripts/serve-local.sh

.PHONY: ci
ci: lint check-generated test e2e soak e2e-demo ## everything CI runs
