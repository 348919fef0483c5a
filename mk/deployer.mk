# The deployer Lambda (deployer/): what its tests need beyond `go test`: the
# AWS Lambda Runtime Interface Emulator its end-to-end test runs it under
# (mk/tools.mk), and the guard that keeps CI from passing without
# moto_server, which its integration tests need.

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
