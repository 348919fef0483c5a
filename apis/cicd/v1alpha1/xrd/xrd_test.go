package xrd_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	crdvalidation "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1/xrd"
	namespaced "github.com/cicd-platform/crossplane-cicd-pipeline/apis/namespaced/cicd/v1alpha1"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/badclaims"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/crdschema"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/testhelp"
)

// TestDefinitionIsFresh fails when a committed XRD (embedded and in
// package/) is not what `go generate ./...` makes from the Go types
// (apis/cicd/v1alpha1/generate.go). One controller-gen run serves both APIs.
func TestDefinitionIsFresh(t *testing.T) {
	root := testhelp.RepoRoot(t)
	out := t.TempDir()
	cmd := exec.Command("go", "tool", "-modfile=tools/controller-gen/go.mod", "controller-gen", "crd", "paths=./apis/...", "output:crd:dir="+out)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("controller-gen failed: %v\n%s", err, b)
	}
	for name, tc := range map[string]struct {
		crd      string
		convert  func([]byte) ([]byte, error)
		embedded []byte
		embedIn  string
		pkg      string
	}{
		"Claim": {
			crd: "cicd.platform.dev_xcicdpipelines.yaml", convert: xrd.FromCRD, embedded: xrd.Definition,
			embedIn: "apis/cicd/v1alpha1/xrd/definition.yaml", pkg: "definition.yaml",
		},
		"Namespaced": {
			crd: namespaced.Group + "_" + namespaced.Plural + ".yaml", convert: xrd.FromNamespacedCRD, embedded: xrd.NamespacedDefinition,
			embedIn: "apis/cicd/v1alpha1/xrd/namespaced.yaml", pkg: "definition-namespaced.yaml",
		},
	} {
		t.Run(name, func(t *testing.T) {
			crd, err := os.ReadFile(filepath.Join(out, tc.crd))
			if err != nil {
				t.Fatal(err)
			}
			want, err := tc.convert(crd)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), string(tc.embedded)); diff != "" {
				t.Errorf("%s is stale; run `go generate ./...`: -want, +got:\n%s", tc.embedIn, diff)
			}
			pkg, err := os.ReadFile(filepath.Join(root, "package", tc.pkg))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), string(pkg)); diff != "" {
				t.Errorf("package/%s is stale; run `go generate ./...`: -want, +got:\n%s", tc.pkg, diff)
			}
		})
	}
}

// TestSchemaIsAcceptedByAPIServer runs kube-apiserver's own CRD validation
// on the schema, as Crossplane serves it: structural, CEL rules that compile
// and stay within the cost budget.
func TestSchemaIsAcceptedByAPIServer(t *testing.T) {
	for name, schema := range map[string]func() (*apiextensionsv1.JSONSchemaProps, error){
		"Claim": xrd.Schema, "Namespaced": xrd.NamespacedSchema,
	} {
		t.Run(name, func(t *testing.T) { acceptedByAPIServer(t, schema) })
	}
}

func acceptedByAPIServer(t *testing.T, schema func() (*apiextensionsv1.JSONSchemaProps, error)) {
	t.Helper()
	s, err := schema()
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

// The API server's validators of the two XRDs (apiextensions-apiserver's
// libraries), built once.
var (
	apiServerValidator = sync.OnceValues(func() (*crdschema.Validator, error) {
		s, err := xrd.Schema()
		if err != nil {
			return nil, err
		}
		return crdschema.New(s)
	})
	apiServerNamespacedValidator = sync.OnceValues(func() (*crdschema.Validator, error) {
		s, err := xrd.NamespacedSchema()
		if err != nil {
			return nil, err
		}
		return crdschema.New(s)
	})
)

// validate validates a claim or XR manifest's spec as the API server does,
// with the XRD of the manifest's API: the namespaced one for
// cicd.m.platform.dev, else the claim API's.
func validate(t *testing.T, manifest, old string) string {
	t.Helper()
	validator := apiServerValidator
	if strings.Contains(manifest, "apiVersion: "+namespaced.APIVersion) {
		validator = apiServerNamespacedValidator
	}
	v, err := validator()
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
		delete(spec, "crossplane")
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
	root := testhelp.RepoRoot(t)
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

func TestBadClaimsAreRejected(t *testing.T) {
	claim := func(spec string) string {
		if spec == "" {
			return ""
		}
		return "apiVersion: cicd.platform.dev/v1alpha1\nkind: CicdPipeline\nmetadata:\n  name: shop\nspec:\n" + spec
	}
	for name, tc := range badclaims.Catalogue() {
		t.Run(name, func(t *testing.T) {
			got := validate(t, claim(tc.Spec), claim(tc.Old))
			if got == "" {
				t.Fatalf("the claim is accepted; want an error containing %q", tc.Want)
			}
			for _, w := range tc.Want {
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

// TestEveryCELRuleHasABadClaim reads every CEL rule of the generated XRD and
// requires a claim in the badclaims catalogue that the rule's whole message is expected
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
	claims := badclaims.Catalogue()
	for _, m := range messages {
		if m == "" {
			t.Errorf("a CEL rule has no message; every rule needs one that names the field")
			continue
		}
		covered := false
		for _, c := range claims {
			for _, w := range c.Want {
				covered = covered || strings.Contains(w, m)
			}
		}
		if !covered {
			t.Errorf("no claim in the badclaims catalogue expects the CEL rule %q", m)
		}
	}
}

// TestRuleBoundariesAreAccepted: the permitted side of each CEL rule, at its
// limit, passes.
func TestRuleBoundariesAreAccepted(t *testing.T) {
	cases := map[string]string{
		"EnterpriseWithHost":       "  environmentSuffix: dev\n  source:\n    provider: GitHubEnterpriseServer\n    repository: acme/shop\n    hostArn: " + badclaims.HostARN + "\n",
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
