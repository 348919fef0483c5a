//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/providerfake"
)

// Labels and annotations the project's function and Crossplane put on
// composed resources.
const (
	labelComponent      = "cicd.platform.dev/component"
	labelClaimName      = "crossplane.io/claim-name"
	labelClaimNamespace = "crossplane.io/claim-namespace"
	labelComposite      = "crossplane.io/composite"
	annotationExtName   = "crossplane.io/external-name"
)

// minimalComponents are the resources examples/claim-minimal.yaml composes
// (GitHub source through a new CodeStar connection, tests on, no deployer
// image, no e-mails, no cross-account role).
var minimalComponents = []string{
	"artifact-bucket", "artifact-bucket-encryption", "artifact-bucket-lifecycle", "artifact-bucket-policy",
	"artifact-bucket-public-access-block", "artifact-bucket-versioning",
	"build-log-group", "build-project",
	"cache-bucket", "cache-bucket-encryption", "cache-bucket-lifecycle", "cache-bucket-policy", "cache-bucket-public-access-block",
	"codebuild-role", "codebuild-role-policy", "codebuild-role-policy-attachment",
	"codebuild-test-role", "codebuild-test-role-policy", "codebuild-test-role-policy-attachment",
	"codepipeline-role", "codepipeline-role-policy", "codepipeline-role-policy-attachment",
	"codestar-connection",
	"deployment-table",
	"ecr-lifecycle-policy", "ecr-repository", "ecr-repository-policy",
	"notification-topic", "notification-topic-policy",
	"pipeline", "pipeline-failed-rule", "pipeline-failed-target",
	"test-log-group", "test-project",
}

// fullOnlyComponents are what examples/claim-full.yaml adds: the deployer
// Lambda with its role, log group, targets item and alarms, the
// cross-account role, and one e-mail subscription per address
// (email-subscription-<hash>, counted by prefix).
var fullOnlyComponents = []string{
	"cross-account-role", "cross-account-role-policy", "cross-account-role-policy-attachment",
	"deploy-targets-item",
	"deployer-errors-alarm", "deployer-function", "deployer-log-group", "deployer-rollback-failed-alarm",
	"deployer-role", "deployer-role-policy", "deployer-role-policy-attachment",
}

// claimRun is one claim applied by a test, or one namespaced CicdPipeline
// (Namespaced): that one is its own composite resource, in the team's
// namespace with the managed resources it composes. The helpers below serve
// both APIs.
type claimRun struct {
	Namespace, Name string
	Applied         time.Time
	Namespaced      bool
}

// gvk is the kind of the object the user applied.
func (r claimRun) gvk() schema.GroupVersionKind {
	if r.Namespaced {
		return namespacedXRGVK
	}
	return claimGVK
}

// loadClaim reads an example claim (or namespaced CicdPipeline) and moves it
// to namespace, so that each test has its own.
func loadClaim(t *testing.T, example, namespace string) *unstructured.Unstructured {
	t.Helper()
	objs := readYAML(t, filepath.Join(env.cfg.RepoRoot, "examples", example))
	if len(objs) != 1 || (objs[0].GroupVersionKind() != claimGVK && objs[0].GroupVersionKind() != namespacedXRGVK) {
		t.Fatalf("examples/%s: want exactly one %s or %s", example, claimGVK, namespacedXRGVK)
	}
	c := objs[0]
	c.SetNamespace(namespace)
	return c
}

// applyClaim creates the claim's namespace and applies it; an administrator
// then completes the handshake of its CodeStar connection, which AWS (and
// the simulator) creates PENDING. It applies a namespaced CicdPipeline the
// same way.
func applyClaim(t *testing.T, claim *unstructured.Unstructured) claimRun {
	t.Helper()
	run := applyClaimPending(t, claim)
	if run.Namespaced {
		env.sim.CompleteCompositeHandshake(run.Namespace, run.Name)
	} else {
		env.sim.CompleteHandshake(run.Namespace, run.Name)
	}
	return run
}

// applyClaimPending applies the claim and leaves its connection PENDING.
// When the test ends the claim is deleted and the test waits until it and
// everything composed for it are gone, so that no teardown overlaps the
// next test.
func applyClaimPending(t *testing.T, claim *unstructured.Unstructured) claimRun {
	t.Helper()
	createNamespace(t, claim.GetNamespace())
	run := claimRun{Namespace: claim.GetNamespace(), Name: claim.GetName(), Applied: time.Now(), Namespaced: claim.GroupVersionKind() == namespacedXRGVK}
	if _, err := env.client.Apply(env.ctx, claim); err != nil {
		t.Fatalf("cannot apply %s: %v", claim.GetKind(), err)
	}
	t.Cleanup(func() { deleteClaimAndWait(t, run) })
	return run
}

// deleteClaimAndWait deletes a claim and waits until it and everything
// composed for it are gone. Claims go before their namespace, so that
// composed resources do not outlive the test (the controller manager's
// garbage collector removes them with the XR).
func deleteClaimAndWait(t *testing.T, run claimRun) {
	t.Helper()
	ctx := context.Background()
	if err := deleteObject(ctx, run.gvk(), run.Namespace, run.Name); err != nil {
		t.Errorf("cannot delete claim %s/%s: %v", run.Namespace, run.Name, err)
		return
	}
	deadline := time.Now().Add(deleteTimeout)
	for {
		_, getErr := env.client.Get(ctx, run.gvk(), run.Namespace, run.Name)
		left, err := composedResources(ctx, run)
		if err == nil && len(left) == 0 && kerrors.IsNotFound(getErr) {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("teardown: claim %s/%s (get: %v) or its resources %v (list: %v) still exist %s after deletion",
				run.Namespace, run.Name, getErr, componentNames(left), err, deleteTimeout)
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// waitClaimReady waits until the claim is Ready, records the time from apply
// to Ready, and returns the claim.
func waitClaimReady(t *testing.T, run claimRun, label string) *unstructured.Unstructured {
	t.Helper()
	var claim *unstructured.Unstructured
	eventually(t, readyTimeout, fmt.Sprintf("claim %s/%s never became Ready", run.Namespace, run.Name), func(ctx context.Context) error {
		u, err := env.client.Get(ctx, run.gvk(), run.Namespace, run.Name)
		if err != nil {
			return err
		}
		if status, _, _, _ := condition(u, "Ready"); status != "True" {
			return fmt.Errorf("not Ready: %s\n%s", conditionsSummary(u), describeComposition(ctx, u, run))
		}
		claim = u
		return nil
	})
	took := time.Since(run.Applied)
	t.Logf("claim %s/%s Ready after %s (%s)", run.Namespace, run.Name, took.Round(time.Millisecond), label)
	env.recordf("%-44s %s", label+":", took.Round(time.Millisecond))
	return claim
}

// composedResources returns the managed resources composed for a claim (by
// its claim labels), keyed by component label; for a namespaced
// CicdPipeline, the namespaced ones in its namespace labelled with it as
// their composite.
func composedResources(ctx context.Context, run claimRun) (map[string]*unstructured.Unstructured, error) {
	out := map[string]*unstructured.Unstructured{}
	kinds, namespace := env.kinds, ""
	selector := fmt.Sprintf("%s=%s,%s=%s", labelClaimNamespace, run.Namespace, labelClaimName, run.Name)
	if run.Namespaced {
		kinds, namespace = env.namespacedKinds, run.Namespace
		selector = labelComposite + "=" + run.Name
	}
	for _, gvk := range kinds {
		items, err := env.client.List(ctx, gvk, namespace, selector)
		if err != nil {
			return nil, err
		}
		for i := range items {
			u := &items[i]
			component := u.GetLabels()[labelComponent]
			if component == "" {
				return nil, fmt.Errorf("%s %s has no %s label", u.GetKind(), u.GetName(), labelComponent)
			}
			if other, dup := out[component]; dup {
				return nil, fmt.Errorf("component %s composed twice: %s %s and %s %s", component, other.GetKind(), other.GetName(), u.GetKind(), u.GetName())
			}
			out[component] = u
		}
	}
	return out, nil
}

func mustComposed(t *testing.T, run claimRun) map[string]*unstructured.Unstructured {
	t.Helper()
	mrs, err := composedResources(env.ctx, run)
	if err != nil {
		t.Fatal(err)
	}
	return mrs
}

// componentNames lists the components, e-mail subscriptions folded into one
// entry per address count.
func componentNames(mrs map[string]*unstructured.Unstructured) []string {
	names := make([]string, 0, len(mrs))
	for n := range mrs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// checkComponents compares the composed components with the expected ones;
// emails is the number of email-subscription-* components expected.
func checkComponents(t *testing.T, mrs map[string]*unstructured.Unstructured, want []string, emails int) {
	t.Helper()
	var got []string
	gotEmails := 0
	for _, n := range componentNames(mrs) {
		if strings.HasPrefix(n, "email-subscription-") {
			gotEmails++
			continue
		}
		got = append(got, n)
	}
	want = append([]string(nil), want...)
	sort.Strings(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("composed components (-want +got):\n%s", diff)
	}
	if gotEmails != emails {
		t.Errorf("composed %d e-mail subscriptions, want %d", gotEmails, emails)
	}
}

// checkAllHealthy requires every composed resource to be Ready and Synced
// and to carry what every resource of the claim must: its region (except
// global IAM), provider config and deletion policy.
func checkAllHealthy(t *testing.T, mrs map[string]*unstructured.Unstructured, region, providerConfig, deletionPolicy string) {
	t.Helper()
	checkEveryResource(t, mrs, region, []specField{
		{[]string{"spec", "providerConfigRef", "name"}, providerConfig},
		{[]string{"spec", "deletionPolicy"}, deletionPolicy},
	})
}

// specField is a value every composed resource must have at path; a nil
// want requires the field to be absent.
type specField struct {
	path []string
	want any
}

// checkEveryResource requires every composed resource to be Ready and
// Synced, in region (except global IAM), with the fields given.
func checkEveryResource(t *testing.T, mrs map[string]*unstructured.Unstructured, region string, fields []specField) {
	t.Helper()
	for _, n := range componentNames(mrs) {
		u := mrs[n]
		for _, typ := range []string{"Ready", "Synced"} {
			if s, _, _, _ := condition(u, typ); s != "True" {
				t.Errorf("%s (%s %s) is not %s: %s", n, u.GetKind(), u.GetName(), typ, conditionsSummary(u))
			}
		}
		// IAM is global: its kinds (in either scope) have no region.
		if got := nestedString(u, "spec", "forProvider", "region"); got != region && providerfake.ClusterGroup(u.GroupVersionKind().Group) != "iam.aws.upbound.io" {
			t.Errorf("%s: spec.forProvider.region = %q, want %q", n, got, region)
		}
		for _, f := range fields {
			got, found, _ := unstructured.NestedFieldNoCopy(u.Object, f.path...)
			if f.want == nil {
				if found {
					t.Errorf("%s: %s = %v, want it absent", n, strings.Join(f.path, "."), got)
				}
				continue
			}
			if diff := cmp.Diff(f.want, got); diff != "" {
				t.Errorf("%s: %s (-want +got):\n%s", n, strings.Join(f.path, "."), diff)
			}
		}
	}
}

// fieldCheck expects a value at a path of a component's object.
type fieldCheck struct {
	component string
	path      []string
	want      any
}

func checkFields(t *testing.T, mrs map[string]*unstructured.Unstructured, checks []fieldCheck) {
	t.Helper()
	for _, c := range checks {
		u, ok := mrs[c.component]
		if !ok {
			t.Errorf("%s: not composed", c.component)
			continue
		}
		got, found, err := unstructured.NestedFieldNoCopy(u.Object, c.path...)
		if err != nil || !found {
			t.Errorf("%s: %s not set", c.component, strings.Join(c.path, "."))
			continue
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%s: %s (-want +got):\n%s", c.component, strings.Join(c.path, "."), diff)
		}
	}
}

// checkContains expects a string field of a component to contain a text
// (for JSON documents such as policies).
func checkContains(t *testing.T, mrs map[string]*unstructured.Unstructured, component string, path []string, texts ...string) {
	t.Helper()
	u, ok := mrs[component]
	if !ok {
		t.Errorf("%s: not composed", component)
		return
	}
	got := nestedString(u, path...)
	for _, text := range texts {
		if !strings.Contains(got, text) {
			t.Errorf("%s: %s = %q, want it to contain %q", component, strings.Join(path, "."), got, text)
		}
	}
}

// externalName is the AWS name the function gave a resource.
func externalName(u *unstructured.Unstructured) string {
	return u.GetAnnotations()[annotationExtName]
}

// awsName is the name the provider creates the resource under: the external
// name, or, without one, the object's name (as crossplane-runtime sets it).
func awsName(u *unstructured.Unstructured) string {
	if n := externalName(u); n != "" {
		return n
	}
	return u.GetName()
}

// wantOutputs computes the claim's status outputs from the composed
// resources' AWS names, the way the provider (here the simulator) reports
// ARNs and URLs for them.
func wantOutputs(mrs map[string]*unstructured.Unstructured, region string) map[string]any {
	name := func(c string) string {
		if u, ok := mrs[c]; ok {
			return externalName(u)
		}
		return "<" + c + " not composed>"
	}
	pipeline := name("pipeline")
	out := map[string]any{
		"pipelineName":         pipeline,
		"pipelineArn":          fmt.Sprintf("arn:aws:codepipeline:%s:%s:%s", region, simulatedAccount, pipeline),
		"pipelineUrl":          fmt.Sprintf("https://%s.console.aws.amazon.com/codesuite/codepipeline/pipelines/%s/view?region=%s", region, pipeline, region),
		"ecrRepositoryUri":     fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com/%s", simulatedAccount, region, name("ecr-repository")),
		"deploymentTableName":  name("deployment-table"),
		"artifactBucketName":   name("artifact-bucket"),
		"notificationTopicArn": fmt.Sprintf("arn:aws:sns:%s:%s:%s", region, simulatedAccount, name("notification-topic")),
		"connectionStatus":     "AVAILABLE",
	}
	if u, ok := mrs["codestar-connection"]; ok {
		out["connectionArn"] = nestedString(u, "status", "atProvider", "arn")
	}
	if _, ok := mrs["deployer-function"]; ok {
		out["lambdaFunctionArn"] = fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", region, simulatedAccount, name("deployer-function"))
	}
	if _, ok := mrs["cross-account-role"]; ok {
		out["crossAccountRoleArn"] = fmt.Sprintf("arn:aws:iam::%s:role/%s", simulatedAccount, name("cross-account-role"))
	}
	return out
}

func checkOutputs(t *testing.T, claim *unstructured.Unstructured, mrs map[string]*unstructured.Unstructured, region string) {
	t.Helper()
	status, _, _ := unstructured.NestedMap(claim.Object, "status")
	got := map[string]any{}
	for k, v := range status {
		// effective is not an output: TestPlatformDefaults checks it.
		if k != "conditions" && k != "connectionDetails" && k != "effective" {
			got[k] = v
		}
	}
	if diff := cmp.Diff(wantOutputs(mrs, region), got); diff != "" {
		t.Errorf("claim status outputs (-want +got):\n%s", diff)
	}
}

// checkConditions expects conditions (type -> status) on an object.
func checkConditions(t *testing.T, u *unstructured.Unstructured, want map[string]string) {
	t.Helper()
	for typ, status := range want {
		if got, _, _, _ := condition(u, typ); got != status {
			t.Errorf("%s %s: condition %s = %q, want %q (%s)", u.GetKind(), u.GetName(), typ, got, status, conditionsSummary(u))
		}
	}
}

// waitCondition waits until a claim has a condition with the given status
// whose message contains every text, and returns the claim.
func waitCondition(t *testing.T, run claimRun, typ, status string, texts ...string) *unstructured.Unstructured {
	t.Helper()
	var claim *unstructured.Unstructured
	eventually(t, readyTimeout, fmt.Sprintf("claim %s/%s never had %s=%s mentioning %q", run.Namespace, run.Name, typ, status, texts), func(ctx context.Context) error {
		u, err := env.client.Get(ctx, run.gvk(), run.Namespace, run.Name)
		if err != nil {
			return err
		}
		s, _, msg, _ := condition(u, typ)
		if s != status {
			return fmt.Errorf("%s", conditionsSummary(u))
		}
		for _, text := range texts {
			if !strings.Contains(msg, text) {
				return fmt.Errorf("message %q lacks %q", msg, text)
			}
		}
		claim = u
		return nil
	})
	return claim
}

// describeComposition explains a claim that is not ready: the XR's
// conditions and warning events, and the composed resources that are not
// Ready or Synced.
func describeComposition(ctx context.Context, claim *unstructured.Unstructured, run claimRun) string {
	var b strings.Builder
	if run.Namespaced {
		// The object is the XR: its conditions are already reported.
		if evs, err := events(ctx, run.Namespace, run.Name); err == nil {
			for _, ev := range evs {
				if ev.Type == "Warning" {
					fmt.Fprintf(&b, "  XR event %s: %s\n", ev.Reason, ev.Message)
				}
			}
		}
	} else if xrName := nestedString(claim, "spec", "resourceRef", "name"); xrName != "" {
		if xr, err := env.client.Get(ctx, xrGVK, "", xrName); err == nil {
			fmt.Fprintf(&b, "  XR %s: %s\n", xrName, conditionsSummary(xr))
		}
		if evs, err := events(ctx, "", xrName); err == nil {
			for _, ev := range evs {
				if ev.Type == "Warning" {
					fmt.Fprintf(&b, "  XR event %s: %s\n", ev.Reason, ev.Message)
				}
			}
		}
	}
	mrs, err := composedResources(ctx, run)
	if err != nil {
		fmt.Fprintf(&b, "  cannot list composed resources: %v\n", err)
		return b.String()
	}
	fmt.Fprintf(&b, "  %d composed resources", len(mrs))
	for _, n := range componentNames(mrs) {
		u := mrs[n]
		ready, _, _, _ := condition(u, "Ready")
		synced, _, _, _ := condition(u, "Synced")
		if ready != "True" || synced != "True" {
			fmt.Fprintf(&b, "\n  %s (%s %s): %s", n, u.GetKind(), u.GetName(), conditionsSummary(u))
		}
	}
	return b.String()
}

// waitFalseConditionMentioning waits until some condition of the claim is
// False with a message containing text, and returns the claim, the
// condition's type and its message.
func waitFalseConditionMentioning(t *testing.T, run claimRun, text string) (claim *unstructured.Unstructured, typ, message string) {
	t.Helper()
	eventually(t, readyTimeout, fmt.Sprintf("claim %s/%s never had a False condition explaining %q", run.Namespace, run.Name, text), func(ctx context.Context) error {
		u, err := env.client.Get(ctx, run.gvk(), run.Namespace, run.Name)
		if err != nil {
			return err
		}
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, c := range conds {
			m, _ := c.(map[string]any)
			msg, _ := m["message"].(string)
			if m["status"] == "False" && strings.Contains(msg, text) {
				claim, typ, message = u, fmt.Sprint(m["type"]), msg
				return nil
			}
		}
		return fmt.Errorf("claim conditions: %s\n%s", conditionsSummary(u), describeComposition(ctx, u, run))
	})
	return claim, typ, message
}
