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
	// One SpecValid condition, False: the spec was valid by the schema,
	// then not by the account.
	var specValid []*fnv1.Condition
	for _, c := range rsp.GetConditions() {
		if c.GetType() == string(v1alpha1.TypeSpecValid) {
			specValid = append(specValid, c)
		}
	}
	if len(specValid) != 1 || specValid[0].GetStatus() != fnv1.Status_STATUS_CONDITION_FALSE {
		t.Errorf("SpecValid: want one condition, False; got %v", specValid)
	}
	// Without the account nothing is known yet: composed as before.
	if got := fatalMessage(run(t, newRequest(xr, nil))); got != "" {
		t.Errorf("without the account nothing can be checked yet, got %q", got)
	}
}

// TestAccountOnlyForItsProviderConfig: data.accountId is the account of
// one provider config, the platform's providerConfigName where the config
// sets it (the built-in default when none does). A claim that uses another
// provider config may be in another account: the function does not derive
// its ARNs from that accountId (its account comes from the first ARN AWS
// reports), does not call it a mismatch, and says why in PlatformDefaults.
func TestAccountOnlyForItsProviderConfig(t *testing.T) {
	const mainAccount, prodAccount = "111122223333", "444455556666"
	withPC := func(pc, account string) string {
		return "  defaults:\n    providerConfigName: " + pc + "\n  accountId: \"" + account + "\"\n"
	}
	prodXR := func(pc string) *structpb.Struct {
		spec := minimalSpec
		if pc != "" {
			spec += "  providerConfigName: " + pc + "\n"
		}
		return xrFromYAML(t, strings.Replace(minimalXR(spec), "  name: shop-x7k2p\n", "  name: shop-x7k2p\n  labels:\n    "+v1alpha1.LabelEnvironment+": prod\n", 1))
	}
	cases := map[string]struct {
		xr      *structpb.Struct
		configs []*structpb.Struct
		// account the first round derives from, "" for none.
		account string
		// note in PlatformDefaults' message.
		note string
	}{
		"DefaultProviderConfig": {
			xr:      prodXR(""),
			configs: []*structpb.Struct{accountConfig(t, "acme", "", mainAccount)},
			account: mainAccount,
		},
		"ClaimNamesTheDefault": {
			xr:      prodXR(v1alpha1.DefaultProviderConfigName),
			configs: []*structpb.Struct{accountConfig(t, "acme", "", mainAccount)},
			account: mainAccount,
		},
		"ClaimUsesAnotherProviderConfig": {
			xr:      prodXR("aws-team"),
			configs: []*structpb.Struct{accountConfig(t, "acme", "", mainAccount)},
			note:    "data.accountId " + mainAccount + " (EnvironmentConfig acme) is the account of provider config default, not of aws-team, which this claim uses: its account is read from the first ARN AWS reports",
		},
		"ConfigNamesTheClaimsProviderConfig": {
			xr:      prodXR("aws-team"),
			configs: []*structpb.Struct{envConfig(t, "acme", "", withPC("aws-team", mainAccount))},
			account: mainAccount,
		},
		// Each accountId belongs to the providerConfigName in effect where
		// it is set: the environment's config changes both.
		"EnvironmentProviderConfig": {
			xr:      prodXR(""),
			configs: []*structpb.Struct{envConfig(t, "a", "", withPC("aws-main", mainAccount)), envConfig(t, "b", "prod", withPC("aws-prod", prodAccount))},
			account: prodAccount,
		},
		"ClaimKeepsTheGeneralProviderConfig": {
			xr:      prodXR("aws-main"),
			configs: []*structpb.Struct{envConfig(t, "a", "", withPC("aws-main", mainAccount)), envConfig(t, "b", "prod", withPC("aws-prod", prodAccount))},
			account: mainAccount,
		},
		// A later config that changes the provider config without an
		// accountId leaves the earlier account with the earlier one.
		"ProviderConfigChangedWithoutAccount": {
			xr:      prodXR(""),
			configs: []*structpb.Struct{envConfig(t, "a", "", withPC("aws-main", mainAccount)), envConfig(t, "b", "prod", "  defaults:\n    providerConfigName: aws-prod\n")},
			note:    "data.accountId " + mainAccount + " (EnvironmentConfig a) is the account of provider config aws-main, not of aws-prod, which this claim uses",
		},
		// A namespaced XR's ClusterProviderConfig is the platform's; a
		// ProviderConfig in its namespace, even of the same name, is the
		// team's own, in an account no platform accountId describes.
		"NamespacedClusterProviderConfig": {
			xr:      xrFromYAML(t, namespacedXR("team-shop", minimalSpec)),
			configs: []*structpb.Struct{accountConfig(t, "acme", "", mainAccount)},
			account: mainAccount,
		},
		"NamespacedOwnProviderConfig": {
			xr:      xrFromYAML(t, namespacedXR("team-shop", minimalSpec+"  providerConfigRef:\n    kind: ProviderConfig\n    name: default\n")),
			configs: []*structpb.Struct{accountConfig(t, "acme", "", mainAccount)},
			note:    "data.accountId " + mainAccount + " (EnvironmentConfig acme) is the account of the cluster-level provider config default, not of ProviderConfig default in this namespace",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			rsp := run(t, withConfigs(newRequest(tc.xr, nil), tc.configs...))
			if f := fatalMessage(rsp); f != "" {
				t.Fatalf("fatal result: %s", f)
			}
			var got string
			if b, ok := desired(rsp)[string(compose.BuildProject)]; ok {
				uri, _ := field(t, b, "spec.forProvider.environment.environmentVariable[0].value").(string)
				got, _, _ = strings.Cut(uri, ".")
			}
			if got != tc.account {
				t.Errorf("account the first round derives from: got %q, want %q", got, tc.account)
			}
			if msg := condition(rsp, string(v1alpha1.TypePlatformDefaults)).GetMessage(); !strings.Contains(msg, tc.note) {
				t.Errorf("PlatformDefaults: want the message to contain %q, got %q", tc.note, msg)
			}
		})
	}

	// Resources observed in the provider config's own account are no
	// mismatch with the accountId of another provider config.
	xr := prodXR("aws-team")
	observed, _ := converge(t, xr, nil)
	rsp := run(t, withConfigs(newRequest(xr, observed), accountConfig(t, "acme", "", mainAccount)))
	if f := fatalMessage(rsp); f != "" {
		t.Errorf("another provider config's account is no mismatch, got %s", f)
	}
}
