package main

import (
	"strings"
	"testing"

	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/compose"
)

// TestBuildKitPull: the default buildspec logs in to ECR Public before
// buildx pulls a BuildKit image from it (anonymous pulls get lower quotas,
// "Amazon ECR Public service quotas",
// https://docs.aws.amazon.com/AmazonECR/latest/public/public-service-quotas.html),
// and only then may the build role get an ECR Public token.
func TestBuildKitPull(t *testing.T) {
	const login = "aws ecr-public get-login-password --region us-east-1 | docker login --username AWS --password-stdin public.ecr.aws"
	cases := map[string]struct {
		buildkit  string
		wantLogin bool
	}{
		"ECRPublic":          {buildkit: "public.ecr.aws/vend/moby/buildkit:buildx-stable-1", wantLogin: true},
		"PrivatePullThrough": {buildkit: "123456789012.dkr.ecr.us-east-1.amazonaws.com/docker-hub/moby/buildkit:buildx-stable-1"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, rsp := converge(t, xrFromYAML(t, minimalXR(minimalSpec+"  build:\n    buildkitImage: "+tc.buildkit+"\n")), nil)
			d := desired(rsp)
			spec, _ := field(t, d[string(compose.BuildProject)], "spec.forProvider.source.buildspec").(string)
			loginAt, createAt := strings.Index(spec, login), strings.Index(spec, "docker buildx create")
			if createAt < 0 {
				t.Fatalf("the buildspec does not create the buildx builder:\n%s", spec)
			}
			// The login is conditional on the image's registry in the
			// buildspec; it must come before buildx pulls the image.
			if loginAt < 0 || loginAt > createAt {
				t.Errorf("the buildspec must log in to ECR Public before docker buildx create:\n%s", spec)
			}
			if !strings.Contains(spec, `case "$BUILDKIT_IMAGE" in public.ecr.aws/*)`) {
				t.Errorf("the ECR Public login must apply only to a BuildKit image on public.ecr.aws:\n%s", spec)
			}
			doc := policyOf(t, d[string(compose.PolicyOf(compose.CodeBuildRole))])
			for _, a := range []string{"ecr-public:GetAuthorizationToken", "sts:GetServiceBearerToken"} {
				if got := doc.Allows(a, "*"); got != tc.wantLogin {
					t.Errorf("build role allows %s: %v, want %v", a, got, tc.wantLogin)
				}
			}
			if doc := policyOf(t, d[string(compose.PolicyOf(compose.CodeBuildTestRole))]); doc.Allows("ecr-public:GetAuthorizationToken", "*") {
				t.Error("the test role must not get an ECR Public token")
			}
		})
	}
}
