package main

import (
	"context"
	"testing"

	"github.com/crossplane/function-sdk-go/logging"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/resource"
	"github.com/crossplane/function-sdk-go/response"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"
)

// TestRunFunction shows whole requests and responses, in the shape of
// function-patch-and-transform's TestRunFunction. The cases are ones whose
// response does not depend on which resources the function composes (that
// is TestResponsesUnchanged's, on the examples): asking for the platform's
// defaults, and refusing an invalid spec. Condition types and reasons are
// spelled out, not v1alpha1's constants: they are API that users' tooling
// waits on, and renaming a constant must fail here.
func TestRunFunction(t *testing.T) {
	type args struct {
		ctx context.Context //nolint:containedctx // function-patch-and-transform's shape: args{ctx, req}.
		req *fnv1.RunFunctionRequest
	}
	type want struct {
		rsp *fnv1.RunFunctionResponse
		err error
	}

	const (
		xr = `{"apiVersion":"cicd.platform.dev/v1alpha1","kind":"XCicdPipeline","metadata":{"name":"shop-x7k2p"},` +
			`"spec":{"claimRef":{"apiVersion":"cicd.platform.dev/v1alpha1","kind":"CicdPipeline","name":"shop","namespace":"team-shop"},` +
			`"environmentSuffix":"dev","source":{"repository":"acme/shop"}}}`
		// The same XR with an environment suffix that is not a lower-case DNS label.
		xrBadSuffix = `{"apiVersion":"cicd.platform.dev/v1alpha1","kind":"XCicdPipeline","metadata":{"name":"shop-x7k2p"},` +
			`"spec":{"claimRef":{"apiVersion":"cicd.platform.dev/v1alpha1","kind":"CicdPipeline","name":"shop","namespace":"team-shop"},` +
			`"environmentSuffix":"Dev","source":{"repository":"acme/shop"}}}`
		// A bucket a previous reconcile composed.
		bucket = `{"apiVersion":"s3.aws.upbound.io/v1beta1","kind":"Bucket","metadata":{"name":"shop-x7k2p-artifacts"},` +
			`"spec":{"forProvider":{"region":"us-east-1"}}}`
	)
	// What the function asks Crossplane for on every call: the
	// EnvironmentConfigs labelled as platform defaults.
	requirements := &fnv1.Requirements{Resources: map[string]*fnv1.ResourceSelector{
		"platform-defaults": {
			ApiVersion: "apiextensions.crossplane.io/v1beta1",
			Kind:       "EnvironmentConfig",
			Match: &fnv1.ResourceSelector_MatchLabels{MatchLabels: &fnv1.MatchLabels{
				Labels: map[string]string{"cicd.platform.dev/defaults": "true"},
			}},
		},
	}}
	// Crossplane's answer when no EnvironmentConfig matches.
	noPlatformDefaults := map[string]*fnv1.Resources{"platform-defaults": {}}
	// The fatal result is the error; the condition, what a person reads on
	// the claim, starts with a capital.
	invalidSpec := `invalid XCicdPipeline "shop-x7k2p": spec.environmentSuffix: Invalid value: "Dev": spec.environmentSuffix in body should match '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$'`
	invalidSpecCondition := `Invalid XCicdPipeline "shop-x7k2p": spec.environmentSuffix: Invalid value: "Dev": spec.environmentSuffix in body should match '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$'`
	noPlatformDefaultsCondition := "No EnvironmentConfig labelled cicd.platform.dev/defaults=true applies: the built-in defaults apply"

	cases := map[string]struct {
		reason string
		args   args
		want   want
	}{
		"AsksForPlatformDefaults": {
			reason: "The first call has no EnvironmentConfigs yet: the function asks for them and composes nothing until Crossplane calls again with them.",
			args: args{
				req: &fnv1.RunFunctionRequest{
					Meta:     &fnv1.RequestMeta{Tag: "first"},
					Observed: &fnv1.State{Composite: &fnv1.Resource{Resource: resource.MustStructJSON(xr)}},
				},
			},
			want: want{
				rsp: &fnv1.RunFunctionResponse{
					Meta:         &fnv1.ResponseMeta{Tag: "first", Ttl: durationpb.New(response.DefaultTTL)},
					Requirements: requirements,
				},
			},
		},
		"InvalidSpecIsFatal": {
			reason: "A spec the XRD's schema rejects is a fatal result and a SpecValid=False condition on the XR and its claim, naming the field.",
			args: args{
				req: &fnv1.RunFunctionRequest{
					Observed:          &fnv1.State{Composite: &fnv1.Resource{Resource: resource.MustStructJSON(xrBadSuffix)}},
					RequiredResources: noPlatformDefaults,
				},
			},
			want: want{
				rsp: &fnv1.RunFunctionResponse{
					Meta: &fnv1.ResponseMeta{Ttl: durationpb.New(response.DefaultTTL)},
					Results: []*fnv1.Result{{
						Severity: fnv1.Severity_SEVERITY_FATAL,
						Message:  invalidSpec,
						Target:   fnv1.Target_TARGET_COMPOSITE.Enum(),
					}},
					Conditions: []*fnv1.Condition{{
						Type:    "PlatformDefaults",
						Status:  fnv1.Status_STATUS_CONDITION_FALSE,
						Reason:  "NoEnvironmentConfig",
						Message: &noPlatformDefaultsCondition,
						Target:  fnv1.Target_TARGET_COMPOSITE_AND_CLAIM.Enum(),
					}, {
						Type:    "SpecValid",
						Status:  fnv1.Status_STATUS_CONDITION_FALSE,
						Reason:  "InvalidSpec",
						Message: &invalidSpecCondition,
						Target:  fnv1.Target_TARGET_COMPOSITE_AND_CLAIM.Enum(),
					}},
					Requirements: requirements,
				},
			},
		},
		"InvalidSpecKeepsTheDesiredState": {
			reason: "After a bad update the desired state goes back as the request had it, so nothing composed is dropped or changed.",
			args: args{
				req: &fnv1.RunFunctionRequest{
					Observed: &fnv1.State{
						Composite: &fnv1.Resource{Resource: resource.MustStructJSON(xrBadSuffix)},
						Resources: map[string]*fnv1.Resource{"artifact-bucket": {Resource: resource.MustStructJSON(bucket)}},
					},
					Desired: &fnv1.State{
						Resources: map[string]*fnv1.Resource{"artifact-bucket": {Resource: resource.MustStructJSON(bucket)}},
					},
					RequiredResources: noPlatformDefaults,
				},
			},
			want: want{
				rsp: &fnv1.RunFunctionResponse{
					Meta: &fnv1.ResponseMeta{Ttl: durationpb.New(response.DefaultTTL)},
					Desired: &fnv1.State{
						Resources: map[string]*fnv1.Resource{"artifact-bucket": {Resource: resource.MustStructJSON(bucket)}},
					},
					Results: []*fnv1.Result{{
						Severity: fnv1.Severity_SEVERITY_FATAL,
						Message:  invalidSpec,
						Target:   fnv1.Target_TARGET_COMPOSITE.Enum(),
					}},
					Conditions: []*fnv1.Condition{{
						Type:    "PlatformDefaults",
						Status:  fnv1.Status_STATUS_CONDITION_FALSE,
						Reason:  "NoEnvironmentConfig",
						Message: &noPlatformDefaultsCondition,
						Target:  fnv1.Target_TARGET_COMPOSITE_AND_CLAIM.Enum(),
					}, {
						Type:    "SpecValid",
						Status:  fnv1.Status_STATUS_CONDITION_FALSE,
						Reason:  "InvalidSpec",
						Message: &invalidSpecCondition,
						Target:  fnv1.Target_TARGET_COMPOSITE_AND_CLAIM.Enum(),
					}},
					Requirements: requirements,
				},
			},
		},
	}

	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := NewFunction(logging.NewNopLogger())
			rsp, err := f.RunFunction(tc.args.ctx, tc.args.req)

			if diff := cmp.Diff(tc.want.rsp, rsp, protocmp.Transform()); diff != "" {
				t.Errorf("%s\nf.RunFunction(...): -want rsp, +got rsp:\n%s", tc.reason, diff)
			}

			if diff := cmp.Diff(tc.want.err, err, cmpopts.EquateErrors()); diff != "" {
				t.Errorf("%s\nf.RunFunction(...): -want err, +got err:\n%s", tc.reason, diff)
			}
		})
	}
}
