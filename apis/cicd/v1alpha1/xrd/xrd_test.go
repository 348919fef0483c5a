package xrd_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	crdvalidation "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1/xrd"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/crdschema"
)

// repoRoot is where the module's go.mod is.
func repoRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("cannot find the module root: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// TestDefinitionIsFresh fails when the committed XRD (embedded and in
// package/) is not what `make generate` makes from the Go types.
func TestDefinitionIsFresh(t *testing.T) {
	root := repoRoot(t)
	controllerGen := filepath.Join(root, "bin", "controller-gen")
	if _, err := os.Stat(controllerGen); err != nil {
		t.Fatalf("%s is missing: run `make test` (it builds the pinned controller-gen) or `make generate`", controllerGen)
	}
	out := t.TempDir()
	cmd := exec.Command(controllerGen, "crd", "paths=./apis/...", "output:crd:dir="+out)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("controller-gen failed: %v\n%s", err, b)
	}
	crd, err := os.ReadFile(filepath.Join(out, "cicd.platform.dev_xcicdpipelines.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := xrd.FromCRD(crd)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(xrd.Definition)); diff != "" {
		t.Errorf("apis/cicd/v1alpha1/xrd/definition.yaml is stale; run `make generate`: -want, +got:\n%s", diff)
	}
	pkg, err := os.ReadFile(filepath.Join(root, "package", "definition.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(pkg)); diff != "" {
		t.Errorf("package/definition.yaml is stale; run `make generate`: -want, +got:\n%s", diff)
	}
}

// TestSchemaIsAcceptedByAPIServer runs kube-apiserver's own CRD validation
// on the schema, as Crossplane serves it: structural, CEL rules that compile
// and stay within the cost budget.
func TestSchemaIsAcceptedByAPIServer(t *testing.T) {
	s, err := xrd.Schema()
	if err != nil {
		t.Fatal(err)
	}
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "cicdpipelines.cicd.platform.dev"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "cicd.platform.dev",
			Names: apiextensionsv1.CustomResourceDefinitionNames{Kind: "CicdPipeline", ListKind: "CicdPipelineList", Plural: "cicdpipelines", Singular: "cicdpipeline"},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1alpha1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: s},
			}},
		},
		Status: apiextensionsv1.CustomResourceDefinitionStatus{StoredVersions: []string{"v1alpha1"}},
	}
	internal := &apiextensions.CustomResourceDefinition{}
	if err := apiextensionsv1.Convert_v1_CustomResourceDefinition_To_apiextensions_CustomResourceDefinition(crd, internal, nil); err != nil {
		t.Fatal(err)
	}
	if errs := crdvalidation.ValidateCustomResourceDefinition(context.Background(), internal); len(errs) > 0 {
		t.Errorf("kube-apiserver would reject the XRD's schema: %s", crdschema.Summary(errs))
	}
}

// spec validates a claim or XR manifest's spec as the API server does.
func validate(t *testing.T, manifest, old string) string {
	t.Helper()
	v, err := xrd.Validator()
	if err != nil {
		t.Fatal(err)
	}
	toSpecObj := func(m string) map[string]any {
		obj := map[string]any{}
		if err := yaml.Unmarshal([]byte(m), &obj); err != nil {
			t.Fatalf("cannot parse manifest: %v", err)
		}
		spec, _ := obj["spec"].(map[string]any)
		// Crossplane adds these to claims and XRs beside the XRD's schema.
		delete(spec, "claimRef")
		out := map[string]any{}
		if spec != nil {
			out["spec"] = spec
		}
		v.Default(out)
		return out
	}
	var oldObj map[string]any
	if old != "" {
		oldObj = toSpecObj(old)
	}
	return crdschema.Summary(v.Validate(toSpecObj(manifest), oldObj))
}

func TestExamplesAreAccepted(t *testing.T) {
	root := repoRoot(t)
	files, err := filepath.Glob(filepath.Join(root, "examples", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var checked int
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "kind: CicdPipeline") && !strings.Contains(string(b), "kind: XCicdPipeline") {
			continue
		}
		checked++
		if errs := validate(t, string(b), ""); errs != "" {
			t.Errorf("%s is rejected: %s", filepath.Base(f), errs)
		}
	}
	if checked < 4 {
		t.Errorf("expected at least the minimal and full claims and XRs, checked %d", checked)
	}
}

// TestClaimsAndXRsAgree keeps each example XR's spec equal to its claim's.
func TestClaimsAndXRsAgree(t *testing.T) {
	root := repoRoot(t)
	for _, example := range []string{"minimal", "full"} {
		read := func(name string) map[string]any {
			b, err := os.ReadFile(filepath.Join(root, "examples", name))
			if err != nil {
				t.Fatal(err)
			}
			obj := map[string]any{}
			if err := yaml.Unmarshal(b, &obj); err != nil {
				t.Fatal(err)
			}
			spec := obj["spec"].(map[string]any)
			delete(spec, "claimRef")
			return spec
		}
		if diff := cmp.Diff(read("claim-"+example+".yaml"), read("xr-"+example+".yaml")); diff != "" {
			t.Errorf("examples/xr-%s.yaml's spec differs from its claim's: -claim, +xr:\n%s", example, diff)
		}
	}
}

// badClaim is a claim the XRD must reject (with old: an update of old), and
// what the error must contain.
type badClaim struct {
	claim string
	old   string
	want  []string
}

// badClaims is the catalogue of claims the XRD rejects: at least one for
// every CEL rule (TestEveryCELRuleHasABadClaim checks), with the rule's
// whole message.
func badClaims() map[string]badClaim {
	claim := func(spec string) string {
		return "apiVersion: cicd.platform.dev/v1alpha1\nkind: CicdPipeline\nmetadata:\n  name: shop\nspec:\n" + spec
	}
	const ok = "  environmentSuffix: dev\n  source:\n    repository: acme/shop\n"
	return map[string]badClaim{
		"MissingSuffix": {
			claim: claim("  source:\n    repository: acme/shop\n"),
			want:  []string{"spec.environmentSuffix: Required value"},
		},
		"MissingSource": {
			claim: claim("  environmentSuffix: dev\n"),
			want:  []string{"spec.source: Required value"},
		},
		"SuffixPattern": {
			claim: claim("  environmentSuffix: Prod_1\n  source:\n    repository: acme/shop\n"),
			want:  []string{`spec.environmentSuffix: Invalid value: "Prod_1": spec.environmentSuffix in body should match '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$'`},
		},
		"SuffixTooLong": {
			claim: claim("  environmentSuffix: production-eu-1\n  source:\n    repository: acme/shop\n"),
			want:  []string{"spec.environmentSuffix: Too long: may not be more than 12 bytes"},
		},
		"BadProviderEnum": {
			claim: claim("  environmentSuffix: dev\n  source:\n    provider: Gitea\n    repository: acme/shop\n"),
			want:  []string{`spec.source.provider: Unsupported value: "Gitea": supported values: "GitHub", "GitHubEnterpriseServer", "Bitbucket", "GitLab", "CodeCommit"`},
		},
		"BadComputeType": {
			claim: claim(ok + "  build:\n    computeType: HUGE\n"),
			want:  []string{`spec.build.computeType: Unsupported value: "HUGE"`},
		},
		"RepositoryNotOwnerName": {
			claim: claim("  environmentSuffix: dev\n  source:\n    repository: shop\n"),
			want:  []string{"spec: Invalid value: spec.source.repository must be owner/name (for example acme/shop) when spec.source.provider is not CodeCommit"},
		},
		"CodeCommitRepositoryNotAName": {
			claim: claim("  environmentSuffix: dev\n  source:\n    provider: CodeCommit\n    repository: acme/shop\n"),
			want:  []string{"spec.source.repository must be a CodeCommit repository name (letters, digits, '.', '_' and '-', at most 100) when spec.source.provider is CodeCommit"},
		},
		"CodeCommitRepositoryTooLong": {
			claim: claim("  environmentSuffix: dev\n  source:\n    provider: CodeCommit\n    repository: " + strings.Repeat("r", 101) + "\n"),
			want:  []string{"spec.source.repository must be a CodeCommit repository name (letters, digits, '.', '_' and '-', at most 100) when spec.source.provider is CodeCommit"},
		},
		"ConnectionWithCodeCommit": {
			claim: claim("  environmentSuffix: dev\n  source:\n    provider: CodeCommit\n    repository: shop\n    connectionArn: arn:aws:codeconnections:us-east-1:123456789012:connection/abc\n"),
			want:  []string{"spec.source.connectionArn must not be set when spec.source.provider is CodeCommit: CodeCommit needs no connection"},
		},
		"EnterpriseWithoutHost": {
			claim: claim("  environmentSuffix: dev\n  source:\n    provider: GitHubEnterpriseServer\n    repository: acme/shop\n"),
			want:  []string{"spec.source.provider GitHubEnterpriseServer needs spec.source.hostArn (the registered host) or an existing spec.source.connectionArn"},
		},
		"HostWithoutEnterprise": {
			claim: claim("  environmentSuffix: dev\n  source:\n    provider: GitHub\n    repository: acme/shop\n    hostArn: " + hostARN + "\n"),
			want:  []string{"spec.source.hostArn is only valid when spec.source.provider is GitHubEnterpriseServer"},
		},
		"TestCommandsAndBuildspec": {
			claim: claim(ok + "  test:\n    commands: [make test]\n    buildspec: buildspec.yml\n"),
			want:  []string{"spec.test.commands and spec.test.buildspec are mutually exclusive"},
		},
		"DeployerImageNotECR": {
			claim: claim(ok + "  deployer:\n    image: docker.io/library/deployer:latest\n"),
			want:  []string{"spec.deployer.image: Invalid value: \"docker.io/library/deployer:latest\""},
		},
		"DeployerImageWithoutTargets": {
			claim: claim(ok + "  deployer:\n    image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/deployer:v1\n"),
			want:  []string{"spec.deployer.targets must name at least one function when spec.deployer.image is set"},
		},
		"BadAccountID": {
			claim: claim(ok + "  crossAccount:\n    trustedAccountIds: [\"1234\"]\n"),
			want:  []string{`spec.crossAccount.trustedAccountIds[0]: Invalid value: "1234"`},
		},
		"BadEmail": {
			claim: claim(ok + "  notifications:\n    emails: [oncall]\n"),
			want:  []string{`spec.notifications.emails[0]: Invalid value: "oncall"`},
		},
		"RetentionOutOfRange": {
			claim: claim(ok + "  artifacts:\n    retentionDays: 0\n"),
			want:  []string{"spec.artifacts.retentionDays: Invalid value: 0: spec.artifacts.retentionDays in body should be greater than or equal to 1"},
		},
		"ReservedTag": {
			claim: claim(ok + "  tags:\n    aws:owner: me\n"),
			want:  []string{"spec.tags keys must be at most 128 characters and must not start with 'aws:'"},
		},
		"TagKeyTooLong": {
			claim: claim(ok + "  tags:\n    " + strings.Repeat("k", 129) + ": v\n"),
			want:  []string{"spec.tags keys must be at most 128 characters and must not start with 'aws:'"},
		},
		"TagValueTooLong": {
			claim: claim(ok + "  tags:\n    team: " + strings.Repeat("v", 257) + "\n"),
			want:  []string{"spec.tags values must be at most 256 characters"},
		},
		"DeletionPolicyEnum": {
			claim: claim(ok + "  deletionPolicy: Keep\n"),
			want:  []string{`spec.deletionPolicy: Unsupported value: "Keep": supported values: "Delete", "Orphan"`},
		},
		"UnknownField": {
			claim: claim(ok + "  enviromentSuffix: prod\n"),
			want:  []string{"spec.enviromentSuffix: Invalid value: \"\": field not declared in schema"},
		},
		"ChangedSuffix": {
			claim: claim("  environmentSuffix: prod\n  source:\n    repository: acme/shop\n"),
			old:   claim(ok),
			want:  []string{"spec.environmentSuffix is immutable: create a new claim for a new environment"},
		},
		"ChangedRegion": {
			claim: claim(ok + "  region: eu-west-1\n"),
			old:   claim(ok),
			want:  []string{"spec.region is immutable: create a new claim for another region"},
		},
	}
}

func TestBadClaimsAreRejected(t *testing.T) {
	for name, tc := range badClaims() {
		t.Run(name, func(t *testing.T) {
			got := validate(t, tc.claim, tc.old)
			if got == "" {
				t.Fatalf("the claim is accepted; want an error containing %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("want an error containing\n  %s\ngot\n  %s", w, got)
				}
			}
		})
	}
}

// TestMutableUpdatesAreAccepted: changing a mutable field passes the
// transition rules.
func TestMutableUpdatesAreAccepted(t *testing.T) {
	old := "spec:\n  environmentSuffix: dev\n  source:\n    repository: acme/shop\n"
	updated := old + "  registry:\n    imagesToKeep: 20\n  tags:\n    team: shop\n"
	if errs := validate(t, updated, old); errs != "" {
		t.Errorf("a mutable update is rejected: %s", errs)
	}
}

// hostARN is a registered GitHub Enterprise Server host, in the format
// CodeConnections gives it.
const hostARN = "arn:aws:codeconnections:us-east-1:123456789012:host/ghes-1a2b3c4d"

// TestEveryCELRuleHasABadClaim reads every CEL rule of the generated XRD and
// requires a claim in badClaims that the rule's whole message is expected
// for: a rule without one could be dropped from the types unnoticed.
func TestEveryCELRuleHasABadClaim(t *testing.T) {
	var def map[string]any
	if err := yaml.Unmarshal(xrd.Definition, &def); err != nil {
		t.Fatal(err)
	}
	var messages []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if rules, ok := v["x-kubernetes-validations"].([]any); ok {
				for _, r := range rules {
					m, _ := r.(map[string]any)["message"].(string)
					messages = append(messages, m)
				}
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(def)
	if len(messages) == 0 {
		t.Fatal("found no CEL rules in the XRD; the walk is wrong")
	}
	claims := badClaims()
	for _, m := range messages {
		if m == "" {
			t.Errorf("a CEL rule has no message; every rule needs one that names the field")
			continue
		}
		covered := false
		for _, c := range claims {
			for _, w := range c.want {
				covered = covered || strings.Contains(w, m)
			}
		}
		if !covered {
			t.Errorf("no bad claim in badClaims expects the CEL rule %q", m)
		}
	}
}

// TestRuleBoundariesAreAccepted: the permitted side of each CEL rule, at its
// limit, passes.
func TestRuleBoundariesAreAccepted(t *testing.T) {
	cases := map[string]string{
		"EnterpriseWithHost":       "  environmentSuffix: dev\n  source:\n    provider: GitHubEnterpriseServer\n    repository: acme/shop\n    hostArn: " + hostARN + "\n",
		"EnterpriseWithConnection": "  environmentSuffix: dev\n  source:\n    provider: GitHubEnterpriseServer\n    repository: acme/shop\n    connectionArn: arn:aws:codeconnections:us-east-1:123456789012:connection/abc\n",
		"CodeCommitName100":        "  environmentSuffix: dev\n  source:\n    provider: CodeCommit\n    repository: " + strings.Repeat("r", 100) + "\n",
		"NestedRepositoryPath":     "  environmentSuffix: dev\n  source:\n    provider: GitLab\n    repository: group/subgroup/shop\n",
		"TagKey128AndValue256":     "  environmentSuffix: dev\n  source:\n    repository: acme/shop\n  tags:\n    " + strings.Repeat("k", 128) + ": " + strings.Repeat("v", 256) + "\n",
		"TestCommandsOnly":         "  environmentSuffix: dev\n  source:\n    repository: acme/shop\n  test:\n    commands: [make test]\n",
		"TestBuildspecOnly":        "  environmentSuffix: dev\n  source:\n    repository: acme/shop\n  test:\n    buildspec: buildspec.yml\n",
	}
	for name, spec := range cases {
		t.Run(name, func(t *testing.T) {
			if errs := validate(t, "spec:\n"+spec, ""); errs != "" {
				t.Errorf("rejected: %s", errs)
			}
		})
	}
}
