# The deployer Lambda (deployer/): the AWS Lambda Runtime Interface Emulator
# its end-to-end test runs it under, and the guard that
# keeps CI from passing without moto_server, which its integration tests need.

LAMBDA_RIE := $(BIN)/aws-lambda-rie

# The Runtime Interface Emulator, built once from its pinned tools module.
$(LAMBDA_RIE): tools/lambda-rie/go.mod tools/lambda-rie/go.sum
	@mkdir -p $(BIN)
	cd tools/lambda-rie && go build -trimpath -o $@ github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie

.PHONY: lambda-rie
lambda-rie: $(LAMBDA_RIE) ## Build the AWS Lambda Runtime Interface Emulator into ./bin.

# Locally the deployer's integration tests skip (saying why) without
# moto_server; in CI that would hide them, so make test fails instead.
.PHONY: check-moto-server
check-moto-server:
	@if [ -n "$${CI:-}" ] && ! command -v moto_server >/dev/null 2>&1; then \
		echo "moto_server is not on PATH, and CI must not skip the deployer's integration tests." >&2; \
		echo "Install it (Python: pip install 'moto[server]==5.2.1') or run on the project's machine image." >&2; \
		exit 1; \
	fi

TEST_PREREQS += $(LAMBDA_RIE) check-moto-server
