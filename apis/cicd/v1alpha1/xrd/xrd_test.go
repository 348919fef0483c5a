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

func TestBadClaimsAreRejected(t *testing.T) {
	claim := func(spec string) string {
		return "apiVersion: cicd.platform.dev/v1alpha1\nkind: CicdPipeline\nmetadata:\n  name: shop\nspec:\n" + spec
	}
	const ok = "  environmentSuffix: dev\n  source:\n    repository: acme/shop\n"
	cases := map[string]struct {
		claim string
		old   string
		want  []string
	}{
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
		"ConnectionWithCodeCommit": {
			claim: claim("  environmentSuffix: dev\n  source:\n    provider: CodeCommit\n    repository: shop\n    connectionArn: arn:aws:codeconnections:us-east-1:123456789012:connection/abc\n"),
			want:  []string{"spec.source.connectionArn must not be set when spec.source.provider is CodeCommit"},
		},
		"EnterpriseWithoutHost": {
			claim: claim("  environmentSuffix: dev\n  source:\n    provider: GitHubEnterpriseServer\n    repository: acme/shop\n"),
			want:  []string{"spec.source.provider GitHubEnterpriseServer needs spec.source.hostArn"},
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
		"TargetRoleInOtherAccount": {
			// With spec.region set; without it the region is the platform's
			// or the built-in one, and the function checks the rule on the
			// effective spec.
			claim: claim(ok + "  region: us-east-1\n  deployer:\n    image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/deployer:v1\n    targets:\n      - functionName: arn:aws:lambda:us-east-1:444455556666:function:api\n        roleArn: arn:aws:iam::555566667777:role/deploy\n"),
			want:  []string{"spec.deployer.targets[*].roleArn must be a role in the function's account, and the function must be named by ARN"},
		},
		"TargetRoleWithPlainName": {
			claim: claim(ok + "  deployer:\n    image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/deployer:v1\n    targets:\n      - functionName: api\n        roleArn: arn:aws:iam::555566667777:role/deploy\n"),
			want:  []string{"spec.deployer.targets[*].roleArn must be a role in the function's account, and the function must be named by ARN"},
		},
		"TargetExternalIDWithoutRole": {
			claim: claim(ok + "  deployer:\n    image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/deployer:v1\n    targets:\n      - functionName: api\n        externalId: deploy-2026\n"),
			want:  []string{"spec.deployer.targets[*].externalId is only valid with roleArn"},
		},
		"DeployerImageInOtherRegion": {
			// With spec.region set; without it the region is the platform's
			// or the built-in one, and the function checks the rule on the
			// effective spec.
			claim: claim(ok + "  region: us-east-1\n  deployer:\n    image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/deployer:v1\n    targets:\n      - functionName: api\n"),
			want:  []string{"spec.deployer.image must be in an ECR repository in spec.region: Lambda runs an image only from its own region"},
		},
		"TargetInOtherRegion": {
			claim: claim(ok + "  region: us-east-1\n  deployer:\n    image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/deployer:v1\n    targets:\n      - functionName: arn:aws:lambda:eu-west-1:444455556666:function:api\n        roleArn: arn:aws:iam::444455556666:role/deploy\n"),
			want:  []string{"spec.deployer.targets must be functions in spec.region: Lambda runs an image only from an ECR repository in its own region"},
		},
		"BuildKitImplicitDockerHub": {
			claim: claim(ok + "  build:\n    buildkitImage: moby/buildkit:buildx-stable-1\n"),
			want:  []string{`spec.build.buildkitImage: Invalid value: "moby/buildkit:buildx-stable-1"`},
		},
		"CrossAccountUnscoped": {
			claim: claim(ok + "  crossAccount:\n    trustedAccountIds: [\"444455556666\"]\n"),
			want:  []string{"spec.crossAccount needs trustedPrincipalArns or organizationId to scope who may assume the role"},
		},
		"CrossAccountPrincipalOutsideAccounts": {
			claim: claim(ok + "  crossAccount:\n    trustedAccountIds: [\"444455556666\"]\n    trustedPrincipalArns: [\"arn:aws:iam::555566667777:role/deployer\"]\n"),
			want:  []string{"spec.crossAccount.trustedPrincipalArns must be in spec.crossAccount.trustedAccountIds"},
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
			// A claim without spec.region has no schema default to compare
			// with: the function refuses a region other than the one its
			// resources are in (fn TestPlatformRegionPinned).
			claim: claim(ok + "  region: eu-west-1\n"),
			old:   claim(ok + "  region: us-east-1\n"),
			want:  []string{"spec.region is immutable"},
		},
	}
	for name, tc := range cases {
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
