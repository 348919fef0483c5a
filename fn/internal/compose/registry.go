package compose

import (
	"encoding/json"
	"fmt"

	ecr "github.com/upbound/provider-aws/v2/apis/cluster/ecr/v1beta1"
)

// registry composes the ECR repository the build pushes to, and its
// lifecycle policy that keeps the last N images.
func (c *composer) registry() error {
	r := c.in.Spec.Registry
	repo := &ecr.Repository{Spec: ecr.RepositorySpec{
		ResourceSpec: c.resourceSpec(),
		ForProvider: ecr.RepositoryParameters{
			Region:                     c.region(),
			ForceDelete:                ptr(c.destroy()),
			ImageTagMutability:         ptr(r.TagMutability),
			ImageScanningConfiguration: []ecr.ImageScanningConfigurationParameters{{ScanOnPush: ptr(enabled(r.ScanOnPush))}},
			EncryptionConfiguration:    []ecr.EncryptionConfigurationParameters{{EncryptionType: ptr("AES256")}},
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
			Policy:             ptr(policy),
			RepositorySelector: selector(ECRRepository),
		},
	}}
	return c.add(ECRLifecyclePolicy, "", lp)
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
