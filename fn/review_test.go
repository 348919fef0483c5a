package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/providerfake"
)

// deployAction returns the Deploy stage's action of a composed pipeline.
func deployAction(t *testing.T, d map[string]*unstructured.Unstructured) map[string]any {
	t.Helper()
	stages, _, _ := unstructured.NestedSlice(d["pipeline"].Object, "spec", "forProvider", "stage")
	for _, s := range stages {
		st := s.(map[string]any)
		if st["name"] == "Deploy" {
			return st["action"].([]any)[0].(map[string]any)
		}
	}
	t.Fatal("no Deploy stage")
	return nil
}

// TestDeployTargetsItem: the deploy targets are written into an item of the
// deployment table, not into the Deploy action's UserParameters, which
// CodePipeline limits to 1,000 characters ("Quotas in AWS CodePipeline",
// https://docs.aws.amazon.com/codepipeline/latest/userguide/limits.html).
func TestDeployTargetsItem(t *testing.T) {
	_, rsp := converge(t, xrFile(t, "xr-full.yaml"), nil)
	d := desired(rsp)
	cfg := deployAction(t, d)["configuration"].(map[string]any)
	if diff := cmp.Diff(`{"pipelineExecutionId":"#{codepipeline.PipelineExecutionId}","commitId":"#{SourceVariables.CommitId}"}`, cfg["UserParameters"]); diff != "" {
		t.Errorf("UserParameters carries only the per-execution variables: -want, +got:\n%s", diff)
	}
	item, ok := d["deploy-targets-item"]
	if !ok {
		t.Fatalf("no deploy-targets-item composed; composed: %v", sortedNames(d))
	}
	if diff := cmp.Diff("TableItem", item.GetKind()); diff != "" {
		t.Errorf("kind: %s", diff)
	}
	fp := item.Object["spec"].(map[string]any)["forProvider"].(map[string]any)
	if fp["hashKey"] != "deploymentId" || fp["rangeKey"] != "timestamp" {
		t.Errorf("keys: got hashKey %v, rangeKey %v", fp["hashKey"], fp["rangeKey"])
	}
	if got := field(t, item, "spec.forProvider.tableNameSelector.matchLabels[cicd.platform.dev/component]"); got != "deployment-table" {
		t.Errorf("tableNameSelector selects %v, want deployment-table", got)
	}
	var got map[string]map[string]string
	if err := json.Unmarshal([]byte(fp["item"].(string)), &got); err != nil {
		t.Fatalf("item is not DynamoDB JSON: %v", err)
	}
	want := map[string]map[string]string{
		"deploymentId": {"S": "config#deploy-targets"},
		"timestamp":    {"N": "0"},
		"targets":      {"S": `{"targets":[{"functionName":"payments-api-prod","alias":"live"},{"functionName":"arn:aws:lambda:eu-west-1:444455556666:function:payments-worker","roleArn":"arn:aws:iam::444455556666:role/payments-deploy","alias":"live"}]}`},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("item: -want, +got:\n%s", diff)
	}
	if strings.Contains(cfg["UserParameters"].(string), "functionName") {
		t.Error("UserParameters still names targets")
	}
}

// TestLogGroups: the log groups CodeBuild and Lambda write to are composed,
// with the claim's retention, so they expire events and go with the claim;
// no role may create a log group of its own.
func TestLogGroups(t *testing.T) {
	_, rsp := converge(t, xrFile(t, "xr-full.yaml"), nil)
	d := desired(rsp)
	for name, want := range map[string]string{
		"build-log-group":    "/aws/codebuild/payments-9fz4d-build-prod",
		"test-log-group":     "/aws/codebuild/payments-9fz4d-test-prod",
		"deployer-log-group": "/aws/lambda/payments-9fz4d-deployer-prod",
	} {
		g, ok := d[name]
		if !ok {
			t.Errorf("%s is not composed", name)
			continue
		}
		if got := g.GetAnnotations()["crossplane.io/external-name"]; got != want {
			t.Errorf("%s: name %q, want %q", name, got, want)
		}
		if got := normalize(field(t, g, "spec.forProvider.retentionInDays")); got != int64(14) {
			t.Errorf("%s: retentionInDays %v, want 14 (spec.logs.retentionDays)", name, got)
		}
	}
	for project, group := range map[string]string{"build-project": "/aws/codebuild/payments-9fz4d-build-prod", "test-project": "/aws/codebuild/payments-9fz4d-test-prod"} {
		if got := field(t, d[project], "spec.forProvider.logsConfig.cloudwatchLogs.groupName"); got != group {
			t.Errorf("%s logs to %v, want %s", project, got, group)
		}
	}
	if got := field(t, d["deployer-function"], "spec.forProvider.loggingConfig[0].logGroupSelector.matchLabels[cicd.platform.dev/component]"); got != "deployer-log-group" {
		t.Errorf("the deployer Lambda's logging config selects %v, want deployer-log-group", got)
	}
	for name, u := range d {
		if u.GetKind() != "Policy" {
			continue
		}
		for _, s := range policyOf(t, u).Statement {
			for _, a := range s.Action {
				if strings.EqualFold(a, "logs:CreateLogGroup") {
					t.Errorf("%s grants logs:CreateLogGroup", name)
				}
			}
		}
	}
}

// TestTestProjectRole: the test project runs as its own role, not the
// build project's (which can push images and write artifacts).
func TestTestProjectRole(t *testing.T) {
	_, rsp := converge(t, xrFile(t, "xr-full.yaml"), nil)
	d := desired(rsp)
	for project, role := range map[string]string{"build-project": "codebuild-role", "test-project": "codebuild-test-role"} {
		if got := field(t, d[project], "spec.forProvider.serviceRoleSelector.matchLabels[cicd.platform.dev/component]"); got != role {
			t.Errorf("%s runs as %v, want %s", project, got, role)
		}
	}
	doc := policyOf(t, d["codebuild-test-role-policy"])
	for _, denied := range []struct{ action, resource string }{
		{"ecr:PutImage", "arn:aws:ecr:eu-west-1:123456789012:repository/payments-9fz4d-images-prod"},
		{"ecr:GetAuthorizationToken", "*"},
		{"s3:PutObject", "arn:aws:s3:::payments-9fz4d-artifacts-prod/payments-9fz4d-pipeline/build/imageDetail.zip"},
	} {
		if doc.Allows(denied.action, denied.resource) {
			t.Errorf("the test role allows %s on %s", denied.action, denied.resource)
		}
	}
}

// crossAccountSpec deploys to one function in this account and one in
// 444455556666 (through a role there); the cross-account role trusts a
// different account, 777788889999.
const crossAccountSpec = `
  environmentSuffix: dev
  region: eu-west-1
  source:
    repository: acme/shop
  deployer:
    image: 111122223333.dkr.ecr.eu-west-1.amazonaws.com/cicd-deployer:v1.0.0
    targets:
      - functionName: shop-api
      - functionName: arn:aws:lambda:eu-west-1:444455556666:function:shop-worker
        roleArn: arn:aws:iam::444455556666:role/shop-deploy
  crossAccount:
    trustedAccountIds: ["777788889999"]
    organizationId: o-abcdefghij
    imageRepositoryArns: ["arn:aws:ecr:eu-west-1:777788889999:repository/shop-images-dev"]
    functionNames: [shop-api]
`

// TestCrossAccountTargets: a target in another account can pull the image
// (the repository policy lets that account and its Lambda service read it;
// "Amazon ECR permissions" in "Create a Lambda function using a container
// image", https://docs.aws.amazon.com/lambda/latest/dg/images-create.html),
// and the deployer may assume the target's role. The pulling accounts come
// from the targets, not from crossAccount.trustedAccountIds.
func TestCrossAccountTargets(t *testing.T) {
	_, rsp := converge(t, xrFromYAML(t, minimalXR(crossAccountSpec)), nil)
	d := desired(rsp)
	policy, _, _ := unstructured.NestedString(d["ecr-repository-policy"].Object, "spec", "forProvider", "policy")
	want := `{"Version":"2012-10-17","Statement":[` +
		`{"Sid":"LambdaPull","Effect":"Allow","Principal":{"Service":["lambda.amazonaws.com"]},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"],"Condition":{"StringLike":{"aws:sourceArn":["arn:aws:lambda:eu-west-1:123456789012:function:*","arn:aws:lambda:eu-west-1:444455556666:function:*"]}}},` +
		`{"Sid":"CrossAccountPull","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::444455556666:root"]},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}]}`
	if diff := cmp.Diff(want, policy); diff != "" {
		t.Errorf("repository policy: -want, +got:\n%s", diff)
	}
	if strings.Contains(policy, "777788889999") {
		t.Error("the repository policy lets a trusted account pull although no target is there")
	}
	if !policyOf(t, d["deployer-role-policy"]).Allows("sts:AssumeRole", "arn:aws:iam::444455556666:role/shop-deploy") {
		t.Error("the deployer may not assume the cross-account target's role")
	}
}

// TestCrossAccountTargetNeedsRole: a function in another account without a
// role there is rejected once the pipeline's account is known (CEL cannot
// know the account).
func TestCrossAccountTargetNeedsRole(t *testing.T) {
	spec := strings.Replace(crossAccountSpec, "        roleArn: arn:aws:iam::444455556666:role/shop-deploy\n", "", 1)
	xr := xrFromYAML(t, minimalXR(spec))
	// Any observed ARN tells the account.
	observed := map[string]*unstructured.Unstructured{}
	first := run(t, newRequest(xr, nil))
	for name, u := range desired(first) {
		observed[name] = providerfake.Observe("shop-x7k2p", name, u)
	}
	got := fatalMessage(run(t, newRequest(xr, observed)))
	want := `spec.deployer.targets[1].functionName: arn:aws:lambda:eu-west-1:444455556666:function:shop-worker is in account 444455556666, not the pipeline's account 123456789012: set roleArn to a role in 444455556666 that the deployer may assume`
	if !strings.Contains(got, want) {
		t.Errorf("fatal result: want it to contain\n  %s\ngot\n  %s", want, got)
	}
}

// TestTLSOnlyBuckets: both buckets deny every request not made over TLS
// (Security Hub control S3.5, "S3 general purpose buckets should require
// requests to use SSL",
// https://docs.aws.amazon.com/securityhub/latest/userguide/s3-controls.html#s3-5).
func TestTLSOnlyBuckets(t *testing.T) {
	_, rsp := converge(t, xrFile(t, "xr-minimal.yaml"), nil)
	d := desired(rsp)
	for policy, bucket := range map[string]string{"artifact-bucket-policy": "shop-x7k2p-artifacts-dev", "cache-bucket-policy": "shop-x7k2p-build-cache-dev"} {
		u, ok := d[policy]
		if !ok {
			t.Errorf("%s is not composed", policy)
			continue
		}
		if got := field(t, u, "spec.forProvider.bucketSelector.matchLabels[cicd.platform.dev/component]"); got != strings.TrimSuffix(policy, "-policy") {
			t.Errorf("%s selects %v", policy, got)
		}
		got, _, _ := unstructured.NestedString(u.Object, "spec", "forProvider", "policy")
		arn := "arn:aws:s3:::" + bucket
		want := `{"Version":"2012-10-17","Statement":[{"Sid":"DenyInsecureTransport","Effect":"Deny","Principal":{"AWS":["*"]},"Action":["s3:*"],"Resource":["` + arn + `","` + arn + `/*"],"Condition":{"Bool":{"aws:SecureTransport":["false"]}}}]}`
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: -want, +got:\n%s", policy, diff)
		}
	}
}

// TestLongClaimName: a claim name like payments-service-api, once rejected
// because the connection name (limit 32) would not fit, now composes with
// shortened, hashed names.
func TestLongClaimName(t *testing.T) {
	xr := strings.Replace(minimalXR("\n  environmentSuffix: production1\n  source:\n    repository: acme/shop\n"),
		"name: shop-x7k2p", "name: payments-service-api-x7k2p", 1)
	_, rsp := converge(t, xrFromYAML(t, xr), nil)
	d := desired(rsp)
	got := field(t, d["codestar-connection"], "spec.forProvider.name")
	if diff := cmp.Diff("payment-860929f9-src-production1", got); diff != "" {
		t.Errorf("connection name: -want, +got:\n%s", diff)
	}
	if got := d["artifact-bucket"].GetAnnotations()["crossplane.io/external-name"]; got != "payments-service-api-x7k2p-artifacts-production1" {
		t.Errorf("a name within its limit must not change: got %s", got)
	}
}

// TestLifecyclePolicyKeepsDeployedImages: the ECR lifecycle policy cannot
// expire an image the deployer deployed (and may roll back to) because of
// newer builds. ECR applies rules in rulePriority order and "an image that
// matches the tagging requirements of a higher priority rule cannot be
// expired by a rule with a lower priority" ("How lifecycle policies work",
// https://docs.aws.amazon.com/AmazonECR/latest/userguide/LifecyclePolicies.html#lifecycle_policy_evaluation):
// deployed images (tag prefix contract.DeployedTagPrefix) are matched first
// and only the oldest beyond imagesToKeep of them expire; build tags beyond
// imagesToKeep and untagged images expire.
func TestLifecyclePolicyKeepsDeployedImages(t *testing.T) {
	_, rsp := converge(t, xrFile(t, "xr-full.yaml"), nil)
	got, _, _ := unstructured.NestedString(desired(rsp)["ecr-lifecycle-policy"].Object, "spec", "forProvider", "policy")
	want := `{"rules":[` +
		`{"rulePriority":1,"description":"Keep the last 25 deployed images (the deployer tags them deployed-...)","selection":{"tagStatus":"tagged","tagPrefixList":["deployed-"],"countType":"imageCountMoreThan","countNumber":25},"action":{"type":"expire"}},` +
		`{"rulePriority":2,"description":"Keep the last 25 builds that were never deployed","selection":{"tagStatus":"tagged","tagPrefixList":["build-"],"countType":"imageCountMoreThan","countNumber":25},"action":{"type":"expire"}},` +
		`{"rulePriority":3,"description":"Expire untagged images after a day","selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":1},"action":{"type":"expire"}}]}`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lifecycle policy: -want, +got:\n%s", diff)
	}
	// The properties the JSON must keep, whatever its wording.
	var doc struct {
		Rules []struct {
			RulePriority int `json:"rulePriority"`
			Selection    struct {
				TagStatus     string   `json:"tagStatus"`
				TagPrefixList []string `json:"tagPrefixList"`
			} `json:"selection"`
		} `json:"rules"`
	}
	if err := json.Unmarshal([]byte(got), &doc); err != nil {
		t.Fatal(err)
	}
	priority := map[string]int{}
	for _, r := range doc.Rules {
		if r.Selection.TagStatus == "any" {
			t.Error("a rule selects every image (tagStatus any): it would count deployed images with builds")
		}
		for _, p := range r.Selection.TagPrefixList {
			priority[p] = r.RulePriority
		}
	}
	if priority["deployed-"] == 0 || priority["build-"] == 0 || priority["deployed-"] >= priority["build-"] {
		t.Errorf("the deployed-image rule must come before the build-tag rule: priorities %v", priority)
	}
}

// TestBuildTagsAndBuildKit: the build tags its images with the build-tag
// prefix the lifecycle policy expires, and starts BuildKit from the claim's
// mirror (by default ECR Public), never from Docker Hub anonymously.
func TestBuildTagsAndBuildKit(t *testing.T) {
	_, rsp := converge(t, xrFile(t, "xr-minimal.yaml"), nil)
	p := desired(rsp)["build-project"]
	spec, _ := field(t, p, "spec.forProvider.source.buildspec").(string)
	if !strings.Contains(spec, `IMAGE_TAG="build-$(`) {
		t.Errorf("the image tag does not start with build-:\n%s", spec)
	}
	if !strings.Contains(spec, `docker buildx create --name pipeline --driver docker-container --driver-opt "image=$BUILDKIT_IMAGE" --use`) {
		t.Errorf("BuildKit is not started from $BUILDKIT_IMAGE:\n%s", spec)
	}
	env, _ := field(t, p, "spec.forProvider.environment.environmentVariable").([]any)
	found := false
	for _, e := range env {
		m := e.(map[string]any)
		if m["name"] == "BUILDKIT_IMAGE" {
			found = m["value"] == "public.ecr.aws/vend/moby/buildkit:buildx-stable-1"
		}
	}
	if !found {
		t.Errorf("BUILDKIT_IMAGE is not the ECR Public mirror: %v", env)
	}
}

// TestDefaults: no reserved concurrency unless asked for (Lambda keeps 100
// of the account's concurrency unreserved, so 50 per claim would cap an
// account at a couple of claims: "Lambda function scaling",
// https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html),
// and immutable image tags (every build tag is unique already).
func TestDefaults(t *testing.T) {
	_, rsp := converge(t, xrFromYAML(t, minimalXR(crossAccountSpec)), nil)
	d := desired(rsp)
	if got := field(t, d["deployer-function"], "spec.forProvider.reservedConcurrentExecutions"); got != nil {
		t.Errorf("reservedConcurrentExecutions = %v, want none by default", got)
	}
	if got := field(t, d["ecr-repository"], "spec.forProvider.imageTagMutability"); got != "IMMUTABLE" {
		t.Errorf("imageTagMutability = %v, want IMMUTABLE by default", got)
	}
}

// TestCrossAccountRoleTrust: the cross-account role trusts the named
// principals only, within the organization and with the external ID when
// given ("How to use an external ID",
// https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_common-scenarios_third-party.html;
// aws:PrincipalOrgID in "AWS global condition context keys",
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html).
func TestCrossAccountRoleTrust(t *testing.T) {
	spec := minimalSpec + `
  crossAccount:
    trustedAccountIds: ["444455556666"]
    trustedPrincipalArns: ["arn:aws:iam::444455556666:role/pipeline-deployer"]
    organizationId: o-abcdefghij
    externalId: shop-deploy-2026
    imageRepositoryArns: ["arn:aws:ecr:us-east-1:444455556666:repository/shop-images-dev"]
    functionNames: [shop-api]
`
	_, rsp := converge(t, xrFromYAML(t, minimalXR(spec)), nil)
	got, _, _ := unstructured.NestedString(desired(rsp)["cross-account-role"].Object, "spec", "forProvider", "assumeRolePolicy")
	want := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::444455556666:role/pipeline-deployer"]},"Action":["sts:AssumeRole","sts:SetSourceIdentity"],"Condition":{"StringEquals":{"aws:PrincipalOrgID":["o-abcdefghij"],"sts:ExternalId":["shop-deploy-2026"]}}}]}`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("trust policy: -want, +got:\n%s", diff)
	}
}

// TestSmallerFixes: the S3 lifecycle rules filter by prefix (an empty
// filter block is deprecated by terraform-provider-aws, which provider-aws
// runs); no Approval stage gates nothing when there is no Deploy stage; the
// topic is encrypted with the claim's KMS key when it names one.
func TestSmallerFixes(t *testing.T) {
	_, rsp := converge(t, xrFromYAML(t, minimalXR(minimalSpec+"  notifications:\n    kmsKeyArn: arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab\n")), nil)
	d := desired(rsp)
	for _, lc := range []string{"artifact-bucket-lifecycle", "cache-bucket-lifecycle"} {
		filter, _ := field(t, d[lc], "spec.forProvider.rule[0].filter[0]").(map[string]any)
		if diff := cmp.Diff(map[string]any{"prefix": ""}, filter); diff != "" {
			t.Errorf("%s filter: -want, +got:\n%s", lc, diff)
		}
	}
	if diff := cmp.Diff([]string{"Source", "Build", "Test"}, stageNames(t, d)); diff != "" {
		t.Errorf("without a Deploy stage there is no Approval stage: -want, +got:\n%s", diff)
	}
	if got := field(t, d["notification-topic"], "spec.forProvider.kmsMasterKeyId"); got != "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" {
		t.Errorf("kmsMasterKeyId = %v", got)
	}
}

// TestRollbackFailedAlarm: with the deployer composed, an alarm on the
// deployer's RollbackFailed metric (contract.RollbackFailedMetric, one per
// pipeline) notifies the topic as soon as one rollback fails.
func TestRollbackFailedAlarm(t *testing.T) {
	_, rsp := converge(t, xrFile(t, "xr-full.yaml"), nil)
	d := desired(rsp)
	a, ok := d["deployer-rollback-failed-alarm"]
	if !ok {
		t.Fatalf("no rollback-failed alarm; composed: %v", sortedNames(d))
	}
	fp := a.Object["spec"].(map[string]any)["forProvider"].(map[string]any)
	for k, want := range map[string]any{
		"namespace":          "CicdPipeline/Deployer",
		"metricName":         "RollbackFailed",
		"dimensions":         map[string]any{"PipelineName": "payments-9fz4d-pipeline-prod"},
		"statistic":          "Sum",
		"threshold":          int64(1),
		"comparisonOperator": "GreaterThanOrEqualToThreshold",
		"evaluationPeriods":  int64(1),
		"treatMissingData":   "notBreaching",
		"alarmActions":       []any{"arn:aws:sns:eu-west-1:123456789012:payments-9fz4d-notifications-prod"},
	} {
		if diff := cmp.Diff(want, normalize(fp[k])); diff != "" {
			t.Errorf("%s: -want, +got:\n%s", k, diff)
		}
	}
	_, rsp = converge(t, xrFile(t, "xr-minimal.yaml"), nil)
	if _, ok := desired(rsp)["deployer-rollback-failed-alarm"]; ok {
		t.Error("a rollback alarm without a deployer")
	}
}
