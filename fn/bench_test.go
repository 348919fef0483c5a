package main

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/crossplane/function-sdk-go/logging"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"

	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/codec"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/fnrequest"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/requestpath"
)

// BenchmarkRequestPath measures what one RunFunction call over gRPC costs
// the function on the full example (requestpath.Benchmark: protobuf decode,
// RunFunction, protobuf encode, with the codec its server uses). create is the XR's first reconcile
// (nothing observed); reconcile has every composed resource observed Ready
// (examples/observed/full.yaml), the steady state. Run with `make bench`,
// which also runs the floors' (test/perf/floor); no test asserts on the
// timings.
func BenchmarkRequestPath(b *testing.B) {
	create, reconcile, err := fnrequest.Example(filepath.Join("..", "examples"), "full")
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		req  *fnv1.RunFunctionRequest
	}{
		{name: "create", req: create},
		{name: "reconcile", req: reconcile},
	} {
		b.Run(bc.name, func(b *testing.B) {
			requestpath.Benchmark(b, NewFunction(logging.NewNopLogger()), codec.New(), bc.req, func(rsp *fnv1.RunFunctionResponse) error {
				if fatal := fatalMessage(rsp); fatal != "" {
					return errors.New("fatal result: " + fatal)
				}
				return nil
			})
		})
	}
}
