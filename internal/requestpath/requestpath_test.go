package requestpath

import (
	"context"
	"errors"
	"testing"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"google.golang.org/protobuf/proto"
)

// echo answers with the request's desired state, and counts its calls.
type echo struct {
	fnv1.UnimplementedFunctionRunnerServiceServer
	calls int
}

func (e *echo) RunFunction(_ context.Context, req *fnv1.RunFunctionRequest) (*fnv1.RunFunctionResponse, error) {
	e.calls++
	return &fnv1.RunFunctionResponse{Desired: req.GetDesired()}, nil
}

func TestBenchmark(t *testing.T) {
	req := &fnv1.RunFunctionRequest{Desired: &fnv1.State{Resources: map[string]*fnv1.Resource{"a": {}}}}
	for name, tc := range map[string]struct {
		check     func(*fnv1.RunFunctionResponse) error
		wantRuns  bool
		wantCalls bool
	}{
		"NoCheck": {wantRuns: true, wantCalls: true},
		"CheckPasses": {
			check: func(rsp *fnv1.RunFunctionResponse) error {
				if !proto.Equal(rsp.GetDesired(), req.GetDesired()) {
					return errors.New("the response is not the request's desired state")
				}
				return nil
			},
			wantRuns: true, wantCalls: true,
		},
		// A response the check refuses fails the benchmark on the first
		// call, before the timed loop.
		"CheckFails": {check: func(*fnv1.RunFunctionResponse) error { return errors.New("fatal result") }, wantCalls: true},
	} {
		t.Run(name, func(t *testing.T) {
			f := &echo{}
			r := testing.Benchmark(func(b *testing.B) { Benchmark(b, f, req, tc.check) })
			if got := r.N > 0; got != tc.wantRuns {
				t.Errorf("ran %d times, want runs: %t", r.N, tc.wantRuns)
			}
			if got := f.calls > 0; got != tc.wantCalls {
				t.Errorf("called %d times, want calls: %t", f.calls, tc.wantCalls)
			}
			if !tc.wantRuns {
				return
			}
			if f.calls != r.N+1 {
				t.Errorf("called %d times for %d timed calls, want one more (the untimed first)", f.calls, r.N)
			}
			if cpu, ok := r.Extra["cpu-ns/op"]; !ok || cpu <= 0 {
				t.Errorf("cpu-ns/op = %v (reported: %t), want a positive CPU time per call", cpu, ok)
			}
			if r.MemAllocs == 0 {
				t.Error("no allocations reported: decoding and encoding allocate")
			}
		})
	}
}
