package compose

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/crossplane/function-sdk-go/errors"
	"github.com/crossplane/function-sdk-go/resource"
	yamlv2 "go.yaml.in/yaml/v2"
	"sigs.k8s.io/yaml"

	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/contract"
	codebuild "github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/awsapis/cluster/codebuild/v1beta1"
)

// DefaultTestBuildspec is the buildspec file the test project runs from the
// repository when the claim gives neither commands nor a buildspec.
const DefaultTestBuildspec = "buildspec-test.yml"

// Environment variables of the build project, read by the default buildspec.
const (
	EnvImageRepoURI = "IMAGE_REPO_URI"
	EnvDockerfile   = "DOCKERFILE"
	// EnvBuildKitImage is the BuildKit image buildx runs: never pulled from
	// Docker Hub anonymously, whose rate limit shared CodeBuild addresses
	// exhaust.
	EnvBuildKitImage = "BUILDKIT_IMAGE"
)

// ECR Public serves anonymous pulls with lower quotas than authenticated
// ones ("Amazon ECR Public service quotas",
// https://docs.aws.amazon.com/AmazonECR/latest/public/public-service-quotas.html),
// and CodeBuild's addresses are shared, so the default buildspec logs in to
// ECR Public before buildx pulls a BuildKit image from it. Its
// authorization token comes only from us-east-1 ("Registry authentication
// in Amazon ECR public",
// https://docs.aws.amazon.com/AmazonECR/latest/public/public-registry-auth.html).
const (
	ecrPublicRegistry   = "public.ecr.aws"
	ecrPublicAuthRegion = "us-east-1"
)

// ecrPublicLoginActions are what `aws ecr-public get-login-password` needs
// ("This command requires the 'ecr-public:GetAuthorizationToken' and
// 'sts:GetServiceBearerToken' permissions",
// https://docs.aws.amazon.com/cli/latest/reference/ecr-public/get-login-password.html).
// Neither has resource-level permissions ("Actions, resources, and
// condition keys for Amazon Elastic Container Registry Public",
// https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerregistrypublic.html).
var ecrPublicLoginActions = []string{"ecr-public:GetAuthorizationToken", "sts:GetServiceBearerToken"}

// buildKitFromECRPublic reports whether the build pulls BuildKit from ECR
// Public, and so logs in to it.
func (c *composer) buildKitFromECRPublic() bool {
	return strings.HasPrefix(c.in.Spec.Build.BuildKitImage, ecrPublicRegistry+"/")
}

// buildCacheDir is where BuildKit keeps its layer cache between builds;
// CodeBuild stores it in the cache bucket.
const buildCacheDir = "/root/.buildx-cache"

// buildProjects composes the build project (privileged Docker build with the
// S3 layer cache, push to ECR) and the test project.
func (c *composer) buildProjects() error {
	if err := c.buildProject(); err != nil {
		return err
	}
	if !c.testEnabled() {
		return nil
	}
	return c.testProject()
}

func (c *composer) buildProject() error {
	// The image repository's URI has no selector: observed, else derived.
	repoURL := c.repositoryURI()
	if repoURL == "" {
		waiting := awaitingAccount
		if c.in.AccountID != "" {
			waiting = "the ECR repository's URL"
		}
		c.wait(BuildProject, waiting)
		return nil
	}
	b := c.in.Spec.Build
	spec := b.Buildspec
	if spec == "" {
		spec = defaultBuildspec()
	}
	p := c.project(CodeBuildRole, c.buildLogGroup(), fmt.Sprintf("Builds and pushes the image of %s", c.in.Names[Pipeline]), b.TimeoutMinutes, spec, codebuild.EnvironmentParameters{
		ComputeType: new(string(b.ComputeType)),
		Image:       new(b.Image),
		// Docker builds need a privileged container.
		PrivilegedMode: new(true),
		EnvironmentVariable: []codebuild.EnvironmentVariableParameters{
			{Name: new(EnvImageRepoURI), Value: new(repoURL), Type: new("PLAINTEXT")},
			{Name: new(EnvDockerfile), Value: new(b.DockerfilePath), Type: new("PLAINTEXT")},
			{Name: new(EnvBuildKitImage), Value: new(b.BuildKitImage), Type: new("PLAINTEXT")},
		},
	})
	p.Spec.ForProvider.Cache = &codebuild.CacheParameters{Type: new("S3"), LocationSelector: selector(CacheBucket)}
	return c.add(BuildProject, c.in.Names[BuildProject], p)
}

func (c *composer) testProject() error {
	t := c.in.Spec.Test
	spec := t.Buildspec
	switch {
	case len(t.Commands) > 0:
		s, err := commandsBuildspec(t.Commands)
		if err != nil {
			return err
		}
		spec = s
	case spec == "":
		spec = DefaultTestBuildspec
	}
	p := c.project(CodeBuildTestRole, c.testLogGroup(), fmt.Sprintf("Tests the source of %s", c.in.Names[Pipeline]), t.TimeoutMinutes, spec, codebuild.EnvironmentParameters{
		ComputeType: new(string(t.ComputeType)),
		Image:       new(t.Image),
	})
	return c.add(TestProject, c.in.Names[TestProject], p)
}

// project is a CodeBuild project run by the pipeline: its source and
// artifacts come from and go to CodePipeline, it runs as the CodeBuild role
// in a Linux container of the given environment, as role, logging to the
// composed logGroup.
func (c *composer) project(role resource.Name, logGroup, description string, timeoutMinutes int64, buildspec string, env codebuild.EnvironmentParameters) *codebuild.Project {
	env.Type = new("LINUX_CONTAINER")
	env.ImagePullCredentialsType = new("CODEBUILD")
	return &codebuild.Project{Spec: codebuild.ProjectSpec{
		ResourceSpec: c.resourceSpec(),
		ForProvider: codebuild.ProjectParameters{
			Region:              c.region(),
			Description:         new(description),
			BuildTimeout:        new(float64(timeoutMinutes)),
			ServiceRoleSelector: selector(role),
			LogsConfig: &codebuild.LogsConfigParameters{CloudwatchLogs: &codebuild.CloudwatchLogsParameters{
				Status: new("ENABLED"), GroupName: new(logGroup),
			}},
			Artifacts:   &codebuild.ArtifactsParameters{Type: new("CODEPIPELINE")},
			Source:      &codebuild.SourceParameters{Type: new("CODEPIPELINE"), Buildspec: new(buildspec)},
			Environment: &env,
			Tags:        c.tags(),
		},
	}}
}

// defaultBuildspec builds the Dockerfile with BuildKit (started from
// $BUILDKIT_IMAGE), keeping its layer cache in the directory CodeBuild
// stores in the cache bucket, pushes the image tagged
// contract.BuildTagPrefix + commit + build number, and writes imageDetail.json
// (the image by digest) for the Deploy stage.
func defaultBuildspec() string {
	return `version: 0.2
env:
  shell: bash
phases:
  pre_build:
    commands:
      - aws ecr get-login-password --region "$AWS_REGION" | docker login --username AWS --password-stdin "${` + EnvImageRepoURI + `%%/*}"
      - case "$` + EnvBuildKitImage + `" in ` + ecrPublicRegistry + `/*) aws ecr-public get-login-password --region ` + ecrPublicAuthRegion + ` | docker login --username AWS --password-stdin ` + ecrPublicRegistry + ` ;; esac
      - IMAGE_TAG="` + contract.BuildTagPrefix + `$(echo "${CODEBUILD_RESOLVED_SOURCE_VERSION:-manual}" | cut -c1-12)-${CODEBUILD_BUILD_NUMBER}"
      - docker buildx create --name pipeline --driver docker-container --driver-opt "image=$` + EnvBuildKitImage + `" --use
  build:
    commands:
      - docker buildx build --file "$` + EnvDockerfile + `" --tag "$` + EnvImageRepoURI + `:$IMAGE_TAG" --provenance=false --cache-from "type=local,src=` + buildCacheDir + `" --cache-to "type=local,dest=` + buildCacheDir + `-new,mode=max" --metadata-file build-metadata.json --push .
  post_build:
    commands:
      - test "$CODEBUILD_BUILD_SUCCEEDING" = 1
      - rm -rf ` + buildCacheDir + ` && mv ` + buildCacheDir + `-new ` + buildCacheDir + `
      - printf '{"ImageURI":"%s@%s"}' "$` + EnvImageRepoURI + `" "$(jq -r '."containerimage.digest"' build-metadata.json)" > ` + contract.ImageDetailFile + `
artifacts:
  files:
    - ` + contract.ImageDetailFile + `
cache:
  paths:
    - '` + buildCacheDir + `/**/*'
`
}

// commandsBuildspec runs the claim's test commands.
func commandsBuildspec(commands []string) (string, error) {
	// yaml.Marshal (sigs.k8s.io/yaml) encodes to JSON, decodes that JSON with
	// go.yaml.in/yaml/v2 into maps and strings and encodes those: encoding
	// the same maps and strings directly gives the same bytes
	// (TestCommandsBuildspecAsSigsYAML) without the round trip. Commands
	// with characters the round trip changes or refuses (invalid UTF-8,
	// control characters, which YAML does not allow unescaped) and no
	// commands (null) take the round trip.
	if len(commands) == 0 || !all(commands, plainText) {
		return commandsBuildspecViaJSON(commands)
	}
	doc := map[string]any{
		"version": "0.2",
		"phases":  map[string]any{"build": map[string]any{"commands": commands}},
	}
	b, err := yamlv2.Marshal(doc)
	if err != nil {
		return "", errors.Wrap(err, "spec.test.commands: cannot render a buildspec")
	}
	return string(b), nil
}

// plainText reports whether s is valid UTF-8 of printable characters, tabs
// and newlines only.
func plainText(s string) bool {
	for _, r := range s {
		switch {
		case r == '\t' || r == '\n' || (r >= 0x20 && r <= 0x7e):
		case r < 0xa0 || r == utf8.RuneError || r == 0xfeff || r == 0xfffe || r == 0xffff:
			return false
		}
	}
	return true
}

// commandsBuildspecViaJSON is commandsBuildspec through sigs.k8s.io/yaml.
func commandsBuildspecViaJSON(commands []string) (string, error) {
	type phase struct {
		Commands []string `json:"commands"`
	}
	doc := struct {
		Version string           `json:"version"`
		Phases  map[string]phase `json:"phases"`
	}{Version: "0.2", Phases: map[string]phase{"build": {Commands: commands}}}
	b, err := yaml.Marshal(doc)
	if err != nil {
		return "", errors.Wrap(err, "spec.test.commands: cannot render a buildspec")
	}
	return string(b), nil
}

func all(ss []string, ok func(string) bool) bool {
	return !slices.ContainsFunc(ss, func(s string) bool { return !ok(s) })
}
