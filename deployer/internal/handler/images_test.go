package handler

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// scriptedImages answers BatchGetImage with got and records the calls.
type scriptedImages struct {
	got     *ecr.BatchGetImageOutput
	asked   []*ecr.BatchGetImageInput
	put     []*ecr.PutImageInput
	regions []string
}

func (s *scriptedImages) BatchGetImage(_ context.Context, in *ecr.BatchGetImageInput, opts ...func(*ecr.Options)) (*ecr.BatchGetImageOutput, error) {
	s.regions = append(s.regions, regionOf(opts))
	s.asked = append(s.asked, in)
	return s.got, nil
}

func (s *scriptedImages) PutImage(_ context.Context, in *ecr.PutImageInput, opts ...func(*ecr.Options)) (*ecr.PutImageOutput, error) {
	s.regions = append(s.regions, regionOf(opts))
	s.put = append(s.put, in)
	return &ecr.PutImageOutput{}, nil
}

func regionOf(opts []func(*ecr.Options)) string {
	var o ecr.Options
	for _, opt := range opts {
		opt(&o)
	}
	return o.Region
}

const tagDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// TestTagImagePutsTheManifestBackUnderTheTag: retagging puts the manifest
// read by BatchGetImage back with PutImage under the new tag, in the image's
// registry and region ("Retagging an image", Amazon ECR User Guide), with
// the image's digest, which ECR checks the manifest against (PutImage API
// reference, imageDigest): for an image named by tag, the digest ECR
// answered with.
func TestTagImagePutsTheManifestBackUnderTheTag(t *testing.T) {
	found := &ecr.BatchGetImageOutput{Images: []ecrtypes.Image{{
		ImageId:                &ecrtypes.ImageIdentifier{ImageDigest: aws.String(tagDigest), ImageTag: aws.String("build-1")},
		ImageManifest:          aws.String(`{"schemaVersion":2}`),
		ImageManifestMediaType: aws.String("application/vnd.oci.image.manifest.v1+json"),
	}}}
	want := &ecr.PutImageInput{
		RegistryId: aws.String("111122223333"), RepositoryName: aws.String("team/app"),
		ImageManifest: aws.String(`{"schemaVersion":2}`), ImageManifestMediaType: aws.String("application/vnd.oci.image.manifest.v1+json"),
		ImageTag: aws.String("deployed-prod-1"), ImageDigest: aws.String(tagDigest),
	}
	cases := map[string]struct {
		uri string
		id  ecrtypes.ImageIdentifier
	}{
		"by tag":    {uri: "111122223333.dkr.ecr.eu-west-1.amazonaws.com/team/app:build-1", id: ecrtypes.ImageIdentifier{ImageTag: aws.String("build-1")}},
		"by digest": {uri: "111122223333.dkr.ecr.eu-west-1.amazonaws.com/team/app@" + tagDigest, id: ecrtypes.ImageIdentifier{ImageDigest: aws.String(tagDigest)}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			images := &scriptedImages{got: found}
			h := New(Config{}, Deps{Images: images}, slog.New(slog.NewJSONHandler(t.Output(), nil)))
			if err := h.tagImage(context.Background(), tc.uri, "deployed-prod-1"); err != nil {
				t.Fatal(err)
			}
			asked := &ecr.BatchGetImageInput{
				RegistryId: aws.String("111122223333"), RepositoryName: aws.String("team/app"),
				ImageIds: []ecrtypes.ImageIdentifier{tc.id}, AcceptedMediaTypes: manifestMediaTypes,
			}
			if diff := cmp.Diff([]*ecr.BatchGetImageInput{asked}, images.asked, cmpopts.IgnoreUnexported(ecr.BatchGetImageInput{}, ecrtypes.ImageIdentifier{})); diff != "" {
				t.Errorf("BatchGetImage calls (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]*ecr.PutImageInput{want}, images.put, cmpopts.IgnoreUnexported(ecr.PutImageInput{})); diff != "" {
				t.Errorf("PutImage calls (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"eu-west-1", "eu-west-1"}, images.regions); diff != "" {
				t.Errorf("regions of the ECR calls (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTagImageOfAMissingImageSaysWhy: BatchGetImage answers a missing image
// with a failure, not an error (BatchGetImage API reference, failures).
func TestTagImageOfAMissingImageSaysWhy(t *testing.T) {
	uri := "111122223333.dkr.ecr.eu-west-1.amazonaws.com/team/app:build-1"
	cases := map[string]struct {
		got  *ecr.BatchGetImageOutput
		want string
	}{
		"with a failure": {
			got: &ecr.BatchGetImageOutput{Failures: []ecrtypes.ImageFailure{{
				FailureCode: ecrtypes.ImageFailureCodeImageNotFound, FailureReason: aws.String("Requested image not found"),
			}}},
			want: "ECR has no image " + uri + ": ImageNotFound (Requested image not found)",
		},
		"without one": {
			got:  &ecr.BatchGetImageOutput{},
			want: "ECR has no image " + uri,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			images := &scriptedImages{got: tc.got}
			h := New(Config{}, Deps{Images: images}, slog.New(slog.NewJSONHandler(t.Output(), nil)))
			err := h.tagImage(context.Background(), uri, "deployed-prod-1")
			if err == nil || err.Error() != tc.want {
				t.Errorf("tagImage() error = %v, want %q", err, tc.want)
			}
			if len(images.put) != 0 {
				t.Errorf("tagImage() of a missing image called PutImage: %+v", images.put)
			}
		})
	}
	if err := New(Config{}, Deps{}, slog.New(slog.NewJSONHandler(t.Output(), nil))).tagImage(context.Background(), "docker.io/library/nginx:1", "x"); err == nil ||
		!strings.Contains(err.Error(), "is not an ECR image reference") {
		t.Errorf("tagImage() of a non-ECR image: error = %v", err)
	}
}
