# Performance: the request path's benchmarks and the side-by-side comparison
# with function-go-templating and a floor function (docs/performance.md).
# Neither is part of `make test`: timings are measured, never asserted.

BENCH ?= .
BENCH_COUNT ?= 1
BENCH_TIME ?= 1s

.PHONY: bench
bench: ## Benchmark the function's request path (proto decode, RunFunction, proto encode): ns/op, B/op, allocs/op.
	go test -run '^$$' -bench '$(BENCH)' -benchmem -count $(BENCH_COUNT) -benchtime $(BENCH_TIME) ./fn/
