// Package artifact reads the image the Build stage produced from the
// pipeline's input artifact: a zip file in the artifact bucket that contains
// contract.ImageDetailFile.
package artifact

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/contract"
	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/internal/awsapi"
)

// Size limits protect the Lambda's memory from an unexpected artifact: the
// build output holds a few small files.
const (
	maxArtifactBytes    = 64 << 20
	maxImageDetailBytes = 64 << 10
)

// imageURIPattern is an ECR image reference by digest or by tag.
var imageURIPattern = regexp.MustCompile(`^[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[a-z0-9._/-]+(@sha256:[a-f0-9]{64}|:[A-Za-z0-9_.-]{1,128})$`)

// Image is the image to deploy.
type Image struct {
	// URI is the ECR image reference, preferably by digest.
	URI string
	// Digest is "sha256:<hex>" when URI is by digest, otherwise empty.
	Digest string
}

// ReadImage downloads the artifact zip at bucket/key and returns the image
// named by its imageDetail.json.
func ReadImage(ctx context.Context, client awsapi.Artifacts, bucket, key string) (Image, error) {
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return Image{}, fmt.Errorf("downloading the input artifact s3://%s/%s: %w", bucket, key, err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(io.LimitReader(out.Body, maxArtifactBytes+1))
	if err != nil {
		return Image{}, fmt.Errorf("downloading the input artifact s3://%s/%s: %w", bucket, key, err)
	}
	if len(data) > maxArtifactBytes {
		return Image{}, fmt.Errorf("the input artifact s3://%s/%s is larger than %d bytes; the Build stage's output should only hold %s", bucket, key, maxArtifactBytes, contract.ImageDetailFile)
	}
	image, err := ImageFromZip(data)
	if err != nil {
		return Image{}, fmt.Errorf("reading the input artifact s3://%s/%s: %w", bucket, key, err)
	}
	return image, nil
}

// ImageFromZip finds imageDetail.json in a CodePipeline artifact zip (at its
// root, or in one sub-folder when the buildspec's base-directory was not set)
// and parses it.
func ImageFromZip(data []byte) (Image, error) {
	archive, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return Image{}, fmt.Errorf("the artifact is not a zip file: %w", err)
	}
	// The shallowest one is the build's; two at that depth leave the image
	// to deploy to the archive's order, so they are refused.
	var found, tied *zip.File
	for _, file := range archive.File {
		if path.Base(file.Name) != contract.ImageDetailFile || file.FileInfo().IsDir() {
			continue
		}
		switch {
		case found == nil || strings.Count(file.Name, "/") < strings.Count(found.Name, "/"):
			found, tied = file, nil
		case strings.Count(file.Name, "/") == strings.Count(found.Name, "/"):
			tied = file
		}
	}
	if found == nil {
		return Image{}, fmt.Errorf("the artifact has no %s: the build project's buildspec must write it and list it in artifacts.files", contract.ImageDetailFile)
	}
	if tied != nil {
		return Image{}, fmt.Errorf("the artifact has more than one %s at the same depth (%s and %s): the buildspec's artifacts must hold one", contract.ImageDetailFile, found.Name, tied.Name)
	}
	reader, err := found.Open()
	if err != nil {
		return Image{}, fmt.Errorf("opening %s in the artifact: %w", found.Name, err)
	}
	defer reader.Close()
	content, err := io.ReadAll(io.LimitReader(reader, maxImageDetailBytes+1))
	if err != nil {
		return Image{}, fmt.Errorf("reading %s in the artifact: %w", found.Name, err)
	}
	if len(content) > maxImageDetailBytes {
		return Image{}, fmt.Errorf("%s is larger than %d bytes", found.Name, maxImageDetailBytes)
	}
	return ParseImageDetail(content)
}

// ParseImageDetail parses and validates the content of imageDetail.json.
func ParseImageDetail(content []byte) (Image, error) {
	var detail contract.ImageDetail
	if err := json.Unmarshal(content, &detail); err != nil {
		return Image{}, fmt.Errorf("%s is not valid JSON of the form {\"ImageURI\": \"...\"}: %w", contract.ImageDetailFile, err)
	}
	return ParseImageURI(detail.ImageURI)
}

// ParseImageURI validates an ECR image reference and extracts its digest.
func ParseImageURI(uri string) (Image, error) {
	if uri == "" {
		return Image{}, errors.New(contract.ImageDetailFile + " has no ImageURI")
	}
	if !imageURIPattern.MatchString(uri) {
		return Image{}, fmt.Errorf("ImageURI %q is not an ECR image reference (<account>.dkr.ecr.<region>.amazonaws.com/<repository>@sha256:<digest>)", uri)
	}
	image := Image{URI: uri}
	if _, digest, ok := strings.Cut(uri, "@"); ok {
		image.Digest = digest
	}
	return image, nil
}
