package main

import (
	"strings"
	"testing"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/structpb"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1"
	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/compose"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/providerfake"
)

// TestRoundsToReady counts the rounds of observation each example takes
// until every resource is composed, with the fake provider reporting every
// desired resource created and Ready after each round. On AWS each round
// waits for resources to be created and observed, so fewer rounds is a
// faster Ready. A round is one response: round 1 answers the XR with
// nothing observed. Values AWS documents as a fixed format (ARNs, the
// repository URI) are derived once the account is known, from the
// platform's accountId or the first observed ARN; only values AWS
// generates (a composed connection's ARN) wait for observation.
// docs/performance.md ("Rounds to Ready") shows this table.
func TestRoundsToReady(t *testing.T) {
	// account names the account of the built-in default provider config,
	// which the minimal examples use; paymentsAccount that of
	// aws-payments, which the full ones name.
	account := func(t *testing.T) []*structpb.Struct { return accountOf(t, v1alpha1.DefaultProviderConfigName) }
	paymentsAccount := func(t *testing.T) []*structpb.Struct { return accountOf(t, "aws-payments") }
	cases := []struct {
		name    string
		xr      string
		configs func(t *testing.T) []*structpb.Struct
		// connection names an existing connection in the claim
		// (spec.source.connectionArn), in the example's region.
		connection string
		// codeCommit sources the pipeline from this CodeCommit repository,
		// which needs no connection.
		codeCommit string
		// clusterProviderConfig makes a namespaced XR use the
		// ClusterProviderConfig of its provider config's name.
		clusterProviderConfig bool
		want                  int
	}{
		// Round 1 composes all but what needs the account (not known yet)
		// or the composed connection's ARN; round 2 the rest.
		{name: "full", xr: "xr-full.yaml", want: 2},
		{name: "minimal", xr: "xr-minimal.yaml", want: 2},
		{name: "namespaced-full", xr: "namespaced-full.yaml", want: 2},
		{name: "namespaced-minimal", xr: "namespaced-minimal.yaml", want: 2},
		// examples/platform-defaults.yaml names the account: round 1
		// composes all but what needs the composed connection's ARN.
		{name: "platform", xr: "xr-minimal.yaml", configs: platformExample, want: 2},
		{name: "full, account known", xr: "xr-full.yaml", configs: paymentsAccount, want: 2},
		// The account comes from the first observed ARN.
		{name: "full, existing connection", xr: "xr-full.yaml", connection: "eu-west-1", want: 2},
		// Nothing AWS generates is needed: everything in round 1.
		{name: "platform, existing connection", xr: "xr-minimal.yaml", configs: platformExample, connection: "eu-west-1", want: 1},
		{name: "minimal, account known, existing connection", xr: "xr-minimal.yaml", configs: account, connection: v1alpha1.DefaultRegion, want: 1},
		{name: "full, account known, existing connection", xr: "xr-full.yaml", configs: paymentsAccount, connection: "eu-west-1", want: 1},
		{name: "namespaced-full, account known, existing connection", xr: "namespaced-full.yaml", clusterProviderConfig: true, configs: paymentsAccount, connection: "eu-west-1", want: 1},
		// namespaced-full.yaml uses a ProviderConfig of its namespace: the
		// team's own, whose account no platform accountId describes.
		{name: "namespaced-full, its namespace's ProviderConfig, existing connection", xr: "namespaced-full.yaml", configs: paymentsAccount, connection: "eu-west-1", want: 2},
		// The platform's accountId is that of another provider config than
		// the claim's aws-payments: not used, the account comes from the
		// first observed ARN.
		{name: "full, another provider config's account, existing connection", xr: "xr-full.yaml", configs: account, connection: "eu-west-1", want: 2},
		{name: "minimal, CodeCommit", xr: "xr-minimal.yaml", codeCommit: "shop", want: 2},
		{name: "minimal, account known, CodeCommit", xr: "xr-minimal.yaml", configs: account, codeCommit: "shop", want: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			xr := xrFile(t, tc.xr)
			if tc.connection != "" {
				arn := "arn:aws:codestar-connections:" + tc.connection + ":" + providerfake.Account + ":connection/6f1d9a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b"
				xr = withSpecField(t, xr, arn, "source", "connectionArn")
			}
			if tc.codeCommit != "" {
				xr = withSpecField(t, xr, string(v1alpha1.SourceCodeCommit), "source", "provider")
				xr = withSpecField(t, xr, tc.codeCommit, "source", "repository")
			}
			if tc.clusterProviderConfig {
				xr = withSpecField(t, xr, compose.ClusterProviderConfigKind, "providerConfigRef", "kind")
			}
			var configs []*structpb.Struct
			if tc.configs != nil {
				configs = tc.configs(t)
			}
			_, rsp, rounds := convergeRounds(t, xr, configs, nil)
			if c := condition(rsp, string(v1alpha1.TypeResourcesComposed)); c.GetStatus() != fnv1.Status_STATUS_CONDITION_TRUE {
				t.Fatalf("after converging, not everything is composed: %v", c)
			}
			if rounds != tc.want {
				t.Errorf("rounds until every resource is composed: got %d, want %d", rounds, tc.want)
			}
		})
	}
}

// accountOf is a platform-defaults config naming providerfake.Account as
// the account of provider config pc (and pc as the platform's default).
func accountOf(t *testing.T, pc string) []*structpb.Struct {
	t.Helper()
	return []*structpb.Struct{envConfig(t, "account", "", "  defaults:\n    providerConfigName: "+pc+"\n  accountId: \""+providerfake.Account+"\"\n")}
}

// platformExample is examples/platform-defaults.yaml.
func platformExample(t *testing.T) []*structpb.Struct {
	t.Helper()
	return []*structpb.Struct{xrFile(t, "platform-defaults.yaml")}
}

// withSpecField returns xr with spec.<path> set to value.
func withSpecField(t *testing.T, xr *structpb.Struct, value string, path ...string) *structpb.Struct {
	t.Helper()
	m := xr.AsMap()
	if err := unstructured.SetNestedField(m, value, append([]string{"spec"}, path...)...); err != nil {
		t.Fatal(err)
	}
	s, err := structpb.NewStruct(m)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestDerivedSpecsAreFinal: with the account known and no value AWS
// generates, the first round composes every resource exactly as the steady
// state does, once the fake provider reports every ARN and URI: each derived
// value is the one the provider reports for that resource
// (internal/providerfake), so nothing composed from a derived value changes
// when it is observed.
func TestDerivedSpecsAreFinal(t *testing.T) {
	connection := func(t *testing.T, xr *structpb.Struct) *structpb.Struct {
		t.Helper()
		return withSpecField(t, xr, "arn:aws:codestar-connections:eu-west-1:"+providerfake.Account+":connection/6f1d9a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b", "source", "connectionArn")
	}
	cases := map[string]func(t *testing.T) *structpb.Struct{
		"full": func(t *testing.T) *structpb.Struct { return connection(t, xrFile(t, "xr-full.yaml")) },
		// The platform's accountId describes a ClusterProviderConfig, not
		// the example's ProviderConfig in its namespace.
		"namespaced-full": func(t *testing.T) *structpb.Struct {
			return connection(t, withSpecField(t, xrFile(t, "namespaced-full.yaml"), compose.ClusterProviderConfigKind, "providerConfigRef", "kind"))
		},
		"minimal": func(t *testing.T) *structpb.Struct {
			return connection(t, withSpecField(t, xrFile(t, "xr-minimal.yaml"), "eu-west-1", "region"))
		},
		// The push rule, its target and the events role's policy name the
		// repository's and pipeline's ARNs.
		"minimal, CodeCommit": func(t *testing.T) *structpb.Struct {
			xr := withSpecField(t, xrFile(t, "xr-minimal.yaml"), string(v1alpha1.SourceCodeCommit), "source", "provider")
			return withSpecField(t, xr, "shop", "source", "repository")
		},
	}
	// The China partition: aws-cn ARNs and the amazonaws.com.cn registry.
	cases["minimal, CodeCommit, cn-north-1"] = func(t *testing.T) *structpb.Struct {
		return withSpecField(t, cases["minimal, CodeCommit"](t), "cn-north-1", "region")
	}
	for name, build := range cases {
		t.Run(name, func(t *testing.T) {
			xr := build(t)
			// The full examples use provider config aws-payments.
			pc, _ := xr.AsMap()["spec"].(map[string]any)["providerConfigName"].(string)
			if ref, ok := xr.AsMap()["spec"].(map[string]any)["providerConfigRef"].(map[string]any); ok {
				pc, _ = ref["name"].(string)
			}
			if pc == "" {
				pc = v1alpha1.DefaultProviderConfigName
			}
			account := accountOf(t, pc)
			first := desired(run(t, withConfigs(newRequest(xr, nil), account...)))
			_, final, _ := convergeRounds(t, xr, account, nil)
			steady := desired(final)
			if diff := cmp.Diff(sortedNames(steady), sortedNames(first)); diff != "" {
				t.Fatalf("the first round must compose every resource: -steady state, +first round:\n%s", diff)
			}
			for _, name := range sortedNames(steady) {
				if diff := cmp.Diff(steady[name].Object, first[name].Object); diff != "" {
					t.Errorf("%s: composed from derived values it differs from the steady state: -steady, +first round:\n%s", name, diff)
				}
			}
		})
	}
}

// TestNoDerivationOutsideKnownPartitions: in a Region outside the
// partitions whose ARNs and endpoints the function derives (us-iso-east-1
// is in aws-iso), nothing is derived even with the account known: the
// build project waits for the repository's URL the provider reports, and
// the pipeline still converges.
func TestNoDerivationOutsideKnownPartitions(t *testing.T) {
	xr := withSpecField(t, xrFile(t, "xr-minimal.yaml"), "us-iso-east-1", "region")
	configs := accountOf(t, v1alpha1.DefaultProviderConfigName)
	first := run(t, withConfigs(newRequest(xr, nil), configs...))
	if _, ok := desired(first)[string(compose.BuildProject)]; ok {
		t.Errorf("the first round must not derive the repository's URL in us-iso-east-1")
	}
	if msg := condition(first, string(v1alpha1.TypeResourcesComposed)).GetMessage(); !strings.Contains(msg, "the ECR repository's URL") {
		t.Errorf("ResourcesComposed: want it to name what the build project waits for, got %q", msg)
	}
	_, rsp, _ := convergeRounds(t, xr, configs, nil)
	if c := condition(rsp, string(v1alpha1.TypeResourcesComposed)); c.GetStatus() != fnv1.Status_STATUS_CONDITION_TRUE {
		t.Errorf("after converging, not everything is composed: %v", c)
	}
}
