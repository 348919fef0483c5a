# syntax=docker/dockerfile:1
#
# The function's runtime image, for those who build with Docker:
#
#   docker buildx build --platform linux/amd64,linux/arm64 \
#     --build-arg VERSION=$(git describe --tags --always --dirty) -t fn:dev .
#
# `make function-image` builds the same image without Docker (cmd/ocibuild),
# and the two are kept consistent: same binary flags, same /function
# entrypoint, same nonroot user 65532:65532, same port. The Go-built image
# carries only the nonroot user's /etc/passwd and /etc/group, its home and
# /tmp where distroless adds CA certificates and tzdata, which the function
# does not use.

# Go 1.26.10: the first 1.26 release without known standard-library
# vulnerabilities (see docs/build.md).
ARG GO_VERSION=1.26.10

FROM --platform=${BUILDPLATFORM} golang:${GO_VERSION} AS build
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=v0.0.0-dev
WORKDIR /src
ENV CGO_ENABLED=0 GOTOOLCHAIN=local
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    GOOS=${TARGETOS} GOARCH=${TARGETARCH} go build -trimpath \
      -ldflags "-s -w -X github.com/cicd-platform/crossplane-cicd-pipeline/internal/version.version=${VERSION}" \
      -o /function ./fn

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /function /function
EXPOSE 9443
USER 65532:65532
ENTRYPOINT ["/function"]
