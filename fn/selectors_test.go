package main

import (
	"maps"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/structpb"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/compose"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/providercrds"
)

// selectorTarget reads the kind and group a provider-aws selector resolves,
// from the CRD's field description ("Selector for a Role in iam to populate
// role.").
var selectorTarget = regexp.MustCompile(`^Selector for (?:a list of |an? )(\w+) in (\w+) to populate`)

// selectorTargets is which component each selector must select, as
// "resource:path under spec.forProvider" -> component, in the minimal
// example; fullSelectorTargets adds those of the full example. A selector
// of the right kind but the wrong component (the pipeline assuming the
// CodeBuild role, the artifact store in the cache bucket) resolves in a
// cluster and fails only when the pipeline runs.
var selectorTargets = map[string]string{
	"artifact-bucket-encryption:bucketSelector":               "artifact-bucket",
	"artifact-bucket-lifecycle:bucketSelector":                "artifact-bucket",
	"artifact-bucket-policy:bucketSelector":                   "artifact-bucket",
	"artifact-bucket-public-access-block:bucketSelector":      "artifact-bucket",
	"artifact-bucket-versioning:bucketSelector":               "artifact-bucket",
	"build-project:cache.locationSelector":                    "cache-bucket",
	"build-project:serviceRoleSelector":                       "codebuild-role",
	"cache-bucket-encryption:bucketSelector":                  "cache-bucket",
	"cache-bucket-lifecycle:bucketSelector":                   "cache-bucket",
	"cache-bucket-policy:bucketSelector":                      "cache-bucket",
	"cache-bucket-public-access-block:bucketSelector":         "cache-bucket",
	"codebuild-role-policy-attachment:policyArnSelector":      "codebuild-role-policy",
	"codebuild-role-policy-attachment:roleSelector":           "codebuild-role",
	"codebuild-test-role-policy-attachment:policyArnSelector": "codebuild-test-role-policy",
	"codebuild-test-role-policy-attachment:roleSelector":      "codebuild-test-role",
	"codepipeline-role-policy-attachment:policyArnSelector":   "codepipeline-role-policy",
	"codepipeline-role-policy-attachment:roleSelector":        "codepipeline-role",
	"ecr-lifecycle-policy:repositorySelector":                 "ecr-repository",
	"ecr-repository-policy:repositorySelector":                "ecr-repository",
	"notification-topic-policy:arnSelector":                   "notification-topic",
	"pipeline:artifactStore.locationSelector":                 "artifact-bucket",
	"pipeline:roleArnSelector":                                "codepipeline-role",
	"pipeline-failed-target:ruleSelector":                     "pipeline-failed-rule",
	// The test project has its own role: test code may not push images
	// or write the artifacts Deploy ships.
	"test-project:serviceRoleSelector": "codebuild-test-role",
}

var fullSelectorTargets = map[string]string{
	"cross-account-role-policy-attachment:policyArnSelector": "cross-account-role-policy",
	"cross-account-role-policy-attachment:roleSelector":      "cross-account-role",
	"deploy-targets-item:tableNameSelector":                  "deployment-table",
	"deployer-function:loggingConfig.logGroupSelector":       "deployer-log-group",
	"deployer-function:roleSelector":                         "deployer-role",
	"deployer-role-policy-attachment:policyArnSelector":      "deployer-role-policy",
	"deployer-role-policy-attachment:roleSelector":           "deployer-role",
	// One subscription per e-mail address, each named by a hash of it.
	"email-subscription-*:topicArnSelector": "notification-topic",
}

// codeCommitSelectorTargets are the selectors a CodeCommit source adds: an
// EventBridge rule starts the pipeline on a push.
var codeCommitSelectorTargets = map[string]string{
	"events-role-policy-attachment:policyArnSelector": "events-role-policy",
	"events-role-policy-attachment:roleSelector":      "events-role",
	"source-push-target:roleArnSelector":              "events-role",
	"source-push-target:ruleSelector":                 "source-push-rule",
}

// TestSelectorsSelectTheRightComponent checks which component every
// selector the function emits selects, and that no selector is missing or
// unexpected.
func TestSelectorsSelectTheRightComponent(t *testing.T) {
	full := map[string]string{}
	maps.Copy(full, selectorTargets)
	maps.Copy(full, fullSelectorTargets)
	codeCommit := map[string]string{}
	maps.Copy(codeCommit, selectorTargets)
	maps.Copy(codeCommit, codeCommitSelectorTargets)
	examples := map[string]struct {
		xr   *structpb.Struct
		want map[string]string
	}{
		"xr-minimal.yaml": {xrFile(t, "xr-minimal.yaml"), selectorTargets},
		"xr-full.yaml":    {xrFile(t, "xr-full.yaml"), full},
		"CodeCommit":      {xrFromYAML(t, minimalXR("\n  environmentSuffix: dev\n  source:\n    provider: CodeCommit\n    repository: shop\n")), codeCommit},
	}
	for example, tc := range examples {
		want := tc.want
		_, rsp := converge(t, tc.xr, nil)
		got := map[string]string{}
		for name, u := range desired(rsp) {
			if strings.HasPrefix(name, string(compose.EmailSubscriptionPrefix)) {
				name = string(compose.EmailSubscriptionPrefix) + "*"
			}
			forProvider, _, _ := unstructured.NestedMap(u.Object, "spec", "forProvider")
			for _, sel := range selectors(forProvider, nil) {
				key := name + ":" + strings.Join(sel.path, ".")
				if prev, ok := got[key]; ok && prev != sel.component {
					t.Errorf("%s: %s selects both %s and %s", example, key, prev, sel.component)
				}
				got[key] = sel.component
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: selected component by resource:selector -want, +got:\n%s", example, diff)
		}
	}
}

// TestSelectorsResolveToComposedKinds checks that every selector the
// function emits matches, by its component label, a composed resource of the
// kind the provider resolves that selector to. A selector to the wrong kind
// never resolves in a real cluster.
func TestSelectorsResolveToComposedKinds(t *testing.T) {
	for _, example := range []string{"xr-minimal.yaml", "xr-full.yaml"} {
		_, rsp := converge(t, xrFile(t, example), nil)
		d := desired(rsp)
		// Composed resources are labelled with their own name as component.
		byComponent := d
		examined := 0
		for _, name := range sortedNames(d) {
			u := d[name]
			forProvider, _, _ := unstructured.NestedMap(u.Object, "spec", "forProvider")
			for _, sel := range selectors(forProvider, []string{"spec", "forProvider"}) {
				examined++
				desc, err := providercrds.FieldDescription(u.GroupVersionKind(), sel.path...)
				if err != nil {
					t.Fatal(err)
				}
				m := selectorTarget.FindStringSubmatch(desc)
				if m == nil {
					t.Errorf("%s %s: cannot tell what %s selects from %q", example, name, strings.Join(sel.path, "."), desc)
					continue
				}
				target, ok := byComponent[sel.component]
				if !ok {
					t.Errorf("%s %s: %s selects component %s, which is not composed", example, name, strings.Join(sel.path, "."), sel.component)
					continue
				}
				group, _, _ := strings.Cut(target.GroupVersionKind().Group, ".")
				if target.GetKind() != m[1] || group != m[2] {
					t.Errorf("%s %s: %s resolves a %s in %s, but selects %s (a %s in %s)", example, name, strings.Join(sel.path, "."), m[1], m[2], sel.component, target.GetKind(), group)
				}
			}
		}
		if examined < len(selectorTargets) {
			t.Errorf("%s: examined %d selectors, want at least %d", example, examined, len(selectorTargets))
		}
	}
}

type selectorAt struct {
	path      []string
	component string
}

// selectors finds every *Selector field under obj (stepping through lists)
// and the component label it matches.
func selectors(obj map[string]any, path []string) []selectorAt {
	var out []selectorAt
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := append(append([]string(nil), path...), k)
		switch v := obj[k].(type) {
		case map[string]any:
			if strings.HasSuffix(k, "Selector") {
				labels, _, _ := unstructured.NestedStringMap(v, "matchLabels")
				out = append(out, selectorAt{path: p, component: labels[compose.LabelComponent]})
				continue
			}
			out = append(out, selectors(v, p)...)
		case []any:
			for _, item := range v {
				if m, ok := item.(map[string]any); ok {
					out = append(out, selectors(m, p)...)
				}
			}
		}
	}
	return out
}
