package providersim

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/providercrds"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/providerfake"
)

// A trimmed provider-aws CRD in upjet's shape: references documented as
// "Reference to a <Kind> in <group> to populate <field>."
const lambdaFunctionCRD = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: functions.lambda.aws.upbound.io
spec:
  group: lambda.aws.upbound.io
  names: {kind: Function, plural: functions}
  scope: Cluster
  versions:
  - name: v1beta1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              forProvider:
                type: object
                properties:
                  role: {type: string}
                  roleRef:
                    type: object
                    description: Reference to a Role in iam to populate role.
                  roleSelector: {type: object}
                  kmsKeyArn: {type: string}
                  kmsKeyArnRef:
                    type: object
                    description: Reference to a Key in kms to populate kmsKeyArn.
                  kmsKeyArnSelector: {type: object}
                  layers: {type: array, items: {type: string}}
                  layersRefs:
                    type: array
                    description: References to LayerVersion in lambda to populate
                      layers.
                  layersSelector: {type: object}
                  s3Bucket: {type: string}
                  s3BucketRef:
                    type: object
                    description: Reference to a Bucket in s3 to populate s3Bucket.
                  s3BucketSelector: {type: object}
          status:
            type: object
            properties:
              atProvider:
                type: object
                properties:
                  arn: {type: string}
                  id: {type: string}
                  invokeArn: {type: string}
                  qualifiedArn: {type: string}
                  version: {type: string}
                  role: {type: string}
                  region: {type: string}
`

func TestKindFromCRD(t *testing.T) {
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.Unmarshal([]byte(lambdaFunctionCRD), crd); err != nil {
		t.Fatal(err)
	}
	k, err := kindFromCRD(crd, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []refField{
		// kmsKeyArn resolves to the key's external name in provider-aws.
		{Field: "kmsKeyArn", Target: schema.GroupKind{Group: "kms.aws.upbound.io", Kind: "Key"}, ARN: false},
		{Field: "layers", List: true, Target: schema.GroupKind{Group: "lambda.aws.upbound.io", Kind: "LayerVersion"}, ARN: true},
		// role is an ARN although its name does not say so.
		{Field: "role", Target: schema.GroupKind{Group: "iam.aws.upbound.io", Kind: "Role"}, ARN: true},
		{Field: "s3Bucket", Target: schema.GroupKind{Group: "s3.aws.upbound.io", Kind: "Bucket"}, ARN: false},
	}
	if diff := cmp.Diff(want, k.refs); diff != "" {
		t.Errorf("refs (-want +got):\n%s", diff)
	}
	if got, want := k.Resource, (schema.GroupVersionResource{Group: "lambda.aws.upbound.io", Version: "v1beta1", Resource: "functions"}); got != want {
		t.Errorf("resource = %v, want %v", got, want)
	}

	if k.GVK.Version != "v1beta1" {
		t.Errorf("version = %s, want the storage version v1beta1", k.GVK.Version)
	}
	if _, err := kindFromCRD(crd, "v1beta2"); err == nil {
		t.Error("kindFromCRD at a version the CRD lacks: want an error")
	}
}

func TestAtProviderKeepsSchemaFieldsAndParameters(t *testing.T) {
	k := &Kind{atProviderFields: map[string]bool{"arn": true, "id": true, "region": true, "role": true}}
	got := atProvider(k, providerfake.Identity{
		Group: "lambda.aws.upbound.io", Kind: "Function", ExternalName: "fn", Region: "us-east-1", Account: "123456789012",
		ForProvider: map[string]any{"role": "arn:aws:iam::123456789012:role/r", "roleSelector": map[string]any{}, "memorySize": int64(128)},
	})
	want := map[string]any{
		"arn":    "arn:aws:lambda:us-east-1:123456789012:function:fn",
		"id":     "fn",
		"region": "us-east-1",
		"role":   "arn:aws:iam::123456789012:role/r",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("atProvider (-want +got):\n%s", diff)
	}
}

func TestFaultMatches(t *testing.T) {
	u := &unstructured.Unstructured{}
	u.SetKind("Table")
	u.SetLabels(map[string]string{labelClaimNamespace: "team-a", labelClaimName: "shop"})
	cases := map[string]struct {
		f    Fault
		want bool
	}{
		"KindOnly":        {Fault{Kind: "Table"}, true},
		"OtherKind":       {Fault{Kind: "Bucket"}, false},
		"SameClaim":       {Fault{Kind: "Table", ClaimNamespace: "team-a", ClaimName: "shop"}, true},
		"OtherNamespace":  {Fault{Kind: "Table", ClaimNamespace: "team-b"}, false},
		"OtherClaimName":  {Fault{Kind: "Table", ClaimName: "payments"}, false},
		"NamespaceOnlyOK": {Fault{Kind: "Table", ClaimNamespace: "team-a"}, true},
		// A cluster-scoped resource is in no namespace.
		"ResourceNamespace": {Fault{Kind: "Table", Namespace: "team-a"}, false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := tc.f.matches(u); got != tc.want {
				t.Errorf("matches = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestFaultMatchesNamespaced: a namespaced XR's resources have no claim
// labels; they are matched by their namespace and composite label.
func TestFaultMatchesNamespaced(t *testing.T) {
	u := &unstructured.Unstructured{}
	u.SetKind("Table")
	u.SetNamespace("team-a")
	u.SetLabels(map[string]string{labelComposite: "shop"})
	cases := map[string]struct {
		f    Fault
		want bool
	}{
		"KindOnly":       {Fault{Kind: "Table"}, true},
		"SameComposite":  {Fault{Kind: "Table", Namespace: "team-a", Composite: "shop"}, true},
		"NamespaceOnly":  {Fault{Kind: "Table", Namespace: "team-a"}, true},
		"OtherNamespace": {Fault{Kind: "Table", Namespace: "team-b", Composite: "shop"}, false},
		"OtherComposite": {Fault{Kind: "Table", Namespace: "team-a", Composite: "payments"}, false},
		"ClaimFields":    {Fault{Kind: "Table", ClaimNamespace: "team-a"}, false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := tc.f.matches(u); got != tc.want {
				t.Errorf("matches = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestNestedReferencesFromRealCRDs reads the provider-aws CRDs the pipeline
// relies on: the references inside nested blocks (the build cache and the
// artifact store locations) must be found, or the simulator would leave
// them unresolved while the provider resolves them.
func TestNestedReferencesFromRealCRDs(t *testing.T) {
	cases := map[string]struct {
		gk   schema.GroupKind
		want refField
	}{
		"BuildCache": {
			gk:   schema.GroupKind{Group: "codebuild.aws.upbound.io", Kind: "Project"},
			want: refField{Path: []string{"cache"}, Field: "location", Target: schema.GroupKind{Group: "s3.aws.upbound.io", Kind: "Bucket"}},
		},
		"ArtifactStore": {
			gk:   schema.GroupKind{Group: "codepipeline.aws.upbound.io", Kind: "Codepipeline"},
			want: refField{Path: []string{"artifactStore"}, Field: "location", Target: schema.GroupKind{Group: "s3.aws.upbound.io", Kind: "Bucket"}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			file, err := providercrds.File(tc.gk)
			if err != nil {
				t.Fatal(err)
			}
			kinds, err := LoadKinds(file)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range kinds[0].refs {
				if cmp.Equal(r, tc.want) {
					return
				}
			}
			t.Errorf("%s: no reference %+v among %+v", tc.gk, tc.want, kinds[0].refs)
		})
	}
}

// TestAtProviderWithoutNestedReferences: references inside nested blocks
// are not reported in atProvider, only the values they resolved to.
func TestAtProviderWithoutNestedReferences(t *testing.T) {
	k := &Kind{atProviderFields: map[string]bool{"cache": true}}
	got := atProvider(k, providerfake.Identity{ForProvider: map[string]any{"cache": []any{map[string]any{
		"type": "S3", "location": "shop-cache", "locationRef": map[string]any{"name": "b"}, "locationSelector": map[string]any{},
	}}}})
	want := map[string]any{"cache": []any{map[string]any{"type": "S3", "location": "shop-cache"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("atProvider (-want +got):\n%s", diff)
	}
}
