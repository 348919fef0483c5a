//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1"
	"github.com/cicd-platform/crossplane-cicd-pipeline/test/e2e/internal/providersim"
)

// Scenario 1: the minimal claim composes every expected resource with the
// expected spec, becomes Ready and reports every output.
func TestMinimalClaim(t *testing.T) {
	requirePlatform(t)
	run := applyClaim(t, loadClaim(t, "claim-minimal.yaml", "e2e-minimal"))
	claim := waitClaimReady(t, run, "minimal claim: apply -> Ready")
	mrs := mustComposed(t, run)

	checkComponents(t, mrs, minimalComponents, 0)
	checkAllHealthy(t, mrs, "us-east-1", "default", "Delete")
	checkFields(t, mrs, []fieldCheck{
		// Build tags are unique, so tags are immutable by default.
		{"ecr-repository", []string{"spec", "forProvider", "imageTagMutability"}, "IMMUTABLE"},
		{"ecr-repository", []string{"spec", "forProvider", "forceDelete"}, true},
		{"ecr-repository", []string{"spec", "forProvider", "tags", "environment"}, "dev"},
		{"ecr-repository", []string{"spec", "forProvider", "tags", "managed-by"}, "crossplane"},
		{"codestar-connection", []string{"spec", "forProvider", "providerType"}, "GitHub"},
		{"test-project", []string{"spec", "forProvider", "environment", "computeType"}, "BUILD_GENERAL1_SMALL"},
		{"build-project", []string{"spec", "forProvider", "environment", "computeType"}, "BUILD_GENERAL1_MEDIUM"},
	})
	checkContains(t, mrs, "ecr-lifecycle-policy", []string{"spec", "forProvider", "policy"}, `"countNumber":10`)
	// The provider resolved the selectors the function wired (simulated
	// the way provider-aws resolves them).
	checkFields(t, mrs, []fieldCheck{
		{"ecr-lifecycle-policy", []string{"spec", "forProvider", "repository"}, externalName(mrs["ecr-repository"])},
		{"artifact-bucket-versioning", []string{"spec", "forProvider", "bucket"}, externalName(mrs["artifact-bucket"])},
	})
	checkOutputs(t, claim, mrs, "us-east-1")
	checkConditions(t, claim, map[string]string{
		"Ready": "True", "Synced": "True",
		string(v1alpha1.TypeResourcesSynced): "True", string(v1alpha1.TypeResourcesComposed): "True", string(v1alpha1.TypeSourceConnected): "True",
		// The minimal claim names no deployer image: the Deploy stage is
		// left out, and the claim says so.
		string(v1alpha1.TypeDeployStage): "False",
	})
	t.Logf("%d managed resources composed", len(mrs))
}

// Scenario 2: a claim that sets every parameter gets the optional resources
// too, all carrying its parameters.
func TestFullClaim(t *testing.T) {
	requirePlatform(t)
	run := applyClaim(t, loadClaim(t, "claim-full.yaml", "e2e-full"))
	claim := waitClaimReady(t, run, "full claim: apply -> Ready")
	mrs := mustComposed(t, run)

	checkComponents(t, mrs, append(append([]string(nil), minimalComponents...), fullOnlyComponents...), 2)
	checkAllHealthy(t, mrs, "eu-west-1", "aws-payments", "Delete")
	checkFields(t, mrs, []fieldCheck{
		{"ecr-repository", []string{"spec", "forProvider", "imageTagMutability"}, "IMMUTABLE"},
		{"ecr-repository", []string{"spec", "forProvider", "tags", "team"}, "payments"},
		{"ecr-repository", []string{"spec", "forProvider", "tags", "cost-center"}, "cc-1234"},
		{"ecr-repository", []string{"spec", "forProvider", "tags", "environment"}, "prod"},
		{"codestar-connection", []string{"spec", "forProvider", "providerType"}, "GitLab"},
		{"build-project", []string{"spec", "forProvider", "environment", "computeType"}, "BUILD_GENERAL1_LARGE"},
		{"test-project", []string{"spec", "forProvider", "environment", "computeType"}, "BUILD_GENERAL1_MEDIUM"},
		{"deployer-function", []string{"spec", "forProvider", "imageUri"}, "111122223333.dkr.ecr.eu-west-1.amazonaws.com/cicd-deployer:v1.0.0"},
		{"deployer-function", []string{"spec", "forProvider", "memorySize"}, int64(512)},
		{"deployer-function", []string{"spec", "forProvider", "timeout"}, int64(60)},
		{"deployer-function", []string{"spec", "forProvider", "reservedConcurrentExecutions"}, int64(5)},
		{"deployer-errors-alarm", []string{"spec", "forProvider", "threshold"}, int64(3)},
		{"deployer-errors-alarm", []string{"spec", "forProvider", "period"}, int64(60)},
		{"deployer-errors-alarm", []string{"spec", "forProvider", "evaluationPeriods"}, int64(2)},
	})
	checkContains(t, mrs, "ecr-lifecycle-policy", []string{"spec", "forProvider", "policy"}, `"countNumber":25`)
	checkContains(t, mrs, "cross-account-role", []string{"spec", "forProvider", "assumeRolePolicy"}, "444455556666")
	var endpoints []string
	for n, u := range mrs {
		if strings.HasPrefix(n, "email-subscription-") {
			endpoints = append(endpoints, nestedString(u, "spec", "forProvider", "endpoint"))
		}
	}
	for _, want := range []string{"payments-oncall@example.com", "platform@example.com"} {
		if !slices.Contains(endpoints, want) {
			t.Errorf("no e-mail subscription for %s (got %v)", want, endpoints)
		}
	}
	checkOutputs(t, claim, mrs, "eu-west-1")
	checkConditions(t, claim, map[string]string{
		"Ready": "True", "Synced": "True",
		string(v1alpha1.TypeResourcesSynced): "True", string(v1alpha1.TypeResourcesComposed): "True", string(v1alpha1.TypeSourceConnected): "True", string(v1alpha1.TypeDeployStage): "True",
	})
	t.Logf("%d managed resources composed", len(mrs))
}

// Scenario 3: mutable parameters change the managed resources in place; the
// immutable suffix is rejected by the API server with the XRD's message.
func TestUpdateInPlace(t *testing.T) {
	requirePlatform(t)
	claim := loadClaim(t, "claim-minimal.yaml", "e2e-update")
	run := applyClaim(t, claim)
	waitClaimReady(t, run, "update: apply -> Ready")
	before := mustComposed(t, run)

	updated := claim.DeepCopy()
	mustSet(t, updated, int64(3), "spec", "registry", "imagesToKeep")
	mustSet(t, updated, map[string]any{"owner": "team-shop"}, "spec", "tags")
	mustSet(t, updated, []any{"shop-alerts@example.com"}, "spec", "notifications", "emails")
	updatedAt := time.Now()
	if _, err := env.client.Apply(env.ctx, updated); err != nil {
		t.Fatalf("cannot update the claim: %v", err)
	}

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
		subs := 0
		for n, u := range mrs {
			if strings.HasPrefix(n, "email-subscription-") {
				subs++
				if s, _, _, _ := condition(u, "Ready"); s != "True" {
					return fmt.Errorf("subscription %s not ready", n)
				}
			}
		}
		if subs != 1 {
			return fmt.Errorf("%d e-mail subscriptions, want 1", subs)
		}
		if err := updateApplied(mrs); err != nil {
			return err
		}
		after = mrs
		return nil
	})
	env.recordf("%-44s %s", "update: change -> managed resources changed:", took.Round(time.Millisecond))
	t.Logf("update reached the managed resources %s after apply", time.Since(updatedAt).Round(time.Millisecond))

	// In place: the same objects (UIDs), and so the same AWS resources.
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
	waitClaimReady(t, since(run), "update: resources changed -> claim Ready")

	// The environment suffix names every AWS resource: changing it would
	// replace them all, so the XRD forbids it.
	immutable := updated.DeepCopy()
	mustSet(t, immutable, "stg", "spec", "environmentSuffix")
	_, err := env.client.Apply(env.ctx, immutable)
	if err == nil {
		t.Fatal("changing spec.environmentSuffix was accepted, want it rejected")
	}
	if !strings.Contains(err.Error(), "spec.environmentSuffix is immutable") {
		t.Errorf("rejection of a changed suffix = %v, want the XRD's message (spec.environmentSuffix is immutable)", err)
	}
}

// Scenario 4: a managed resource that turns Synced=False shows on the claim,
// named, with the provider's message; when it recovers, so does the claim.
// A PENDING CodeStar connection holds the claim not ready with instructions.
func TestManagedResourceNotSynced(t *testing.T) {
	requirePlatform(t)
	run := applyClaim(t, loadClaim(t, "claim-minimal.yaml", "e2e-notsynced"))
	waitClaimReady(t, run, "not synced: apply -> Ready")

	t.Run("SyncedFalse", func(t *testing.T) {
		const providerError = "update failed: operation error DynamoDB: UpdateTable, api error AccessDeniedException: not authorized to perform dynamodb:UpdateTable"
		release := env.sim.Hold(providersim.Fault{Kind: "Table", ClaimNamespace: run.Namespace, SyncError: providerError})
		defer release()
		claim := waitCondition(t, run, string(v1alpha1.TypeResourcesSynced), "False", "deployment-table", providerError)
		_, _, msg, _ := condition(claim, string(v1alpha1.TypeResourcesSynced))
		t.Logf("claim says: %s", msg)
		// The function's decision: a failed update leaves the table as last
		// applied, working, so the claim stays Ready and says what failed.
		checkConditions(t, claim, map[string]string{"Ready": "True"})

		recovery := since(run)
		release()
		waitCondition(t, run, string(v1alpha1.TypeResourcesSynced), "True")
		waitClaimReady(t, recovery, "Synced=False: release -> Ready")
	})

	t.Run("NotReady", func(t *testing.T) {
		release := env.sim.Hold(providersim.Fault{Kind: "Bucket", ClaimNamespace: run.Namespace, NotReady: true})
		defer release()
		waitCondition(t, run, "Ready", "False")
		recovery := since(run)
		release()
		waitClaimReady(t, recovery, "not ready: release -> Ready")
	})
}

// Scenario 4 (continued): AWS creates CodeStar connections PENDING until an
// administrator completes the handshake; the claim says what to do and is
// not Ready until then.
func TestConnectionPending(t *testing.T) {
	requirePlatform(t)
	// No handshake yet: the connection stays PENDING, as AWS creates it.
	run := applyClaimPending(t, loadClaim(t, "claim-minimal.yaml", "e2e-pending"))

	pending, _, msg := waitFalseConditionMentioning(t, run, "PENDING")
	t.Logf("claim says: %s", msg)
	checkConditions(t, pending, map[string]string{string(v1alpha1.TypeSourceConnected): "False", "Ready": "False"})
	if _, reason, _, _ := condition(pending, string(v1alpha1.TypeSourceConnected)); reason != string(v1alpha1.ReasonConnectionPending) {
		t.Errorf("SourceConnected reason = %q, want %q", reason, v1alpha1.ReasonConnectionPending)
	}
	eventually(t, readyTimeout, "claim never reported connectionStatus PENDING", func(ctx context.Context) error {
		u, err := env.client.Get(ctx, claimGVK, run.Namespace, run.Name)
		if err != nil {
			return err
		}
		if got := nestedString(u, "status", "connectionStatus"); got != "PENDING" {
			return fmt.Errorf("status.connectionStatus = %q", got)
		}
		return nil
	})

	recovery := since(run)
	env.sim.CompleteHandshake(run.Namespace, run.Name)
	waitClaimReady(t, recovery, "connection PENDING -> AVAILABLE -> Ready")
}

// Scenario 5: a bad claim is rejected when applied; a claim that passes the
// schema but fails the function's checks composes nothing and says why.
func TestRejectedClaims(t *testing.T) {
	requirePlatform(t)
	createNamespace(t, "e2e-rejected")

	cases := map[string]struct {
		mutate  func(u *unstructured.Unstructured)
		message string
	}{
		"RepositoryNotOwnerSlashName": {
			mutate:  func(u *unstructured.Unstructured) { mustSet(t, u, "shop", "spec", "source", "repository") },
			message: "spec.source.repository must be owner/name",
		},
		"ConnectionArnWithCodeCommit": {
			mutate: func(u *unstructured.Unstructured) {
				mustSet(t, u, "CodeCommit", "spec", "source", "provider")
				mustSet(t, u, "shop", "spec", "source", "repository")
				mustSet(t, u, "arn:aws:codestar-connections:us-east-1:123456789012:connection/x", "spec", "source", "connectionArn")
			},
			message: "spec.source.connectionArn must not be set",
		},
		"MissingEnvironmentSuffix": {
			mutate: func(u *unstructured.Unstructured) {
				unstructured.RemoveNestedField(u.Object, "spec", "environmentSuffix")
			},
			message: "spec.environmentSuffix: Required value",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			claim := loadClaim(t, "claim-minimal.yaml", "e2e-rejected")
			claim.SetName("rejected-" + strings.ToLower(name))
			tc.mutate(claim)
			_, err := env.client.Apply(env.ctx, claim)
			if err == nil {
				_ = deleteObject(context.Background(), claimGVK, claim.GetNamespace(), claim.GetName())
				t.Fatalf("claim accepted, want it rejected with %q", tc.message)
			}
			if !strings.Contains(err.Error(), tc.message) {
				t.Errorf("rejection = %v, want it to contain %q", err, tc.message)
			}
		})
	}

	t.Run("FailsFunctionChecks", func(t *testing.T) {
		// Valid for the schema, which checks the deployer image's region
		// only against a spec.region the claim sets; the function checks
		// it against the effective region (here the built-in us-east-1):
		// only the function knows.
		claim := loadClaim(t, "claim-minimal.yaml", "e2e-rejected")
		mustSet(t, claim, map[string]any{
			"image":   "123456789012.dkr.ecr.eu-west-1.amazonaws.com/deployer:v1",
			"targets": []any{map[string]any{"functionName": "api"}},
		}, "spec", "deployer")
		run := claimRun{Namespace: claim.GetNamespace(), Name: claim.GetName(), Applied: time.Now()}
		if _, err := env.client.Apply(env.ctx, claim); err != nil {
			t.Fatalf("claim rejected at apply, want it accepted by the schema: %v", err)
		}
		t.Cleanup(func() { deleteClaimAndWait(t, run) })
		// The claim is where its user looks: Crossplane copies Ready and
		// the function's claim-targeted conditions to it, not the XR's
		// Synced, so the function must say why in a condition of its own.
		got, typ, msg := waitFalseConditionMentioning(t, run, "spec.deployer.image must be in an ECR repository in spec.region")
		t.Logf("claim says (%s): %s", typ, msg)
		if s, _, _, _ := condition(got, "Ready"); s == "True" {
			t.Errorf("claim is Ready although its function failed")
		}
		mrs, err := composedResources(env.ctx, run)
		if err != nil {
			t.Fatal(err)
		}
		if len(mrs) != 0 {
			t.Errorf("a claim the function rejects composed %v", componentNames(mrs))
		}
	})
}

// Scenario 6: deleting the claim deletes everything composed, and the AWS
// resources with it (deletionPolicy Delete) or not (Orphan).
func TestDeleteClaim(t *testing.T) {
	requirePlatform(t)
	for policy, wantKept := range map[string]bool{"Delete": false, "Orphan": true} {
		t.Run(policy, func(t *testing.T) {
			claim := loadClaim(t, "claim-minimal.yaml", "e2e-delete-"+strings.ToLower(policy))
			mustSet(t, claim, policy, "spec", "deletionPolicy")
			testDeleteClaim(t, claim, policy, wantKept)
		})
	}
}

func testDeleteClaim(t *testing.T, c *unstructured.Unstructured, policy string, wantKept bool) {
	run := applyClaim(t, c)
	claim := waitClaimReady(t, run, "delete: apply -> Ready")
	mrs := mustComposed(t, run)
	xrName := nestedString(claim, "spec", "resourceRef", "name")
	if xrName == "" {
		t.Fatalf("claim has no spec.resourceRef.name")
	}

	began := time.Now()
	if err := deleteObject(env.ctx, claimGVK, run.Namespace, run.Name); err != nil {
		t.Fatal(err)
	}
	waitGone(t, claimGVK, run.Namespace, run.Name)
	waitGone(t, xrGVK, "", xrName)
	for _, n := range componentNames(mrs) {
		u := mrs[n]
		waitGone(t, u.GroupVersionKind(), "", u.GetName())
	}
	left, err := composedResources(env.ctx, run)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("left behind after deleting the claim: %v", componentNames(left))
	}
	env.recordf("%-44s %s", "delete ("+policy+"): delete -> everything gone:", time.Since(began).Round(time.Millisecond))
	for _, n := range componentNames(mrs) {
		u := mrs[n]
		if nestedString(u, "spec", "deletionPolicy") != policy {
			t.Errorf("%s: spec.deletionPolicy %q, want %q", n, nestedString(u, "spec", "deletionPolicy"), policy)
		}
		if _, kept := env.sim.External(u.GroupVersionKind().GroupKind(), awsName(u)); kept != wantKept {
			t.Errorf("%s (%s %s): AWS resource kept = %t after deleting the claim with deletionPolicy %s, want %t", n, u.GetKind(), awsName(u), kept, policy, wantKept)
		}
	}
}

// Scenario 7: the same claim in two namespaces composes two sets of
// resources whose names (Kubernetes and AWS) never collide.
func TestClaimsSideBySide(t *testing.T) {
	requirePlatform(t)
	a := applyClaim(t, loadClaim(t, "claim-minimal.yaml", "e2e-side-a"))
	b := applyClaim(t, loadClaim(t, "claim-minimal.yaml", "e2e-side-b"))
	claimA := waitClaimReady(t, a, "side by side a: apply -> Ready")
	claimB := waitClaimReady(t, b, "side by side b: apply -> Ready")
	mrsA, mrsB := mustComposed(t, a), mustComposed(t, b)
	checkComponents(t, mrsA, minimalComponents, 0)
	checkComponents(t, mrsB, minimalComponents, 0)

	seen := map[string]string{}
	for side, mrs := range map[string]map[string]*unstructured.Unstructured{"a": mrsA, "b": mrsB} {
		for n, u := range mrs {
			keys := []string{"object " + u.GetKind() + "/" + u.GetName()}
			if en := externalName(u); en != "" {
				keys = append(keys, "AWS name "+u.GetKind()+"/"+en)
			}
			for _, key := range keys {
				if other, dup := seen[key]; dup {
					t.Errorf("%s used by both %s and %s/%s", key, other, side, n)
				}
				seen[key] = side + "/" + n
			}
		}
	}
	for _, out := range []string{"pipelineArn", "ecrRepositoryUri", "artifactBucketName", "deploymentTableName", "notificationTopicArn"} {
		if va, vb := nestedString(claimA, "status", out), nestedString(claimB, "status", out); va == vb {
			t.Errorf("both claims report status.%s = %q", out, va)
		}
	}
}

// since returns the claim's run with the clock started now, to time a
// recovery rather than the whole life of the claim.
func since(run claimRun) claimRun {
	run.Applied = time.Now()
	return run
}

func mustSet(t *testing.T, u *unstructured.Unstructured, value any, path ...string) {
	t.Helper()
	if err := unstructured.SetNestedField(u.Object, value, path...); err != nil {
		t.Fatalf("cannot set %s: %v", strings.Join(path, "."), err)
	}
}

// Scenario 8: pipelines with long names compose, resolve every reference
// and become Ready. A claim of 44 characters is the longest whose composed
// resources' names (the XR's name, which adds six characters to the
// claim's, a dash and a 12-character hash) fit 63 characters untruncated;
// there was a report of "no Bucket matches the selector" at exactly this
// length. 57 characters make the XR's name 63, the longest label value
// (crossplane.io/composite); a namespaced CicdPipeline is its own XR, so
// 63 there. Longer ones truncate the composed names. The AWS names the
// function derives are shortened to fit their limits (S3 bucket 63,
// CodeStar connection 32:
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html,
// https://docs.aws.amazon.com/codestar-connections/latest/APIReference/API_CreateConnection.html).
func TestLongClaimName(t *testing.T) {
	requirePlatform(t)
	cases := map[string]struct {
		example, namespace string
		length             int
	}{
		"Claim44":      {"claim-minimal.yaml", "e2e-long-claim-44", 44},
		"Claim57":      {"claim-minimal.yaml", "e2e-long-claim-57", 57},
		"Namespaced44": {"namespaced-minimal.yaml", "e2e-long-namespaced-44", 44},
		"Namespaced63": {"namespaced-minimal.yaml", "e2e-long-namespaced-63", 63},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			long := strings.Repeat("payments-gateway-for-the-checkout-service-", 2)[:tc.length-3] + "-v1"
			c := loadClaim(t, tc.example, tc.namespace)
			c.SetName(long)
			run := applyClaim(t, c)
			got := waitClaimReady(t, run, "long name ("+name+"): apply -> Ready")
			mrs := mustComposed(t, run)
			checkComponents(t, mrs, minimalComponents, 0)
			checkEveryResource(t, mrs, "us-east-1", nil)
			checkFields(t, mrs, []fieldCheck{
				{"artifact-bucket-versioning", []string{"spec", "forProvider", "bucket"}, externalName(mrs["artifact-bucket"])},
				{"ecr-lifecycle-policy", []string{"spec", "forProvider", "repository"}, externalName(mrs["ecr-repository"])},
			})
			for component, limit := range map[string]int{"artifact-bucket": 63, "cache-bucket": 63, "codestar-connection": 32} {
				// A connection's name is a parameter; AWS names it by ARN.
				n := externalName(mrs[component])
				if n == "" {
					n = nestedString(mrs[component], "spec", "forProvider", "name")
				}
				if n == "" || len(n) > limit {
					t.Errorf("%s: AWS name %q (%d characters), want 1 to %d", component, n, len(n), limit)
				}
			}
			checkOutputs(t, got, mrs, "us-east-1")
		})
	}
}

// updateApplied checks the update of the example's lifecycle policy on the
// provider's side: AWS has the new policy at the managed resource's
// generation, and the provider reports the generation it applied.
func updateApplied(mrs map[string]*unstructured.Unstructured) error {
	lp := mrs["ecr-lifecycle-policy"]
	ext, ok := env.sim.External(lp.GroupVersionKind().GroupKind(), awsName(lp))
	if !ok {
		return fmt.Errorf("the lifecycle policy %s is not in AWS", awsName(lp))
	}
	if p, _ := ext.ForProvider["policy"].(string); !strings.Contains(p, `"countNumber":3`) || ext.Generation != lp.GetGeneration() {
		return fmt.Errorf("AWS has generation %d of the lifecycle policy (%s), want %d", ext.Generation, p, lp.GetGeneration())
	}
	for _, n := range []string{"ecr-lifecycle-policy", "ecr-repository"} {
		u := mrs[n]
		if g, _, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration"); g != u.GetGeneration() {
			return fmt.Errorf("%s: status.observedGeneration %d, generation %d", n, g, u.GetGeneration())
		}
	}
	return nil
}
