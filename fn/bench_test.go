package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/crossplane/function-sdk-go/logging"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"google.golang.org/protobuf/proto"

	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/fnrequest"
)

// BenchmarkRequestPath measures what one RunFunction call over gRPC costs
// the function on the full example: decoding the request's protobuf,
// RunFunction, encoding the response (as gRPC does, not deterministically).
// create is the XR's first reconcile (nothing observed); reconcile has every
// composed resource observed Ready (examples/observed/full.yaml), the steady
// state. Run with `make bench`; no test asserts on the timings.
func BenchmarkRequestPath(b *testing.B) {
	for _, bc := range []struct {
		name     string
		observed string
	}{
		{name: "create"},
		{name: "reconcile", observed: filepath.Join("..", "examples", "observed", "full.yaml")},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req, err := fnrequest.Read(filepath.Join("..", "examples", "xr-full.yaml"), bc.observed)
			if err != nil {
				b.Fatal(err)
			}
			wire, err := proto.Marshal(req)
			if err != nil {
				b.Fatal(err)
			}
			f := NewFunction(logging.NewNopLogger())
			call := func() error {
				in := &fnv1.RunFunctionRequest{}
				if err := proto.Unmarshal(wire, in); err != nil {
					return err
				}
				rsp, err := f.RunFunction(context.Background(), in)
				if err != nil {
					return err
				}
				if fatal := fatalMessage(rsp); fatal != "" {
					b.Fatalf("fatal result: %s", fatal)
				}
				_, err = proto.Marshal(rsp)
				return err
			}
			// The first call outside the timed loop: it builds what is built
			// once per process.
			if err := call(); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := call(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
