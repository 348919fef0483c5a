package main

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/crossplane/function-sdk-go/logging"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/fnrequest"
)

var updateResponses = flag.Bool("update-responses", false, "rewrite fn/testdata/responses (only when the output is meant to change)")

// responseRounds are the requests TestResponsesUnchanged replays for each
// example: the XR's first reconcile, the second (what the first composed is
// observed Ready), the steady state (everything observed Ready), and the
// steady state with one resource not Synced and another not Ready, so that
// every way the function reads observed conditions reaches the response.
var responseRounds = []struct {
	name  string
	build func(t *testing.T, example responseExample) *fnv1.RunFunctionRequest
}{
	{name: "create", build: func(t *testing.T, example responseExample) *fnv1.RunFunctionRequest {
		return exampleRequest(t, example, false)
	}},
	{name: "second", build: func(t *testing.T, example responseExample) *fnv1.RunFunctionRequest {
		first := runQuiet(t, exampleRequest(t, example, false))
		req := exampleRequest(t, example, true)
		for name := range req.GetObserved().GetResources() {
			if _, ok := first.GetDesired().GetResources()[name]; !ok {
				delete(req.Observed.Resources, name)
			}
		}
		return req
	}},
	{name: "observed", build: func(t *testing.T, example responseExample) *fnv1.RunFunctionRequest {
		return exampleRequest(t, example, true)
	}},
	{name: "degraded", build: func(t *testing.T, example responseExample) *fnv1.RunFunctionRequest {
		req := exampleRequest(t, example, true)
		setCondition(t, req, "artifact-bucket", "Synced", "False", "ReconcileError", "observe failed: cannot get bucket: AccessDenied")
		setCondition(t, req, "pipeline", "Ready", "False", "Creating", "")
		return req
	}},
}

// TestResponsesUnchanged pins the function's responses, byte for byte
// (deterministic protobuf encoding), for every example and round, so that a
// change meant only to make the function faster cannot change what it
// returns. When the output is meant to change, rewrite them with
// `go test ./fn -run TestResponsesUnchanged -update-responses` and review
// the diff of the examples' golden renders, which say what changed.
func TestResponsesUnchanged(t *testing.T) {
	for _, example := range responseExamples {
		for _, round := range responseRounds {
			if example.observed == "" && round.name != "create" {
				continue
			}
			t.Run(example.name+"/"+round.name, func(t *testing.T) {
				rsp := runQuiet(t, round.build(t, example))
				got, err := proto.MarshalOptions{Deterministic: true}.Marshal(rsp)
				if err != nil {
					t.Fatal(err)
				}
				path := filepath.Join("testdata", "responses", example.name+"-"+round.name+".binpb")
				if *updateResponses {
					if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, got, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run with -update-responses to create it)", err)
				}
				if string(got) == string(want) {
					return
				}
				wantRsp := &fnv1.RunFunctionResponse{}
				if err := proto.Unmarshal(want, wantRsp); err != nil {
					t.Fatalf("cannot decode %s: %v", path, err)
				}
				t.Errorf("the response differs from %s byte for byte; -want, +got:\n%s", path, cmp.Diff(wantRsp, rsp, protocmp.Transform()))
			})
		}
	}
}

// responseExample is an example XR (examples/<xr>), the resources observed
// for it in the steady state (examples/observed/<observed>; "" for none:
// only its first round is pinned) and the platform-defaults
// EnvironmentConfigs answering the function's requirement
// (examples/<configs>).
type responseExample struct {
	name, xr, observed string
	configs            []string
}

// responseExamples are the examples of both APIs, and the five-line claim
// with the platform's defaults.
var responseExamples = []responseExample{
	{name: "minimal", xr: "xr-minimal.yaml", observed: "minimal.yaml"},
	{name: "full", xr: "xr-full.yaml", observed: "full.yaml"},
	{name: "namespaced-minimal", xr: "namespaced-minimal.yaml", observed: "namespaced-minimal.yaml"},
	{name: "namespaced-full", xr: "namespaced-full.yaml", observed: "namespaced-full.yaml"},
	{name: "platform", xr: "xr-minimal.yaml", configs: []string{"platform-defaults.yaml"}},
}

// exampleRequest is the request for an example, with its steady state's
// resources observed when observed.
func exampleRequest(t *testing.T, example responseExample, observed bool) *fnv1.RunFunctionRequest {
	t.Helper()
	o := ""
	if observed {
		o = filepath.Join("..", "examples", "observed", example.observed)
	}
	req, err := fnrequest.Read(filepath.Join("..", "examples", example.xr), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(example.configs) > 0 {
		configs := make([]*structpb.Struct, 0, len(example.configs))
		for _, c := range example.configs {
			configs = append(configs, xrFile(t, c))
		}
		withConfigs(req, configs...)
	}
	return req
}

// runQuiet runs the function and fails on a fatal result.
func runQuiet(t *testing.T, req *fnv1.RunFunctionRequest) *fnv1.RunFunctionResponse {
	t.Helper()
	rsp, err := NewFunction(logging.NewNopLogger()).RunFunction(context.Background(), req)
	if err != nil {
		t.Fatalf("RunFunction returned an error: %v", err)
	}
	if fatal := fatalMessage(rsp); fatal != "" {
		t.Fatalf("fatal result: %s", fatal)
	}
	return rsp
}

// setCondition replaces the observed resource's condition of type ct.
func setCondition(t *testing.T, req *fnv1.RunFunctionRequest, name, ct, status, reason, message string) {
	t.Helper()
	r, ok := req.GetObserved().GetResources()[name]
	if !ok {
		t.Fatalf("no observed resource %q", name)
	}
	conds := r.GetResource().GetFields()["status"].GetStructValue().GetFields()["conditions"].GetListValue()
	for _, c := range conds.GetValues() {
		f := c.GetStructValue().GetFields()
		if f["type"].GetStringValue() != ct {
			continue
		}
		f["status"] = structpb.NewStringValue(status)
		f["reason"] = structpb.NewStringValue(reason)
		if message != "" {
			f["message"] = structpb.NewStringValue(message)
		}
		return
	}
	t.Fatalf("observed resource %q has no %s condition", name, ct)
}
