package compose

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/crossplane/function-sdk-go/errors"

	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/contract"
	cloudwatch "github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/awsapis/cluster/cloudwatch/v1beta1"
	dynamodb "github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/awsapis/cluster/dynamodb/v1beta1"
	lambda "github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/awsapis/cluster/lambda/v1beta1"
)

// noDeployerImage says why the Deploy stage (and the deployer Lambda) is
// missing, and what to do.
const noDeployerImage = "Set spec.deployer.image to the platform's published deployer image to compose the deployer Lambda and the Deploy stage (see deployer/README.md)"

// table composes the deployment-history table the deployer writes: one item
// per deployment keyed by (deploymentId, timestamp), on-demand billing,
// point-in-time recovery and encryption at rest, plus the index a rollback
// uses to find the last successful deployment.
func (c *composer) table() error {
	t := &dynamodb.Table{Spec: dynamodb.TableSpec{
		ResourceSpec: c.resourceSpec(),
		ForProvider: dynamodb.TableParameters{
			Region:      c.region(),
			BillingMode: new("PAY_PER_REQUEST"),
			HashKey:     new(contract.HashKey),
			RangeKey:    new(contract.RangeKey),
			Attribute: []dynamodb.AttributeParameters{
				{Name: new(contract.HashKey), Type: new(contract.HashKeyType)},
				{Name: new(contract.StatusAttribute), Type: new("S")},
				{Name: new(contract.RangeKey), Type: new(contract.RangeKeyType)},
			},
			GlobalSecondaryIndex: []dynamodb.GlobalSecondaryIndexParameters{{
				Name:           new(contract.StatusIndex),
				HashKey:        new(contract.StatusAttribute),
				RangeKey:       new(contract.RangeKey),
				ProjectionType: new("ALL"),
			}},
			PointInTimeRecovery:  []dynamodb.PointInTimeRecoveryParameters{{Enabled: new(true)}},
			ServerSideEncryption: []dynamodb.ServerSideEncryptionParameters{{Enabled: new(true)}},
			Tags:                 c.tags(),
		},
	}}
	return c.add(DeploymentTable, c.in.Names[DeploymentTable], t)
}

// deployerEnabled reports whether the deployer Lambda and the Deploy stage
// are composed, and records why not.
func (c *composer) deployerEnabled() bool {
	if !c.in.Spec.ComposesDeployer() {
		c.res.DeployStageReason = noDeployerImage
		return false
	}
	return true
}

// deployer composes the deployer Lambda, which runs the platform team's
// published deployer image (never a guessed one), and the alarm on its
// errors.
func (c *composer) deployer() error {
	if !c.deployerEnabled() {
		return nil
	}
	d := c.in.Spec.Deployer
	fn := &lambda.Function{Spec: lambda.FunctionSpec{
		ResourceSpec: c.resourceSpec(),
		ForProvider: lambda.FunctionParameters{
			Region:       c.region(),
			PackageType:  new("Image"),
			ImageURI:     new(d.Image),
			MemorySize:   new(float64(d.MemoryMB)),
			Timeout:      new(float64(d.TimeoutSeconds)),
			RoleSelector: selector(DeployerRole),
			// Text: the deployer's embedded-metric-format lines reach the
			// log group as written.
			LoggingConfig: []lambda.LoggingConfigParameters{{LogFormat: new("Text"), LogGroupSelector: selector(DeployerLogGroup)}},
			Environment: []lambda.EnvironmentParameters{{Variables: map[string]*string{
				contract.EnvDeploymentTable:   new(c.in.Names[DeploymentTable]),
				contract.EnvEnvironmentSuffix: new(c.in.Spec.EnvironmentSuffix),
				contract.EnvPipelineName:      new(c.in.Names[Pipeline]),
				contract.EnvDeadlineMargin:    new(deadlineMargin(d.TimeoutSeconds)),
			}}},
			Description: new(fmt.Sprintf("Deploys the images built by pipeline %s", c.in.Names[Pipeline])),
			Tags:        c.tags(),
		},
	}}
	// No reservation unless the claim asks for one: each reservation takes
	// from the account's pool, of which Lambda keeps 100 unreserved.
	if d.ReservedConcurrency != nil {
		fn.Spec.ForProvider.ReservedConcurrentExecutions = new(float64(*d.ReservedConcurrency))
	}
	if err := c.add(DeployerFunction, c.in.Names[DeployerFunction], fn); err != nil {
		return err
	}
	if err := c.deployTargetsItem(); err != nil {
		return err
	}

	// provider-aws's alarmActions selector resolves autoscaling policies,
	// not SNS topics, so the topic's ARN is observed or derived.
	topic := &arns{c: c}
	topicARN := topic.of(NotificationTopic, "the notification topic's ARN")
	if w := topic.waiting(); w != "" {
		c.wait(ErrorsAlarm, w)
		c.wait(RollbackFailedAlarm, w)
		return nil
	}
	a := c.in.Spec.Alarms.LambdaErrors
	alarm := &cloudwatch.MetricAlarm{Spec: cloudwatch.MetricAlarmSpec{
		ResourceSpec: c.resourceSpec(),
		ForProvider: cloudwatch.MetricAlarmParameters{
			Region:             c.region(),
			AlarmDescription:   new(fmt.Sprintf("The deployer Lambda %s failed more than %d times in %d seconds", c.in.Names[DeployerFunction], a.Threshold, a.PeriodSeconds)),
			Namespace:          new("AWS/Lambda"),
			MetricName:         new("Errors"),
			Dimensions:         map[string]*string{"FunctionName": new(c.in.Names[DeployerFunction])},
			Statistic:          new("Sum"),
			Period:             new(float64(a.PeriodSeconds)),
			EvaluationPeriods:  new(float64(a.EvaluationPeriods)),
			Threshold:          new(float64(a.Threshold)),
			ComparisonOperator: new("GreaterThanThreshold"),
			TreatMissingData:   new("notBreaching"),
			AlarmActions:       []*string{new(topicARN)},
			Tags:               c.tags(),
		},
	}}
	if err := c.add(ErrorsAlarm, c.in.Names[ErrorsAlarm], alarm); err != nil {
		return err
	}
	return c.rollbackFailedAlarm(topicARN)
}

// rollbackFailedAlarm notifies the topic as soon as one rollback of this
// pipeline's deployer ends ROLLBACK_FAILED: the deployer writes the metric
// in the embedded metric format of its log (contract.RollbackFailedMetric).
func (c *composer) rollbackFailedAlarm(topicARN string) error {
	alarm := &cloudwatch.MetricAlarm{Spec: cloudwatch.MetricAlarmSpec{
		ResourceSpec: c.resourceSpec(),
		ForProvider: cloudwatch.MetricAlarmParameters{
			Region:             c.region(),
			AlarmDescription:   new(fmt.Sprintf("A rollback by the deployer of %s failed: its targets may run different images", c.in.Names[Pipeline])),
			Namespace:          new(contract.MetricNamespace),
			MetricName:         new(contract.RollbackFailedMetric),
			Dimensions:         map[string]*string{contract.MetricPipelineDimension: new(c.in.Names[Pipeline])},
			Statistic:          new("Sum"),
			Period:             new(float64(60)),
			EvaluationPeriods:  new(float64(1)),
			Threshold:          new(float64(1)),
			ComparisonOperator: new("GreaterThanOrEqualToThreshold"),
			TreatMissingData:   new("notBreaching"),
			AlarmActions:       []*string{new(topicARN)},
			Tags:               c.tags(),
		},
	}}
	return c.add(RollbackFailedAlarm, c.in.Names[RollbackFailedAlarm], alarm)
}

// deadlineMargin is how long before its timeout the deployer hands
// CodePipeline a continuation token: a third of the timeout, between 5 and
// 30 seconds, so a short timeout still leaves time to deploy.
func deadlineMargin(timeoutSeconds int64) string {
	m := min(max(timeoutSeconds/3, 5), 30)
	return fmt.Sprintf("%ds", m)
}

// deployUserParameters is the Deploy action's UserParameters: only the
// per-execution variables CodePipeline resolves when it runs the action.
// The targets are in the deploy-targets item (deployTargetsItem): an action
// configuration value is limited to 1,000 characters ("Quotas in AWS
// CodePipeline", https://docs.aws.amazon.com/codepipeline/latest/userguide/limits.html).
func deployUserParameters() (string, error) {
	p := contract.UserParameters{
		PipelineExecutionID: "#{codepipeline.PipelineExecutionId}",
		CommitID:            "#{" + sourceNamespace + ".CommitId}",
	}
	b, err := json.Marshal(p)
	if err != nil {
		return "", errors.Wrap(err, "cannot render the Deploy action's UserParameters")
	}
	return string(b), nil
}

// dynamoString and dynamoNumber are attribute values in DynamoDB's JSON.
type dynamoString struct {
	S string `json:"S"`
}

type dynamoNumber struct {
	N string `json:"N"`
}

// deployTargetsItem composes the item of the deployment table that tells
// the deployer what to deploy (contract.TargetsItem). A DynamoDB item may
// hold 400 KB ("Service, account, and table quotas in Amazon DynamoDB",
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html),
// far more than 20 targets need.
func (c *composer) deployTargetsItem() error {
	targets := contract.TargetsItem{Targets: make([]contract.Target, 0, len(c.in.Spec.Deployer.Targets))}
	for _, t := range c.in.Spec.Deployer.Targets {
		targets.Targets = append(targets.Targets, contract.Target{FunctionName: t.FunctionName, RoleARN: t.RoleARN, Alias: t.Alias, ExternalID: t.ExternalID})
	}
	value, err := json.Marshal(targets)
	if err != nil {
		return errors.Wrap(err, "cannot render the deploy targets")
	}
	item, err := json.Marshal(map[string]any{
		contract.HashKey:          dynamoString{S: contract.TargetsItemID},
		contract.RangeKey:         dynamoNumber{N: strconv.Itoa(contract.TargetsItemTimestamp)},
		contract.TargetsAttribute: dynamoString{S: string(value)},
	})
	if err != nil {
		return errors.Wrap(err, "cannot render the deploy targets item")
	}
	ti := &dynamodb.TableItem{Spec: dynamodb.TableItemSpec{
		ResourceSpec: c.resourceSpec(),
		ForProvider: dynamodb.TableItemParameters{
			Region:            c.region(),
			TableNameSelector: selector(DeploymentTable),
			HashKey:           new(contract.HashKey),
			RangeKey:          new(contract.RangeKey),
			Item:              new(string(item)),
		},
	}}
	return c.add(DeployTargetsItem, "", ti)
}
