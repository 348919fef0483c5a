package specschema

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

// TestPatterns checks that the patterns compiled when a Validator is built
// are those of every node of the schema: properties, items, map values.
func TestPatterns(t *testing.T) {
	const schema = `
type: object
properties:
  name: {type: string, pattern: '^[a-z]+$'}
  tags:
    type: object
    additionalProperties: {type: string, pattern: '^v[0-9]$'}
  emails:
    type: array
    items: {type: string, pattern: '^[^@]+@[^@]+$'}
  nested:
    type: object
    properties:
      arn: {type: string, pattern: '^arn:'}
      plain: {type: string}
  either:
    type: string
    allOf:
    - pattern: '^left-out$'
`
	props := &apiextensionsv1.JSONSchemaProps{}
	if err := yaml.Unmarshal([]byte(schema), props); err != nil {
		t.Fatal(err)
	}
	_, s, err := Structural(props)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"^[^@]+@[^@]+$", "^[a-z]+$", "^arn:", "^v[0-9]$"}
	if diff := cmp.Diff(want, Patterns(s)); diff != "" {
		t.Errorf("patterns: -want +got:\n%s", diff)
	}
}
