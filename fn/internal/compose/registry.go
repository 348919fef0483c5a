package compose

import (
	"encoding/json"
	"fmt"

	ecr "github.com/upbound/provider-aws/v2/apis/cluster/ecr/v1beta1"

	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/iampolicy"
)

// registry composes the ECR repository the build pushes to, and its
// lifecycle policy that keeps the last N images.
func (c *composer) registry() error {
	r := c.in.Spec.Registry
	repo := &ecr.Repository{Spec: ecr.RepositorySpec{
		ResourceSpec: c.resourceSpec(),
		ForProvider: ecr.RepositoryParameters{
			Region:                     c.region(),
			ForceDelete:                new(c.destroy()),
			ImageTagMutability:         new(r.TagMutability),
			ImageScanningConfiguration: []ecr.ImageScanningConfigurationParameters{{ScanOnPush: new(enabled(r.ScanOnPush))}},
			EncryptionConfiguration:    []ecr.EncryptionConfigurationParameters{{EncryptionType: new("AES256")}},
			Tags:                       c.tags(),
		},
	}}
	if err := c.add(ECRRepository, c.in.Names.Repository, repo); err != nil {
		return err
	}

	policy, err := lifecyclePolicy(r.ImagesToKeep)
	if err != nil {
		return err
	}
	lp := &ecr.LifecyclePolicy{Spec: ecr.LifecyclePolicySpec{
		ResourceSpec: c.resourceSpec(),
		ForProvider: ecr.LifecyclePolicyParameters{
			Region:             c.region(),
			Policy:             new(policy),
			RepositorySelector: selector(ECRRepository),
		},
	}}
	if err := c.add(ECRLifecyclePolicy, "", lp); err != nil {
		return err
	}
	return c.repositoryPolicy()
}

// repositoryPolicy lets the Lambda service pull this pipeline's images for
// functions in this account and in the trusted accounts: Lambda reads a
// container image with its own principal, and the deployer's role may not
// change repository policies for it.
func (c *composer) repositoryPolicy() error {
	account := c.in.Observed.AccountID()
	if account == "" {
		c.wait(ECRRepositoryPolicy, "the AWS account ID (from any observed ARN)")
		return nil
	}
	accounts := append([]string{account}, c.in.Spec.CrossAccount.TrustedAccountIDs...)
	functions := make([]string, 0, len(accounts))
	for _, a := range accounts {
		functions = append(functions, fmt.Sprintf("arn:%s:lambda:*:%s:function:*", c.partition(), a))
	}
	doc := iampolicy.New(iampolicy.Statement{
		Sid:       "LambdaPull",
		Effect:    "Allow",
		Principal: &iampolicy.Principal{Service: []string{"lambda.amazonaws.com"}},
		Action:    []string{"ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"},
		Condition: iampolicy.Condition{"StringLike": {"aws:sourceArn": functions}},
	})
	policy, err := doc.JSON()
	if err != nil {
		return fmt.Errorf("cannot compose %s: %w", ECRRepositoryPolicy, err)
	}
	rp := &ecr.RepositoryPolicy{Spec: ecr.RepositoryPolicySpec{
		ResourceSpec: c.resourceSpec(),
		ForProvider: ecr.RepositoryPolicyParameters{
			Region:             c.region(),
			Policy:             new(policy),
			RepositorySelector: selector(ECRRepository),
		},
	}}
	return c.add(ECRRepositoryPolicy, "", rp)
}

// lifecyclePolicy expires all but the newest keep images.
func lifecyclePolicy(keep int64) (string, error) {
	type selection struct {
		TagStatus   string `json:"tagStatus"`
		CountType   string `json:"countType"`
		CountNumber int64  `json:"countNumber"`
	}
	type action struct {
		Type string `json:"type"`
	}
	type rule struct {
		RulePriority int       `json:"rulePriority"`
		Description  string    `json:"description"`
		Selection    selection `json:"selection"`
		Action       action    `json:"action"`
	}
	doc := struct {
		Rules []rule `json:"rules"`
	}{Rules: []rule{{
		RulePriority: 1,
		Description:  fmt.Sprintf("Keep only the last %d images", keep),
		Selection:    selection{TagStatus: "any", CountType: "imageCountMoreThan", CountNumber: keep},
		Action:       action{Type: "expire"},
	}}}
	b, err := json.Marshal(doc)
	if err != nil {
		return "", fmt.Errorf("cannot render the ECR lifecycle policy: %w", err)
	}
	return string(b), nil
}
