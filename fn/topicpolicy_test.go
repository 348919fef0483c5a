package main

import (
	"encoding/json"
	"testing"

	"github.com/crossplane/function-sdk-go/resource"
	"github.com/google/go-cmp/cmp"

	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/compose"
	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/iampolicy"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/providerfake"
)

// TestTopicPolicySources: CloudWatch may publish to the topic only from
// this pipeline's alarms, and EventBridge only from its failed-execution
// rule, each in this account (aws:SourceArn and aws:SourceAccount, as in
// https://repost.aws/knowledge-center/cloudwatch-receive-sns-for-alarm-trigger
// and https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html).
// Without a deployer there are no alarms, and CloudWatch may not publish.
func TestTopicPolicySources(t *testing.T) {
	for _, tc := range []struct {
		example    string
		region     string
		withAlarms bool
	}{
		{example: "xr-full.yaml", region: "eu-west-1", withAlarms: true},
		{example: "xr-minimal.yaml", region: "us-east-1"},
	} {
		t.Run(tc.example, func(t *testing.T) {
			_, rsp := converge(t, xrFile(t, tc.example), nil)
			d := desired(rsp)
			u, ok := d[string(compose.NotificationTopicPolicy)]
			if !ok {
				t.Fatal("no topic policy composed")
			}
			var doc iampolicy.Document
			if err := json.Unmarshal([]byte(field(t, u, "spec.forProvider.policy").(string)), &doc); err != nil {
				t.Fatal(err)
			}
			const account = providerfake.Account
			awsName := func(name resource.Name) string {
				return d[string(name)].GetAnnotations()["crossplane.io/external-name"]
			}
			type source struct{ Service, SourceAccount, SourceArns []string }
			var want []source
			if tc.withAlarms {
				want = append(want, source{
					Service: []string{"cloudwatch.amazonaws.com"}, SourceAccount: []string{account},
					SourceArns: []string{
						"arn:aws:cloudwatch:" + tc.region + ":" + account + ":alarm:" + awsName(compose.ErrorsAlarm),
						"arn:aws:cloudwatch:" + tc.region + ":" + account + ":alarm:" + awsName(compose.RollbackFailedAlarm),
					},
				})
			}
			want = append(want, source{
				Service: []string{"events.amazonaws.com"}, SourceAccount: []string{account},
				SourceArns: []string{"arn:aws:events:" + tc.region + ":" + account + ":rule/" + awsName(compose.FailedRule)},
			})
			var got []source
			for _, s := range doc.Statement {
				if s.Principal == nil || len(s.Action) != 1 || s.Action[0] != "sns:Publish" {
					t.Errorf("statement %s: want only sns:Publish by a service principal, got %+v", s.Sid, s)
					continue
				}
				got = append(got, source{Service: s.Principal.Service, SourceAccount: s.Condition["StringEquals"]["aws:SourceAccount"], SourceArns: s.Condition["ArnEquals"]["aws:SourceArn"]})
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("who may publish to the topic: -want, +got:\n%s", diff)
			}
		})
	}
}
