package examples

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/crdschema"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/providercrds"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/testhelp"
)

var update = flag.Bool("update", false, "rewrite the golden render outputs")

// tool returns the path of a pinned tool in ./bin, failing with what to do
// when it has not been built.
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "bin", name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s is missing: `make test` builds the pinned Crossplane CLI and render engine into ./bin", p)
	}
	return p
}

// buildFunction builds the composition function for rendering.
func buildFunction(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "function")
	cmd := exec.Command("go", "build", "-o", out, "../fn")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cannot build the function: %v\n%s", err, b)
	}
	return out
}

func render(t *testing.T, fn, xr, observed, required string) []byte {
	t.Helper()
	args := []string{fn, xr, observed}
	if required != "" {
		args = append(args, required)
	}
	cmd := exec.Command("./render.sh", args...)
	cmd.Env = append(os.Environ(), "BIN="+filepath.Dir(tool(t, "crossplane")))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("render %s failed: %v\n%s", xr, err, stderr.String())
	}
	return out
}

// normalize sorts the Result documents of a render by message: Crossplane's
// render engine reports "not yet ready" results in map order. Everything
// else is kept in the order render printed it.
func normalize(t *testing.T, b []byte) []byte {
	t.Helper()
	docs := testhelp.Documents(t, b)
	var results []*unstructured.Unstructured
	var out bytes.Buffer
	write := func(u *unstructured.Unstructured) {
		y, err := sigsyaml.Marshal(u.Object)
		if err != nil {
			t.Fatal(err)
		}
		out.WriteString("---\n")
		out.Write(y)
	}
	for _, u := range docs {
		if u.GetKind() == "Result" {
			results = append(results, u)
			continue
		}
		write(u)
	}
	sort.SliceStable(results, func(i, j int) bool {
		mi, _, _ := unstructured.NestedString(results[i].Object, "message")
		mj, _, _ := unstructured.NestedString(results[j].Object, "message")
		return mi < mj
	})
	for _, u := range results {
		write(u)
	}
	return out.Bytes()
}

func TestRender(t *testing.T) {
	tool(t, "crossplane")
	tool(t, "crossplane-core")
	fn := buildFunction(t)

	cases := map[string]struct {
		xr, observed string
		// required answers the function's requirements (the platform's
		// EnvironmentConfigs).
		required   string
		wantReady  string
		wantStatus []string
		// wantConditions are condition type -> status.
		wantConditions map[string]string
		// wantDeployerImage is the deployer Lambda's image ("" for none).
		wantDeployerImage string
		// namespaced XRs compose only namespaced managed resources.
		namespaced bool
	}{
		"minimal":          {xr: "xr-minimal.yaml", wantReady: "False"},
		"minimal-observed": {xr: "xr-minimal.yaml", observed: "observed/minimal.yaml", wantReady: "True", wantStatus: []string{"pipelineArn", "pipelineUrl", "ecrRepositoryUri", "deploymentTableName", "notificationTopicArn", "connectionArn", "connectionStatus"}},
		"full":             {xr: "xr-full.yaml", wantReady: "False"},
		// The five-line claim with the platform's EnvironmentConfig: the
		// deployer and its Deploy stage come from the platform alone.
		"minimal-platform": {xr: "xr-minimal.yaml", required: "platform-defaults.yaml", wantReady: "False", wantConditions: map[string]string{string(v1alpha1.TypePlatformDefaults): "True", string(v1alpha1.TypeDeployStage): "True", string(v1alpha1.TypeSpecValid): "True"}, wantDeployerImage: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/cicd-deployer:v1.0.0"},
		"full-observed":    {xr: "xr-full.yaml", observed: "observed/full.yaml", wantReady: "True", wantStatus: []string{"pipelineArn", "pipelineUrl", "ecrRepositoryUri", "lambdaFunctionArn", "deploymentTableName", "notificationTopicArn", "connectionArn", "connectionStatus", "crossAccountRoleArn"}},

		// The namespaced CicdPipeline: its own XRD and Composition, the same
		// function, namespaced managed resources (*.aws.m.upbound.io).
		"namespaced-minimal":          {xr: "namespaced-minimal.yaml", wantReady: "False", namespaced: true},
		"namespaced-minimal-observed": {xr: "namespaced-minimal.yaml", observed: "observed/namespaced-minimal.yaml", wantReady: "True", namespaced: true, wantStatus: []string{"pipelineArn", "pipelineUrl", "ecrRepositoryUri", "deploymentTableName", "notificationTopicArn", "connectionArn", "connectionStatus"}},
		"namespaced-full":             {xr: "namespaced-full.yaml", wantReady: "False", namespaced: true},
		"namespaced-full-observed":    {xr: "namespaced-full.yaml", observed: "observed/namespaced-full.yaml", wantReady: "True", namespaced: true, wantStatus: []string{"pipelineArn", "pipelineUrl", "ecrRepositoryUri", "lambdaFunctionArn", "deploymentTableName", "notificationTopicArn", "connectionArn", "connectionStatus", "crossAccountRoleArn"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			out := normalize(t, render(t, fn, tc.xr, tc.observed, tc.required))

			testhelp.Golden(t, filepath.Join("golden", name+".yaml"), out, *update, "go test ./examples -update")

			// The same request renders byte-identically.
			if again := normalize(t, render(t, fn, tc.xr, tc.observed, tc.required)); !bytes.Equal(out, again) {
				t.Errorf("rendering %s twice gave different output", name)
			}

			var xr *unstructured.Unstructured
			composed := 0
			deployerImage := ""
			for _, u := range testhelp.Documents(t, out) {
				if u.GetKind() == "Function" && strings.HasPrefix(u.GetAPIVersion(), "lambda.") {
					deployerImage, _, _ = unstructured.NestedString(u.Object, "spec", "forProvider", "imageUri")
				}
				group := u.GroupVersionKind().Group
				switch {
				case u.GetKind() == "XCicdPipeline" || (u.GetKind() == "CicdPipeline" && strings.HasPrefix(group, "cicd.")):
					xr = u
				case strings.HasSuffix(group, ".aws.upbound.io") || strings.HasSuffix(group, ".aws.m.upbound.io"):
					composed++
					// Validated against the provider's CRD of its own scope.
					validate(t, u)
					if got := strings.HasSuffix(group, ".aws.m.upbound.io"); got != tc.namespaced {
						t.Errorf("%s %s: namespaced kind %v, want %v", u.GetKind(), u.GetName(), got, tc.namespaced)
					}
				}
			}
			if xr == nil || composed == 0 {
				t.Fatalf("render output has no XR or no composed resources")
			}
			if got := conditionStatus(xr, "Ready"); got != tc.wantReady {
				t.Errorf("XR Ready: want %s, got %s", tc.wantReady, got)
			}
			if tc.wantDeployerImage != "" && deployerImage != tc.wantDeployerImage {
				t.Errorf("deployer image: want %s, got %q", tc.wantDeployerImage, deployerImage)
			}
			for typ, want := range tc.wantConditions {
				if got := conditionStatus(xr, typ); got != want {
					t.Errorf("XR condition %s: want %s, got %s", typ, want, got)
				}
			}
			for _, f := range tc.wantStatus {
				if v, _, _ := unstructured.NestedString(xr.Object, "status", f); v == "" {
					t.Errorf("status.%s is empty", f)
				}
			}
		})
	}
}

// validate checks a rendered managed resource against its provider CRD, as
// the API server would on apply.
func validate(t *testing.T, u *unstructured.Unstructured) {
	t.Helper()
	v, err := providercrds.Validator(u.GroupVersionKind())
	if err != nil {
		t.Fatal(err)
	}
	obj := u.DeepCopy().Object
	v.Default(obj)
	if errs := v.Validate(obj, nil); len(errs) > 0 {
		t.Errorf("%s %s violates its CRD: %s", u.GetKind(), u.GetName(), crdschema.Summary(errs))
	}
}

func conditionStatus(u *unstructured.Unstructured, typ string) string {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok && m["type"] == typ {
			s, _ := m["status"].(string)
			return s
		}
	}
	return ""
}
