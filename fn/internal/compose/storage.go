package compose

import (
	"github.com/crossplane/crossplane-runtime/v2/pkg/fieldpath"
	"github.com/crossplane/function-sdk-go/errors"
	"github.com/crossplane/function-sdk-go/resource"

	s3 "github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/awsapis/cluster/s3/v1beta1"
	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/iampolicy"
)

// bucket describes one of the pipeline's buckets and the resources that
// configure it.
type bucket struct {
	name              resource.Name
	awsName           string
	versioning        resource.Name // empty: unversioned
	encryption        resource.Name
	lifecycle         resource.Name
	publicAccessBlock resource.Name
	policy            resource.Name
	expireDays        int64
}

// storage composes the artifact bucket (versioned) and the Docker layer
// cache bucket: each encrypted with SSE-S3 (AES256), private, and expiring
// objects after their retention.
func (c *composer) storage() error {
	a := c.in.Spec.Artifacts
	buckets := []bucket{
		{
			name: ArtifactBucket, awsName: c.in.Names[ArtifactBucket],
			versioning: ArtifactBucketVersioning, encryption: ArtifactBucketEncryption,
			lifecycle: ArtifactBucketLifecycle, publicAccessBlock: ArtifactBucketPublicAccessBlock,
			policy: ArtifactBucketPolicy, expireDays: a.RetentionDays,
		},
		{
			name: CacheBucket, awsName: c.in.Names[CacheBucket],
			encryption: CacheBucketEncryption, lifecycle: CacheBucketLifecycle,
			publicAccessBlock: CacheBucketPublicAccessBlock,
			policy:            CacheBucketPolicy,
			expireDays:        a.CacheRetentionDays,
		},
	}
	for _, b := range buckets {
		if err := c.bucket(b); err != nil {
			return err
		}
	}
	return nil
}

func (c *composer) bucket(b bucket) error {
	bkt := &s3.Bucket{Spec: s3.BucketSpec{
		ResourceSpec: c.resourceSpec(),
		ForProvider: s3.BucketParameters{
			Region:       c.region(),
			ForceDestroy: new(c.destroy()),
			Tags:         c.tags(),
		},
	}}
	if err := c.add(b.name, b.awsName, bkt); err != nil {
		return err
	}

	if b.versioning != "" {
		v := &s3.BucketVersioning{Spec: s3.BucketVersioningSpec{
			ResourceSpec: c.resourceSpec(),
			ForProvider: s3.BucketVersioningParameters{
				Region:                  c.region(),
				BucketSelector:          selector(b.name),
				VersioningConfiguration: []s3.VersioningConfigurationParameters{{Status: new("Enabled")}},
			},
		}}
		if err := c.add(b.versioning, "", v); err != nil {
			return err
		}
	}

	sse := &s3.BucketServerSideEncryptionConfiguration{Spec: s3.BucketServerSideEncryptionConfigurationSpec{
		ResourceSpec: c.resourceSpec(),
		ForProvider: s3.BucketServerSideEncryptionConfigurationParameters{
			Region:         c.region(),
			BucketSelector: selector(b.name),
			Rule: []s3.BucketServerSideEncryptionConfigurationRuleParameters{{
				ApplyServerSideEncryptionByDefault: []s3.RuleApplyServerSideEncryptionByDefaultParameters{{SseAlgorithm: new("AES256")}},
			}},
		},
	}}
	if err := c.add(b.encryption, "", sse); err != nil {
		return err
	}

	rule := s3.BucketLifecycleConfigurationRuleParameters{
		ID:     new("expire-after-" + itoa(b.expireDays) + "-days"),
		Status: new("Enabled"),
		// Filter is set to the empty prefix below.
		Expiration:                     []s3.RuleExpirationParameters{{Days: new(float64(b.expireDays))}},
		AbortIncompleteMultipartUpload: []s3.AbortIncompleteMultipartUploadParameters{{DaysAfterInitiation: new(float64(1))}},
	}
	if b.versioning != "" {
		rule.NoncurrentVersionExpiration = []s3.RuleNoncurrentVersionExpirationParameters{{NoncurrentDays: new(float64(b.expireDays))}}
	}
	lc := &s3.BucketLifecycleConfiguration{Spec: s3.BucketLifecycleConfigurationSpec{
		ResourceSpec: c.resourceSpec(),
		ForProvider: s3.BucketLifecycleConfigurationParameters{
			Region:         c.region(),
			BucketSelector: selector(b.name),
			Rule:           []s3.BucketLifecycleConfigurationRuleParameters{rule},
		},
	}}
	// The empty prefix applies the rule to every object. An empty filter
	// block does too, but terraform-provider-aws (which provider-aws runs)
	// warns that it will become an error. The typed struct cannot say it
	// (omitempty drops an empty prefix), so it is set on the JSON map.
	if err := c.addEdited(b.lifecycle, "", lc, setEmptyPrefixFilter); err != nil {
		return err
	}

	pab := &s3.BucketPublicAccessBlock{Spec: s3.BucketPublicAccessBlockSpec{
		ResourceSpec: c.resourceSpec(),
		ForProvider: s3.BucketPublicAccessBlockParameters{
			Region:                c.region(),
			BucketSelector:        selector(b.name),
			BlockPublicAcls:       new(true),
			BlockPublicPolicy:     new(true),
			IgnorePublicAcls:      new(true),
			RestrictPublicBuckets: new(true),
		},
	}}
	if err := c.add(b.publicAccessBlock, "", pab); err != nil {
		return err
	}
	return c.tlsOnly(b)
}

// tlsOnly composes the bucket's policy denying every request not made over
// TLS (Security Hub S3.5; "Enforce encryption of data in transit" in
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html).
func (c *composer) tlsOnly(b bucket) error {
	arn := c.arnOf(b.name)
	if arn == "" {
		// Only outside the partitions whose ARNs the function derives.
		c.wait(b.policy, "the "+string(b.name)+"'s ARN")
		return nil
	}
	doc, err := iampolicy.New(iampolicy.Statement{
		Sid:       "DenyInsecureTransport",
		Effect:    iampolicy.Denied,
		Principal: &iampolicy.Principal{AWS: []string{"*"}},
		Action:    []string{"s3:*"},
		Resource:  []string{arn, arn + "/*"},
		Condition: iampolicy.Condition{"Bool": {"aws:SecureTransport": {"false"}}},
	}).JSON()
	if err != nil {
		return errors.Wrapf(err, "cannot compose %s", b.policy)
	}
	p := &s3.BucketPolicy{Spec: s3.BucketPolicySpec{
		ResourceSpec: c.resourceSpec(),
		ForProvider: s3.BucketPolicyParameters{
			Region:         c.region(),
			BucketSelector: selector(b.name),
			Policy:         new(doc),
		},
	}}
	return c.add(b.policy, "", p)
}

// lifecycleFilterPath is where a composed lifecycle configuration's first
// rule's filter is.
const lifecycleFilterPath = "spec.forProvider.rule[0].filter"

// setEmptyPrefixFilter sets lifecycleFilterPath of obj to a filter of the
// empty prefix, as fieldpath's SetValue does (TestEmptyPrefixFilterAsSetValue),
// without parsing the path (in a goroutine) and a JSON round trip of the
// value, a few percent of a create. Any other shape than a first rule that
// is an object goes through SetValue.
func setEmptyPrefixFilter(obj map[string]any) error {
	filter := []any{map[string]any{"prefix": ""}}
	spec, _ := obj["spec"].(map[string]any)
	forProvider, _ := spec["forProvider"].(map[string]any)
	rules, _ := forProvider["rule"].([]any)
	if len(rules) == 0 {
		return fieldpath.Pave(obj).SetValue(lifecycleFilterPath, filter)
	}
	rule, ok := rules[0].(map[string]any)
	if !ok {
		return fieldpath.Pave(obj).SetValue(lifecycleFilterPath, filter)
	}
	rule["filter"] = filter
	return nil
}
