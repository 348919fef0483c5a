package main

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/contract"
	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/compose"
	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/iampolicy"
)

// policyOf decodes the policy document of a composed iam Policy.
func policyOf(t *testing.T, u *unstructured.Unstructured) iampolicy.Document {
	t.Helper()
	s, _, _ := unstructured.NestedString(u.Object, "spec", "forProvider", "policy")
	doc := iampolicy.Document{}
	if err := json.Unmarshal([]byte(s), &doc); err != nil {
		t.Fatalf("cannot decode the policy: %v\n%s", err, s)
	}
	return doc
}

// TestDeployerPolicyMatchesContract keeps the deployer role's policy in
// step with the AWS calls the deployer makes (deployer/contract), each group
// of actions scoped to this pipeline's own resources.
func TestDeployerPolicyMatchesContract(t *testing.T) {
	_, rsp := converge(t, xrFile(t, "xr-full.yaml"), nil)
	doc := policyOf(t, desired(rsp)[string(compose.PolicyOf(compose.DeployerRole))])

	got := map[string][]string{}
	for _, s := range doc.Statement {
		got[strings.Join(s.Action, ",")] = s.Resource
	}
	sorted := func(in []string) string {
		out := append([]string(nil), in...)
		sort.Strings(out)
		return strings.Join(out, ",")
	}
	const (
		table = "arn:aws:dynamodb:eu-west-1:123456789012:table/payments-9fz4d-deployments-prod"
		repo  = "arn:aws:ecr:eu-west-1:123456789012:repository/payments-9fz4d-images-prod"
		fn    = "arn:aws:lambda:eu-west-1:123456789012:function:payments-api-prod"
		logs  = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/payments-9fz4d-deployer-prod"
	)
	want := map[string][]string{
		sorted(contract.TableActions):                                              {table},
		sorted(contract.IndexActions):                                              {table + "/index/*"},
		sorted(contract.PipelineActions):                                           {"arn:aws:codepipeline:eu-west-1:123456789012:payments-9fz4d-pipeline-prod"},
		sorted(slices.Concat(contract.ImagePullActions, []string{"ecr:PutImage"})): {repo},
		sorted(contract.JobResultActions):                                          {"*"},
		sorted(contract.LogActions):                                                {logs + ":*"},
		sorted(contract.TargetActions):                                             {fn, fn + ":*"},
		sorted(contract.AssumeRoleActions):                                         {"arn:aws:iam::444455556666:role/payments-deploy"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the deployer's policy must grant exactly the contract's actions on this pipeline's resources: -want, +got:\n%s", diff)
	}
}

// TestNoWildcardActions: no composed policy grants a wildcard action, and
// only actions without resource-level permissions get resource "*".
func TestNoWildcardActions(t *testing.T) {
	// Actions without resource-level permissions (Service Authorization
	// Reference).
	allowedOnStar := map[string]bool{"ecr:GetAuthorizationToken": true, "ecr-public:GetAuthorizationToken": true, "sts:GetServiceBearerToken": true}
	for _, a := range contract.JobResultActions {
		allowedOnStar[a] = true
	}
	for _, example := range []string{"xr-minimal.yaml", "xr-full.yaml"} {
		_, rsp := converge(t, xrFile(t, example), nil)
		for name, u := range desired(rsp) {
			if u.GetKind() != "Policy" {
				continue
			}
			for _, s := range policyOf(t, u).Statement {
				for _, a := range s.Action {
					if strings.Contains(a, "*") {
						t.Errorf("%s %s: wildcard action %s", example, name, a)
					}
				}
				for _, r := range s.Resource {
					if r != "*" {
						continue
					}
					for _, a := range s.Action {
						if !allowedOnStar[a] {
							t.Errorf("%s %s: %s is granted on every resource", example, name, a)
						}
					}
				}
			}
		}
	}
}

// TestValidationCatchesViolations proves the CRD validation the other tests
// rely on fails on a real mistake: CodeBuild v1beta1 takes environment as an
// object, and a required field must be present.
func TestValidationCatchesViolations(t *testing.T) {
	_, rsp := converge(t, xrFile(t, "xr-minimal.yaml"), nil)
	project := desired(rsp)[string(compose.BuildProject)].DeepCopy()
	env, _, _ := unstructured.NestedMap(project.Object, "spec", "forProvider", "environment")
	_ = unstructured.SetNestedSlice(project.Object, []any{env}, "spec", "forProvider", "environment")
	unstructured.RemoveNestedField(project.Object, "spec", "forProvider", "region")

	v := providerValidator(t, project)
	obj := project.DeepCopy().Object
	_ = unstructured.SetNestedField(obj, "x", "metadata", "name")
	v.Default(obj)
	errs := v.Validate(obj, nil)
	got := map[string]string{}
	for _, e := range errs {
		got[e.Field] = e.Error()
	}
	for field, want := range map[string]string{
		"spec.forProvider.environment": "must be of type object",
		"spec.forProvider.region":      "Required value",
	} {
		if !strings.Contains(got[field], want) {
			t.Errorf("%s: want an error containing %q, got %q (all: %v)", field, want, got[field], errs)
		}
	}
}
