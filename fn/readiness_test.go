package main

import (
	"strings"
	"testing"

	xpv1 "github.com/crossplane/crossplane-runtime/v2/apis/common/v1"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1"
	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/compose"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/providerfake"
)

// TestReadinessInputs isolates each input of the XR's Ready decision: every
// case starts from a pipeline whose resources are all observed Ready, with
// the connection AVAILABLE (the XR is then Ready), and changes one thing. The
// case also checks which composed resources the function reports not ready,
// so an XR not Ready for another reason than the one under test fails it.
func TestReadinessInputs(t *testing.T) {
	connection := string(compose.Connection)
	cases := map[string]struct {
		reason string
		spec   string
		change func(t *testing.T, observed map[string]*unstructured.Unstructured)
		// wantNotReady are the composed resources reported not ready.
		wantNotReady []string
		wantReady    fnv1.Ready
		// wantCond is condition type -> status/reason.
		wantCond map[xpv1.ConditionType]string
		// wantComposedMessage is ResourcesComposed's whole message, which
		// names the waiting resources in name order.
		wantComposedMessage string
	}{
		"AllReady": {
			reason:    "Every resource Ready, nothing waiting, the connection AVAILABLE: the XR is Ready.",
			change:    func(*testing.T, map[string]*unstructured.Unstructured) {},
			wantReady: fnv1.Ready_READY_TRUE,
			wantCond:  map[xpv1.ConditionType]string{v1alpha1.TypeResourcesComposed: trueBecause(v1alpha1.ReasonAllComposed), v1alpha1.TypeResourcesSynced: trueBecause(v1alpha1.ReasonResourcesSynced), v1alpha1.TypeSourceConnected: trueBecause(v1alpha1.ReasonConnectionAvailable)},
		},
		"PendingResource": {
			reason: "A resource that waits for a value and does not exist yet keeps the XR not Ready, though every composed resource is Ready.",
			change: func(t *testing.T, o map[string]*unstructured.Unstructured) {
				unstructured.RemoveNestedField(o[connection].Object, "status", "atProvider", "arn")
				for _, n := range waitingForConnection {
					delete(o, n)
				}
			},
			wantReady: fnv1.Ready_READY_FALSE,
			wantCond:  map[xpv1.ConditionType]string{v1alpha1.TypeResourcesComposed: falseBecause(v1alpha1.ReasonWaitingForObservedValues)},
			wantComposedMessage: "codepipeline-role-policy waits for the CodeStar connection's ARN; " +
				"codepipeline-role-policy-attachment waits for codepipeline-role-policy; " +
				"pipeline waits for the CodeStar connection's ARN",
		},
		"PreservedResource": {
			reason: "A resource kept as observed because a value it needs is unknown keeps the XR not Ready, though it and every other composed resource are Ready.",
			change: func(t *testing.T, o map[string]*unstructured.Unstructured) {
				unstructured.RemoveNestedField(o[connection].Object, "status", "atProvider", "arn")
			},
			wantReady: fnv1.Ready_READY_FALSE,
			wantCond:  map[xpv1.ConditionType]string{v1alpha1.TypeResourcesComposed: falseBecause(v1alpha1.ReasonWaitingForObservedValues)},
			wantComposedMessage: "codepipeline-role-policy is kept as observed until the CodeStar connection's ARN is known again; " +
				"codepipeline-role-policy-attachment is kept as observed until codepipeline-role-policy is known again; " +
				"pipeline is kept as observed until the CodeStar connection's ARN is known again",
		},
		"ResourceNotReady": {
			reason: "A composed resource whose Ready condition is False keeps the XR not Ready.",
			change: func(t *testing.T, o map[string]*unstructured.Unstructured) {
				providerfake.SetCondition(o[string(compose.DeploymentTable)], "Ready", "False", "Creating", "")
			},
			wantNotReady: []string{string(compose.DeploymentTable)},
			wantReady:    fnv1.Ready_READY_FALSE,
		},
		"ResourceWithoutReadyCondition": {
			reason: "A composed resource that reports no Ready condition (the provider has not observed it yet) is not Ready.",
			change: func(t *testing.T, o map[string]*unstructured.Unstructured) {
				u := o[string(compose.DeploymentTable)]
				conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
				kept := []any{}
				for _, c := range conds {
					if c.(map[string]any)["type"] != "Ready" {
						kept = append(kept, c)
					}
				}
				if len(kept) != len(conds)-1 {
					t.Fatalf("the observed table has no Ready condition to remove: %v", conds)
				}
				_ = unstructured.SetNestedSlice(u.Object, kept, "status", "conditions")
			},
			wantNotReady: []string{string(compose.DeploymentTable)},
			wantReady:    fnv1.Ready_READY_FALSE,
		},
		"ResourceNotObserved": {
			reason: "A composed resource Crossplane has not observed (not created yet) is not Ready.",
			change: func(t *testing.T, o map[string]*unstructured.Unstructured) {
				delete(o, string(compose.DeploymentTable))
			},
			wantNotReady: []string{string(compose.DeploymentTable)},
			wantReady:    fnv1.Ready_READY_FALSE,
		},
		"SyncedFalse": {
			// Crossplane keeps Ready and Synced apart: a resource whose
			// last update failed still exists and works as last applied.
			// The failure reaches the claim through ResourcesSynced.
			reason: "A Ready resource whose Synced condition is False leaves the XR Ready and makes ResourcesSynced False.",
			change: func(t *testing.T, o map[string]*unstructured.Unstructured) {
				providerfake.SetCondition(o[string(compose.BuildProject)], "Synced", "False", "ReconcileError", "AccessDenied")
			},
			wantReady: fnv1.Ready_READY_TRUE,
			wantCond:  map[xpv1.ConditionType]string{v1alpha1.TypeResourcesSynced: falseBecause(v1alpha1.ReasonComposedResourceNotSynced), v1alpha1.TypeResourcesComposed: trueBecause(v1alpha1.ReasonAllComposed)},
		},
		"ConnectionPending": {
			reason: "A connection that is Ready but PENDING (the handshake is not done) keeps the XR not Ready.",
			change: func(t *testing.T, o map[string]*unstructured.Unstructured) {
				setConnectionStatus(t, o, "PENDING")
			},
			wantReady: fnv1.Ready_READY_FALSE,
			wantCond:  map[xpv1.ConditionType]string{v1alpha1.TypeSourceConnected: falseBecause(v1alpha1.ReasonConnectionPending)},
		},
		"ConnectionError": {
			reason: "A connection in ERROR keeps the XR not Ready.",
			change: func(t *testing.T, o map[string]*unstructured.Unstructured) {
				setConnectionStatus(t, o, "ERROR")
			},
			wantReady: fnv1.Ready_READY_FALSE,
			wantCond:  map[xpv1.ConditionType]string{v1alpha1.TypeSourceConnected: falseBecause(v1alpha1.ReasonConnectionError)},
		},
		"ConnectionStatusUnknown": {
			reason: "A connection that reports no status yet keeps the XR not Ready.",
			change: func(t *testing.T, o map[string]*unstructured.Unstructured) {
				unstructured.RemoveNestedField(o[string(compose.Connection)].Object, "status", "atProvider", "connectionStatus")
			},
			wantReady: fnv1.Ready_READY_FALSE,
			wantCond:  map[xpv1.ConditionType]string{v1alpha1.TypeSourceConnected: falseBecause(v1alpha1.ReasonConnectionCreating)},
		},
		"ExistingConnection": {
			reason:    "With an existing connection there is no connection to wait for: the XR is Ready.",
			spec:      "\n  environmentSuffix: dev\n  source:\n    repository: acme/shop\n    connectionArn: arn:aws:codeconnections:us-east-1:123456789012:connection/abc\n",
			change:    func(*testing.T, map[string]*unstructured.Unstructured) {},
			wantReady: fnv1.Ready_READY_TRUE,
			wantCond:  map[xpv1.ConditionType]string{v1alpha1.TypeSourceConnected: trueBecause(v1alpha1.ReasonExistingConnection)},
		},
		"CodeCommit": {
			reason:    "A CodeCommit source needs no connection: the XR is Ready.",
			spec:      "\n  environmentSuffix: dev\n  source:\n    provider: CodeCommit\n    repository: shop\n",
			change:    func(*testing.T, map[string]*unstructured.Unstructured) {},
			wantReady: fnv1.Ready_READY_TRUE,
			wantCond:  map[xpv1.ConditionType]string{v1alpha1.TypeSourceConnected: trueBecause(v1alpha1.ReasonCodeCommit)},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			spec := minimalSpec
			if tc.spec != "" {
				spec = tc.spec
			}
			xr := xrFromYAML(t, minimalXR(spec))
			observed, base := converge(t, xr, nil)
			if got := base.GetDesired().GetComposite().GetReady(); got != fnv1.Ready_READY_TRUE {
				t.Fatalf("before the change the XR must be Ready, got %v", got)
			}
			tc.change(t, observed)
			rsp := run(t, newRequest(xr, observed))

			notReady := []string{}
			for _, n := range resourceNames(rsp) {
				if rsp.GetDesired().GetResources()[n].GetReady() != fnv1.Ready_READY_TRUE {
					notReady = append(notReady, n)
				}
			}
			if diff := cmp.Diff(append([]string{}, tc.wantNotReady...), notReady); diff != "" {
				t.Errorf("%s\ncomposed resources not ready: -want, +got:\n%s", tc.reason, diff)
			}
			if got := rsp.GetDesired().GetComposite().GetReady(); got != tc.wantReady {
				t.Errorf("%s\nXR ready: want %v, got %v", tc.reason, tc.wantReady, got)
			}
			conds := conditionsOf(rsp)
			for typ, want := range tc.wantCond {
				if got := conds[typ].statusReason; got != want {
					t.Errorf("%s\ncondition %s: want %s, got %s", tc.reason, typ, want, got)
				}
			}
			if tc.wantComposedMessage != "" {
				if diff := cmp.Diff(tc.wantComposedMessage, conds[v1alpha1.TypeResourcesComposed].message); diff != "" {
					t.Errorf("%s\nResourcesComposed message: -want, +got:\n%s", tc.reason, diff)
				}
			}
		})
	}
}

// TestReadinessPendingAndPreservedApart checks that the pending and
// preserved cases of TestReadinessInputs are what they claim: only pending,
// or only preserved, resources.
func TestReadinessPendingAndPreservedApart(t *testing.T) {
	xr := xrFromYAML(t, minimalXR(minimalSpec))
	observed, _ := converge(t, xr, nil)
	unstructured.RemoveNestedField(observed[string(compose.Connection)].Object, "status", "atProvider", "arn")

	msg := conditionsOf(run(t, newRequest(xr, observed)))[v1alpha1.TypeResourcesComposed].message
	if strings.Contains(msg, " waits for ") {
		t.Errorf("with every waiting resource observed, none may be pending: %s", msg)
	}
	for _, n := range waitingForConnection {
		delete(observed, n)
	}
	msg = conditionsOf(run(t, newRequest(xr, observed)))[v1alpha1.TypeResourcesComposed].message
	if strings.Contains(msg, "kept as observed") {
		t.Errorf("with no waiting resource observed, none may be kept as observed: %s", msg)
	}
}

// waitingForConnection are the resources of the minimal claim that wait,
// directly or through another, for the composed connection's ARN (which
// AWS generates, so it cannot be derived): kept as observed when they
// exist, pending when they do not.
var waitingForConnection = []string{
	string(compose.Pipeline), string(compose.PolicyOf(compose.CodePipelineRole)), string(compose.AttachmentOf(compose.CodePipelineRole)),
}

type conditionSummary struct {
	statusReason string
	message      string
}

// conditionsOf returns the response's conditions by type, with the status
// as True/False/Unknown and the reason as "status/reason".
func conditionsOf(rsp *fnv1.RunFunctionResponse) map[xpv1.ConditionType]conditionSummary {
	out := map[xpv1.ConditionType]conditionSummary{}
	for _, c := range rsp.GetConditions() {
		status := strings.TrimPrefix(c.GetStatus().String(), "STATUS_CONDITION_")
		out[xpv1.ConditionType(c.GetType())] = conditionSummary{
			statusReason: strings.ToUpper(status[:1]) + strings.ToLower(status[1:]) + "/" + c.GetReason(),
			message:      c.GetMessage(),
		}
	}
	return out
}

func setConnectionStatus(t *testing.T, o map[string]*unstructured.Unstructured, status string) {
	t.Helper()
	if err := unstructured.SetNestedField(o[string(compose.Connection)].Object, status, "status", "atProvider", "connectionStatus"); err != nil {
		t.Fatal(err)
	}
}

// trueBecause and falseBecause are a condition's status/reason, as
// conditionsOf reports it.
func trueBecause(reason xpv1.ConditionReason) string  { return "True/" + string(reason) }
func falseBecause(reason xpv1.ConditionReason) string { return "False/" + string(reason) }

// TestConnectionMessages: a connection waiting for someone's action gets a
// short condition saying what to do, and a Warning event: for a PENDING
// connection the console walk-through, which is too long for a condition.
// A status AWS may add later gets the fixed ConnectionError reason, never
// one made from the status.
func TestConnectionMessages(t *testing.T) {
	cases := map[string]struct {
		status      string
		wantMessage string
		wantReason  xpv1.ConditionReason
		wantWarning string // a substring of the Warning event's message
	}{
		"Pending": {
			status:      "PENDING",
			wantMessage: "Complete the handshake of the PENDING CodeStar connection shop-x7k2p-src-dev in the AWS console (see the claim's events); the Source stage cannot run until it is AVAILABLE",
			wantReason:  v1alpha1.ReasonConnectionPending,
			wantWarning: `https://console.aws.amazon.com/codesuite/settings/connections?region=us-east-1, choose shop-x7k2p-src-dev, choose "Update pending connection"`,
		},
		"Error": {
			status:      "ERROR",
			wantMessage: "The CodeStar connection shop-x7k2p-src-dev is ERROR; delete it in the AWS console or recreate the claim to get a new one",
			wantReason:  v1alpha1.ReasonConnectionError,
			wantWarning: "is ERROR",
		},
		"UnknownStatus": {
			status:      "SUSPENDED",
			wantMessage: "The CodeStar connection shop-x7k2p-src-dev is SUSPENDED; delete it in the AWS console or recreate the claim to get a new one",
			wantReason:  v1alpha1.ReasonConnectionError,
			wantWarning: "is SUSPENDED",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			xr := xrFromYAML(t, minimalXR(minimalSpec))
			observed, _ := converge(t, xr, nil)
			setConnectionStatus(t, observed, tc.status)
			rsp := run(t, newRequest(xr, observed))
			c := conditionsOf(rsp)[v1alpha1.TypeSourceConnected]
			if diff := cmp.Diff(falseBecause(tc.wantReason), c.statusReason); diff != "" {
				t.Errorf("SourceConnected status/reason: -want, +got:\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantMessage, c.message); diff != "" {
				t.Errorf("SourceConnected message: -want, +got:\n%s", diff)
			}
			var warnings []string
			for _, r := range rsp.GetResults() {
				if r.GetSeverity() == fnv1.Severity_SEVERITY_WARNING && r.GetReason() == string(tc.wantReason) {
					warnings = append(warnings, r.GetMessage())
				}
			}
			if len(warnings) != 1 || !strings.Contains(warnings[0], tc.wantWarning) {
				t.Errorf("want one Warning with reason %s containing %q, got %q", tc.wantReason, tc.wantWarning, warnings)
			}
		})
	}
}
