package compose

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/crossplane/function-sdk-go/errors"
	"github.com/crossplane/function-sdk-go/resource"

	cloudwatchevents "github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/awsapis/cluster/cloudwatchevents/v1beta1"
	sns "github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/awsapis/cluster/sns/v1beta1"
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
			DisplayName: new(fmt.Sprintf("CI/CD %s", c.in.Names[Pipeline])),
			Tags:        c.tags(),
		},
	}}
	if k := c.in.Spec.Notifications.KMSKeyARN; k != "" {
		topic.Spec.ForProvider.KMSMasterKeyID = new(k)
	}
	if err := c.add(NotificationTopic, c.in.Names[NotificationTopic], topic); err != nil {
		return err
	}

	for _, email := range c.in.Spec.Notifications.Emails {
		sub := &sns.TopicSubscription{Spec: sns.TopicSubscriptionSpec{
			ResourceSpec: c.resourceSpec(),
			ForProvider: sns.TopicSubscriptionParameters{
				Region:           c.region(),
				Protocol:         new("email"),
				Endpoint:         new(email),
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
	return EmailSubscriptionPrefix + resource.Name(hex.EncodeToString(h[:])[:10])
}

func (c *composer) topicPolicy() error {
	a := &arns{c: c}
	topicARN := a.of(NotificationTopic, "the notification topic's ARN")
	alarms := make([]string, 0, 2)
	for _, alarm := range c.alarms() {
		alarms = append(alarms, a.of(alarm, "the "+string(alarm)+"'s ARN"))
	}
	rule := a.of(FailedRule, "the "+string(FailedRule)+"'s ARN")
	if w := a.waiting(); w != "" {
		c.wait(NotificationTopicPolicy, w)
		return nil
	}
	account := observe.AccountFromARN(topicARN)
	// Each service may publish only from this pipeline's own alarms and
	// rule: aws:SourceAccount and aws:SourceArn, as AWS's examples for
	// alarms ("Why didn't I receive an SNS notification for my CloudWatch
	// alarm trigger?",
	// https://repost.aws/knowledge-center/cloudwatch-receive-sns-for-alarm-trigger)
	// and EventBridge targets ("Using resource-based policies for Amazon
	// EventBridge",
	// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html)
	// condition them.
	publish := func(sid, service string, sources ...string) iampolicy.Statement {
		return iampolicy.Statement{
			Sid:       sid,
			Effect:    iampolicy.Allowed,
			Principal: &iampolicy.Principal{Service: []string{service}},
			Action:    []string{"sns:Publish"},
			Resource:  []string{topicARN},
			Condition: iampolicy.Condition{
				"StringEquals": {"aws:SourceAccount": {account}},
				"ArnEquals":    {"aws:SourceArn": sources},
			},
		}
	}
	var statements []iampolicy.Statement
	if len(alarms) > 0 {
		statements = append(statements, publish("AllowAlarmsToPublish", "cloudwatch.amazonaws.com", alarms...))
	}
	statements = append(statements, publish("AllowFailedRuleToPublish", "events.amazonaws.com", rule))
	doc := iampolicy.New(statements...)
	policy, err := doc.JSON()
	if err != nil {
		return errors.Wrapf(err, "cannot compose %s", NotificationTopicPolicy)
	}
	tp := &sns.TopicPolicy{Spec: sns.TopicPolicySpec{
		ResourceSpec: c.resourceSpec(),
		ForProvider: sns.TopicPolicyParameters{
			Region:      c.region(),
			ArnSelector: selector(NotificationTopic),
			Policy:      new(policy),
		},
	}}
	return c.add(NotificationTopicPolicy, "", tp)
}

// alarms are the composed alarms that notify the topic: the deployer's,
// when there is one.
func (c *composer) alarms() []resource.Name {
	if !c.in.Spec.ComposesDeployer() {
		return nil
	}
	return []resource.Name{ErrorsAlarm, RollbackFailedAlarm}
}

// failureNotification sends the pipeline's failed executions to the topic.
func (c *composer) failureNotification() error {
	err := c.eventRule(FailedRule, c.in.Names[FailedRule], fmt.Sprintf("Failed executions of %s", c.in.Names[Pipeline]), map[string]any{
		"source":      []string{"aws.codepipeline"},
		"detail-type": []string{"CodePipeline Pipeline Execution State Change"},
		"detail": map[string]any{
			"pipeline": []string{c.in.Names[Pipeline]},
			"state":    []string{"FAILED"},
		},
	})
	if err != nil {
		return err
	}

	return c.eventTarget(FailedTarget, FailedRule, "notify", NotificationTopic, "the notification topic's ARN", func(p *cloudwatchevents.TargetParameters) {
		p.InputTransformer = []cloudwatchevents.InputTransformerParameters{{
			InputPaths: map[string]*string{
				"pipeline":  new("$.detail.pipeline"),
				"execution": new("$.detail.execution-id"),
				"region":    new("$.region"),
			},
			InputTemplate: new(`"Pipeline <pipeline> execution <execution> FAILED. https://<region>.console.aws.amazon.com/codesuite/codepipeline/pipelines/<pipeline>/executions/<execution>/timeline?region=<region>"`),
		}}
	})
}

// eventRule composes an EventBridge rule on the default bus.
func (c *composer) eventRule(name resource.Name, awsName, description string, pattern map[string]any) error {
	b, err := json.Marshal(pattern)
	if err != nil {
		return errors.Wrapf(err, "cannot render the event pattern of %s", name)
	}
	rule := &cloudwatchevents.Rule{Spec: cloudwatchevents.RuleSpec{
		ResourceSpec: c.resourceSpec(),
		ForProvider: cloudwatchevents.RuleParameters{
			Region:       c.region(),
			Description:  new(description),
			EventPattern: new(string(b)),
			Tags:         c.tags(),
		},
	}}
	return c.add(name, awsName, rule)
}

// eventTarget composes the target of a rule, sending events to the ARN
// (observed or derived) of the resource composed as to: EventBridge
// targets have no selector for their ARN, so the target waits until that
// ARN is known.
func (c *composer) eventTarget(name, rule resource.Name, targetID string, to resource.Name, what string, configure func(*cloudwatchevents.TargetParameters)) error {
	a := &arns{c: c}
	arn := a.of(to, what)
	if w := a.waiting(); w != "" {
		c.wait(name, w)
		return nil
	}
	p := cloudwatchevents.TargetParameters{
		Region:       c.region(),
		RuleSelector: selector(rule),
		TargetID:     new(targetID),
		Arn:          new(arn),
	}
	if configure != nil {
		configure(&p)
	}
	target := &cloudwatchevents.Target{Spec: cloudwatchevents.TargetSpec{ResourceSpec: c.resourceSpec(), ForProvider: p}}
	return c.add(name, "", target)
}
