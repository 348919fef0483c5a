//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1"
	"github.com/cicd-platform/crossplane-cicd-pipeline/test/e2e/internal/providersim"
)

// The namespaced API (Crossplane v2): a team applies a CicdPipeline
// (cicd.m.platform.dev) in its own namespace; the same function composes
// provider-aws's namespaced managed resources (*.aws.m.upbound.io) there.
// The helpers of claims_test.go serve both APIs (claimRun.Namespaced).

// namespacedOrphanPolicies are the management policies of a namespaced
// pipeline whose AWS resources must outlive it: every action but Delete
// (namespaced managed resources have no deletionPolicy).
// https://docs.crossplane.io/latest/managed-resources/managed-resources/#managementpolicies
var namespacedOrphanPolicies = []any{"Observe", "Create", "Update", "LateInitialize"}

// defaultProviderConfig is the provider config reference of a namespaced
// CicdPipeline that names none (the XRD's default, no platform defaults).
var defaultProviderConfig = map[string]any{"kind": "ClusterProviderConfig", "name": "default"}

// checkNamespacedResources requires what every resource of a namespaced
// CicdPipeline must be: in the pipeline's namespace, controlled by it,
// Ready and Synced in region, with the provider config reference (naming
// its kind) and management policies given, and no deletion policy.
func checkNamespacedResources(t *testing.T, xr *unstructured.Unstructured, mrs map[string]*unstructured.Unstructured, region string, providerConfig map[string]any, managementPolicies []any) {
	t.Helper()
	// composedResources looks only in the pipeline's namespace: search the
	// others for anything it controls.
	for _, gvk := range env.namespacedKinds {
		items, err := env.client.List(env.ctx, gvk, "", labelComposite+"="+xr.GetName())
		if err != nil {
			t.Fatal(err)
		}
		for i := range items {
			if u := &items[i]; u.GetNamespace() != xr.GetNamespace() && controllerOf(u) == string(xr.GetUID()) {
				t.Errorf("%s %s/%s is controlled by the pipeline %s/%s but outside its namespace", u.GetKind(), u.GetNamespace(), u.GetName(), xr.GetNamespace(), xr.GetName())
			}
		}
	}
	for _, n := range componentNames(mrs) {
		u := mrs[n]
		if u.GetNamespace() != xr.GetNamespace() {
			t.Errorf("%s (%s %s) is in namespace %q, want the pipeline's %q", n, u.GetKind(), u.GetName(), u.GetNamespace(), xr.GetNamespace())
		}
		if !strings.HasSuffix(u.GroupVersionKind().Group, ".aws.m.upbound.io") {
			t.Errorf("%s is a %s, want a namespaced provider-aws kind (*.aws.m.upbound.io)", n, u.GroupVersionKind())
		}
		if c := controllerOf(u); c != string(xr.GetUID()) {
			t.Errorf("%s is controlled by %q, want the pipeline %s (%s)", n, c, xr.GetName(), xr.GetUID())
		}
	}
	checkEveryResource(t, mrs, region, []specField{
		{[]string{"spec", "providerConfigRef"}, providerConfig},
		{[]string{"spec", "managementPolicies"}, managementPolicies},
		{[]string{"spec", "deletionPolicy"}, nil},
	})
}

func controllerOf(u *unstructured.Unstructured) string {
	for _, o := range u.GetOwnerReferences() {
		if o.Controller != nil && *o.Controller {
			return string(o.UID)
		}
	}
	return ""
}

// Scenario N1: the minimal namespaced CicdPipeline composes the same
// components as the minimal claim, namespaced, in its namespace, becomes
// Ready and reports every output from what the provider observed.
func TestNamespacedPipeline(t *testing.T) {
	requirePlatform(t)
	run := applyClaim(t, loadClaim(t, "namespaced-minimal.yaml", "e2e-ns-minimal"))
	xr := waitClaimReady(t, run, "namespaced: apply -> Ready")
	mrs := mustComposed(t, run)

	checkComponents(t, mrs, minimalComponents, 0)
	checkNamespacedResources(t, xr, mrs, "us-east-1", defaultProviderConfig, []any{"*"})
	checkFields(t, mrs, []fieldCheck{
		{"ecr-repository", []string{"spec", "forProvider", "imageTagMutability"}, "IMMUTABLE"},
		{"ecr-repository", []string{"spec", "forProvider", "tags", "environment"}, "dev"},
		{"codestar-connection", []string{"spec", "forProvider", "providerType"}, "GitHub"},
		{"build-project", []string{"spec", "forProvider", "environment", "computeType"}, "BUILD_GENERAL1_MEDIUM"},
		// The provider resolved the selectors the function wired, within
		// the namespace, and recorded where it found the target.
		{"ecr-lifecycle-policy", []string{"spec", "forProvider", "repository"}, externalName(mrs["ecr-repository"])},
		{"ecr-lifecycle-policy", []string{"spec", "forProvider", "repositoryRef"}, map[string]any{"name": mrs["ecr-repository"].GetName(), "namespace": run.Namespace}},
		{"artifact-bucket-versioning", []string{"spec", "forProvider", "bucket"}, externalName(mrs["artifact-bucket"])},
	})
	checkOutputs(t, xr, mrs, "us-east-1")
	checkConditions(t, xr, map[string]string{
		"Ready": "True", "Synced": "True",
		string(v1alpha1.TypeResourcesSynced): "True", string(v1alpha1.TypeResourcesComposed): "True", string(v1alpha1.TypeSourceConnected): "True",
		string(v1alpha1.TypeDeployStage): "False",
	})
	t.Logf("%d managed resources composed in %s", len(mrs), run.Namespace)
}

// Scenario N1 (full): a namespaced CicdPipeline that sets every parameter
// gets the optional resources too (deployer Lambda, alarms, cross-account
// role, e-mail subscriptions), namespaced, with its parameters, a
// ProviderConfig in its namespace, and references resolved in it.
func TestNamespacedFullPipeline(t *testing.T) {
	requirePlatform(t)
	run := applyClaim(t, loadClaim(t, "namespaced-full.yaml", "e2e-ns-full"))
	xr := waitClaimReady(t, run, "namespaced full: apply -> Ready")
	mrs := mustComposed(t, run)

	checkComponents(t, mrs, append(append([]string(nil), minimalComponents...), fullOnlyComponents...), 2)
	checkNamespacedResources(t, xr, mrs, "eu-west-1", map[string]any{"kind": "ProviderConfig", "name": "aws-payments"}, []any{"*"})
	checkFields(t, mrs, []fieldCheck{
		{"ecr-repository", []string{"spec", "forProvider", "tags", "team"}, "payments"},
		{"ecr-repository", []string{"spec", "forProvider", "tags", "environment"}, "prod"},
		{"codestar-connection", []string{"spec", "forProvider", "providerType"}, "GitLab"},
		{"build-project", []string{"spec", "forProvider", "environment", "computeType"}, "BUILD_GENERAL1_LARGE"},
		{"deployer-function", []string{"spec", "forProvider", "imageUri"}, "111122223333.dkr.ecr.eu-west-1.amazonaws.com/cicd-deployer:v1.0.0"},
		{"deployer-function", []string{"spec", "forProvider", "memorySize"}, int64(512)},
		{"deployer-function", []string{"spec", "forProvider", "reservedConcurrentExecutions"}, int64(5)},
		{"deployer-errors-alarm", []string{"spec", "forProvider", "threshold"}, int64(3)},
		// The deployer's role resolved, in the namespace, to its ARN.
		{"deployer-function", []string{"spec", "forProvider", "role"}, nestedString(mrs["deployer-role"], "status", "atProvider", "arn")},
		{"deployer-function", []string{"spec", "forProvider", "roleRef"}, map[string]any{"name": mrs["deployer-role"].GetName(), "namespace": run.Namespace}},
	})
	checkContains(t, mrs, "ecr-lifecycle-policy", []string{"spec", "forProvider", "policy"}, `"countNumber":25`)
	checkContains(t, mrs, "cross-account-role", []string{"spec", "forProvider", "assumeRolePolicy"}, "444455556666")
	checkOutputs(t, xr, mrs, "eu-west-1")
	checkConditions(t, xr, map[string]string{
		"Ready": "True", "Synced": "True",
		string(v1alpha1.TypeResourcesSynced): "True", string(v1alpha1.TypeResourcesComposed): "True", string(v1alpha1.TypeSourceConnected): "True", string(v1alpha1.TypeDeployStage): "True",
	})
	t.Logf("%d managed resources composed in %s", len(mrs), run.Namespace)
}

// Scenario N2: a namespaced CicdPipeline is updated in place: the same
// managed resources (UIDs) change, AWS gets the new parameters at the
// generation the provider reports, and the pipeline reports the generation
// it observed.
func TestNamespacedUpdateInPlace(t *testing.T) {
	requirePlatform(t)
	xr := loadClaim(t, "namespaced-minimal.yaml", "e2e-ns-update")
	run := applyClaim(t, xr)
	waitClaimReady(t, run, "namespaced update: apply -> Ready")
	before := mustComposed(t, run)

	updated := xr.DeepCopy()
	mustSet(t, updated, int64(3), "spec", "registry", "imagesToKeep")
	mustSet(t, updated, map[string]any{"owner": "team-shop"}, "spec", "tags")
	applied, err := env.client.Apply(env.ctx, updated)
	if err != nil {
		t.Fatalf("cannot update the CicdPipeline: %v", err)
	}
	generation := applied.GetGeneration()

	var after map[string]*unstructured.Unstructured
	took := eventually(t, readyTimeout, "the update never reached the managed resources", func(ctx context.Context) error {
		mrs, err := composedResources(ctx, run)
		if err != nil {
			return err
		}
		if p := nestedString(mrs["ecr-lifecycle-policy"], "spec", "forProvider", "policy"); !strings.Contains(p, `"countNumber":3`) {
			return fmt.Errorf("lifecycle policy not updated: %s", p)
		}
		if tag := nestedString(mrs["ecr-repository"], "spec", "forProvider", "tags", "owner"); tag != "team-shop" {
			return fmt.Errorf("repository tag owner = %q", tag)
		}
		if err := updateApplied(mrs); err != nil {
			return err
		}
		after = mrs
		return nil
	})
	env.recordf("%-44s %s", "namespaced update: change -> MRs changed:", took.Round(time.Millisecond))

	for n, u := range before {
		a, ok := after[n]
		if !ok {
			t.Errorf("%s disappeared on update", n)
			continue
		}
		if a.GetUID() != u.GetUID() {
			t.Errorf("%s was replaced on update (UID %s -> %s)", n, u.GetUID(), a.GetUID())
		}
	}
	if len(after) != len(before) {
		t.Errorf("%d managed resources after the update, %d before", len(after), len(before))
	}
	// The pipeline observed the new generation: Crossplane stamps each
	// condition it sets with the generation it reconciled.
	eventually(t, readyTimeout, "the CicdPipeline never reported the updated generation as Ready", func(ctx context.Context) error {
		u, err := env.client.Get(ctx, namespacedXRGVK, run.Namespace, run.Name)
		if err != nil {
			return err
		}
		for _, typ := range []string{"Ready", "Synced"} {
			status, observed := conditionGeneration(u, typ)
			if status != "True" || observed != generation {
				return fmt.Errorf("%s=%s at observedGeneration %d, want True at %d", typ, status, observed, generation)
			}
		}
		return nil
	})
}

// conditionGeneration returns a condition's status and observedGeneration.
func conditionGeneration(u *unstructured.Unstructured, typ string) (string, int64) {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] != typ {
			continue
		}
		status, _ := m["status"].(string)
		g, _ := m["observedGeneration"].(int64)
		return status, g
	}
	return "", 0
}

// Scenario N3: a namespaced managed resource that turns Synced=False shows
// on the CicdPipeline, named, with the provider's message; it recovers.
func TestNamespacedManagedResourceNotSynced(t *testing.T) {
	requirePlatform(t)
	run := applyClaim(t, loadClaim(t, "namespaced-minimal.yaml", "e2e-ns-notsynced"))
	waitClaimReady(t, run, "namespaced not synced: apply -> Ready")

	const providerError = "update failed: operation error DynamoDB: UpdateTable, api error AccessDeniedException: not authorized to perform dynamodb:UpdateTable"
	release := env.sim.Hold(providersim.Fault{Kind: "Table", Namespace: run.Namespace, Composite: run.Name, SyncError: providerError})
	defer release()
	xr := waitCondition(t, run, string(v1alpha1.TypeResourcesSynced), "False", "deployment-table", providerError)
	if _, _, msg, found := condition(xr, string(v1alpha1.TypeResourcesSynced)); found {
		t.Logf("CicdPipeline says: %s", msg)
	}
	checkConditions(t, xr, map[string]string{"Ready": "True"})

	recovery := since(run)
	release()
	waitCondition(t, run, string(v1alpha1.TypeResourcesSynced), "True")
	waitClaimReady(t, recovery, "namespaced Synced=False: release -> Ready")
}

// Scenario N4: deleting a namespaced CicdPipeline deletes everything it
// composed; the AWS resources go too with the default management policies,
// and stay when Delete is left out of them (Orphan without deletionPolicy).
func TestNamespacedDelete(t *testing.T) {
	requirePlatform(t)
	cases := map[string]struct {
		managementPolicies []any
		wantKept           bool
	}{
		"Delete": {managementPolicies: []any{"*"}, wantKept: false},
		"Orphan": {managementPolicies: namespacedOrphanPolicies, wantKept: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			xr := loadClaim(t, "namespaced-minimal.yaml", "e2e-ns-delete-"+strings.ToLower(name))
			mustSet(t, xr, tc.managementPolicies, "spec", "managementPolicies")
			run := applyClaim(t, xr)
			ready := waitClaimReady(t, run, "namespaced delete: apply -> Ready")
			mrs := mustComposed(t, run)
			checkNamespacedResources(t, ready, mrs, "us-east-1", defaultProviderConfig, tc.managementPolicies)

			began := time.Now()
			if err := deleteObject(env.ctx, namespacedXRGVK, run.Namespace, run.Name); err != nil {
				t.Fatal(err)
			}
			waitGone(t, namespacedXRGVK, run.Namespace, run.Name)
			for _, n := range componentNames(mrs) {
				u := mrs[n]
				waitGone(t, u.GroupVersionKind(), u.GetNamespace(), u.GetName())
			}
			left, err := composedResources(env.ctx, run)
			if err != nil {
				t.Fatal(err)
			}
			if len(left) != 0 {
				t.Errorf("left behind after deleting the CicdPipeline: %v", componentNames(left))
			}
			env.recordf("%-44s %s", "namespaced delete ("+name+"): -> all gone:", time.Since(began).Round(time.Millisecond))
			for _, n := range componentNames(mrs) {
				u := mrs[n]
				if _, kept := env.sim.External(u.GroupVersionKind().GroupKind(), awsName(u)); kept != tc.wantKept {
					t.Errorf("%s (%s %s): AWS resource kept = %t after deleting with managementPolicies %v, want %t", n, u.GetKind(), awsName(u), kept, tc.managementPolicies, tc.wantKept)
				}
			}
		})
	}
}

// Scenario N5: two teams' CicdPipelines with the same name, in two
// namespaces: nothing collides, neither the managed resources (names,
// namespaces, controllers) nor the AWS resources (external names, ARNs),
// and each pipeline's outputs point at its own resources.
func TestNamespacedSideBySide(t *testing.T) {
	requirePlatform(t)
	a := applyClaim(t, loadClaim(t, "namespaced-minimal.yaml", "e2e-ns-side-a"))
	b := applyClaim(t, loadClaim(t, "namespaced-minimal.yaml", "e2e-ns-side-b"))
	if a.Name != b.Name {
		t.Fatalf("the pipelines are named %q and %q: the scenario needs the same name", a.Name, b.Name)
	}
	xrA := waitClaimReady(t, a, "namespaced side by side a: apply -> Ready")
	xrB := waitClaimReady(t, b, "namespaced side by side b: apply -> Ready")
	mrsA, mrsB := mustComposed(t, a), mustComposed(t, b)
	checkComponents(t, mrsA, minimalComponents, 0)
	checkComponents(t, mrsB, minimalComponents, 0)
	checkNamespacedResources(t, xrA, mrsA, "us-east-1", defaultProviderConfig, []any{"*"})
	checkNamespacedResources(t, xrB, mrsB, "us-east-1", defaultProviderConfig, []any{"*"})

	// Within one pipeline some resources report another's ARN (a topic
	// policy's arn parameter is its topic's): only a key of both sides is
	// a collision.
	sideOf := map[string]map[string]string{} // key -> side -> component
	for side, mrs := range map[string]map[string]*unstructured.Unstructured{"a": mrsA, "b": mrsB} {
		for n, u := range mrs {
			keys := []string{"object name " + u.GetKind() + "/" + u.GetName()}
			if en := externalName(u); en != "" {
				keys = append(keys, "AWS name "+u.GetKind()+"/"+en)
			}
			if arn := nestedString(u, "status", "atProvider", "arn"); arn != "" {
				keys = append(keys, "ARN "+arn)
			}
			for _, key := range keys {
				if sideOf[key] == nil {
					sideOf[key] = map[string]string{}
				}
				sideOf[key][side] = n
			}
		}
	}
	for key, sides := range sideOf {
		if len(sides) > 1 {
			t.Errorf("%s used by both pipelines: a/%s and b/%s", key, sides["a"], sides["b"])
		}
	}
	if len(sideOf) < 2*len(minimalComponents) {
		t.Errorf("only %d distinct names and ARNs for two pipelines of %d components", len(sideOf), len(minimalComponents))
	}
	// Each pipeline reports its own resources' names and ARNs (the same
	// derivation as the claims' outputs), and they differ.
	checkOutputs(t, xrA, mrsA, "us-east-1")
	checkOutputs(t, xrB, mrsB, "us-east-1")
	for _, out := range []string{"pipelineArn", "pipelineName", "ecrRepositoryUri", "artifactBucketName", "deploymentTableName", "notificationTopicArn", "connectionArn"} {
		if va, vb := nestedString(xrA, "status", out), nestedString(xrB, "status", out); va == vb {
			t.Errorf("both pipelines report status.%s = %q", out, va)
		}
	}
	// Both exist in AWS at once, each under its own name.
	for side, mrs := range map[string]map[string]*unstructured.Unstructured{"a": mrsA, "b": mrsB} {
		p := mrs["pipeline"]
		if _, ok := env.sim.External(p.GroupVersionKind().GroupKind(), awsName(p)); !ok {
			t.Errorf("%s: pipeline %s is not in AWS", side, awsName(p))
		}
	}
}
