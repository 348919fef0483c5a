package compose

import (
	"encoding/json"
	"fmt"

	cloudwatch "github.com/upbound/provider-aws/v2/apis/cluster/cloudwatch/v1beta1"
	dynamodb "github.com/upbound/provider-aws/v2/apis/cluster/dynamodb/v1beta1"
	lambda "github.com/upbound/provider-aws/v2/apis/cluster/lambda/v1beta1"

	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/contract"
)

// Why the Deploy stage (and the deployer Lambda) can be missing.
const (
	ReasonNoDeployerImage = "spec.deployer.image is not set: the deployer Lambda and the Deploy stage are left out until the platform team's published deployer image is named there (see deployer/README.md)"
)

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
	return c.add(DeploymentTable, c.in.Names.DeploymentTable, t)
}

// deployerEnabled reports whether the deployer Lambda and the Deploy stage
// are composed, and records why not.
func (c *composer) deployerEnabled() bool {
	if c.in.Spec.Deployer.Image == "" {
		c.res.DeployStageReason = ReasonNoDeployerImage
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
			Region:                       c.region(),
			PackageType:                  new("Image"),
			ImageURI:                     new(d.Image),
			MemorySize:                   new(float64(d.MemoryMB)),
			Timeout:                      new(float64(d.TimeoutSeconds)),
			ReservedConcurrentExecutions: new(float64(d.ReservedConcurrency)),
			RoleSelector:                 selector(DeployerRole),
			Environment: []lambda.EnvironmentParameters{{Variables: map[string]*string{
				contract.EnvDeploymentTable:   new(c.in.Names.DeploymentTable),
				contract.EnvEnvironmentSuffix: new(c.in.Spec.EnvironmentSuffix),
				contract.EnvDeadlineMargin:    new(deadlineMargin(d.TimeoutSeconds)),
			}}},
			Description: new(fmt.Sprintf("Deploys the images built by pipeline %s", c.in.Names.Pipeline)),
			Tags:        c.tags(),
		},
	}}
	if err := c.add(DeployerFunction, c.in.Names.DeployerLambda, fn); err != nil {
		return err
	}

	// provider-aws's alarmActions selector resolves autoscaling policies,
	// not SNS topics, so the topic's ARN comes from the observed topic.
	topicARN := c.in.Observed.ARN(NotificationTopic)
	if topicARN == "" {
		c.wait(ErrorsAlarm, "the notification topic's ARN")
		return nil
	}
	a := c.in.Spec.Alarms.LambdaErrors
	alarm := &cloudwatch.MetricAlarm{Spec: cloudwatch.MetricAlarmSpec{
		ResourceSpec: c.resourceSpec(),
		ForProvider: cloudwatch.MetricAlarmParameters{
			Region:             c.region(),
			AlarmDescription:   new(fmt.Sprintf("The deployer Lambda %s failed more than %d times in %d seconds", c.in.Names.DeployerLambda, a.Threshold, a.PeriodSeconds)),
			Namespace:          new("AWS/Lambda"),
			MetricName:         new("Errors"),
			Dimensions:         map[string]*string{"FunctionName": new(c.in.Names.DeployerLambda)},
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
	return c.add(ErrorsAlarm, c.in.Names.ErrorsAlarm, alarm)
}

// deadlineMargin is how long before its timeout the deployer hands
// CodePipeline a continuation token: a third of the timeout, between 5 and
// 30 seconds, so a short timeout still leaves time to deploy.
func deadlineMargin(timeoutSeconds int64) string {
	m := min(max(timeoutSeconds/3, 5), 30)
	return fmt.Sprintf("%ds", m)
}

// deployUserParameters is the Deploy action's UserParameters: the targets
// the deployer updates.
func (c *composer) deployUserParameters() (string, error) {
	p := contract.UserParameters{
		Targets: make([]contract.Target, 0, len(c.in.Spec.Deployer.Targets)),
		// CodePipeline resolves these variables when it runs the action.
		PipelineExecutionID: "#{codepipeline.PipelineExecutionId}",
		CommitID:            "#{" + sourceNamespace + ".CommitId}",
	}
	for _, t := range c.in.Spec.Deployer.Targets {
		p.Targets = append(p.Targets, contract.Target{FunctionName: t.FunctionName, RoleARN: t.RoleARN, Alias: t.Alias})
	}
	b, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("cannot render the Deploy action's UserParameters: %w", err)
	}
	return string(b), nil
}
