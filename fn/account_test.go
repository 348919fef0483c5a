package main

import (
	"strings"
	"testing"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1"
	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/compose"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/providerfake"
)

// accountConfig is a platform-defaults EnvironmentConfig naming the account.
func accountConfig(t *testing.T, name, env, account string) *structpb.Struct {
	t.Helper()
	return envConfig(t, name, env, "  accountId: \""+account+"\"\n")
}

// TestAccountMismatch: resources observed in another account than the
// platform's accountId stop composition: a fatal result (nothing composed
// changes, no policy names the wrong account) and PlatformDefaults=False,
// AccountMismatch, naming the config and both accounts.
func TestAccountMismatch(t *testing.T) {
	xr := xrFromYAML(t, minimalXR(minimalSpec))
	// The provider config is in providerfake.Account.
	observed, _ := converge(t, xr, nil)
	const other = "999999999999"
	req := withConfigs(newRequest(xr, observed), accountConfig(t, "acme", "", other))
	req.Desired = &fnv1.State{Resources: map[string]*fnv1.Resource{"earlier": {Resource: xrFromYAML(t, "apiVersion: v1\nkind: ConfigMap\n")}}}
	rsp := run(t, req)

	got := fatalMessage(rsp)
	for _, want := range []string{"EnvironmentConfig acme", "data.accountId is " + other, "in account " + providerfake.Account} {
		if !strings.Contains(got, want) {
			t.Errorf("fatal result: want it to contain %q, got %q", want, got)
		}
	}
	c := condition(rsp, string(v1alpha1.TypePlatformDefaults))
	if c.GetStatus() != fnv1.Status_STATUS_CONDITION_FALSE || c.GetReason() != string(v1alpha1.ReasonAccountMismatch) || c.GetMessage() != got {
		t.Errorf("PlatformDefaults: want False, AccountMismatch, with the fatal message; got %v", c)
	}
	if diff := cmp.Diff(req.GetDesired(), rsp.GetDesired(), protocmp.Transform()); diff != "" {
		t.Errorf("the desired state must be unchanged: -want, +got:\n%s", diff)
	}

	// The same account is no mismatch.
	rsp = run(t, withConfigs(newRequest(xr, observed), accountConfig(t, "acme", "", providerfake.Account)))
	if f := fatalMessage(rsp); f != "" {
		t.Errorf("the platform's own account must be accepted, got %s", f)
	}
}

// TestAccountFromPlatform: the first round derives from the platform's
// accountId, from the last applicable config that sets it (a config of
// the claim's environment after the general ones).
func TestAccountFromPlatform(t *testing.T) {
	const general, prod = "111122223333", "444455556666"
	xr := xrFromYAML(t, strings.Replace(minimalXR(minimalSpec), "  name: shop-x7k2p\n", "  name: shop-x7k2p\n  labels:\n    "+v1alpha1.LabelEnvironment+": prod\n", 1))
	cases := map[string]struct {
		configs []*structpb.Struct
		want    string
	}{
		"General":          {configs: []*structpb.Struct{accountConfig(t, "a", "", general)}, want: general},
		"Environment":      {configs: []*structpb.Struct{accountConfig(t, "z", "", general), accountConfig(t, "a", "prod", prod)}, want: prod},
		"OtherEnvironment": {configs: []*structpb.Struct{accountConfig(t, "a", "", general), accountConfig(t, "b", "dev", prod)}, want: general},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			d := desired(run(t, withConfigs(newRequest(xr, nil), tc.configs...)))
			b, ok := d[string(compose.BuildProject)]
			if !ok {
				t.Fatalf("with the account known the build project is composed in the first round")
			}
			uri := field(t, b, "spec.forProvider.environment.environmentVariable[0].value")
			if want := tc.want + ".dkr.ecr.us-east-1.amazonaws.com/shop-x7k2p-images-dev"; uri != want {
				t.Errorf("%s: got %v, want %s", compose.EnvImageRepoURI, uri, want)
			}
		})
	}
}

// TestTargetAccountCheckedInAdvance: with the platform's accountId, a deploy
// target in another account without a role to assume is refused on the
// first reconcile, before anything is created.
func TestTargetAccountCheckedInAdvance(t *testing.T) {
	spec := minimalSpec + `  deployer:
    image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/cicd-deployer:v1
    targets:
      - functionName: arn:aws:lambda:us-east-1:444455556666:function:api
`
	xr := xrFromYAML(t, minimalXR(spec))
	rsp := run(t, withConfigs(newRequest(xr, nil), accountConfig(t, "acme", "", providerfake.Account)))
	want := "spec.deployer.targets[0].functionName: arn:aws:lambda:us-east-1:444455556666:function:api is in account 444455556666, not the pipeline's account " + providerfake.Account
	if got := fatalMessage(rsp); !strings.Contains(got, want) {
		t.Errorf("fatal result: want it to contain %q, got %q", want, got)
	}
	// The last SpecValid condition is the one Crossplane keeps.
	var last *fnv1.Condition
	for _, c := range rsp.GetConditions() {
		if c.GetType() == string(v1alpha1.TypeSpecValid) {
			last = c
		}
	}
	if last.GetStatus() != fnv1.Status_STATUS_CONDITION_FALSE {
		t.Errorf("SpecValid: want False, got %v", last)
	}
	// Without the account nothing is known yet: composed as before.
	if got := fatalMessage(run(t, newRequest(xr, nil))); got != "" {
		t.Errorf("without the account nothing can be checked yet, got %q", got)
	}
}
