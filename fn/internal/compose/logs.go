package compose

import (
	"github.com/crossplane/function-sdk-go/resource"

	cloudwatchlogs "github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/awsapis/cluster/cloudwatchlogs/v1beta1"
)

// logGroups composes the log groups CodeBuild and Lambda would otherwise
// create on first use: those would be kept forever and outlive the claim.
// Composed, they expire their events after spec.logs.retentionDays and go
// with the claim.
func (c *composer) logGroups() error {
	groups := map[resource.Name]string{BuildLogGroup: c.buildLogGroup()}
	if c.testEnabled() {
		groups[TestLogGroup] = c.testLogGroup()
	}
	if c.in.Spec.ComposesDeployer() {
		groups[DeployerLogGroup] = c.deployerLogGroup()
	}
	for _, name := range []resource.Name{BuildLogGroup, TestLogGroup, DeployerLogGroup} {
		awsName, ok := groups[name]
		if !ok {
			continue
		}
		g := &cloudwatchlogs.Group{Spec: cloudwatchlogs.GroupSpec{
			ResourceSpec: c.resourceSpec(),
			ForProvider: cloudwatchlogs.GroupParameters{
				Region:          c.region(),
				RetentionInDays: new(float64(c.in.Spec.Logs.RetentionDays)),
				Tags:            c.tags(),
			},
		}}
		if err := c.add(name, awsName, g); err != nil {
			return err
		}
	}
	return nil
}

func (c *composer) buildLogGroup() string    { return c.in.Names[BuildLogGroup] }
func (c *composer) testLogGroup() string     { return c.in.Names[TestLogGroup] }
func (c *composer) deployerLogGroup() string { return c.in.Names[DeployerLogGroup] }
