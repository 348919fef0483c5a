package main

import (
	"strings"
	"testing"

	xpv1 "github.com/crossplane/crossplane-runtime/v2/apis/common/v1"
	"github.com/crossplane/crossplane-runtime/v2/pkg/fieldpath"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1"
	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/compose"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/providerfake"
)

// minimalXR is examples/xr-minimal.yaml with the spec replaced.
func minimalXR(spec string) string {
	return `
apiVersion: cicd.platform.dev/v1alpha1
kind: XCicdPipeline
metadata:
  name: shop-x7k2p
spec:
  claimRef:
    apiVersion: cicd.platform.dev/v1alpha1
    kind: CicdPipeline
    name: shop
    namespace: team-shop
` + spec
}

const minimalSpec = `
  environmentSuffix: dev
  source:
    repository: acme/shop
`

// field returns the value at a dotted path of a desired resource, with
// list indexes as [n].
func field(t *testing.T, u *unstructured.Unstructured, path string) any {
	t.Helper()
	v, err := fieldpath.Pave(u.Object).GetValue(path)
	if err != nil {
		return nil
	}
	return v
}

func stageNames(t *testing.T, d map[string]*unstructured.Unstructured) []string {
	t.Helper()
	p, ok := d[string(compose.Pipeline)]
	if !ok {
		return nil
	}
	stages, _, _ := unstructured.NestedSlice(p.Object, "spec", "forProvider", "stage")
	out := make([]string, 0, len(stages))
	for _, s := range stages {
		out = append(out, s.(map[string]any)["name"].(string))
	}
	return out
}

func TestParameters(t *testing.T) {
	type want struct {
		// present and absent composed resources, by name.
		present []string
		absent  []string
		stages  []string
		// fields of composed resources: "resource:path" -> value.
		fields map[string]any
	}
	cases := map[string]struct {
		reason string
		spec   string
		want   want
	}{
		"Minimal": {
			reason: "Only the required fields give a GitHub pipeline with a new connection, a Test stage, and neither Deploy nor (with nothing to gate) Approval stage.",
			spec:   minimalSpec,
			want: want{
				present: []string{"codestar-connection", "test-project", "build-project", "codebuild-role", "codepipeline-role"},
				absent:  []string{"deployer-function", "deployer-role", "deployer-errors-alarm", "events-role", "source-push-rule", "cross-account-role"},
				stages:  []string{"Source", "Build", "Test"},
				fields: map[string]any{
					"ecr-repository:spec.forProvider.region":                                                                 "us-east-1",
					"ecr-repository:spec.forProvider.imageTagMutability":                                                     "IMMUTABLE",
					"ecr-repository:spec.forProvider.imageScanningConfiguration[0].scanOnPush":                               true,
					"ecr-repository:spec.forProvider.encryptionConfiguration[0].encryptionType":                              "AES256",
					"ecr-repository:spec.forProvider.forceDelete":                                                            true,
					"ecr-repository:metadata.annotations[crossplane.io/external-name]":                                       "shop-x7k2p-images-dev",
					"ecr-repository:spec.providerConfigRef.name":                                                             "default",
					"ecr-repository:spec.deletionPolicy":                                                                     "Delete",
					"ecr-repository:spec.forProvider.tags.environment":                                                       "dev",
					"ecr-repository:spec.forProvider.tags[cicd.platform.dev/claim]":                                          "team-shop/shop",
					"artifact-bucket:spec.forProvider.forceDestroy":                                                          true,
					"artifact-bucket-lifecycle:spec.forProvider.rule[0].expiration[0].days":                                  int64(30),
					"cache-bucket-lifecycle:spec.forProvider.rule[0].expiration[0].days":                                     int64(7),
					"artifact-bucket-versioning:spec.forProvider.versioningConfiguration[0].status":                          "Enabled",
					"artifact-bucket-encryption:spec.forProvider.rule[0].applyServerSideEncryptionByDefault[0].sseAlgorithm": "AES256",
					"cache-bucket-public-access-block:spec.forProvider.restrictPublicBuckets":                                true,
					"build-project:spec.forProvider.environment.computeType":                                                 "BUILD_GENERAL1_MEDIUM",
					"build-project:spec.forProvider.environment.privilegedMode":                                              true,
					"build-project:spec.forProvider.cache.type":                                                              "S3",
					"test-project:spec.forProvider.environment.computeType":                                                  "BUILD_GENERAL1_SMALL",
					"test-project:spec.forProvider.source.buildspec":                                                         compose.DefaultTestBuildspec,
					"codestar-connection:spec.forProvider.providerType":                                                      "GitHub",
					"codestar-connection:spec.forProvider.name":                                                              "shop-x7k2p-src-dev",
					"deployment-table:spec.forProvider.billingMode":                                                          "PAY_PER_REQUEST",
					"deployment-table:spec.forProvider.pointInTimeRecovery[0].enabled":                                       true,
					"deployment-table:spec.forProvider.serverSideEncryption[0].enabled":                                      true,
					"deployment-table:spec.forProvider.hashKey":                                                              "deploymentId",
					"deployment-table:spec.forProvider.rangeKey":                                                             "timestamp",
					"pipeline:spec.forProvider.pipelineType":                                                                 "V2",
					"pipeline:spec.forProvider.stage[0].action[0].configuration.BranchName":                                  "main",
					"pipeline:spec.forProvider.stage[0].action[0].configuration.FullRepositoryId":                            "acme/shop",
					"pipeline:spec.forProvider.stage[0].action[0].provider":                                                  "CodeStarSourceConnection",
				},
			},
		},
		"Full": {
			reason: "Every parameter of the full example reaches the resources it configures.",
			spec:   fullSpecOf(t),
			want: want{
				present: []string{"deployer-function", "deployer-role-policy", "deployer-errors-alarm", "cross-account-role", string(compose.EmailSubscription("payments-oncall@example.com")), string(compose.EmailSubscription("platform@example.com"))},
				absent:  []string{"events-role", "source-push-rule"},
				stages:  []string{"Source", "Build", "Test", "Approval", "Deploy"},
				fields: map[string]any{
					"ecr-repository:spec.forProvider.region":                                         "eu-west-1",
					"ecr-repository:spec.forProvider.imageTagMutability":                             "IMMUTABLE",
					"ecr-repository:spec.forProvider.tags.team":                                      "payments",
					"ecr-repository:spec.providerConfigRef.name":                                     "aws-payments",
					"artifact-bucket-lifecycle:spec.forProvider.rule[0].expiration[0].days":          int64(90),
					"cache-bucket-lifecycle:spec.forProvider.rule[0].expiration[0].days":             int64(14),
					"build-project:spec.forProvider.environment.computeType":                         "BUILD_GENERAL1_LARGE",
					"build-project:spec.forProvider.buildTimeout":                                    int64(45),
					"build-project:spec.forProvider.environment.environmentVariable[1].value":        "services/api/Dockerfile",
					"test-project:spec.forProvider.environment.computeType":                          "BUILD_GENERAL1_MEDIUM",
					"test-project:spec.forProvider.buildTimeout":                                     int64(20),
					"test-project:spec.forProvider.source.buildspec":                                 "phases:\n  build:\n    commands:\n    - make test\n    - make integration-test\nversion: \"0.2\"\n",
					"codestar-connection:spec.forProvider.providerType":                              "GitLab",
					"deployer-function:spec.forProvider.imageUri":                                    "111122223333.dkr.ecr.eu-west-1.amazonaws.com/cicd-deployer:v1.0.0",
					"deployer-function:spec.forProvider.memorySize":                                  int64(512),
					"deployer-function:spec.forProvider.timeout":                                     int64(60),
					"deployer-function:spec.forProvider.reservedConcurrentExecutions":                int64(5),
					"deployer-function:spec.forProvider.packageType":                                 "Image",
					"deployer-function:spec.forProvider.environment[0].variables.DEPLOYMENT_TABLE":   "shop-x7k2p-deployments-prod",
					"deployer-function:spec.forProvider.environment[0].variables.ENVIRONMENT_SUFFIX": "prod",
					"deployer-function:spec.forProvider.environment[0].variables.PIPELINE_NAME":      "shop-x7k2p-pipeline-prod",
					"deployer-errors-alarm:spec.forProvider.threshold":                               int64(3),
					"deployer-errors-alarm:spec.forProvider.period":                                  int64(60),
					"deployer-errors-alarm:spec.forProvider.evaluationPeriods":                       int64(2),
					"pipeline:spec.forProvider.stage[0].action[0].configuration.BranchName":          "release",
					"pipeline:spec.forProvider.stage[3].action[0].configuration.CustomData":          "Check the staging dashboard before approving.",
					"pipeline:spec.forProvider.stage[3].action[0].configuration.ExternalEntityLink":  "https://grafana.example.com/d/payments-staging",
					"pipeline:spec.forProvider.stage[4].action[0].configuration.FunctionName":        "shop-x7k2p-deployer-prod",
					"pipeline:spec.forProvider.stage[4].action[0].configuration.UserParameters":      `{"pipelineExecutionId":"#{codepipeline.PipelineExecutionId}","commitId":"#{SourceVariables.CommitId}"}`,
				},
			},
		},
		"TestAndApprovalOff": {
			reason: "Switched-off stages are left out, with the test project.",
			spec: minimalSpec + `
  test:
    enabled: false
  approval:
    enabled: false
`,
			want: want{absent: []string{"test-project"}, stages: []string{"Source", "Build"}},
		},
		"CodeCommit": {
			reason: "A CodeCommit source needs no connection; an EventBridge rule with its own role starts the pipeline on pushes.",
			spec: `
  environmentSuffix: dev
  source:
    provider: CodeCommit
    repository: shop
    branch: trunk
`,
			want: want{
				present: []string{"events-role", "events-role-policy", "source-push-rule", "source-push-target"},
				absent:  []string{"codestar-connection"},
				stages:  []string{"Source", "Build", "Test"},
				fields: map[string]any{
					"pipeline:spec.forProvider.stage[0].action[0].provider":                           "CodeCommit",
					"pipeline:spec.forProvider.stage[0].action[0].configuration.RepositoryName":       "shop",
					"pipeline:spec.forProvider.stage[0].action[0].configuration.PollForSourceChanges": "false",
					"source-push-rule:spec.forProvider.eventPattern":                                  `{"detail":{"event":["referenceCreated","referenceUpdated"],"referenceName":["trunk"],"referenceType":["branch"]},"detail-type":["CodeCommit Repository State Change"],"resources":["arn:aws:codecommit:us-east-1:123456789012:shop"],"source":["aws.codecommit"]}`,
					"source-push-target:spec.forProvider.arn":                                         "arn:aws:codepipeline:us-east-1:123456789012:shop-x7k2p-pipeline-dev",
				},
			},
		},
		"ExistingConnection": {
			reason: "An existing connection ARN is used as is, and no connection is composed.",
			spec: `
  environmentSuffix: dev
  source:
    repository: acme/shop
    connectionArn: arn:aws:codeconnections:us-east-1:123456789012:connection/abc-123
`,
			want: want{
				absent: []string{"codestar-connection"},
				fields: map[string]any{
					"pipeline:spec.forProvider.stage[0].action[0].configuration.ConnectionArn": "arn:aws:codeconnections:us-east-1:123456789012:connection/abc-123",
				},
			},
		},
		"GitHubEnterpriseServer": {
			reason: "A GitHub Enterprise Server connection is created on the registered host.",
			spec: `
  environmentSuffix: dev
  source:
    provider: GitHubEnterpriseServer
    repository: acme/shop
    hostArn: arn:aws:codestar-connections:us-east-1:123456789012:host/ghes-1234
`,
			want: want{fields: map[string]any{
				"codestar-connection:spec.forProvider.hostArn":      "arn:aws:codestar-connections:us-east-1:123456789012:host/ghes-1234",
				"codestar-connection:spec.forProvider.providerType": nil,
			}},
		},
		"OrphanAndObserveOnly": {
			reason: "The deletion and management policies reach every resource; orphaned buckets and repositories are not force-deleted.",
			spec: minimalSpec + `
  deletionPolicy: Orphan
  managementPolicies: ["Observe", "Create", "Update", "LateInitialize"]
`,
			want: want{fields: map[string]any{
				"artifact-bucket:spec.deletionPolicy":           "Orphan",
				"artifact-bucket:spec.forProvider.forceDestroy": false,
				"ecr-repository:spec.forProvider.forceDelete":   false,
				"pipeline:spec.managementPolicies":              []any{"Observe", "Create", "Update", "LateInitialize"},
			}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, rsp := converge(t, xrFromYAML(t, minimalXR(tc.spec)), nil)
			d := desired(rsp)
			validateComposed(t, d)
			for _, n := range tc.want.present {
				if _, ok := d[n]; !ok {
					t.Errorf("%s\n%s is not composed; composed: %v", tc.reason, n, sortedNames(d))
				}
			}
			for _, n := range tc.want.absent {
				if _, ok := d[n]; ok {
					t.Errorf("%s\n%s is composed but should not be", tc.reason, n)
				}
			}
			if tc.want.stages != nil {
				if diff := cmp.Diff(tc.want.stages, stageNames(t, d)); diff != "" {
					t.Errorf("%s\nstages: -want, +got:\n%s", tc.reason, diff)
				}
			}
			for key, want := range tc.want.fields {
				res, path, _ := strings.Cut(key, ":")
				u, ok := d[res]
				if !ok {
					t.Errorf("%s\n%s is not composed", tc.reason, res)
					continue
				}
				if diff := cmp.Diff(want, normalize(field(t, u, path))); diff != "" {
					t.Errorf("%s\n%s %s: -want, +got:\n%s", tc.reason, res, path, diff)
				}
			}
			// Every composed resource carries a provider config and a
			// deletion policy.
			for n, u := range d {
				if field(t, u, "spec.providerConfigRef.name") == nil || field(t, u, "spec.deletionPolicy") == nil {
					t.Errorf("%s has no provider config or deletion policy", n)
				}
			}
		})
	}
}

// normalize turns JSON numbers into int64 where they are whole, so that
// expectations read naturally.
func normalize(v any) any {
	if f, ok := v.(float64); ok && f == float64(int64(f)) {
		return int64(f)
	}
	return v
}

// fullSpecOf returns the spec of examples/xr-full.yaml, indented as in
// minimalXR, so the full case is the full example.
func fullSpecOf(t *testing.T) string {
	t.Helper()
	m := xrFile(t, "xr-full.yaml").AsMap()
	spec := m["spec"].(map[string]any)
	delete(spec, "claimRef")
	b, err := yaml.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	return "\n  " + strings.ReplaceAll(strings.TrimSpace(string(b)), "\n", "\n  ") + "\n"
}

func TestGating(t *testing.T) {
	xr := xrFromYAML(t, minimalXR(minimalSpec))
	rsp := run(t, newRequest(xr, nil))
	if diff := cmp.Diff(
		[]string{"artifact-bucket", "artifact-bucket-encryption", "artifact-bucket-lifecycle", "artifact-bucket-policy", "artifact-bucket-public-access-block", "artifact-bucket-versioning", "build-log-group", "cache-bucket", "cache-bucket-encryption", "cache-bucket-lifecycle", "cache-bucket-policy", "cache-bucket-public-access-block", "codebuild-role", "codebuild-test-role", "codepipeline-role", "codestar-connection", "deployment-table", "ecr-lifecycle-policy", "ecr-repository", "notification-topic", "pipeline-failed-rule", "test-log-group", "test-project"},
		resourceNames(rsp)); diff != "" {
		t.Errorf("With nothing observed, only resources that need no observed value are composed: -want, +got:\n%s", diff)
	}
	var composed *fnv1.Condition
	for _, c := range rsp.GetConditions() {
		if c.GetType() == string(v1alpha1.TypeResourcesComposed) {
			composed = c
		}
	}
	const account = "the AWS account ID (the platform's accountId, or any observed ARN)"
	want := &fnv1.Condition{
		Type:   string(v1alpha1.TypeResourcesComposed),
		Status: fnv1.Status_STATUS_CONDITION_FALSE,
		Reason: string(v1alpha1.ReasonWaitingForObservedValues),
		// What AWS documents as a fixed format waits only for the account,
		// not for the resource it names; the composed connection's ARN,
		// which AWS generates, for the connection.
		Message: new("build-project waits for " + account + "; codebuild-role-policy waits for " + account + "; " +
			"codebuild-role-policy-attachment waits for codebuild-role-policy; " +
			"codebuild-test-role-policy waits for " + account + "; " +
			"codebuild-test-role-policy-attachment waits for codebuild-test-role-policy; " +
			"codepipeline-role-policy waits for " + account + ", the CodeStar connection's ARN; " +
			"codepipeline-role-policy-attachment waits for codepipeline-role-policy; " +
			"ecr-repository-policy waits for " + account + "; " +
			"notification-topic-policy waits for " + account + "; pipeline waits for the CodeStar connection's ARN; pipeline-failed-target waits for " + account),
		Target: fnv1.Target_TARGET_COMPOSITE_AND_CLAIM.Enum(),
	}
	if diff := cmp.Diff(want, composed, protocmp.Transform()); diff != "" {
		t.Errorf("ResourcesComposed names what each resource waits for: -want, +got:\n%s", diff)
	}
	if got := rsp.GetDesired().GetComposite().GetReady(); got != fnv1.Ready_READY_FALSE {
		t.Errorf("The XR must not be ready while resources wait: got %v", got)
	}
}

func TestPreserveExisting(t *testing.T) {
	xr := xrFromYAML(t, minimalXR(minimalSpec))
	observed, _ := converge(t, xr, nil)
	// The connection loses its ARN (e.g. the provider is re-creating it):
	// the pipeline and policy that need it (AWS generates it, so it cannot
	// be derived) must not be dropped, or Crossplane would delete them.
	delete(observed[string(compose.Connection)].Object, "status")
	rsp := run(t, newRequest(xr, observed))
	d := desired(rsp)
	for _, n := range waitingForConnection {
		u, ok := d[n]
		if !ok {
			t.Fatalf("%s was dropped although it exists", n)
		}
		if diff := cmp.Diff(observed[n].Object["spec"], u.Object["spec"]); diff != "" {
			t.Errorf("%s must keep its observed spec: -want, +got:\n%s", n, diff)
		}
	}
	if got := rsp.GetDesired().GetComposite().GetReady(); got != fnv1.Ready_READY_FALSE {
		t.Errorf("The XR must not be ready while resources are kept as observed: got %v", got)
	}
}

func TestReadinessAndStatus(t *testing.T) {
	cases := map[string]struct {
		reason     string
		tweak      func(name string, u *unstructured.Unstructured)
		wantReady  fnv1.Ready
		wantStatus map[string]any
		wantCond   map[xpv1.ConditionType]string // type -> status/reason
	}{
		"AllReady": {
			reason:    "With every resource Ready and the connection AVAILABLE, the XR is Ready and the outputs are filled from observed state.",
			wantReady: fnv1.Ready_READY_TRUE,
			wantStatus: map[string]any{
				"artifactBucketName":   "shop-x7k2p-artifacts-dev",
				"connectionArn":        observedConnectionARN,
				"connectionStatus":     "AVAILABLE",
				"deploymentTableName":  "shop-x7k2p-deployments-dev",
				"ecrRepositoryUri":     "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop-x7k2p-images-dev",
				"notificationTopicArn": "arn:aws:sns:us-east-1:123456789012:shop-x7k2p-notifications-dev",
				"pipelineArn":          "arn:aws:codepipeline:us-east-1:123456789012:shop-x7k2p-pipeline-dev",
				"pipelineName":         "shop-x7k2p-pipeline-dev",
				"pipelineUrl":          "https://us-east-1.console.aws.amazon.com/codesuite/codepipeline/pipelines/shop-x7k2p-pipeline-dev/view?region=us-east-1",
			},
			wantCond: map[xpv1.ConditionType]string{
				v1alpha1.TypeSourceConnected: trueBecause(v1alpha1.ReasonConnectionAvailable), v1alpha1.TypeResourcesSynced: trueBecause(v1alpha1.ReasonResourcesSynced),
				v1alpha1.TypeResourcesComposed: trueBecause(v1alpha1.ReasonAllComposed), v1alpha1.TypeDeployStage: falseBecause(v1alpha1.ReasonDeployerImageNotSet),
				v1alpha1.TypeSpecValid: trueBecause(v1alpha1.ReasonValidSpec),
			},
		},
		"OneNotReady": {
			reason: "One composed resource that is not Ready keeps the XR not Ready.",
			tweak: func(name string, u *unstructured.Unstructured) {
				if name == string(compose.DeploymentTable) {
					providerfake.SetCondition(u, "Ready", "False", "Creating", "")
				}
			},
			wantReady: fnv1.Ready_READY_FALSE,
		},
		"PendingConnection": {
			reason: "A PENDING connection keeps the XR not Ready and tells the user what to do.",
			tweak: func(name string, u *unstructured.Unstructured) {
				if name == string(compose.Connection) {
					_ = unstructured.SetNestedField(u.Object, "PENDING", "status", "atProvider", "connectionStatus")
				}
			},
			wantReady: fnv1.Ready_READY_FALSE,
			wantCond:  map[xpv1.ConditionType]string{v1alpha1.TypeSourceConnected: falseBecause(v1alpha1.ReasonConnectionPending)},
		},
		"NotSynced": {
			reason: "A resource whose Synced condition is False is named in ResourcesSynced with the provider's message.",
			tweak: func(name string, u *unstructured.Unstructured) {
				if name == string(compose.BuildProject) {
					providerfake.SetCondition(u, "Synced", "False", "ReconcileError", "AccessDenied: not authorized to perform codebuild:CreateProject")
				}
			},
			wantReady: fnv1.Ready_READY_TRUE,
			wantCond:  map[xpv1.ConditionType]string{v1alpha1.TypeResourcesSynced: falseBecause(v1alpha1.ReasonComposedResourceNotSynced)},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			observed, rsp := converge(t, xrFromYAML(t, minimalXR(minimalSpec)), tc.tweak)
			if got := rsp.GetDesired().GetComposite().GetReady(); got != tc.wantReady {
				t.Errorf("%s\nXR ready: want %v, got %v", tc.reason, tc.wantReady, got)
			}
			if tc.wantStatus != nil {
				// The connection's ARN is whatever AWS (the fake) assigned.
				if tc.wantStatus["connectionArn"] == observedConnectionARN {
					tc.wantStatus["connectionArn"], _, _ = unstructured.NestedString(observed[string(compose.Connection)].Object, "status", "atProvider", "arn")
				}
				got, _ := rsp.GetDesired().GetComposite().GetResource().AsMap()["status"].(map[string]any)
				// The outputs; status.effective has its own tests
				// (platform_test.go).
				delete(got, "effective")
				if diff := cmp.Diff(tc.wantStatus, got); diff != "" {
					t.Errorf("%s\nstatus: -want, +got:\n%s", tc.reason, diff)
				}
			}
			got := conditionsOf(rsp)
			for typ, want := range tc.wantCond {
				if got[typ].statusReason != want {
					t.Errorf("%s\ncondition %s: want %s, got %s", tc.reason, typ, want, got[typ].statusReason)
				}
			}
		})
	}
}

// observedConnectionARN stands for the observed connection's ARN in a
// wanted status.
const observedConnectionARN = "<observed connection ARN>"

func TestNotSyncedMessage(t *testing.T) {
	observed, rsp := converge(t, xrFromYAML(t, minimalXR(minimalSpec)), func(name string, u *unstructured.Unstructured) {
		if name == string(compose.BuildProject) {
			providerfake.SetCondition(u, "Synced", "False", "ReconcileError", "AccessDenied: not authorized")
		}
	})
	var msgs []string
	for _, c := range rsp.GetConditions() {
		if c.GetType() == string(v1alpha1.TypeResourcesSynced) {
			msgs = append(msgs, c.GetMessage())
		}
	}
	want := []string{"build-project (Project " + observed[string(compose.BuildProject)].GetName() + "): AccessDenied: not authorized"}
	if diff := cmp.Diff(want, msgs); diff != "" {
		t.Errorf("-want, +got:\n%s", diff)
	}
	var warnings int
	for _, r := range rsp.GetResults() {
		if r.GetSeverity() == fnv1.Severity_SEVERITY_WARNING && strings.Contains(r.GetMessage(), "build-project") {
			warnings++
		}
	}
	if warnings != 1 {
		t.Errorf("want one warning naming build-project, got %d", warnings)
	}
}

func TestBadInput(t *testing.T) {
	cases := map[string]struct {
		reason string
		xr     string
		want   string
	}{
		"SuffixPattern": {
			reason: "A suffix that is not DNS-label-like is rejected, naming the field.",
			xr:     minimalXR("\n  environmentSuffix: Dev_1\n  source:\n    repository: acme/shop\n"),
			want:   `spec.environmentSuffix: Invalid value: "Dev_1": spec.environmentSuffix in body should match '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$'`,
		},
		"MissingSuffix": {
			reason: "The suffix is required.",
			xr:     minimalXR("\n  source:\n    repository: acme/shop\n"),
			want:   "spec.environmentSuffix: Required value",
		},
		"BadEnum": {
			reason: "An unknown source provider is rejected with the allowed values.",
			xr:     minimalXR("\n  environmentSuffix: dev\n  source:\n    provider: SVN\n    repository: acme/shop\n"),
			want:   `spec.source.provider: Unsupported value: "SVN"`,
		},
		"CrossField": {
			reason: "CEL rules of the XRD are enforced by the function too.",
			xr:     minimalXR("\n  environmentSuffix: dev\n  source:\n    provider: CodeCommit\n    repository: shop\n    connectionArn: arn:aws:codeconnections:us-east-1:123456789012:connection/abc\n"),
			want:   "spec.source.connectionArn must not be set when spec.source.provider is CodeCommit",
		},
		"TargetRoleInOtherAccount": {
			reason: "A target's role must be in the function's account (the XRD's rule, checked by the function too).",
			xr:     minimalXR(minimalSpec + "  deployer:\n    image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/deployer:v1\n    targets:\n      - functionName: arn:aws:lambda:us-east-1:444455556666:function:api\n        roleArn: arn:aws:iam::555566667777:role/deploy\n"),
			want:   "spec.deployer.targets[*].roleArn must be a role in the function's account, and the function must be named by ARN",
		},
		"TargetExternalIDWithoutRole": {
			reason: "An external ID is passed only when assuming a target's role.",
			xr:     minimalXR(minimalSpec + "  deployer:\n    image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/deployer:v1\n    targets:\n      - functionName: api\n        externalId: deploy-2026\n"),
			want:   "spec.deployer.targets[*].externalId is only valid with roleArn",
		},
		"DeployerImageInOtherRegion": {
			reason: "Lambda runs the deployer's image only from an ECR repository in its own region.",
			xr:     minimalXR(minimalSpec + "  deployer:\n    image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/deployer:v1\n    targets:\n      - functionName: api\n"),
			want:   "spec.deployer.image must be in an ECR repository in spec.region",
		},
		"TargetInOtherRegion": {
			reason: "Lambda cannot run an image from another region's repository.",
			xr:     minimalXR(minimalSpec + "  deployer:\n    image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/deployer:v1\n    targets:\n      - functionName: arn:aws:lambda:eu-west-1:123456789012:function:api\n"),
			want:   "spec.deployer.targets must be functions in spec.region",
		},
		"CrossAccountUnscoped": {
			reason: "A cross-account role must not trust whole accounts.",
			xr:     minimalXR(minimalSpec + "  crossAccount:\n    trustedAccountIds: [\"444455556666\"]\n"),
			want:   "spec.crossAccount needs trustedPrincipalArns or organizationId to scope who may assume the role",
		},
		"CrossAccountPrincipalOutsideAccounts": {
			reason: "Trusted principals must be in the trusted accounts.",
			xr:     minimalXR(minimalSpec + "  crossAccount:\n    trustedAccountIds: [\"444455556666\"]\n    trustedPrincipalArns: [\"arn:aws:iam::555566667777:role/deployer\"]\n"),
			want:   "spec.crossAccount.trustedPrincipalArns must be in spec.crossAccount.trustedAccountIds",
		},
		"CrossAccountWithoutRepositories": {
			reason: "The cross-account role must know the callers' repositories: Lambda requires the caller of UpdateFunctionCode to read the image.",
			xr:     minimalXR(minimalSpec + "  crossAccount:\n    trustedAccountIds: [\"444455556666\"]\n    organizationId: o-a1b2c3d4e5\n    functionNames: [api]\n"),
			want:   "spec.crossAccount.trustedAccountIds needs imageRepositoryArns (the callers' ECR repositories) and functionNames (the functions here they deploy)",
		},
		"CrossAccountRepositoryOutsideTrustedAccounts": {
			reason: "The callers' repositories are in the trusted accounts.",
			xr:     minimalXR(minimalSpec + "  crossAccount:\n    trustedAccountIds: [\"444455556666\"]\n    organizationId: o-a1b2c3d4e5\n    functionNames: [api]\n    imageRepositoryArns: [\"arn:aws:ecr:us-east-1:555566667777:repository/shop\"]\n"),
			want:   "spec.crossAccount.imageRepositoryArns must be in spec.crossAccount.trustedAccountIds",
		},
		"CrossAccountRepositoryInOtherRegion": {
			reason: "Lambda runs an image only from a repository in its own region.",
			xr:     minimalXR(minimalSpec + "  crossAccount:\n    trustedAccountIds: [\"444455556666\"]\n    organizationId: o-a1b2c3d4e5\n    functionNames: [api]\n    imageRepositoryArns: [\"arn:aws:ecr:eu-west-1:444455556666:repository/shop\"]\n"),
			want:   "spec.crossAccount.imageRepositoryArns must be in spec.region",
		},
		"CrossAccountFunctionInOtherRegion": {
			reason: "The cross-account role's functions are in spec.region.",
			xr:     minimalXR(minimalSpec + "  crossAccount:\n    trustedAccountIds: [\"444455556666\"]\n    organizationId: o-a1b2c3d4e5\n    functionNames: [\"arn:aws:lambda:eu-west-1:123456789012:function:api\"]\n    imageRepositoryArns: [\"arn:aws:ecr:us-east-1:444455556666:repository/shop\"]\n"),
			want:   "spec.crossAccount.functionNames must be functions in spec.region",
		},
		"TopicKeyByAlias": {
			reason: "An alias ARN in an IAM policy's Resource does not authorise the key's use, and alias/aws/sns cannot let alarms publish.",
			xr:     minimalXR(minimalSpec + "  notifications:\n    kmsKeyArn: arn:aws:kms:us-east-1:123456789012:alias/aws/sns\n"),
			want:   `spec.notifications.kmsKeyArn: Invalid value: "arn:aws:kms:us-east-1:123456789012:alias/aws/sns"`,
		},
		"UnknownField": {
			reason: "A misspelt field is not silently ignored.",
			xr:     minimalXR("\n  environmentSuffix: dev\n  enviromentSufix: prod\n  source:\n    repository: acme/shop\n"),
			want:   "spec.enviromentSufix: Invalid value: \"\": field not declared in schema",
		},
		"NoSpec": {
			reason: "An XR without a spec is rejected, not a panic.",
			xr:     "apiVersion: cicd.platform.dev/v1alpha1\nkind: XCicdPipeline\nmetadata:\n  name: x\n",
			want:   "spec: Required value",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			req := newRequest(xrFromYAML(t, tc.xr), nil)
			// What already exists must be left exactly as it was.
			req.Desired = &fnv1.State{Resources: map[string]*fnv1.Resource{"earlier-step": {Resource: xrFromYAML(t, "apiVersion: v1\nkind: ConfigMap\n")}}}
			rsp := run(t, req)
			got := fatalMessage(rsp)
			if !strings.Contains(got, tc.want) {
				t.Errorf("%s\nfatal result: want it to contain\n  %s\ngot\n  %s", tc.reason, tc.want, got)
			}
			if diff := cmp.Diff(req.GetDesired(), rsp.GetDesired(), protocmp.Transform()); diff != "" {
				t.Errorf("%s\ndesired state must be unchanged by a bad input: -want, +got:\n%s", tc.reason, diff)
			}
			// The reason also reaches the claim, as a condition: Crossplane
			// puts a fatal result only on the XR.
			// PlatformDefaults says which EnvironmentConfigs applied
			// (none here), in case one of them made the spec invalid.
			noPlatform := &fnv1.Condition{
				Type:    string(v1alpha1.TypePlatformDefaults),
				Status:  fnv1.Status_STATUS_CONDITION_FALSE,
				Reason:  string(v1alpha1.ReasonNoEnvironmentConfig),
				Message: new("No EnvironmentConfig labelled cicd.platform.dev/defaults=true applies: the built-in defaults apply"),
				Target:  fnv1.Target_TARGET_COMPOSITE_AND_CLAIM.Enum(),
			}
			want := &fnv1.Condition{
				Type:    string(v1alpha1.TypeSpecValid),
				Status:  fnv1.Status_STATUS_CONDITION_FALSE,
				Reason:  string(v1alpha1.ReasonInvalidSpec),
				Message: new(capitalize(got)),
				Target:  fnv1.Target_TARGET_COMPOSITE_AND_CLAIM.Enum(),
			}
			wantConds := []*fnv1.Condition{noPlatform, want}
			if name == "NoSpec" {
				wantConds = []*fnv1.Condition{want}
			}
			if diff := cmp.Diff(wantConds, rsp.GetConditions(), protocmp.Transform()); diff != "" {
				t.Errorf("%s\nconditions: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	xr := xrFile(t, "xr-full.yaml")
	observed, _ := converge(t, xr, nil)
	opts := proto.MarshalOptions{Deterministic: true}
	var first []byte
	for i := range 5 {
		b, err := opts.Marshal(run(t, newRequest(xr, observed)))
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = b
			continue
		}
		if string(b) != string(first) {
			t.Fatalf("run %d gave a different response", i)
		}
	}
}
