package main

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/compose"
)

// TestFailureRuleMatchesOnlyFailedExecutions reads the failure rule's event
// pattern: CodePipeline sends "CodePipeline Pipeline Execution State Change"
// events from source aws.codepipeline, with detail.pipeline and detail.state
// (STARTED, SUCCEEDED, FAILED, ...); the rule must match only this
// pipeline's FAILED executions, or the topic is spammed with successes.
// https://docs.aws.amazon.com/codepipeline/latest/userguide/detect-state-changes-cloudwatch-events.html
// https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-codepipeline.html
func TestFailureRuleMatchesOnlyFailedExecutions(t *testing.T) {
	_, rsp := converge(t, xrFromYAML(t, minimalXR(minimalSpec)), nil)
	rule, ok := desired(rsp)[string(compose.FailedRule)]
	if !ok {
		t.Fatalf("%s is not composed", compose.FailedRule)
	}
	raw, _ := field(t, rule, "spec.forProvider.eventPattern").(string)
	var got map[string]any
	if err := json.Unmarshal([]byte(raw), &got); err != nil {
		t.Fatalf("eventPattern %q is not JSON: %v", raw, err)
	}
	want := map[string]any{
		"source":      []any{"aws.codepipeline"},
		"detail-type": []any{"CodePipeline Pipeline Execution State Change"},
		"detail": map[string]any{
			"pipeline": []any{"shop-x7k2p-pipeline-dev"},
			"state":    []any{"FAILED"},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("event pattern -want, +got:\n%s", diff)
	}
}
