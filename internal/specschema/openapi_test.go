package specschema_test

import (
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apiserver/pkg/cel/environment"
	"k8s.io/kube-openapi/pkg/validation/spec"

	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1/xrd"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/specschema"
)

// TestFormatsMatch: the formats kept are the ones the API server validates
// at its default compatibility version.
func TestFormatsMatch(t *testing.T) {
	ref := validation.StripUnsupportedFormatsPostProcessorForVersion(environment.DefaultCompatibilityVersion())
	formats := []string{
		"bsonobjectid", "uri", "email", "hostname", "ipv4", "ipv6", "cidr", "mac", "uuid", "uuid3", "uuid4",
		"uuid5", "isbn", "isbn10", "isbn13", "creditcard", "ssn", "hexcolor", "rgbcolor", "byte", "password",
		"date", "duration", "datetime", "date-time", "k8s-short-name", "k8s-long-name", "k8sshortname",
		"int32", "int64", "float", "double", "binary", "uri-reference", "hostname-idn", "time", "regex", "",
	}
	for _, f := range formats {
		t.Run(f, func(t *testing.T) {
			want := &spec.Schema{SchemaProps: spec.SchemaProps{Format: f, Type: spec.StringOrArray{"string"}}}
			if err := ref(want); err != nil {
				t.Fatal(err)
			}
			got := &spec.Schema{SchemaProps: spec.SchemaProps{Format: f, Type: spec.StringOrArray{"string"}}}
			specschema.StripUnsupportedFormat(got)
			if diff := cmp.Diff(want.Format, got.Format); diff != "" {
				t.Errorf("format %q (-apiserver +ours):\n%s", f, diff)
			}
		})
	}
}

// TestConversionMatches: the kube-openapi schema validated against is the
// API server's, but for the x-kubernetes-validations extension, which
// kube-openapi's validator does not read.
func TestConversionMatches(t *testing.T) {
	cases := map[string]func() (*apiextensionsv1.JSONSchemaProps, error){
		"Claim":      xrd.Schema,
		"Namespaced": xrd.NamespacedSchema,
	}
	for name, schema := range cases {
		t.Run(name, func(t *testing.T) {
			props, err := schema()
			if err != nil {
				t.Fatal(err)
			}
			internal := &apiextensions.JSONSchemaProps{}
			if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(props, internal, nil); err != nil {
				t.Fatal(err)
			}
			_, want, err := validation.NewSchemaValidator(internal)
			if err != nil {
				t.Fatal(err)
			}
			dropRules(want)
			got := &spec.Schema{}
			if err := specschema.ToOpenAPI(internal, got); err != nil {
				t.Fatal(err)
			}
			// spec.Ref holds unexported fields: compare them too.
			if diff := cmp.Diff(want, got, cmp.Exporter(func(reflect.Type) bool { return true })); diff != "" {
				t.Errorf("converted schema (-apiserver +ours):\n%s", diff)
			}
		})
	}
}

func dropRules(s *spec.Schema) {
	if s == nil {
		return
	}
	delete(s.Extensions, "x-kubernetes-validations")
	if len(s.Extensions) == 0 {
		s.Extensions = nil
	}
	for k, p := range s.Properties {
		dropRules(&p)
		s.Properties[k] = p
	}
	if s.Items != nil {
		dropRules(s.Items.Schema)
	}
	if s.AdditionalProperties != nil {
		dropRules(s.AdditionalProperties.Schema)
	}
}

// TestNewRejects: schemas the API server would not accept are errors, not
// panics.
func TestNewRejects(t *testing.T) {
	ref := "#/definitions/x"
	cases := map[string]*apiextensionsv1.JSONSchemaProps{
		"Ref": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{"a": {Ref: &ref}}},
		"NotStructural": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
			"a": {Items: &apiextensionsv1.JSONSchemaPropsOrArray{JSONSchemas: []apiextensionsv1.JSONSchemaProps{{Type: "string"}}}},
		}},
	}
	for name, props := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := specschema.New(props, nil); err == nil {
				t.Error("New accepted the schema")
			} else {
				t.Log(err)
			}
		})
	}
}
