# confed: confidential federated learning.
# Run `make help` for the list of targets.

SHELL := /bin/bash
GO ?= go
BIN := bin
PROTO_DIR := proto/confed/v1
DEMO_DIR ?= demo-run
DEMO_ARGS ?=

BINARIES := confed confed-coordinator confed-aggregator confed-participant

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build all binaries into bin/.
	@mkdir -p $(BIN)
	$(GO) build -trimpath -o $(BIN)/ $(addprefix ./cmd/,$(BINARIES))

.PHONY: demo
demo: build ## Run a whole federation (coordinator, aggregator, four hospitals) on this machine.
	$(BIN)/confed demo --bin $(BIN) --dir $(DEMO_DIR) $(DEMO_ARGS)

.PHONY: deps
deps: ## Install what the build and tests need (Debian packages via scripts/deps.sh, Go modules).
	@./scripts/deps.sh
	$(GO) mod download

.PHONY: test
test: deps vet check-generate deploy-check reproducible-check ## Install deps, vet, check generated code and deployment files, and run all tests with the race detector.
	$(GO) test -race -timeout 15m ./...

.PHONY: aggregator-digest
aggregator-digest: ## Build the aggregator reproducibly (bin/reproducible/) and print its SHA-256, the digest auditors pin.
	@./scripts/reproducible-build.sh confed-aggregator

.PHONY: reproducible-check
reproducible-check: ## Build the aggregator twice (other path, empty cache) and fail unless the digests match.
	@./scripts/reproducible-check.sh

.PHONY: deploy-check
deploy-check: ## Check deploy/: manifests, kustomize overlays, Helm chart, policies, Dockerfiles, Ansible.
	cd deploy/check && $(GO) vet ./... && $(GO) test -timeout 10m ./...
	@./deploy/ansible/check.sh

.PHONY: vet
vet: ## Run go vet.
	$(GO) vet ./...

.PHONY: test-short
test-short: ## Run the tests without the race detector (quicker while editing).
	$(GO) test -timeout 10m ./...

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each (default 20s).
	@./scripts/fuzz.sh $${FUZZTIME:-20s}

.PHONY: reliability
reliability: ## Run the reliability suite (load with 10M-parameter models, faults, hostile input; real processes) and print its table.
	$(GO) build -o $(BIN)/reltable ./reliability/cmd/reltable
	$(BIN)/reltable $(if $(SEED),-seed $(SEED))

.PHONY: fuzz-ci
fuzz-ci: ## Run every fuzz target for 5s each (the bounded run CI can afford).
	@./scripts/fuzz.sh 5s

.PHONY: bench
bench: ## Run the benchmark suite and print a table (about 15 minutes; BENCH_ARGS=--filter ... for a subset).
	$(GO) run ./bench/cmd/benchtable $(BENCH_ARGS)

.PHONY: generate
generate: deps ## Regenerate protobuf code with protoc and the pinned plugins.
	protoc --proto_path=proto \
	  --plugin=protoc-gen-go=$$($(GO) tool -n protoc-gen-go) \
	  --plugin=protoc-gen-go-grpc=$$($(GO) tool -n protoc-gen-go-grpc) \
	  --go_out=proto --go_opt=paths=source_relative \
	  --go-grpc_out=proto --go-grpc_opt=paths=source_relative \
	  $(PROTO_DIR)/*.proto

.PHONY: check-generate
check-generate: ## Fail if regenerating the protobuf code changes anything.
	@tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	protoc --proto_path=proto \
	  --plugin=protoc-gen-go=$$($(GO) tool -n protoc-gen-go) \
	  --plugin=protoc-gen-go-grpc=$$($(GO) tool -n protoc-gen-go-grpc) \
	  --go_out=$$tmp --go_opt=paths=source_relative \
	  --go-grpc_out=$$tmp --go-grpc_opt=paths=source_relative \
	  $(PROTO_DIR)/*.proto && \
	if diff -r -x '*.proto' $$tmp/confed/v1 $(PROTO_DIR); then echo "generated code is up to date"; \
	else echo "generated code is stale: run 'make generate' and commit the result" >&2; exit 1; fi

.PHONY: clean
clean: ## Remove build output and demo runs.
	rm -rf $(BIN) $(DEMO_DIR)
