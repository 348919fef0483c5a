package xrd_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1"
	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1/xrd"
	namespaced "github.com/cicd-platform/crossplane-cicd-pipeline/apis/namespaced/cicd/v1alpha1"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/testhelp"
)

var updateREADME = flag.Bool("update", false, "rewrite the README's parameter table")

// The README's generated parameter table sits between these lines.
const (
	tableBegin = "<!-- BEGIN GENERATED parameters: `go generate ./apis/...` writes this table from the types' doc comments; do not edit -->\n"
	tableEnd   = "<!-- END GENERATED parameters -->\n"
)

// defaultSentence is a doc comment's "Default: ..." (or "Default (when
// ...): ...") sentence, which the table shows in its own column.
var defaultSentence = regexp.MustCompile(`\s*Default( \([^)]*\))?: (.*?)\.(\s|$)`)

// parameterRow is one field of the spec, in the table.
type parameterRow struct {
	path, def, meaning string
}

// parameterRows walks the spec type t in field order and describes each
// field that has no fields of its own from its schema: the doc comment
// controller-gen put there (its Default sentence in a column of its own),
// its enum and range. only names the API the field is specific to.
func parameterRows(t *testing.T, typ reflect.Type, schema *apiextensionsv1.JSONSchemaProps, path string, only func(string) string) []parameterRow {
	t.Helper()
	var rows []parameterRow
	for f := range typ.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" { // inline
			rows = append(rows, parameterRows(t, f.Type, schema, path, only)...)
			continue
		}
		p := path + name
		s, ok := schema.Properties[name]
		if !ok {
			t.Fatalf("the schema has no spec.%s", p)
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case ft.Kind() == reflect.Struct:
			rows = append(rows, parameterRows(t, ft, &s, p+".", only)...)
			continue
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			// The list's own row, then its items' fields.
			rows = append(rows, parameterRow{path: p + "[]", def: defaultOf(t, &s, schema, name), meaning: only(p) + meaningOf(f.Name, name, &s)})
			rows = append(rows, parameterRows(t, ft.Elem(), s.Items.Schema, p+"[].", only)...)
			continue
		case ft.Kind() == reflect.Slice:
			p += "[]"
		}
		rows = append(rows, parameterRow{path: p, def: defaultOf(t, &s, schema, name), meaning: only(p) + meaningOf(f.Name, name, &s)})
	}
	return rows
}

// defaultOf is the Default sentence, else the schema's default, else
// "required" or "-".
func defaultOf(t *testing.T, s, parent *apiextensionsv1.JSONSchemaProps, name string) string {
	t.Helper()
	if m := defaultSentence.FindStringSubmatch(oneLine(s.Description)); m != nil {
		return strings.TrimSpace(m[1] + " " + m[2])
	}
	if s.Default != nil {
		var v any
		if err := json.Unmarshal(s.Default.Raw, &v); err != nil {
			t.Fatal(err)
		}
		if b, err := json.Marshal(v); err == nil && string(b) != "{}" {
			return "`" + strings.Trim(string(b), `"`) + "`"
		}
	}
	if slices.Contains(parent.Required, name) {
		return "required"
	}
	return "-"
}

// meaningOf is the doc comment without its Default sentence, starting with
// the field's JSON name where it starts with the Go name, then the values
// and range the schema allows.
func meaningOf(goName, jsonName string, s *apiextensionsv1.JSONSchemaProps) string {
	d := oneLine(defaultSentence.ReplaceAllString(oneLine(s.Description), " "))
	if first, rest, _ := strings.Cut(d, " "); strings.EqualFold(strings.TrimRight(first, ",:"), goName) {
		d = "`" + jsonName + "`" + strings.TrimPrefix(first, strings.TrimRight(first, ",:")) + " " + rest
	}
	if len(s.Enum) > 0 {
		var values []string
		for _, e := range s.Enum {
			values = append(values, "`"+strings.Trim(string(e.Raw), `"`)+"`")
		}
		d += " One of " + strings.Join(values, ", ") + "."
	}
	if s.Minimum != nil && s.Maximum != nil {
		d += " " + trimFloat(*s.Minimum) + "-" + trimFloat(*s.Maximum) + "."
	}
	return strings.ReplaceAll(d, "|", `\|`)
}

// oneLine joins a doc comment's lines.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func trimFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// parameterTable is the README's table: the claim API's spec, then the
// namespaced API's own fields.
func parameterTable(t *testing.T) string {
	t.Helper()
	claim, err := xrd.Schema()
	if err != nil {
		t.Fatal(err)
	}
	ns, err := xrd.NamespacedSchema()
	if err != nil {
		t.Fatal(err)
	}
	claimSpec, nsSpec := claim.Properties["spec"], ns.Properties["spec"]
	claimRows := parameterRows(t, reflect.TypeFor[v1alpha1.XCicdPipelineSpec](), &claimSpec, "", func(string) string { return "" })
	nsRows := parameterRows(t, reflect.TypeFor[namespaced.CicdPipelineSpec](), &nsSpec, "", func(string) string { return "" })
	inNamespaced := map[string]bool{}
	for _, r := range nsRows {
		inNamespaced[r.path] = true
	}
	inClaim := map[string]bool{}
	var b strings.Builder
	b.WriteString("| parameter | default | meaning |\n|---|---|---|\n")
	for _, r := range claimRows {
		inClaim[r.path] = true
		if !inNamespaced[r.path] {
			r.meaning = "Claim API only: " + r.meaning
		}
		b.WriteString("| `" + r.path + "` | " + r.def + " | " + r.meaning + " |\n")
	}
	for _, r := range nsRows {
		if !inClaim[r.path] {
			b.WriteString("| `" + r.path + "` | " + r.def + " | Namespaced API only: " + r.meaning + " |\n")
		}
	}
	return b.String()
}

// TestREADMEParameterTable keeps the README's parameter table what the
// types' doc comments say (through the generated XRDs): `go generate
// ./apis/...` rewrites it.
func TestREADMEParameterTable(t *testing.T) {
	path := filepath.Join(testhelp.RepoRoot(t), "README.md")
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	before, rest, ok := bytes.Cut(readme, []byte(tableBegin))
	_, after, ok2 := bytes.Cut(rest, []byte(tableEnd))
	if !ok || !ok2 {
		t.Fatalf("README.md has no %q ... %q section", tableBegin, tableEnd)
	}
	table := parameterTable(t)
	want := string(before) + tableBegin + table + tableEnd + string(after)
	testhelp.Golden(t, path, []byte(want), *updateREADME, "go generate ./apis/...")

	// The table is not only fresh but complete: every field of both APIs
	// has a row with a meaning.
	for _, line := range strings.Split(strings.TrimSpace(table), "\n")[2:] {
		if cells := strings.Split(line, " | "); len(cells) != 3 || strings.TrimSpace(strings.TrimSuffix(cells[2], "|")) == "" {
			t.Errorf("row without a meaning (add a doc comment to the field): %s", line)
		}
	}
}
