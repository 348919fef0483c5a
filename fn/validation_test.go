package main

import (
	"strings"
	"testing"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"

	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/badclaims"
)

// TestFunctionEnforcesTheXRDRules runs every claim the XRD rejects through
// the function: it checks the rules again (for crossplane render, and XRs
// stored under an older XRD), so each must give a fatal result with the
// same message and SpecValid=False, and compose nothing. Transition rules
// (self == oldSelf) need the old object, which only the API server has.
func TestFunctionEnforcesTheXRDRules(t *testing.T) {
	checked := 0
	for name, tc := range badclaims.Catalogue() {
		if tc.Transition {
			continue
		}
		checked++
		t.Run(name, func(t *testing.T) {
			rsp := run(t, newRequest(xrFromYAML(t, minimalXR(tc.Spec)), nil))
			got := fatalMessage(rsp)
			if got == "" {
				t.Fatalf("the function accepted a spec the XRD rejects; want an error containing %q", tc.Want)
			}
			for _, w := range tc.Want {
				if !strings.Contains(got, w) {
					t.Errorf("fatal result: want it to contain\n  %s\ngot\n  %s", w, got)
				}
			}
			if n := len(rsp.GetDesired().GetResources()); n != 0 {
				t.Errorf("the function composed %d resources for a rejected spec", n)
			}
			if got := conditionsOf(rsp)[v1alpha1.TypeSpecValid].statusReason; got != falseBecause(v1alpha1.ReasonInvalidSpec) {
				t.Errorf("SpecValid: want False/InvalidSpec, got %s", got)
			}
			if r := rsp.GetDesired().GetComposite().GetReady(); r == fnv1.Ready_READY_TRUE {
				t.Errorf("the XR must not be Ready with a rejected spec")
			}
		})
	}
	if checked < 10 {
		t.Errorf("checked only %d claims of the catalogue", checked)
	}
}

// TestFunctionRejectsNamesAWSRejects covers the rules only the function
// checks: the AWS names derived from the XR's name must use characters AWS
// allows. (A name over its length limit is shortened with a hash instead,
// TestLongClaimName; with a valid environmentSuffix every name fits then.)
// An XR's name reaches the function unchecked by the XRD (crossplane render
// takes any name).
func TestFunctionRejectsNamesAWSRejects(t *testing.T) {
	cases := map[string]struct {
		name string
		want string
	}{
		"Underscore": {
			name: "shop_x7k2p",
			want: `metadata.name: the ECR repository name "shop_x7k2p-images-dev" has characters AWS does not allow`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			xr := strings.Replace(minimalXR(minimalSpec), "name: shop-x7k2p", "name: "+tc.name, 1)
			rsp := run(t, newRequest(xrFromYAML(t, xr), nil))
			if got := fatalMessage(rsp); !strings.Contains(got, tc.want) {
				t.Errorf("fatal result: want it to contain\n  %s\ngot\n  %s", tc.want, got)
			}
			if n := len(rsp.GetDesired().GetResources()); n != 0 {
				t.Errorf("the function composed %d resources for names AWS rejects", n)
			}
		})
	}
}
