# Performance: the request path's benchmarks and the side-by-side comparison
# with function-go-templating and the floor functions (docs/performance.md).
# Neither is part of `make test`: timings are measured, never asserted.

BENCH ?= .
BENCH_COUNT ?= 1
BENCH_TIME ?= 1s

.PHONY: bench
bench: ## Benchmark the request path (proto decode, RunFunction, proto encode) of the function and of the two floors: ns/op, cpu-ns/op, B/op, allocs/op.
	go test -run '^$$' -bench '$(BENCH)' -benchmem -count $(BENCH_COUNT) -benchtime $(BENCH_TIME) ./fn/ ./test/perf/floor/

# The side-by-side comparison (test/perf): this function and the two floors,
# built as they ship (stripped, mk/golang.mk), plus function-go-templating when
# GOTEMPLATING names its binary, and another build of this function when
# PERF_BASELINE names one. function-go-templating is not served by the Go
# module proxy this project may use, so it is not built here: build it from
# its public source at v0.12.2 outside the repository (docs/performance.md).
PERF_OUT := $(OUT)/perf
GOTEMPLATING ?=
PERF_BASELINE ?=
PERF_ROUNDS ?= 7
PERF_REQUESTS ?= 300
# PERF_FLAGS: more flags for test/perf, such as -sections.
PERF_FLAGS ?=

.PHONY: perf-compare
perf-compare: $(call go-bin,function) $(call go-bin,floor) $(call go-bin,perf) ## Compare CPU/request, p50/p99, peak RSS and cold start with the floors (and GOTEMPLATING=path/to/function-go-templating).
	@mkdir -p $(PERF_OUT)
	$(call go-bin,perf) -root $(ROOT) -function $(call go-bin,function) -floor $(call go-bin,floor) \
		$(if $(GOTEMPLATING),-gotemplating $(GOTEMPLATING)) $(if $(PERF_BASELINE),-baseline $(PERF_BASELINE)) \
		-rounds $(PERF_ROUNDS) -requests $(PERF_REQUESTS) -markdown $(PERF_OUT)/results.md $(PERF_FLAGS)
