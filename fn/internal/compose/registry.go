package compose

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/crossplane/function-sdk-go/errors"

	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/contract"
	ecr "github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/awsapis/cluster/ecr/v1beta1"
	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/iampolicy"
	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/observe"
)

// registry composes the ECR repository the build pushes to, and its
// lifecycle policy that keeps deployed images and the last N builds.
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
	if err := c.add(ECRRepository, c.in.Names[ECRRepository], repo); err != nil {
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

// repositoryPolicy lets the deploy targets' accounts pull this pipeline's
// images: Lambda reads a container image with its own principal (for
// functions in this and the targets' accounts), and a function in another
// account also needs that account allowed ("Amazon ECR permissions" in
// https://docs.aws.amazon.com/lambda/latest/dg/images-create.html). The
// deployer's role may not change repository policies for it.
func (c *composer) repositoryPolicy() error {
	account := c.in.AccountID
	if account == "" {
		c.wait(ECRRepositoryPolicy, awaitingAccount)
		return nil
	}
	others := c.targetAccounts(account)
	accounts := append([]string{account}, others...)
	functions := make([]string, 0, len(accounts))
	for _, a := range accounts {
		functions = append(functions, c.arn("lambda", a, "function:*"))
	}
	pull := []string{"ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"}
	statements := []iampolicy.Statement{{
		Sid:       "LambdaPull",
		Effect:    iampolicy.Allowed,
		Principal: &iampolicy.Principal{Service: []string{"lambda.amazonaws.com"}},
		Action:    pull,
		Condition: iampolicy.Condition{"StringLike": {"aws:sourceArn": functions}},
	}}
	if len(others) > 0 {
		roots := make([]string, 0, len(others))
		for _, a := range others {
			roots = append(roots, fmt.Sprintf("arn:%s:iam::%s:root", c.partition(), a))
		}
		statements = append(statements, iampolicy.Statement{
			Sid:       "CrossAccountPull",
			Effect:    iampolicy.Allowed,
			Principal: &iampolicy.Principal{AWS: roots},
			Action:    pull,
		})
	}
	policy, err := iampolicy.New(statements...).JSON()
	if err != nil {
		return errors.Wrapf(err, "cannot compose %s", ECRRepositoryPolicy)
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

// targetAccounts are the accounts of the deploy targets other than the
// pipeline's, sorted: from each target's function ARN (a target's role is
// in the same account, which the XRD checks).
func (c *composer) targetAccounts(own string) []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range c.in.Spec.Deployer.Targets {
		a := observe.AccountFromARN(t.FunctionName)
		if a == "" || a == own || seen[a] {
			continue
		}
		seen[a] = true
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// lifecyclePolicy keeps what the deployer deployed and expires the rest:
// deployed images (tagged contract.DeployedTagPrefix by the deployer) are
// matched first, and ECR never lets a lower-priority rule expire an image a
// higher-priority rule matched ("How lifecycle policies work",
// https://docs.aws.amazon.com/AmazonECR/latest/userguide/LifecyclePolicies.html),
// so newer builds cannot push out the image production runs or the one a
// rollback restores. Builds never deployed keep their newest keep images;
// untagged images (replaced by a push, or manifests of layers) go after a day.
// Rules select by tag prefix: no rule counts every image.
func lifecyclePolicy(keep int64) (string, error) {
	type selection struct {
		TagStatus     string   `json:"tagStatus"`
		TagPrefixList []string `json:"tagPrefixList,omitempty"`
		CountType     string   `json:"countType"`
		CountUnit     string   `json:"countUnit,omitempty"`
		CountNumber   int64    `json:"countNumber"`
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
	expire := action{Type: "expire"}
	doc := struct {
		Rules []rule `json:"rules"`
	}{Rules: []rule{
		{
			RulePriority: 1,
			Description:  fmt.Sprintf("Keep the last %d deployed images (the deployer tags them %s...)", keep, contract.DeployedTagPrefix),
			Selection:    selection{TagStatus: "tagged", TagPrefixList: []string{contract.DeployedTagPrefix}, CountType: "imageCountMoreThan", CountNumber: keep},
			Action:       expire,
		},
		{
			RulePriority: 2,
			Description:  fmt.Sprintf("Keep the last %d builds that were never deployed", keep),
			Selection:    selection{TagStatus: "tagged", TagPrefixList: []string{contract.BuildTagPrefix}, CountType: "imageCountMoreThan", CountNumber: keep},
			Action:       expire,
		},
		{
			RulePriority: 3,
			Description:  "Expire untagged images after a day",
			Selection:    selection{TagStatus: "untagged", CountType: "sinceImagePushed", CountUnit: "days", CountNumber: 1},
			Action:       expire,
		},
	}}
	b, err := json.Marshal(doc)
	if err != nil {
		return "", errors.Wrap(err, "cannot render the ECR lifecycle policy")
	}
	return string(b), nil
}
