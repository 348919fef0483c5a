package main

import (
	"context"
	"path/filepath"
	"testing"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/fnrequest"
)

// TestReplaysTheRecordedResponse checks that both floors answer the full
// example's requests with exactly the function's recorded responses (those
// fn's TestResponsesUnchanged pins): a floor that emitted less than the
// function would make the function look dearer than it is.
func TestReplaysTheRecordedResponse(t *testing.T) {
	responses := filepath.Join("..", "..", "..", "fn", "testdata", "responses")
	recorded := map[string]*fnv1.RunFunctionResponse{"full-create": nil, "full-observed": nil}
	sdk := map[string]desired{}
	for name := range recorded {
		rsp, err := load(filepath.Join(responses, name+".binpb"))
		if err != nil {
			t.Fatal(err)
		}
		if sdk[name], err = asSDK(rsp); err != nil {
			t.Fatal(err)
		}
		recorded[name] = rsp
	}
	create, reconcile := recorded["full-create"], recorded["full-observed"]
	createReq, reconcileReq, err := fnrequest.Example(filepath.Join("..", "..", "..", "examples"), "full")
	if err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]fnv1.FunctionRunnerServiceServer{
		"floor":     &floor{create: create, reconcile: reconcile},
		"sdk-floor": &sdkFloor{create: sdk["full-create"], reconcile: sdk["full-observed"]},
	} {
		for _, tc := range []struct {
			name string
			req  *fnv1.RunFunctionRequest
			want *fnv1.RunFunctionResponse
		}{
			{name: "create", req: createReq, want: create},
			{name: "reconcile", req: reconcileReq, want: reconcile},
		} {
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
