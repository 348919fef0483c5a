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
	createPath, reconcilePath := filepath.Join(responses, "full-create.binpb"), filepath.Join(responses, "full-observed.binpb")
	create, err := load(createPath)
	if err != nil {
		t.Fatal(err)
	}
	reconcile, err := load(reconcilePath)
	if err != nil {
		t.Fatal(err)
	}
	sdkCreate, err := asSDK(create)
	if err != nil {
		t.Fatal(err)
	}
	sdkReconcile, err := asSDK(reconcile)
	if err != nil {
		t.Fatal(err)
	}
	createReq, reconcileReq, err := fnrequest.Example(filepath.Join("..", "..", "..", "examples"), "full")
	if err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]fnv1.FunctionRunnerServiceServer{
		"floor":     &floor{create: create, reconcile: reconcile},
		"sdk-floor": &sdkFloor{create: sdkCreate, reconcile: sdkReconcile},
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
