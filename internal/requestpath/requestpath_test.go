package requestpath

import (
	"context"
	"errors"
	"flag"
	"runtime"
	"testing"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
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

// timedCalls is how many calls the benchmarks below time: testing.Benchmark
// reads -test.benchtime, so a fixed count keeps the test short and its
// counts exact.
const timedCalls = 1000

func TestBenchmark(t *testing.T) {
	benchtime := flag.Lookup("test.benchtime")
	was := benchtime.Value.String()
	if err := benchtime.Value.Set("1000x"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = benchtime.Value.Set(was) })

	req := &fnv1.RunFunctionRequest{Desired: &fnv1.State{Resources: map[string]*fnv1.Resource{"a": {}}}}
	sameDesired := func(v any) error {
		rsp, _ := v.(*fnv1.RunFunctionResponse)
		if !proto.Equal(rsp.GetDesired(), req.GetDesired()) {
			return errors.New("the response is not the request's desired state")
		}
		return nil
	}
	refuse := func(any) error { return errors.New("fatal result") }
	for name, tc := range map[string]struct {
		check func(any) error
		// wantN is the benchmark's b.N: 0 when it fails.
		wantN int
		// wantCalls counts RunFunction's calls and, with a check, the
		// check's: the timed ones and the untimed first.
		wantCalls int
	}{
		"NoCheck":     {wantN: timedCalls, wantCalls: timedCalls + 1},
		"CheckPasses": {check: sameDesired, wantN: timedCalls, wantCalls: timedCalls + 1},
		// A response the check refuses fails the benchmark on the untimed
		// first call: nothing is timed.
		"CheckFails": {check: refuse, wantN: 0, wantCalls: 1},
	} {
		t.Run(name, func(t *testing.T) {
			f := &echo{}
			checks := 0
			var check func(any) error
			if tc.check != nil {
				check = func(rsp any) error {
					checks++
					return tc.check(rsp)
				}
			}
			r := testing.Benchmark(func(b *testing.B) { Benchmark(b, Served(f), encoding.GetCodecV2(grpcproto.Name), req, check) })
			if r.N != tc.wantN {
				t.Errorf("b.N = %d, want %d", r.N, tc.wantN)
			}
			if f.calls != tc.wantCalls {
				t.Errorf("RunFunction called %d times, want %d", f.calls, tc.wantCalls)
			}
			if check != nil && checks != tc.wantCalls {
				t.Errorf("check called %d times, want %d", checks, tc.wantCalls)
			}
			if tc.wantN == 0 {
				return
			}
			cpu, ok := r.Extra["cpu-ns/op"]
			if !ok {
				t.Fatal("no cpu-ns/op reported")
			}
			// The process's CPU time per call is positive and, spread over
			// at most every core, no more than the wall time per call on
			// all of them: a sum not divided by b.N is far above it.
			if most := float64(runtime.NumCPU()) * float64(r.NsPerOp()); cpu <= 0 || cpu > most {
				t.Errorf("cpu-ns/op = %v, want in (0, %v] (%d CPUs x %d ns/op)", cpu, most, runtime.NumCPU(), r.NsPerOp())
			}
		})
	}
}
