package main

import (
	"context"
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
// RunFunctionEncoded, protobuf encode, with the codec its server uses, as
// its server calls them). create is the XR's first reconcile
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
			f := NewFunction(logging.NewNopLogger())
			served := func(ctx context.Context, req *fnv1.RunFunctionRequest) (any, error) {
				return f.RunFunctionEncoded(ctx, req), nil
			}
			requestpath.Benchmark(b, served, codec.New(), bc.req, func(v any) error {
				rsp, ok := v.(*codec.Response)
				if !ok {
					return errors.New("not a codec.Response")
				}
				if fatal := fatalMessage(rsp.Msg); fatal != "" {
					return errors.New("fatal result: " + fatal)
				}
				return nil
			})
		})
	}
}
