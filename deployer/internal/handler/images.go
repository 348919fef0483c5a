package handler

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/contract"
	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/internal/history"
)

// ecrImage splits an ECR image reference by digest or by tag.
var ecrImage = regexp.MustCompile(`^([0-9]{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/([a-z0-9._/-]+)(?:@(sha256:[a-f0-9]{64})|:([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))$`)

// manifestMediaTypes are the manifest types an image in ECR can have: a
// single-image manifest (Docker or OCI), and a Docker manifest list or OCI
// image index, which docker buildx pushes by default (provenance
// attestations). BatchGetImage returns a manifest only in a media type the
// caller accepts (acceptedMediaTypes, BatchGetImage API reference), so all
// of them are accepted: retagging must put the manifest back byte for byte
// ("Retagging an image in Amazon ECR", Amazon ECR User Guide).
var manifestMediaTypes = []string{
	"application/vnd.docker.distribution.manifest.v1+json",
	"application/vnd.docker.distribution.manifest.v2+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.oci.image.index.v1+json",
}

// tagDeployedImage adds contract.DeployedTagPrefix + <environment> + "-" +
// <unix ms> to the deployed image, so that the repository's lifecycle policy,
// which expires untagged and build-tagged images, keeps every image the
// pipeline may roll back to. ECR adds a tag by putting the same manifest
// again under it ("Retagging an image", Amazon ECR User Guide). A failure
// does not fail the deployment, which succeeded, but is recorded
// (ImageTagError) and told in the job's summary: a rollback to an image the
// lifecycle policy expired fails.
func (h *Handler) tagDeployedImage(ctx context.Context, rec *history.Record) {
	if rec.ImageTagged || rec.Kind != history.KindPipeline {
		return
	}
	tag := contract.DeployedTagPrefix + h.cfg.Environment + "-" + strconv.FormatInt(time.Now().UnixMilli(), 10)
	if err := h.tagImage(ctx, rec.ImageURI, tag); err != nil {
		rec.ImageTagError = fmt.Sprintf("cannot tag %s as %s: %s", rec.ImageURI, tag, err.Error())
		h.logFor(rec).Error("cannot tag the deployed image; the repository's lifecycle policy may expire it", "image", rec.ImageURI, "tag", tag, "error", err.Error())
		return
	}
	rec.ImageTagged = true
	rec.ImageTagError = ""
	h.logFor(rec).Info("tagged the deployed image", "image", rec.ImageURI, "tag", tag)
}

func (h *Handler) tagImage(ctx context.Context, imageURI, tag string) error {
	parts := ecrImage.FindStringSubmatch(imageURI)
	if parts == nil {
		return fmt.Errorf("%s is not an ECR image reference", imageURI)
	}
	registry, region, repository := parts[1], parts[2], parts[3]
	id := ecrtypes.ImageIdentifier{ImageDigest: aws.String(parts[4])}
	if parts[4] == "" {
		id = ecrtypes.ImageIdentifier{ImageTag: aws.String(parts[5])}
	}
	inRegion := func(o *ecr.Options) { o.Region = region }
	got, err := h.deps.Images.BatchGetImage(ctx, &ecr.BatchGetImageInput{
		RegistryId:         aws.String(registry),
		RepositoryName:     aws.String(repository),
		ImageIds:           []ecrtypes.ImageIdentifier{id},
		AcceptedMediaTypes: manifestMediaTypes,
	}, inRegion)
	if err != nil {
		return fmt.Errorf("reading the manifest of %s: %w", imageURI, err)
	}
	if len(got.Images) == 0 {
		reason := ""
		if len(got.Failures) > 0 {
			reason = fmt.Sprintf(": %s (%s)", got.Failures[0].FailureCode, aws.ToString(got.Failures[0].FailureReason))
		}
		return fmt.Errorf("ECR has no image %s%s", imageURI, reason)
	}
	image := got.Images[0]
	digest := parts[4]
	if digest == "" && image.ImageId != nil {
		digest = aws.ToString(image.ImageId.ImageDigest)
	}
	in := &ecr.PutImageInput{
		RegistryId:             aws.String(registry),
		RepositoryName:         aws.String(repository),
		ImageManifest:          image.ImageManifest,
		ImageManifestMediaType: image.ImageManifestMediaType,
		ImageTag:               aws.String(tag),
	}
	if digest != "" {
		in.ImageDigest = aws.String(digest)
	}
	_, err = h.deps.Images.PutImage(ctx, in, inRegion)
	if _, exists := errors.AsType[*ecrtypes.ImageAlreadyExistsException](err); exists {
		return nil // a retried call: the tag is there
	}
	if err != nil {
		return fmt.Errorf("tagging %s as %s: %w", imageURI, tag, err)
	}
	return nil
}
