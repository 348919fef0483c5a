package main

import (
	"fmt"
	"strings"
	"testing"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/resource"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/structpb"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1"
	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/compose"
)

// envConfig is a platform-defaults EnvironmentConfig with this data (YAML,
// indented two spaces) and, when env is set, an environment label.
func envConfig(t *testing.T, name, env, data string) *structpb.Struct {
	t.Helper()
	labels := "    cicd.platform.dev/defaults: \"true\"\n"
	if env != "" {
		labels += "    cicd.platform.dev/environment: " + env + "\n"
	}
	return xrFromYAML(t, "apiVersion: apiextensions.crossplane.io/v1beta1\nkind: EnvironmentConfig\nmetadata:\n  name: "+name+"\n  labels:\n"+labels+"data:\n"+data)
}

// effective returns status.effective as field -> "value (source)".
func effective(rsp *fnv1.RunFunctionResponse) map[string]string {
	out := map[string]string{}
	status, _ := rsp.GetDesired().GetComposite().GetResource().AsMap()["status"].(map[string]any)
	list, _ := status["effective"].([]any)
	for _, e := range list {
		m, _ := e.(map[string]any)
		out[fmt.Sprint(m["field"])] = fmt.Sprintf("%v (%v)", m["value"], m["source"])
	}
	return out
}

func condition(rsp *fnv1.RunFunctionResponse, typ string) *fnv1.Condition {
	for _, c := range rsp.GetConditions() {
		if c.GetType() == typ {
			return c
		}
	}
	return nil
}

const deployerImageEU = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/cicd-deployer:v1"

// TestPlatformRequirement: the function asks Crossplane for the
// platform-defaults EnvironmentConfigs and composes nothing until it has
// the answer; the requirement is the same in every response, so
// Crossplane's requirement loop settles.
func TestPlatformRequirement(t *testing.T) {
	want := &fnv1.Requirements{Resources: map[string]*fnv1.ResourceSelector{"platform-defaults": {
		ApiVersion: "apiextensions.crossplane.io/v1beta1",
		Kind:       "EnvironmentConfig",
		Match:      &fnv1.ResourceSelector_MatchLabels{MatchLabels: &fnv1.MatchLabels{Labels: map[string]string{"cicd.platform.dev/defaults": "true"}}},
	}}}
	req := newRequest(xrFromYAML(t, minimalXR(minimalSpec)), nil)
	req.RequiredResources = nil
	first := run(t, req)
	if diff := cmp.Diff(want, first.GetRequirements(), protocmp.Transform()); diff != "" {
		t.Errorf("requirements: -want, +got:\n%s", diff)
	}
	if n := len(first.GetDesired().GetResources()); n != 0 || fatalMessage(first) != "" {
		t.Errorf("before Crossplane answers, want nothing composed and no fatal result, got %d resources, fatal %q", n, fatalMessage(first))
	}
	second := run(t, newRequest(xrFromYAML(t, minimalXR(minimalSpec)), nil))
	if diff := cmp.Diff(want, second.GetRequirements(), protocmp.Transform()); diff != "" {
		t.Errorf("requirements once answered: -want, +got:\n%s", diff)
	}
	if len(second.GetDesired().GetResources()) == 0 {
		t.Error("once answered, the function must compose")
	}
}

// TestPlatformPrecedence: for every defaultable field, the claim's value
// wins over the platform's, which wins over the built-in default; the
// composed resources carry the effective value and status.effective names
// its source.
func TestPlatformPrecedence(t *testing.T) {
	const (
		deployerClaim   = "  deployer:\n    image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/own-deployer:v2\n    targets:\n    - functionName: shop-api\n"
		crossAccountFns = "  crossAccount:\n    trustedPrincipalArns: [\"arn:aws:iam::444455556666:role/deployer\"]\n    imageRepositoryArns: [\"arn:aws:ecr:eu-west-1:444455556666:repository/shop\"]\n    functionNames: [api]\n"
	)
	cases := map[string]struct {
		field    string
		base     string // claim spec lines present in every mode
		claim    string // claim spec lines that set the field
		platform string // data.defaults lines that set it
		resource resource.Name
		path     string
		claimV   string
		platV    string
		builtinV string // empty: unset
		// noDefault: without a claim or platform value the claim breaks
		// the XRD's rules (the cross-account role needs trusted accounts).
		noDefault bool
	}{
		"Region": {
			field: "region", claim: "  region: eu-central-1\n", platform: "    region: eu-west-1\n",
			resource: compose.ArtifactBucket, path: "spec.forProvider.region",
			claimV: "eu-central-1", platV: "eu-west-1", builtinV: "us-east-1",
		},
		"ProviderConfig": {
			field: "providerConfigName", claim: "  providerConfigName: team\n", platform: "    providerConfigName: platform\n",
			resource: compose.ArtifactBucket, path: "spec.providerConfigRef.name",
			claimV: "team", platV: "platform", builtinV: "default",
		},
		"DeletionPolicy": {
			field: "deletionPolicy", claim: "  deletionPolicy: Delete\n", platform: "    deletionPolicy: Orphan\n",
			resource: compose.ArtifactBucket, path: "spec.deletionPolicy",
			claimV: "Delete", platV: "Orphan", builtinV: "Delete",
		},
		"ManagementPolicies": {
			field: "managementPolicies", claim: "  managementPolicies: [\"*\"]\n", platform: "    managementPolicies: [Observe, Create, Update, LateInitialize]\n",
			resource: compose.ArtifactBucket, path: "spec.managementPolicies",
			claimV: "*", platV: "Observe, Create, Update, LateInitialize", builtinV: "*",
		},
		"BuildImage": {
			field: "build.image", claim: "  build:\n    image: aws/codebuild/standard:6.0\n", platform: "    build:\n      image: aws/codebuild/amazonlinux-x86_64-standard:5.0\n",
			resource: compose.BuildProject, path: "spec.forProvider.environment.image",
			claimV: "aws/codebuild/standard:6.0", platV: "aws/codebuild/amazonlinux-x86_64-standard:5.0", builtinV: "aws/codebuild/standard:7.0",
		},
		"BuildKitImage": {
			field: "build.buildkitImage", claim: "  build:\n    buildkitImage: registry.example.com/buildkit:v0.20\n", platform: "    build:\n      buildkitImage: 123456789012.dkr.ecr.us-east-1.amazonaws.com/buildkit:v0.19\n",
			resource: compose.BuildProject, path: "spec.forProvider.environment.environmentVariable[2].value",
			claimV: "registry.example.com/buildkit:v0.20", platV: "123456789012.dkr.ecr.us-east-1.amazonaws.com/buildkit:v0.19", builtinV: "public.ecr.aws/vend/moby/buildkit:buildx-stable-1",
		},
		"TestImage": {
			field: "test.image", claim: "  test:\n    image: aws/codebuild/standard:6.0\n", platform: "    test:\n      image: aws/codebuild/amazonlinux-x86_64-standard:5.0\n",
			resource: compose.TestProject, path: "spec.forProvider.environment.image",
			claimV: "aws/codebuild/standard:6.0", platV: "aws/codebuild/amazonlinux-x86_64-standard:5.0", builtinV: "aws/codebuild/standard:7.0",
		},
		"LogRetention": {
			field: "logs.retentionDays", claim: "  logs:\n    retentionDays: 7\n", platform: "    logs:\n      retentionDays: 365\n",
			resource: compose.BuildLogGroup, path: "spec.forProvider.retentionInDays",
			claimV: "7", platV: "365", builtinV: "30",
		},
		"Emails": {
			field: "notifications.emails", claim: "  notifications:\n    emails: [dev@example.com]\n", platform: "    notifications:\n      emails: [ops@example.com]\n",
			resource: compose.NotificationTopic, path: "metadata.name", // the subscriptions are checked below
			claimV: "dev@example.com", platV: "ops@example.com",
		},
		"ReservedConcurrency": {
			field: "deployer.reservedConcurrency", base: "  region: eu-west-1\n" + deployerClaim,
			claim: "  deployer:\n    reservedConcurrency: 2\n", platform: "    deployer:\n      reservedConcurrency: 5\n",
			resource: compose.DeployerFunction, path: "spec.forProvider.reservedConcurrentExecutions",
			claimV: "2", platV: "5",
		},
		"DeployerImage": {
			field: "deployer.image", base: "  region: eu-west-1\n",
			claim:    deployerClaim,
			platform: "    deployer:\n      images:\n        eu-west-1: " + deployerImageEU + "\n      targetFunctionName: \"{claim}-{environment}\"\n",
			resource: compose.DeployerFunction, path: "spec.forProvider.imageUri",
			claimV: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/own-deployer:v2", platV: deployerImageEU,
		},
		"TrustedAccounts": {
			field: "crossAccount.trustedAccountIds", base: "  region: eu-west-1\n" + crossAccountFns,
			claim: "  crossAccount:\n    trustedAccountIds: [\"444455556666\"]\n", platform: "    crossAccount:\n      trustedAccountIds: [\"444455556666\", \"777788889999\"]\n",
			resource: compose.CrossAccountRole, path: "metadata.name",
			claimV: "444455556666", platV: "444455556666, 777788889999", noDefault: true,
		},
	}
	for name, tc := range cases {
		for _, mode := range []string{"claim", "platform", "default"} {
			if mode == "default" && tc.noDefault {
				continue
			}
			t.Run(name+"/"+mode, func(t *testing.T) {
				spec := minimalSpec + tc.base
				var configs []*structpb.Struct
				want, source := tc.builtinV, "default"
				switch mode {
				case "claim":
					spec = mergeSpec(t, spec, tc.claim)
					want, source = tc.claimV, "claim"
					configs = append(configs, envConfig(t, "acme", "", "  defaults:\n"+tc.platform))
				case "platform":
					want, source = tc.platV, "platform:acme"
					configs = append(configs, envConfig(t, "acme", "", "  defaults:\n"+tc.platform))
				}
				if tc.field == "region" && mode != "claim" {
					// The pipeline's resources exist once converged: the
					// region is theirs from then on.
					source = "observed"
				}
				_, rsp := convergeWith(t, xrFromYAML(t, minimalXR(spec)), configs, nil)
				got := effective(rsp)[tc.field]
				if want == "" {
					if got != "" {
						t.Errorf("status.effective[%s]: want unset, got %s", tc.field, got)
					}
				} else if w := want + " (" + source + ")"; got != w {
					t.Errorf("status.effective[%s]: want %s, got %s", tc.field, w, got)
				}
				d := desired(rsp)
				u, ok := d[string(tc.resource)]
				if want == "" {
					if ok && tc.path != "metadata.name" {
						if v := field(t, u, tc.path); v != nil {
							t.Errorf("%s %s: want unset, got %v", tc.resource, tc.path, v)
						}
					}
					return
				}
				if !ok {
					t.Fatalf("%s is not composed", tc.resource)
				}
				if tc.path == "metadata.name" {
					return
				}
				if got := platformText(field(t, u, tc.path)); got != want {
					t.Errorf("%s %s: want %s, got %s", tc.resource, tc.path, want, got)
				}
			})
		}
	}
	// The e-mail subscriptions follow the effective addresses.
	cfg := envConfig(t, "acme", "", "  defaults:\n    notifications:\n      emails: [ops@example.com]\n")
	_, rsp := convergeWith(t, xrFromYAML(t, minimalXR(minimalSpec)), []*structpb.Struct{cfg}, nil)
	if _, ok := desired(rsp)[string(compose.EmailSubscription("ops@example.com"))]; !ok {
		t.Error("the platform's e-mail address is not subscribed")
	}
}

// mergeSpec appends claim lines to a spec; a block the spec already ends
// with (the base's deployer or crossAccount) gets the lines of the same
// block.
func mergeSpec(t *testing.T, spec, extra string) string {
	t.Helper()
	if first, rest, ok := strings.Cut(extra, "\n"); ok && strings.HasSuffix(first, ":") && strings.Contains(spec, first+"\n") {
		return spec + rest
	}
	return spec + extra
}

func platformText(v any) string {
	switch t := v.(type) {
	case []any:
		parts := make([]string, 0, len(t))
		for _, i := range t {
			parts = append(parts, fmt.Sprint(i))
		}
		return strings.Join(parts, ", ")
	case nil:
		return ""
	default:
		return fmt.Sprint(t)
	}
}

// TestPlatformTags: the platform's tags are merged with the claim's; the
// claim wins on the same key, and no platform tag is dropped.
func TestPlatformTags(t *testing.T) {
	cfg := envConfig(t, "acme", "", "  defaults:\n    tags:\n      cost-center: cc-1\n      owner: platform\n")
	_, rsp := convergeWith(t, xrFromYAML(t, minimalXR(minimalSpec+"  tags:\n    owner: team-shop\n    app: shop\n")), []*structpb.Struct{cfg}, nil)
	tags, _, _ := unstructured.NestedStringMap(desired(rsp)[string(compose.ArtifactBucket)].Object, "spec", "forProvider", "tags")
	for k, want := range map[string]string{"cost-center": "cc-1", "owner": "team-shop", "app": "shop"} {
		if tags[k] != want {
			t.Errorf("tag %s: want %q, got %q", k, want, tags[k])
		}
	}
	eff := effective(rsp)
	for k, want := range map[string]string{"tags.cost-center": "cc-1 (platform:acme)", "tags.owner": "team-shop (claim)", "tags.app": "shop (claim)"} {
		if eff[k] != want {
			t.Errorf("status.effective[%s]: want %s, got %s", k, want, eff[k])
		}
	}
}

// TestPlatformEnforced: a claim may not change an enforced value; the
// rejection names the field, the rule and the EnvironmentConfig, and
// leaves the desired state as it was. The same value is no override.
func TestPlatformEnforced(t *testing.T) {
	const data = "  defaults:\n    region: eu-west-1\n    providerConfigName: prod-account\n    deletionPolicy: Orphan\n    tags:\n      cost-center: cc-1\n" +
		"  enforced: [tags, deletionPolicy, providerConfigName]\n  allowedRegions: [eu-west-1, eu-central-1]\n"
	cases := map[string]struct {
		claim string
		want  string // empty: accepted
	}{
		"DeletionPolicy":      {claim: "  deletionPolicy: Delete\n", want: "spec.deletionPolicy: Delete is not allowed: the platform enforces Orphan (EnvironmentConfig acme); remove spec.deletionPolicy from the claim"},
		"ProviderConfig":      {claim: "  providerConfigName: default\n", want: "spec.providerConfigName: default is not allowed: the platform enforces prod-account (EnvironmentConfig acme)"},
		"Tag":                 {claim: "  tags:\n    cost-center: cc-9\n", want: "spec.tags.cost-center: cc-9 is not allowed: the platform enforces its tags (cost-center=cc-1, EnvironmentConfig acme); use another key"},
		"RegionNotAllowed":    {claim: "  region: us-east-1\n", want: "spec.region: us-east-1 (claim) is not allowed: the platform allows only eu-west-1, eu-central-1 (EnvironmentConfig acme)"},
		"SameValue":           {claim: "  deletionPolicy: Orphan\n  tags:\n    cost-center: cc-1\n    app: shop\n"},
		"AllowedRegion":       {claim: "  region: eu-central-1\n"},
		"NotEnforcedOverride": {claim: "  logs:\n    retentionDays: 7\n"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			req := withConfigs(newRequest(xrFromYAML(t, minimalXR(minimalSpec+tc.claim)), nil), envConfig(t, "acme", "", data))
			req.Desired = &fnv1.State{Resources: map[string]*fnv1.Resource{"earlier": {Resource: xrFromYAML(t, "apiVersion: v1\nkind: ConfigMap\n")}}}
			rsp := run(t, req)
			got := fatalMessage(rsp)
			if tc.want == "" {
				if got != "" {
					t.Fatalf("rejected: %s", got)
				}
				return
			}
			if !strings.Contains(got, tc.want) {
				t.Errorf("fatal result: want it to contain\n  %s\ngot\n  %s", tc.want, got)
			}
			c := condition(rsp, string(v1alpha1.TypeSpecValid))
			if c.GetStatus() != fnv1.Status_STATUS_CONDITION_FALSE || c.GetMessage() != capitalize(got) {
				t.Errorf("SpecValid: want False with the fatal message, capitalised, got %v", c)
			}
			if diff := cmp.Diff(req.GetDesired(), rsp.GetDesired(), protocmp.Transform()); diff != "" {
				t.Errorf("the desired state must be unchanged: -want, +got:\n%s", diff)
			}
		})
	}
}

// TestPlatformBadConfig: a malformed EnvironmentConfig is a fatal result
// and a PlatformDefaults condition naming the config and the field; the
// desired state is left as it was.
func TestPlatformBadConfig(t *testing.T) {
	cases := map[string]struct {
		configs []string // data of acme-0, acme-1, ...
		want    string
	}{
		"UnknownField":            {configs: []string{"  defaults:\n    regoin: eu-west-1\n"}, want: "EnvironmentConfig acme-0: data.defaults.regoin: Unsupported field"},
		"WrongType":               {configs: []string{"  defaults:\n    logs:\n      retentionDays: thirty\n"}, want: "EnvironmentConfig acme-0: data.defaults.logs.retentionDays: Invalid value: string"},
		"BadRegion":               {configs: []string{"  defaults:\n    region: Europe\n"}, want: `EnvironmentConfig acme-0: data.defaults.region: Invalid value: "Europe"`},
		"BadRetention":            {configs: []string{"  defaults:\n    logs:\n      retentionDays: 31\n"}, want: "EnvironmentConfig acme-0: data.defaults.logs.retentionDays: Unsupported value: 31"},
		"BadEmail":                {configs: []string{"  defaults:\n    notifications:\n      emails: [nobody]\n"}, want: `EnvironmentConfig acme-0: data.defaults.notifications.emails[0]: Invalid value: "nobody"`},
		"AWSTag":                  {configs: []string{"  defaults:\n    tags:\n      aws:owner: x\n"}, want: "EnvironmentConfig acme-0: data.defaults.tags: Invalid value: spec.tags keys must be at most 128 characters and must not start with 'aws:'"},
		"ImageInOtherRegion":      {configs: []string{"  defaults:\n    deployer:\n      images:\n        us-east-1: " + deployerImageEU + "\n"}, want: "EnvironmentConfig acme-0: data.defaults.deployer.images[us-east-1]: Invalid value: \"" + deployerImageEU + "\": the image is in region eu-west-1, not us-east-1"},
		"UnknownEnforced":         {configs: []string{"  defaults:\n    region: eu-west-1\n  enforced: [source.branch]\n"}, want: `EnvironmentConfig acme-0: data.enforced[0]: Unsupported value: "source.branch"`},
		"EnforcedUnset":           {configs: []string{"  enforced: [deletionPolicy]\n"}, want: "EnvironmentConfig acme-0: data.enforced: deletionPolicy is enforced, but no applicable config sets data.defaults.deletionPolicy"},
		"UnknownPlaceholder":      {configs: []string{"  defaults:\n    deployer:\n      targetFunctionName: \"{app}-{environment}\"\n"}, want: "data.defaults.deployer.targetFunctionName: Invalid value: \"{app}-{environment}\": unknown placeholder {app}"},
		"DefaultRegionNotAllowed": {configs: []string{"  defaults:\n    region: us-east-1\n  allowedRegions: [eu-west-1]\n"}, want: "EnvironmentConfig acme-0: data.defaults.region: us-east-1 is not among the allowed regions (eu-west-1)"},
		"NoCommonRegion":          {configs: []string{"  allowedRegions: [eu-west-1]\n", "  allowedRegions: [us-east-1]\n"}, want: "EnvironmentConfigs acme-0, acme-1: data.allowedRegions: the configs allow no region in common"},
		"ShortAccountID":          {configs: []string{"  accountId: \"12345678901\"\n"}, want: `EnvironmentConfig acme-0: data.accountId: Invalid value: "12345678901": an AWS account ID is 12 digits`},
		"AccountIDWithLetters":    {configs: []string{"  accountId: \"12345678901a\"\n"}, want: `EnvironmentConfig acme-0: data.accountId: Invalid value: "12345678901a": an AWS account ID is 12 digits`},
		"AccountIDWithDashes":     {configs: []string{"  accountId: 1234-5678-9012\n"}, want: `EnvironmentConfig acme-0: data.accountId: Invalid value: "1234-5678-9012": an AWS account ID is 12 digits`},
		"AccountIDNumber":         {configs: []string{"  accountId: 123456789012\n"}, want: "EnvironmentConfig acme-0: data.accountId: Invalid value: number, want string"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var cfgs []*structpb.Struct
			for i, d := range tc.configs {
				cfgs = append(cfgs, envConfig(t, fmt.Sprintf("acme-%d", i), "", d))
			}
			req := withConfigs(newRequest(xrFromYAML(t, minimalXR(minimalSpec)), nil), cfgs...)
			req.Desired = &fnv1.State{Resources: map[string]*fnv1.Resource{"earlier": {Resource: xrFromYAML(t, "apiVersion: v1\nkind: ConfigMap\n")}}}
			rsp := run(t, req)
			got := fatalMessage(rsp)
			if !strings.Contains(got, tc.want) {
				t.Errorf("fatal result: want it to contain\n  %s\ngot\n  %s", tc.want, got)
			}
			c := condition(rsp, string(v1alpha1.TypePlatformDefaults))
			if c.GetStatus() != fnv1.Status_STATUS_CONDITION_FALSE || c.GetReason() != "InvalidEnvironmentConfig" || c.GetMessage() != got {
				t.Errorf("PlatformDefaults: want False, InvalidEnvironmentConfig, with the fatal message; got %v", c)
			}
			if diff := cmp.Diff(req.GetDesired(), rsp.GetDesired(), protocmp.Transform()); diff != "" {
				t.Errorf("the desired state must be unchanged: -want, +got:\n%s", diff)
			}
		})
	}
}

// TestPlatformNoConfig: without a platform-defaults EnvironmentConfig the
// built-in defaults apply and PlatformDefaults says so; the claim is
// composed as before.
func TestPlatformNoConfig(t *testing.T) {
	rsp := run(t, newRequest(xrFromYAML(t, minimalXR(minimalSpec)), nil))
	c := condition(rsp, string(v1alpha1.TypePlatformDefaults))
	want := "No EnvironmentConfig labelled cicd.platform.dev/defaults=true applies: the built-in defaults apply"
	if c.GetStatus() != fnv1.Status_STATUS_CONDITION_FALSE || c.GetReason() != string(v1alpha1.ReasonNoEnvironmentConfig) || c.GetMessage() != want {
		t.Errorf("PlatformDefaults: want False NoEnvironmentConfig %q, got %v", want, c)
	}
	if got := effective(rsp)["region"]; got != "us-east-1 (default)" {
		t.Errorf("region: want the built-in default, got %s", got)
	}
	if len(desired(rsp)) == 0 || fatalMessage(rsp) != "" {
		t.Error("the claim must be composed")
	}
}

// TestPlatformTwoConfigs: several configs apply in a documented order:
// general ones by name, then the claim's environment's by name; a later
// value wins field by field (tags key by key); another environment's
// config does not apply. PlatformDefaults names them in that order.
func TestPlatformTwoConfigs(t *testing.T) {
	cfgs := []*structpb.Struct{
		envConfig(t, "zz-prod", "prod", "  defaults:\n    region: eu-central-1\n    tags:\n      tier: prod\n"),
		envConfig(t, "b-general", "", "  defaults:\n    providerConfigName: shared\n    tags:\n      tier: general\n"),
		envConfig(t, "a-general", "", "  defaults:\n    providerConfigName: first\n    region: eu-west-1\n    logs:\n      retentionDays: 90\n    tags:\n      cost-center: cc-1\n"),
		envConfig(t, "dev", "dev", "  defaults:\n    logs:\n      retentionDays: 1\n"),
	}
	xr := strings.Replace(minimalXR(minimalSpec), "  name: shop-x7k2p\n", "  name: shop-x7k2p\n  labels:\n    cicd.platform.dev/environment: prod\n", 1)
	rsp := run(t, withConfigs(newRequest(xrFromYAML(t, xr), nil), cfgs...))
	want := map[string]string{
		"region":             "eu-central-1 (platform:zz-prod)",
		"providerConfigName": "shared (platform:b-general)",
		"logs.retentionDays": "90 (platform:a-general)",
		"tags.tier":          "prod (platform:zz-prod)",
		"tags.cost-center":   "cc-1 (platform:a-general)",
	}
	got := effective(rsp)
	for k, w := range want {
		if got[k] != w {
			t.Errorf("status.effective[%s]: want %s, got %s", k, w, got[k])
		}
	}
	c := condition(rsp, string(v1alpha1.TypePlatformDefaults))
	if !strings.HasPrefix(c.GetMessage(), "Applied EnvironmentConfig a-general, b-general, zz-prod, in this order") || c.GetStatus() != fnv1.Status_STATUS_CONDITION_TRUE {
		t.Errorf("PlatformDefaults: got %v", c)
	}
	// The order Crossplane lists them in does not matter.
	reversed := []*structpb.Struct{cfgs[3], cfgs[2], cfgs[1], cfgs[0]}
	again := run(t, withConfigs(newRequest(xrFromYAML(t, xr), nil), reversed...))
	opts := proto.MarshalOptions{Deterministic: true}
	a, _ := opts.Marshal(rsp)
	b, _ := opts.Marshal(again)
	if string(a) != string(b) {
		t.Error("the response depends on the order of the EnvironmentConfigs")
	}
}

// TestPlatformRegionPinned: once the pipeline's resources exist, a changed
// platform default region does not move them; the condition says why. A
// claim that names another region is rejected.
func TestPlatformRegionPinned(t *testing.T) {
	xr := xrFromYAML(t, minimalXR(minimalSpec))
	observed, _ := convergeWith(t, xr, []*structpb.Struct{envConfig(t, "acme", "", "  defaults:\n    region: eu-west-1\n")}, nil)

	moved := envConfig(t, "acme", "", "  defaults:\n    region: eu-central-1\n    logs:\n      retentionDays: 90\n")
	rsp := run(t, withConfigs(newRequest(xr, observed), moved))
	if got := field(t, desired(rsp)[string(compose.ArtifactBucket)], "spec.forProvider.region"); got != "eu-west-1" {
		t.Errorf("region: want the pipeline to stay in eu-west-1, got %v", got)
	}
	if got := field(t, desired(rsp)[string(compose.BuildLogGroup)], "spec.forProvider.retentionInDays"); got != float64(90) {
		t.Errorf("other platform changes must apply: retention %v", got)
	}
	if got := effective(rsp)["region"]; got != "eu-west-1 (observed)" {
		t.Errorf("status.effective[region]: got %s", got)
	}
	wantNote := "the region stays eu-west-1, where the pipeline's resources are: the platform's default is now eu-central-1 (platform:acme), but a pipeline never moves"
	if c := condition(rsp, string(v1alpha1.TypePlatformDefaults)); !strings.Contains(c.GetMessage(), wantNote) {
		t.Errorf("PlatformDefaults: want it to say %q, got %q", wantNote, c.GetMessage())
	}

	other := xrFromYAML(t, minimalXR(minimalSpec+"  region: us-west-2\n"))
	rsp = run(t, withConfigs(newRequest(other, observed), moved))
	if want := "spec.region: us-west-2 is not allowed: the pipeline's resources are in eu-west-1 and spec.region is immutable"; !strings.Contains(fatalMessage(rsp), want) {
		t.Errorf("want a fatal result containing %q, got %q", want, fatalMessage(rsp))
	}
}

// TestPlatformFiveLineClaim: the minimal claim gets a Deploy stage purely
// from the platform: the deployer image of its region and the platform's
// target naming convention.
func TestPlatformFiveLineClaim(t *testing.T) {
	cfg := envConfig(t, "acme", "", "  defaults:\n    region: eu-west-1\n    deployer:\n      images:\n        eu-west-1: "+deployerImageEU+"\n      targetFunctionName: \"{claim}-{environment}\"\n")
	_, rsp := convergeWith(t, xrFromYAML(t, minimalXR(minimalSpec)), []*structpb.Struct{cfg}, nil)
	if got := stageNames(t, desired(rsp)); !cmp.Equal(got, []string{"Source", "Build", "Test", "Approval", "Deploy"}) {
		t.Errorf("stages: got %v", got)
	}
	item := fmt.Sprint(field(t, desired(rsp)[string(compose.DeployTargetsItem)], "spec.forProvider.item"))
	if !strings.Contains(item, `\"functionName\":\"shop-dev\"`) {
		t.Errorf("deploy targets item: want the function shop-dev, got %s", item)
	}
	if got := effective(rsp)["deployer.targets"]; got != "shop-dev (platform:acme)" {
		t.Errorf("status.effective[deployer.targets]: got %s", got)
	}
	// Without a naming convention the platform's image is not used: the
	// Deploy stage would have nothing to deploy.
	noTarget := envConfig(t, "acme", "", "  defaults:\n    region: eu-west-1\n    deployer:\n      images:\n        eu-west-1: "+deployerImageEU+"\n")
	rsp = run(t, withConfigs(newRequest(xrFromYAML(t, minimalXR(minimalSpec)), nil), noTarget))
	if c := condition(rsp, string(v1alpha1.TypePlatformDefaults)); !strings.Contains(c.GetMessage(), "the platform's deployer image (platform:acme) is not used") {
		t.Errorf("PlatformDefaults: got %q", c.GetMessage())
	}
	if c := condition(rsp, string(v1alpha1.TypeDeployStage)); c.GetStatus() != fnv1.Status_STATUS_CONDITION_FALSE {
		t.Errorf("DeployStage: want False, got %v", c)
	}
}

// TestPlatformDeterministic: the same request with platform defaults gives
// byte-identical responses.
func TestPlatformDeterministic(t *testing.T) {
	cfgs := []*structpb.Struct{
		envConfig(t, "a", "", "  defaults:\n    tags:\n      a: \"1\"\n      b: \"2\"\n      c: \"3\"\n    notifications:\n      emails: [x@example.com, y@example.com]\n"),
		envConfig(t, "b", "", "  defaults:\n    tags:\n      d: \"4\"\n"),
	}
	xr := xrFromYAML(t, minimalXR(minimalSpec+"  tags:\n    e: \"5\"\n"))
	observed, _ := convergeWith(t, xr, cfgs, nil)
	opts := proto.MarshalOptions{Deterministic: true}
	var first []byte
	for i := range 5 {
		b, err := opts.Marshal(run(t, withConfigs(newRequest(xr, observed), cfgs...)))
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && string(b) != string(first) {
			t.Fatalf("run %d gave a different response", i)
		}
		first = b
	}
}
