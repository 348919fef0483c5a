package compose

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/crossplane/function-sdk-go/resource"
	cloudwatchevents "github.com/upbound/provider-aws/v2/apis/cluster/cloudwatchevents/v1beta1"
	sns "github.com/upbound/provider-aws/v2/apis/cluster/sns/v1beta1"

	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/iampolicy"
	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/observe"
)

// notifications composes the SNS topic failures go to, an e-mail
// subscription per address, the topic policy that lets CloudWatch alarms and
// EventBridge publish, and the EventBridge rule that sends failed pipeline
// executions to the topic.
func (c *composer) notifications() error {
	topic := &sns.Topic{Spec: sns.TopicSpec{
		ResourceSpec: c.resourceSpec(),
		ForProvider: sns.TopicParameters{
			Region:      c.region(),
			DisplayName: ptr(fmt.Sprintf("CI/CD %s", c.in.Names.Pipeline)),
			Tags:        c.tags(),
		},
	}}
	if err := c.add(NotificationTopic, c.in.Names.Topic, topic); err != nil {
		return err
	}

	for _, email := range c.in.Spec.Notifications.Emails {
		sub := &sns.TopicSubscription{Spec: sns.TopicSubscriptionSpec{
			ResourceSpec: c.resourceSpec(),
			ForProvider: sns.TopicSubscriptionParameters{
				Region:           c.region(),
				Protocol:         ptr("email"),
				Endpoint:         ptr(email),
				TopicArnSelector: selector(NotificationTopic),
			},
		}}
		if err := c.add(EmailSubscription(email), "", sub); err != nil {
			return err
		}
	}

	if err := c.topicPolicy(); err != nil {
		return err
	}
	return c.failureNotification()
}

// EmailSubscription is the composed resource name of an address's
// subscription.
func EmailSubscription(email string) resource.Name {
	h := sha256.Sum256([]byte(email))
	return resource.Name(EmailSubscriptionPrefix + hex.EncodeToString(h[:])[:10])
}

func (c *composer) topicPolicy() error {
	topicARN := c.in.Observed.ARN(NotificationTopic)
	if topicARN == "" {
		c.wait(NotificationTopicPolicy, "the notification topic's ARN")
		return nil
	}
	doc := iampolicy.New(iampolicy.Statement{
		Sid:       "AllowAlarmsAndEventsToPublish",
		Effect:    "Allow",
		Principal: &iampolicy.Principal{Service: []string{"cloudwatch.amazonaws.com", "events.amazonaws.com"}},
		Action:    []string{"sns:Publish"},
		Resource:  []string{topicARN},
		Condition: iampolicy.Condition{"StringEquals": {"aws:SourceAccount": {observe.AccountFromARN(topicARN)}}},
	})
	policy, err := doc.JSON()
	if err != nil {
		return fmt.Errorf("cannot compose %s: %w", NotificationTopicPolicy, err)
	}
	tp := &sns.TopicPolicy{Spec: sns.TopicPolicySpec{
		ResourceSpec: c.resourceSpec(),
		ForProvider: sns.TopicPolicyParameters{
			Region:      c.region(),
			ArnSelector: selector(NotificationTopic),
			Policy:      ptr(policy),
		},
	}}
	return c.add(NotificationTopicPolicy, "", tp)
}

// failureNotification sends the pipeline's failed executions to the topic.
func (c *composer) failureNotification() error {
	pattern, err := eventPattern(map[string]any{
		"source":      []string{"aws.codepipeline"},
		"detail-type": []string{"CodePipeline Pipeline Execution State Change"},
		"detail": map[string]any{
			"pipeline": []string{c.in.Names.Pipeline},
			"state":    []string{"FAILED"},
		},
	})
	if err != nil {
		return err
	}
	rule := &cloudwatchevents.Rule{Spec: cloudwatchevents.RuleSpec{
		ResourceSpec: c.resourceSpec(),
		ForProvider: cloudwatchevents.RuleParameters{
			Region:       c.region(),
			Description:  ptr(fmt.Sprintf("Failed executions of %s", c.in.Names.Pipeline)),
			EventPattern: ptr(pattern),
			Tags:         c.tags(),
		},
	}}
	if err := c.add(FailedRule, c.in.Names.FailedRule, rule); err != nil {
		return err
	}

	topicARN := c.in.Observed.ARN(NotificationTopic)
	if topicARN == "" {
		// EventBridge targets have no selector for their ARN.
		c.wait(FailedTarget, "the notification topic's ARN")
		return nil
	}
	target := &cloudwatchevents.Target{Spec: cloudwatchevents.TargetSpec{
		ResourceSpec: c.resourceSpec(),
		ForProvider: cloudwatchevents.TargetParameters{
			Region:       c.region(),
			RuleSelector: selector(FailedRule),
			TargetID:     ptr("notify"),
			Arn:          ptr(topicARN),
			InputTransformer: []cloudwatchevents.InputTransformerParameters{{
				InputPaths: map[string]*string{
					"pipeline":  ptr("$.detail.pipeline"),
					"execution": ptr("$.detail.execution-id"),
					"region":    ptr("$.region"),
				},
				InputTemplate: ptr(`"Pipeline <pipeline> execution <execution> FAILED. https://<region>.console.aws.amazon.com/codesuite/codepipeline/pipelines/<pipeline>/executions/<execution>/timeline?region=<region>"`),
			}},
		},
	}}
	return c.add(FailedTarget, "", target)
}

// eventPattern renders an EventBridge event pattern.
func eventPattern(p map[string]any) (string, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("cannot render an event pattern: %w", err)
	}
	return string(b), nil
}
