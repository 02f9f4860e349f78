# eks-audit-watch — developer and CI entry points. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

BIN        := target/debug/eks-audit-watch
PORT       ?= 9753
EVENT      ?= events/mixed-batch.json
STACK      ?= eks-audit-watch
CLUSTER    ?= my-cluster
REGION     ?= $(or $(AWS_REGION),eu-west-1)
PIP        ?= python3 -m pip
EVENT_SRCS := $(wildcard events/src/*.ndjson)
SUDO       := $(if $(filter 0,$(shell id -u)),,sudo)
APT_INSTALL = $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends

.PHONY: help setup install demo build test test-arm64 lint events watch invoke deploy deploy-cargo clean falco-rules refresh-ip-data bench bench-micro cold-start-layout

help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

setup: install demo ## install everything, then scan the included sample locally

install: ## Rust target + cargo-lambda (with Zig), moto server, cfn-lint, SAM translator, qemu
	rustup target add aarch64-unknown-linux-gnu
	$(PIP) install --quiet --disable-pip-version-check cargo-lambda 'moto[server]' cfn-lint aws-sam-translator
	$(APT_INSTALL) qemu-user libc6-arm64-cross || { $(SUDO) apt-get update -q && $(APT_INSTALL) qemu-user libc6-arm64-cross; }

demo: $(BIN) ## the main job on its local defaults: scan the sample batch, archive to ./local-archive
	$(BIN) scan --archive-dir local-archive --stats local-archive/stats.json events/*.json; \
	  rc=$$?; [ $$rc -eq 0 ] || [ $$rc -eq 2 ] # the malformed sample is reported (exit 2) on purpose

# Built by `cargo test --no-run`, not `cargo build`: the test targets' dev-dependencies change
# the features of shared SDK crates, so a plain build would compile them twice on a clean
# clone (once here, once for `make test`). This way `make setup` leaves `make test` only
# its own work.
$(BIN): $(shell find src rules -type f 2>/dev/null) Cargo.toml build.rs
	cargo test --no-run

build: ## release arm64 Lambda zip: target/lambda/eks-audit-watch/bootstrap.zip
	cargo lambda build --release --arm64 --output-format zip

test: ## every test: unit, CLI, end-to-end (moto + cargo lambda watch), template, lint, arm64 SIMD
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	cfn-lint template.yaml
	cargo test
	$(MAKE) --no-print-directory test-arm64

# The string scan's NEON code, compiled alone for aarch64 (the file uses nothing outside
# `core`) and its tests run under qemu: the arm64 Lambda's path, tested on any machine.
test-arm64: ## the SIMD string scan's NEON path: its tests built for aarch64, run under qemu
	@mkdir -p target
	rustc --edition 2024 --test -O --target aarch64-unknown-linux-gnu \
	  -C linker=scripts/zig-cc-aarch64 src/pipeline/simd.rs -o target/simd-arm64-test
	qemu-aarch64 -L /usr/aarch64-linux-gnu target/simd-arm64-test

bench: ## throughput, stage times, codec floor, memory, cold start (release build): make bench EVENTS=200000
	cargo build --release --bin eks-audit-watch --example hello_lambda --example sdk_lambda
	target/release/eks-audit-watch bench --events $(or $(EVENTS),200000)

cold-start-layout: ## regenerate scripts/cold-start.ld from what a cold start runs (needs valgrind)
	@command -v valgrind >/dev/null || { echo "cold-start-layout needs valgrind (apt-get install valgrind)"; exit 1; }
	cargo build --release --bin eks-audit-watch
	python3 scripts/cold-start-layout.py

bench-micro: ## criterion micro-benchmarks of the hot stages
	cargo bench --bench stages

lint: ## fmt, clippy -D warnings, cfn-lint
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	cfn-lint template.yaml

events: $(BIN) ## regenerate events/*.json (Lambda payloads) from events/src/*.ndjson
	@for src in $(EVENT_SRCS); do \
	  name=$$(basename $$src .ndjson); \
	  [ "$$name" = control-message ] && continue; \
	  $(BIN) pack $$src -o events/$$name.json && echo "events/$$name.json"; \
	done
	$(BIN) pack --control-message -o events/control-message.json && echo events/control-message.json

watch: ## local Runtime API emulator on PORT (env from .env.local if present)
	cargo lambda watch -A 127.0.0.1 -P $(PORT) $(if $(wildcard .env.local),--env-file .env.local)

invoke: ## invoke the watched function: make invoke EVENT=events/aws-auth-change.json
	cargo lambda invoke -A 127.0.0.1 -P $(PORT) --data-file $(EVENT) eks-audit-watch

deploy: ## build and deploy with SAM (guided the first time): make deploy CLUSTER=prod-eu-1
	sam build
	sam deploy --guided --stack-name $(STACK) --region $(REGION) \
	  --capabilities CAPABILITY_IAM --parameter-overrides ClusterName=$(CLUSTER)

deploy-cargo: build ## deploy the function only, with cargo lambda (bucket/topic/role must exist)
	@test -n "$(ARCHIVE_BUCKET)" || { echo "set ARCHIVE_BUCKET, ALERT_TOPIC_ARN and IAM_ROLE"; exit 2; }
	@test -n "$(ALERT_TOPIC_ARN)" || { echo "set ALERT_TOPIC_ARN"; exit 2; }
	@test -n "$(IAM_ROLE)" || { echo "set IAM_ROLE (the function's execution role ARN)"; exit 2; }
	cargo lambda deploy --region $(REGION) --iam-role $(IAM_ROLE) --timeout 60 --memory 256 \
	  --env-var ARCHIVE_BUCKET=$(ARCHIVE_BUCKET) --env-var ALERT_TOPIC_ARN=$(ALERT_TOPIC_ARN) \
	  --env-var CLUSTER_NAME=$(CLUSTER) eks-audit-watch

falco-rules: $(BIN) ## check the upstream Falco k8s_audit rules load unmodified (needs ../shared/falco)
	$(BIN) rules validate --no-default-rules ../shared/falco/k8s_audit_rules.yaml

refresh-ip-data: ## re-download AWS EC2 ranges and Tor exit nodes into data/ (needs internet, curl, jq)
	@{ echo "# source: https://ip-ranges.amazonaws.com/ip-ranges.json (EC2), fetched $$(date -u +%FT%TZ)"; \
	  curl -fsS https://ip-ranges.amazonaws.com/ip-ranges.json | jq -r '(.prefixes[]|select(.service=="EC2")|.ip_prefix), (.ipv6_prefixes[]|select(.service=="EC2")|.ipv6_prefix)' | sort -u; } > data/aws-ec2-ranges.txt.new
	@{ echo "# source: https://check.torproject.org/torbulkexitlist, fetched $$(date -u +%FT%TZ)"; \
	  curl -fsS https://check.torproject.org/torbulkexitlist | sort -u; } > data/tor-exit-nodes.txt.new
	mv data/aws-ec2-ranges.txt.new data/aws-ec2-ranges.txt
	mv data/tor-exit-nodes.txt.new data/tor-exit-nodes.txt

clean: ## remove build output and the local archive
	cargo clean
	rm -rf local-archive
