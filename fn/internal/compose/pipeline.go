package compose

import (
	"fmt"

	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1"
	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/contract"
	cloudwatchevents "github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/awsapis/cluster/cloudwatchevents/v1beta1"
	codepipeline "github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/awsapis/cluster/codepipeline/v1beta1"
	codestarconnections "github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/awsapis/cluster/codestarconnections/v1beta1"
)

// Pipeline artifacts passed between stages.
const (
	artifactSource = "source"
	artifactBuild  = "build"
)

// sourceNamespace is the Source action's variable namespace, through which
// the Deploy action learns the commit it deploys.
const sourceNamespace = "SourceVariables"

// connection composes the CodeStar connection the Source stage uses. AWS
// creates it PENDING: someone must complete the handshake in the console.
func (c *composer) connection() error {
	if !c.in.Spec.Source.ComposesConnection() {
		return nil
	}
	s := c.in.Spec.Source
	conn := &codestarconnections.Connection{Spec: codestarconnections.ConnectionSpec{
		ResourceSpec: c.resourceSpec(),
		ForProvider: codestarconnections.ConnectionParameters{
			Region: c.region(),
			Name:   new(c.in.Names[Connection]),
			Tags:   c.tags(),
		},
	}}
	if s.HostARN != "" {
		conn.Spec.ForProvider.HostArn = new(s.HostARN)
	} else {
		conn.Spec.ForProvider.ProviderType = new(string(s.Provider))
	}
	return c.add(Connection, "", conn)
}

// connectionARN is the claim's existing connection, or the composed one's
// observed ARN (recording it as missing in a when not known yet).
func (c *composer) connectionARN(a *arns) string {
	if arn := c.in.Spec.Source.ConnectionARN; arn != "" {
		return arn
	}
	return a.of(Connection, "the CodeStar connection's ARN")
}

// pipeline composes the CodePipeline: Source -> Build -> Test -> Approval ->
// Deploy, leaving out the stages that are switched off.
func (c *composer) pipeline() error {
	a := &arns{c: c}
	var source codepipeline.ActionParameters
	s := c.in.Spec.Source
	if s.Provider == v1alpha1.SourceCodeCommit {
		source = action("Source", "Source", "CodeCommit", map[string]string{
			"RepositoryName": s.Repository,
			"BranchName":     s.Branch,
			// The EventBridge rule starts the pipeline; polling is legacy.
			"PollForSourceChanges": "false",
		})
	} else {
		source = action("Source", "Source", "CodeStarSourceConnection", map[string]string{
			"ConnectionArn":        c.connectionARN(a),
			"FullRepositoryId":     s.Repository,
			"BranchName":           s.Branch,
			"OutputArtifactFormat": "CODE_ZIP",
			"DetectChanges":        "true",
		})
	}
	if w := a.waiting(); w != "" {
		// The connection ARN has no selector, and a Source action with a
		// guessed ARN would fail.
		c.wait(Pipeline, w)
		return nil
	}
	source.OutputArtifacts = []*string{new(artifactSource)}
	source.Namespace = new(sourceNamespace)

	build := action("Build", "Build", "CodeBuild", map[string]string{"ProjectName": c.in.Names[BuildProject]})
	build.InputArtifacts = []*string{new(artifactSource)}
	build.OutputArtifacts = []*string{new(artifactBuild)}

	stages := []codepipeline.StageParameters{
		{Name: new("Source"), Action: []codepipeline.ActionParameters{source}},
		{Name: new("Build"), Action: []codepipeline.ActionParameters{build}},
	}
	if c.testEnabled() {
		test := action("Test", "Test", "CodeBuild", map[string]string{"ProjectName": c.in.Names[TestProject]})
		test.InputArtifacts = []*string{new(artifactSource)}
		stages = append(stages, codepipeline.StageParameters{Name: new("Test"), Action: []codepipeline.ActionParameters{test}})
	}
	// An approval gates the Deploy stage: without one it gates nothing.
	if ap := c.in.Spec.Approval; c.approvalEnabled() {
		cfg := map[string]string{}
		if ap.Message != "" {
			cfg["CustomData"] = ap.Message
		}
		if ap.URL != "" {
			cfg["ExternalEntityLink"] = ap.URL
		}
		// Approvers are notified on the topic once its ARN is known.
		if topic := c.arnOf(NotificationTopic); topic != "" {
			cfg["NotificationArn"] = topic
		}
		approve := action("Approve", "Approval", "Manual", cfg)
		stages = append(stages, codepipeline.StageParameters{Name: new("Approval"), Action: []codepipeline.ActionParameters{approve}})
	}
	if c.in.Spec.ComposesDeployer() {
		params, err := deployUserParameters()
		if err != nil {
			return err
		}
		deploy := action(contract.DeployActionName, "Invoke", "Lambda", map[string]string{
			"FunctionName":   c.in.Names[DeployerFunction],
			"UserParameters": params,
		})
		deploy.InputArtifacts = []*string{new(artifactBuild)}
		stages = append(stages, codepipeline.StageParameters{Name: new(contract.DeployStageName), Action: []codepipeline.ActionParameters{deploy}})
	}

	p := &codepipeline.Codepipeline{Spec: codepipeline.CodepipelineSpec{
		ResourceSpec: c.resourceSpec(),
		ForProvider: codepipeline.CodepipelineParameters{
			Region:          c.region(),
			PipelineType:    new("V2"),
			RoleArnSelector: selector(CodePipelineRole),
			ArtifactStore: []codepipeline.ArtifactStoreParameters{{
				Type:             new("S3"),
				LocationSelector: selector(ArtifactBucket),
			}},
			Stage: stages,
			Tags:  c.tags(),
		},
	}}
	return c.add(Pipeline, c.in.Names[Pipeline], p)
}

// approvalEnabled reports whether the pipeline has an Approval stage: when
// the claim asks for one and there is a Deploy stage for it to gate.
func (c *composer) approvalEnabled() bool {
	return enabled(c.in.Spec.Approval.Enabled) && c.in.Spec.ComposesDeployer()
}

// action is an AWS-owned pipeline action of version 1.
func action(name, category, provider string, cfg map[string]string) codepipeline.ActionParameters {
	conf := make(map[string]*string, len(cfg))
	for k, v := range cfg {
		conf[k] = new(v)
	}
	a := codepipeline.ActionParameters{
		Name:     new(name),
		Category: new(category),
		Owner:    new("AWS"),
		Provider: new(provider),
		Version:  new("1"),
	}
	if len(conf) > 0 {
		a.Configuration = conf
	}
	return a
}

// pipelineEvents composes the EventBridge rule and target that start the
// pipeline on pushes to the branch, for CodeCommit sources only: CodeStar
// connection sources detect changes themselves.
func (c *composer) pipelineEvents() error {
	s := c.in.Spec.Source
	if s.Provider != v1alpha1.SourceCodeCommit {
		return nil
	}
	account := c.in.AccountID
	if account == "" {
		// The rule matches the repository's ARN, which has the account ID.
		c.wait(PushRule, awaitingAccount)
	} else {
		description := fmt.Sprintf("Pushes to %s of CodeCommit repository %s start %s", s.Branch, s.Repository, c.in.Names[Pipeline])
		err := c.eventRule(PushRule, c.in.Names[PushRule], description, map[string]any{
			"source":      []string{"aws.codecommit"},
			"detail-type": []string{"CodeCommit Repository State Change"},
			"resources":   []string{c.arn("codecommit", account, s.Repository)},
			"detail": map[string]any{
				"event":         []string{"referenceCreated", "referenceUpdated"},
				"referenceType": []string{"branch"},
				"referenceName": []string{s.Branch},
			},
		})
		if err != nil {
			return err
		}
	}

	return c.eventTarget(PushTarget, PushRule, "start-pipeline", Pipeline, "the pipeline's ARN", func(p *cloudwatchevents.TargetParameters) {
		p.RoleArnSelector = selector(EventsRole)
	})
}
