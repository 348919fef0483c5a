package main

import (
	"context"
	"maps"
	"path/filepath"
	"slices"
	"testing"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/fnrequest"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/requestpath"
)

// scenario is one of the full example's requests and the function's
// recorded response to it (fn's TestResponsesUnchanged pins them).
type scenario struct {
	name string
	req  *fnv1.RunFunctionRequest
	want *fnv1.RunFunctionResponse
}

// floors are both floors, answering with the function's recorded responses,
// and the requests they answer: create and reconcile.
func floors(tb testing.TB) (map[string]fnv1.FunctionRunnerServiceServer, []scenario) {
	tb.Helper()
	responses := filepath.Join("..", "..", "..", "fn", "testdata", "responses")
	recorded := map[string]*fnv1.RunFunctionResponse{}
	sdk := map[string]desired{}
	for _, name := range []string{"full-create", "full-observed"} {
		rsp, err := load(filepath.Join(responses, name+".binpb"))
		if err != nil {
			tb.Fatal(err)
		}
		if sdk[name], err = asSDK(rsp); err != nil {
			tb.Fatal(err)
		}
		recorded[name] = rsp
	}
	createReq, reconcileReq, err := fnrequest.Example(filepath.Join("..", "..", "..", "examples"), "full")
	if err != nil {
		tb.Fatal(err)
	}
	create, reconcile := recorded["full-create"], recorded["full-observed"]
	return map[string]fnv1.FunctionRunnerServiceServer{
			"floor":     &floor{create: create, reconcile: reconcile},
			"sdk-floor": &sdkFloor{create: sdk["full-create"], reconcile: sdk["full-observed"]},
		}, []scenario{
			{name: "create", req: createReq, want: create},
			{name: "reconcile", req: reconcileReq, want: reconcile},
		}
}

// TestReplaysTheRecordedResponse checks that both floors answer the full
// example's requests with exactly the function's recorded responses: a
// floor that emitted less than the function would make the function look
// dearer than it is.
func TestReplaysTheRecordedResponse(t *testing.T) {
	fns, scenarios := floors(t)
	for name, f := range fns {
		for _, tc := range scenarios {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				got, err := f.RunFunction(context.Background(), tc.req)
				if err != nil {
					t.Fatal(err)
				}
				// The recorded response's meta is the recording request's.
				got.Meta = nil
				want := proto.CloneOf(tc.want)
				want.Meta = nil
				if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
					t.Errorf("RunFunction(): -recorded, +replayed:\n%s", diff)
				}
			})
		}
	}
}

// BenchmarkRequestPath measures the floors as fn's BenchmarkRequestPath
// measures the function (requestpath.Benchmark), with gRPC's protobuf codec
// that function-sdk-go's server uses, on the full example:
// `make bench` runs both, so the function's cost in-process reads against
// the floors'.
func BenchmarkRequestPath(b *testing.B) {
	fns, scenarios := floors(b)
	for _, name := range slices.Sorted(maps.Keys(fns)) {
		for _, s := range scenarios {
			b.Run(name+"/"+s.name, func(b *testing.B) {
				requestpath.Benchmark(b, requestpath.Served(fns[name]), encoding.GetCodecV2(grpcproto.Name), s.req, nil)
			})
		}
	}
}
