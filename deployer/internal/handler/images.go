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

// ecrImage splits an ECR image reference by digest.
var ecrImage = regexp.MustCompile(`^([0-9]{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/([a-z0-9._/-]+)@(sha256:[a-f0-9]{64})$`)

// tagDeployedImage adds contract.DeployedTagPrefix + <environment> + "-" +
// <unix ms> to the deployed image, so that the repository's lifecycle policy,
// which expires untagged and build-tagged images, keeps every image the
// pipeline may roll back to. ECR adds a tag by putting the same manifest
// again under it ("Retagging an image", Amazon ECR User Guide). A failure is
// logged, not fatal: the deployment itself succeeded.
func (h *Handler) tagDeployedImage(ctx context.Context, rec *history.Record) {
	if rec.ImageTagged || rec.Kind != history.KindPipeline {
		return
	}
	tag := contract.DeployedTagPrefix + h.cfg.Environment + "-" + strconv.FormatInt(time.Now().UnixMilli(), 10)
	if err := h.tagImage(ctx, rec.ImageURI, tag); err != nil {
		h.logFor(rec).Error("cannot tag the deployed image; the repository's lifecycle policy may expire it", "image", rec.ImageURI, "tag", tag, "error", err.Error())
		return
	}
	rec.ImageTagged = true
	h.logFor(rec).Info("tagged the deployed image", "image", rec.ImageURI, "tag", tag)
}

func (h *Handler) tagImage(ctx context.Context, imageURI, tag string) error {
	parts := ecrImage.FindStringSubmatch(imageURI)
	if parts == nil {
		return fmt.Errorf("%s is not an ECR image reference by digest", imageURI)
	}
	registry, region, repository, digest := parts[1], parts[2], parts[3], parts[4]
	inRegion := func(o *ecr.Options) { o.Region = region }
	got, err := h.deps.Images.BatchGetImage(ctx, &ecr.BatchGetImageInput{
		RegistryId:     aws.String(registry),
		RepositoryName: aws.String(repository),
		ImageIds:       []ecrtypes.ImageIdentifier{{ImageDigest: aws.String(digest)}},
	}, inRegion)
	if err != nil {
		return fmt.Errorf("reading the manifest of %s: %w", imageURI, err)
	}
	if len(got.Images) == 0 {
		return fmt.Errorf("ECR has no image %s", imageURI)
	}
	image := got.Images[0]
	_, err = h.deps.Images.PutImage(ctx, &ecr.PutImageInput{
		RegistryId:             aws.String(registry),
		RepositoryName:         aws.String(repository),
		ImageManifest:          image.ImageManifest,
		ImageManifestMediaType: image.ImageManifestMediaType,
		ImageTag:               aws.String(tag),
		ImageDigest:            aws.String(digest),
	}, inRegion)
	if _, exists := errors.AsType[*ecrtypes.ImageAlreadyExistsException](err); exists {
		return nil // a retried call: the tag is there
	}
	if err != nil {
		return fmt.Errorf("tagging %s as %s: %w", imageURI, tag, err)
	}
	return nil
}
