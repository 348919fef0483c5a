# Mutation testing: go-gremlins changes the product code one small mutation
# at a time (a condition negated, a boundary moved, an operator swapped) and
# runs the package's tests against each; a mutant the tests do not notice
# ("lived") is a behaviour no test pins down. See docs/testing.md.
#
#   make mutation                                    every package below
#   make mutation MUTATION_RUNS='"./fn/internal/naming"'  one package
#   make mutation MUTATION_THRESHOLD=90              a stricter gate

# go-gremlins is a pinned tool (mk/tools.mk).

# Percent of covered mutants (killed + lived) that must be killed, per package.
MUTATION_THRESHOLD ?= 85
# One gremlins run per entry: a path, then gremlins flags.
# - fn/: compose, observe and iampolicy are tested through RunFunction in
#   fn's tests, so every mutant runs the whole fn/ suite (--integration)
#   and coverage counts across fn/... .
# - deployer/: each package's own tests against its own mutants;
#   internal/testenv is test support (moto), not product behaviour.
MUTATION_RUNS ?= \
	"./fn --integration --coverpkg ./fn/..." \
	"./deployer -E ^internal/ -E ^contract/" \
	"./deployer/contract" \
	"./deployer/internal/artifact" \
	"./deployer/internal/awsapi" \
	"./deployer/internal/handler" \
	"./deployer/internal/history" \
	"./deployer/internal/rollout"
MUTATION_WORKERS ?= 2
# gremlins times a mutant's test run out at this multiple of the coverage
# run's time; below about 10 a small package's recompilation alone exceeds it.
MUTATION_TIMEOUT_COEFFICIENT ?= 10
MUTATION_OUT := $(OUT)/mutation

.PHONY: mutation
mutation: $(GREMLINS) $(LAMBDA_RIE) ## Mutation testing (go-gremlins) with a per-package efficacy threshold.
	@GREMLINS=$(GREMLINS) MUTATION_THRESHOLD=$(MUTATION_THRESHOLD) MUTATION_WORKERS=$(MUTATION_WORKERS) \
		MUTATION_TIMEOUT_COEFFICIENT=$(MUTATION_TIMEOUT_COEFFICIENT) MUTATION_OUT=$(MUTATION_OUT) \
		mk/mutation.sh $(MUTATION_RUNS)
