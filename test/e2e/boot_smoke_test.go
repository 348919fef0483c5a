//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	xpv1 "github.com/crossplane/crossplane-runtime/v2/apis/common/v1"
	"github.com/crossplane/function-sdk-go"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/request"
	"github.com/crossplane/function-sdk-go/resource"
	"github.com/crossplane/function-sdk-go/resource/composed"
	"github.com/crossplane/function-sdk-go/response"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/cicd-platform/crossplane-cicd-pipeline/test/e2e/internal/stack"
)

// The smoke test (in the file that sorts first, so it runs first) checks
// the stack itself, independent of the project's
// function: a trivial claim-capable XRD, a Pipeline Composition calling a
// function served by this test process over mTLS, one composed provider-aws
// resource made Ready by the simulator, the observed ARN flowing back to the
// claim, and deletion through garbage collection and the provider finalizer.

const (
	smokeFunctionName    = "function-e2e-smoke"
	smokeFunctionAddress = "127.0.0.1:9444"
)

var (
	smokeClaimGVK = schema.GroupVersionKind{Group: "smoke.e2e.example.org", Version: "v1alpha1", Kind: "Smoke"}
	snsTopicGVK   = schema.GroupVersionKind{Group: "sns.aws.upbound.io", Version: "v1beta1", Kind: "Topic"}
)

const smokePlatform = `
apiVersion: apiextensions.crossplane.io/v1
kind: CompositeResourceDefinition
metadata:
  name: xsmokes.smoke.e2e.example.org
spec:
  group: smoke.e2e.example.org
  names: {kind: XSmoke, plural: xsmokes}
  claimNames: {kind: Smoke, plural: smokes}
  versions:
  - name: v1alpha1
    served: true
    referenceable: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              topicName: {type: string}
            required: [topicName]
          status:
            type: object
            properties:
              topicArn: {type: string}
---
apiVersion: apiextensions.crossplane.io/v1
kind: Composition
metadata:
  name: xsmokes.smoke.e2e.example.org
spec:
  compositeTypeRef: {apiVersion: smoke.e2e.example.org/v1alpha1, kind: XSmoke}
  mode: Pipeline
  pipeline:
  - step: compose
    functionRef: {name: function-e2e-smoke}
`

// smokeFunction composes one SNS topic and reports its observed ARN.
type smokeFunction struct {
	fnv1.UnimplementedFunctionRunnerServiceServer
}

func (smokeFunction) RunFunction(_ context.Context, req *fnv1.RunFunctionRequest) (*fnv1.RunFunctionResponse, error) {
	rsp := response.To(req, response.DefaultTTL)
	xr, err := request.GetObservedCompositeResource(req)
	if err != nil {
		response.Fatal(rsp, err)
		return rsp, nil
	}
	topicName, err := xr.Resource.GetString("spec.topicName")
	if err != nil {
		response.Fatal(rsp, err)
		return rsp, nil
	}
	topic := composed.New()
	topic.SetAPIVersion("sns.aws.upbound.io/v1beta1")
	topic.SetKind("Topic")
	topic.SetAnnotations(map[string]string{"crossplane.io/external-name": topicName})
	if err := topic.SetValue("spec.forProvider.region", simulatedRegion); err != nil {
		response.Fatal(rsp, err)
		return rsp, nil
	}
	observed, err := request.GetObservedComposedResources(req)
	if err != nil {
		response.Fatal(rsp, err)
		return rsp, nil
	}
	// Crossplane takes an unspecified readiness as not ready: functions
	// decide, here from the provider's Ready condition.
	ready := resource.ReadyFalse
	if oc, ok := observed["topic"]; ok && oc.Resource.GetCondition(xpv1.TypeReady).Status == corev1.ConditionTrue {
		ready = resource.ReadyTrue
	}
	if err := response.SetDesiredComposedResources(rsp, map[resource.Name]*resource.DesiredComposed{"topic": {Resource: topic, Ready: ready}}); err != nil {
		response.Fatal(rsp, err)
		return rsp, nil
	}
	if oc, ok := observed["topic"]; ok {
		if arn, err := oc.Resource.GetString("status.atProvider.arn"); err == nil {
			desired, err := request.GetDesiredCompositeResource(req)
			if err != nil {
				response.Fatal(rsp, err)
				return rsp, nil
			}
			if err := desired.Resource.SetValue("status.topicArn", arn); err != nil {
				response.Fatal(rsp, err)
				return rsp, nil
			}
			if err := response.SetDesiredCompositeResource(rsp, desired); err != nil {
				response.Fatal(rsp, err)
				return rsp, nil
			}
		}
	}
	return rsp, nil
}

func TestStackSmoke(t *testing.T) {
	ctx := env.ctx
	dir, err := env.stack.FunctionServingDir(smokeFunctionName)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		// Serve blocks for the life of the test binary; with no metrics
		// address it opens nothing but the gRPC port.
		err := function.Serve(smokeFunction{},
			function.Listen("tcp", smokeFunctionAddress),
			function.MTLSCertificates(dir),
			function.WithMetricsServer(""))
		if err != nil {
			t.Errorf("smoke function stopped serving: %v", err)
		}
	}()

	if err := stack.RegisterFunctionEndpoint(ctx, env.client, smokeFunctionName, smokeFunctionAddress); err != nil {
		t.Fatal(err)
	}
	objs, err := stack.DecodeYAML([]byte(smokePlatform))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if _, err := env.client.Apply(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	xrdTook := waitXRDReady(t, "xsmokes.smoke.e2e.example.org")

	createNamespace(t, "smoke")
	claim := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"topicName": "e2e-smoke-topic"}}}
	claim.SetGroupVersionKind(smokeClaimGVK)
	claim.SetNamespace("smoke")
	claim.SetName("smoke")
	applied := time.Now()
	if _, err := env.client.Apply(ctx, claim); err != nil {
		t.Fatal(err)
	}
	ready, took := waitReady(t, smokeClaimGVK, "smoke", "smoke")
	wantARN := fmt.Sprintf("arn:aws:sns:%s:%s:e2e-smoke-topic", simulatedRegion, simulatedAccount)
	if got := nestedString(ready, "status", "topicArn"); got != wantARN {
		t.Errorf("claim status.topicArn = %q, want %q", got, wantARN)
	}
	t.Logf("smoke claim Ready %s after apply (XRD established in %s)", took.Round(time.Millisecond), xrdTook.Round(time.Millisecond))
	env.recordf("%-44s %s", "smoke claim: apply -> Ready:", time.Since(applied).Round(time.Millisecond))

	topics, err := env.client.List(ctx, snsTopicGVK, "", "crossplane.io/claim-name=smoke")
	if err != nil {
		t.Fatal(err)
	}
	if len(topics) != 1 {
		t.Fatalf("want 1 composed Topic, got %d", len(topics))
	}
	topic := topics[0]

	if err := deleteObject(ctx, smokeClaimGVK, "smoke", "smoke"); err != nil {
		t.Fatal(err)
	}
	waitGone(t, smokeClaimGVK, "smoke", "smoke")
	waitGone(t, snsTopicGVK, "", topic.GetName())
}
