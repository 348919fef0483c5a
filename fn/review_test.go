package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
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
