package testenv

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/contract"
)

// Account is one moto account's clients.
type Account struct {
	ID       string
	Config   aws.Config
	DynamoDB *dynamodb.Client
	ECR      *ecr.Client
	IAM      *iam.Client
	Lambda   *lambda.Client
	S3       *s3.Client
}

// DefaultAccount returns the clients of moto's default account, with the
// SDK configuration the environment gives (see RunWithMoto).
func DefaultAccount(t *testing.T) *Account {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatalf("loading the SDK configuration: %v", err)
	}
	return newAccount(Account{ID: DefaultAccountID, Config: cfg})
}

func newAccount(a Account) *Account {
	a.DynamoDB = dynamodb.NewFromConfig(a.Config)
	a.ECR = ecr.NewFromConfig(a.Config)
	a.IAM = iam.NewFromConfig(a.Config)
	a.Lambda = lambda.NewFromConfig(a.Config)
	a.S3 = s3.NewFromConfig(a.Config)
	return &a
}

// CreateHistoryTable creates a deployment-history table as the composition
// function defines it in the contract.
func (a *Account) CreateHistoryTable(t *testing.T, name string) {
	t.Helper()
	_, err := a.DynamoDB.CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: dbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []dbtypes.AttributeDefinition{
			{AttributeName: aws.String(contract.HashKey), AttributeType: dbtypes.ScalarAttributeType(contract.HashKeyType)},
			{AttributeName: aws.String(contract.RangeKey), AttributeType: dbtypes.ScalarAttributeType(contract.RangeKeyType)},
			{AttributeName: aws.String(contract.StatusAttribute), AttributeType: dbtypes.ScalarAttributeTypeS},
		},
		KeySchema: []dbtypes.KeySchemaElement{
			{AttributeName: aws.String(contract.HashKey), KeyType: dbtypes.KeyTypeHash},
			{AttributeName: aws.String(contract.RangeKey), KeyType: dbtypes.KeyTypeRange},
		},
		GlobalSecondaryIndexes: []dbtypes.GlobalSecondaryIndex{{
			IndexName: aws.String(contract.StatusIndex),
			KeySchema: []dbtypes.KeySchemaElement{
				{AttributeName: aws.String(contract.StatusAttribute), KeyType: dbtypes.KeyTypeHash},
				{AttributeName: aws.String(contract.RangeKey), KeyType: dbtypes.KeyTypeRange},
			},
			Projection: &dbtypes.Projection{ProjectionType: dbtypes.ProjectionTypeAll},
		}},
	})
	if err != nil {
		t.Fatalf("creating table %s: %v", name, err)
	}
}

// PushImage stores an image manifest in ECR (creating the repository when
// needed) and returns the image's URI by digest. Different labels make
// different images.
func (a *Account) PushImage(t *testing.T, repository, label string) string {
	t.Helper()
	ctx := context.Background()
	_, err := a.ECR.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(repository)})
	if err != nil && !isAlreadyExists(err) {
		t.Fatalf("creating repository %s: %v", repository, err)
	}
	configDigest := sha256.Sum256([]byte("config " + label))
	// moto derives an image's digest from its layers' digests.
	layerDigest := sha256.Sum256([]byte("layer " + label))
	manifest, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{
			"mediaType": "application/vnd.oci.image.config.v1+json",
			"size":      len(label),
			"digest":    "sha256:" + hex.EncodeToString(configDigest[:]),
		},
		"layers": []any{map[string]any{
			"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
			"size":      len(label),
			"digest":    "sha256:" + hex.EncodeToString(layerDigest[:]),
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := a.ECR.PutImage(ctx, &ecr.PutImageInput{
		RepositoryName: aws.String(repository),
		ImageManifest:  aws.String(string(manifest)),
		ImageTag:       aws.String(label),
	})
	if err != nil {
		t.Fatalf("pushing image %s:%s: %v", repository, label, err)
	}
	return fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com/%s@%s", a.ID, Region, repository, aws.ToString(out.Image.ImageId.ImageDigest))
}

// PushImageIndex stores an OCI image index (as docker buildx pushes an
// image with provenance attestations) that lists the image of label and an
// attestation manifest, and returns the index's URI by digest, the sha256 of
// the index's bytes as in a registry.
func (a *Account) PushImageIndex(t *testing.T, repository, label string) string {
	t.Helper()
	platform := a.PushImage(t, repository, label)
	attestation := a.PushImage(t, repository, label+"-attestation")
	digestOf := func(uri string) string { return uri[strings.Index(uri, "@")+1:] }
	type descriptor struct {
		MediaType   string            `json:"mediaType"`
		Size        int               `json:"size"`
		Digest      string            `json:"digest"`
		Platform    map[string]string `json:"platform"`
		Annotations map[string]string `json:"annotations,omitempty"`
	}
	index, err := json.Marshal(struct {
		SchemaVersion int          `json:"schemaVersion"`
		MediaType     string       `json:"mediaType"`
		Manifests     []descriptor `json:"manifests"`
	}{2, MediaTypeOCIIndex, []descriptor{
		{MediaType: MediaTypeOCIManifest, Size: 500, Digest: digestOf(platform), Platform: map[string]string{"architecture": "amd64", "os": "linux"}},
		{MediaType: MediaTypeOCIManifest, Size: 500, Digest: digestOf(attestation), Platform: map[string]string{"architecture": "unknown", "os": "unknown"},
			Annotations: map[string]string{"vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": digestOf(platform)}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(index)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	out, err := a.ECR.PutImage(context.Background(), &ecr.PutImageInput{
		RepositoryName: aws.String(repository),
		ImageManifest:  aws.String(string(index)),
		ImageTag:       aws.String(label + "-index"),
		ImageDigest:    aws.String(digest),
	})
	if err != nil {
		t.Fatalf("pushing image index %s:%s-index: %v", repository, label, err)
	}
	return fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com/%s@%s", a.ID, Region, repository, aws.ToString(out.Image.ImageId.ImageDigest))
}

// CreateImageFunction creates a container-image Lambda function (and its
// execution role, which moto requires to exist).
func (a *Account) CreateImageFunction(t *testing.T, name, imageURI string) {
	t.Helper()
	ctx := context.Background()
	role := "deployer-test-function-role"
	_, err := a.IAM.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName:                 aws.String(role),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`),
	})
	if err != nil && !isAlreadyExists(err) {
		t.Fatalf("creating role %s: %v", role, err)
	}
	_, err = a.Lambda.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String(name),
		PackageType:  lambdatypes.PackageTypeImage,
		Code:         &lambdatypes.FunctionCode{ImageUri: aws.String(imageURI)},
		Role:         aws.String(fmt.Sprintf("arn:aws:iam::%s:role/%s", a.ID, role)),
	})
	if err != nil {
		t.Fatalf("creating function %s: %v", name, err)
	}
}

// CurrentImage returns the image a function's $LATEST runs.
func (a *Account) CurrentImage(t *testing.T, name string) string {
	t.Helper()
	out, err := a.Lambda.GetFunction(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String(name)})
	if err != nil {
		t.Fatalf("reading function %s: %v", name, err)
	}
	return aws.ToString(out.Code.ImageUri)
}

// AliasVersion returns the version an alias points at.
func (a *Account) AliasVersion(t *testing.T, function, alias string) string {
	t.Helper()
	out, err := a.Lambda.GetAlias(context.Background(), &lambda.GetAliasInput{FunctionName: aws.String(function), Name: aws.String(alias)})
	if err != nil {
		t.Fatalf("reading alias %s of %s: %v", alias, function, err)
	}
	return aws.ToString(out.FunctionVersion)
}

// ArtifactBucket is the pipeline's artifact bucket.
const ArtifactBucket = "codepipeline-artifacts"

// UploadArtifact stores a Build stage output artifact (a zip with
// imageDetail.json) and returns its bucket and key.
func (a *Account) UploadArtifact(t *testing.T, imageURI string) (bucket, key string) {
	t.Helper()
	ctx := context.Background()
	bucket, key = ArtifactBucket, "pipeline/BuildOutput/"+strings.ToLower(rand.Text()[:10])
	_, err := a.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	if err != nil && !isAlreadyExists(err) {
		t.Fatalf("creating bucket %s: %v", bucket, err)
	}
	var archive bytes.Buffer
	writer := zip.NewWriter(&archive)
	file, err := writer.Create(contract.ImageDetailFile)
	if err != nil {
		t.Fatal(err)
	}
	detail, err := json.Marshal(contract.ImageDetail{ImageURI: imageURI})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := file.Write(detail); err != nil {
		t.Fatal(err)
	}
	if err := writer.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(archive.Bytes())}); err != nil {
		t.Fatalf("uploading the artifact: %v", err)
	}
	return bucket, key
}

func isAlreadyExists(err error) bool {
	msg := err.Error()
	for _, code := range []string{"AlreadyExists", "EntityAlreadyExists", "BucketAlreadyOwnedByYou", "RepositoryAlreadyExistsException"} {
		if strings.Contains(msg, code) {
			return true
		}
	}
	return false
}

// WriteTargets writes the deploy targets item as the composition function
// does.
func (a *Account) WriteTargets(t *testing.T, table string, targets ...contract.Target) {
	t.Helper()
	data, err := json.Marshal(contract.TargetsItem{Targets: targets})
	if err != nil {
		t.Fatal(err)
	}
	a.WriteTargetsJSON(t, table, string(data))
}

// WriteTargetsJSON writes the deploy targets item with raw JSON.
func (a *Account) WriteTargetsJSON(t *testing.T, table, raw string) {
	t.Helper()
	_, err := a.DynamoDB.PutItem(context.Background(), &dynamodb.PutItemInput{
		TableName: aws.String(table),
		Item: map[string]dbtypes.AttributeValue{
			contract.HashKey:          &dbtypes.AttributeValueMemberS{Value: contract.TargetsItemID},
			contract.RangeKey:         &dbtypes.AttributeValueMemberN{Value: fmt.Sprint(contract.TargetsItemTimestamp)},
			contract.TargetsAttribute: &dbtypes.AttributeValueMemberS{Value: raw},
		},
	})
	if err != nil {
		t.Fatalf("writing the targets item: %v", err)
	}
}

// ImageTags returns the tags of the image with digest in repository.
func (a *Account) ImageTags(t *testing.T, repository, digest string) []string {
	t.Helper()
	out, err := a.ECR.DescribeImages(context.Background(), &ecr.DescribeImagesInput{
		RepositoryName: aws.String(repository),
		ImageIds:       []ecrtypes.ImageIdentifier{{ImageDigest: aws.String(digest)}},
	})
	if err != nil {
		t.Fatalf("describing image %s of %s: %v", digest, repository, err)
	}
	if len(out.ImageDetails) == 0 {
		return nil
	}
	return out.ImageDetails[0].ImageTags
}
