# batos — the two commands a new machine needs are `make run` and `make test`.

GO        ?= go
BIN       := bin/batos
IMAGE     ?= ./live_image
# The race detector multiplies yaegi's cost; CI keeps it on.
TESTFLAGS ?= -race -timeout 20m
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: run build test vet lint bench fuzz clean

run: build
	./$(BIN) --image $(IMAGE)

build:
	$(GO) build -o $(BIN) ./cmd/batos

test: vet
	$(GO) test $(TESTFLAGS) ./...
	# The sandbox's address-space limit cannot apply to race-built children.
	$(GO) test -count 1 -run 'TestMemoryHog' ./kernel/sandbox/

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...

# internal/yaegi is upstream code, kept as close to it as the patch allows.
lint: vet
	$(GO) run $(STATICCHECK) $$($(GO) list ./... | grep -v /internal/yaegi/)

# Benchmarks report ratios to the raw costs measured in the same run.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 2s -count 1 ./image/ ./interp/ ./kernel/
	$(GO) test -run '^$$' -bench . -benchtime 20x -count 1 ./kernel/sandbox/ ./tui/...
	sync # the image benchmarks' writes reach the disk before the pLLM's synced commits are timed
	$(GO) test -run '^$$' -bench . -benchtime 100x -count 1 ./kernel/pllm/
	$(GO) test -run '^$$' -bench . -benchtime 2s -count 1 ./server/

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecodeRecord -fuzztime 30s ./image/
	$(GO) test -run '^$$' -fuzz FuzzParseMethod -fuzztime 30s ./interp/
	$(GO) test -run '^$$' -fuzz FuzzCodex -fuzztime 30s ./kernel/
	$(GO) test -run '^$$' -fuzz FuzzParseJobState -fuzztime 30s ./forge/slurm/
	$(GO) test -run '^$$' -fuzz FuzzWorkspace -fuzztime 60s ./kernel/
	$(GO) test -run '^$$' -fuzz FuzzExtract -fuzztime 30s ./kernel/pllm/
	$(GO) test -run '^$$' -fuzz FuzzSSE -fuzztime 30s ./llama/
	$(GO) test -run '^$$' -fuzz FuzzElementCount -fuzztime 30s ./llama/
	$(GO) test -run '^$$' -fuzz FuzzParseLiteral -fuzztime 30s ./api/
	$(GO) test -run '^$$' -fuzz FuzzParseRequest -fuzztime 30s ./server/

clean:
	rm -rf bin
