package v1alpha1

// `go generate ./...` (what `make generate` runs) regenerates both XRDs from
// the Go types here and in apis/namespaced/cicd/v1alpha1: controller-gen,
// the version tools/controller-gen/go.mod pins, turns their kubebuilder
// markers into CRDs in a scratch directory, then xrdgen turns each CRD into
// the XRD the package serves (embedded in xrd/ and copied to package/), and
// its schema as JSON (xrd/*schema.json) and its CEL rules compiled
// (xrd/*rules.json), which the function embeds.
// Then the README's parameter table is written from the XRDs'
// descriptions, which are the types' doc comments. TestDefinitionIsFresh,
// TestSchemaJSONIsFresh, TestRulesJSONIsFresh and TestREADMEParameterTable
// fail when one is stale.
//
// controller-gen also writes zz_generated.deepcopy.go, the types' DeepCopy
// methods: the function's spec cache hands each request its own copy of a
// decoded spec.

//go:generate go tool -modfile=../../../tools/controller-gen/go.mod controller-gen object paths=.
//go:generate go tool -modfile=../../../tools/controller-gen/go.mod controller-gen crd paths=../../... output:crd:dir=../../../_output/crds
//go:generate go run ../../xrdgen -crd ../../../_output/crds/cicd.platform.dev_xcicdpipelines.yaml -schema-out xrd/schema.json -rules-out xrd/rules.json -out xrd/definition.yaml -out ../../../package/definition.yaml
//go:generate go run ../../xrdgen -scope Namespaced -crd ../../../_output/crds/cicd.m.platform.dev_cicdpipelines.yaml -schema-out xrd/namespaced-schema.json -rules-out xrd/namespaced-rules.json -out xrd/namespaced.yaml -out ../../../package/definition-namespaced.yaml
//go:generate go test -count=1 -run TestREADMEParameterTable ./xrd -update
