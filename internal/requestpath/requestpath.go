// Package requestpath benchmarks a composition function's request path as
// gRPC runs it: decoding the RunFunctionRequest with the server's codec,
// the method's handler (RunFunction), encoding the response with it. The function's benchmark and
// the floors' (test/perf/floor) share it, so `make bench` measures them the
// same way.
//
// Besides ns/op, B/op and allocs/op it reports cpu-ns/op, the process's CPU
// time (user and system) per call: the collector marks on other cores while
// the loop runs, which wall time per call leaves out and the side-by-side
// comparison's process CPU (test/perf) counts.
//
// It is test support, not product code: the function never imports it.
package requestpath

import (
	"context"
	"testing"

	"github.com/crossplane/function-sdk-go/errors"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
)

// Handler answers a request with what a gRPC method handler hands the
// codec to encode: a *fnv1.RunFunctionResponse, or what else the server's
// codec encodes.
type Handler func(context.Context, *fnv1.RunFunctionRequest) (any, error)

// Served is f's RunFunction as a Handler, as the SDK's generated service
// serves it.
func Served(f fnv1.FunctionRunnerServiceServer) Handler {
	return func(ctx context.Context, req *fnv1.RunFunctionRequest) (any, error) { return f.RunFunction(ctx, req) }
}

// Benchmark measures h, served with codec c, answering req. check, when not
// nil, fails the benchmark on a response h must not give (a fatal result);
// it runs on every call, in the timed loop too, so it should be cheap.
func Benchmark(b *testing.B, h Handler, c encoding.CodecV2, req *fnv1.RunFunctionRequest, check func(any) error) {
	b.Helper()
	wire, err := proto.Marshal(req)
	if err != nil {
		b.Fatal(errors.Wrap(err, "cannot encode the request"))
	}
	call := func() error {
		in := &fnv1.RunFunctionRequest{}
		if err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(wire)}, in); err != nil {
			return errors.Wrap(err, "cannot decode the request")
		}
		rsp, err := h(context.Background(), in)
		if err != nil {
			return errors.Wrap(err, "cannot run the function")
		}
		if check != nil {
			if err := check(rsp); err != nil {
				return errors.Wrap(err, "the response fails the check")
			}
		}
		out, err := c.Marshal(rsp)
		if err != nil {
			return errors.Wrap(err, "cannot encode the response")
		}
		out.Free() // As gRPC does once it has written the response.
		return nil
	}
	// The first call outside the timed loop: it builds what is built once
	// per process.
	if err := call(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	before, measured := cpuTime()
	for b.Loop() {
		if err := call(); err != nil {
			b.Fatal(err)
		}
	}
	if after, ok := cpuTime(); measured && ok {
		b.ReportMetric(float64(after-before)/float64(b.N), "cpu-ns/op")
	}
}
