package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	xpv1 "github.com/crossplane/crossplane-runtime/v2/apis/common/v1"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource/unstructured/reference"
	"github.com/crossplane/function-sdk-go/errors"
	"github.com/crossplane/function-sdk-go/logging"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/request"
	"github.com/crossplane/function-sdk-go/resource"
	"github.com/crossplane/function-sdk-go/resource/composite"
	"github.com/crossplane/function-sdk-go/response"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1"
	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1/xrd"
	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/codec"
	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/compose"
	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/naming"
	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/observe"
	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/platform"
)

// Connection states reported by CodeStar ("ConnectionStatus" in
// https://docs.aws.amazon.com/codestar-connections/latest/APIReference/API_Connection.html).
const (
	connectionAvailable = "AVAILABLE"
	connectionPending   = "PENDING"
)

// Function composes an XCicdPipeline.
type Function struct {
	fnv1.UnimplementedFunctionRunnerServiceServer

	log   logging.Logger
	specs *specCache
}

// NewFunction returns the function.
func NewFunction(log logging.Logger) *Function {
	return &Function{log: log, specs: newSpecCache(specCacheSize)}
}

// RunFunction composes the pipeline's managed resources, decides readiness
// and writes the observed outputs to the XR's status.
func (f *Function) RunFunction(ctx context.Context, req *fnv1.RunFunctionRequest) (*fnv1.RunFunctionResponse, error) {
	rsp, err := f.RunFunctionEncoded(ctx, req).Decoded()
	if err != nil {
		rsp = response.To(req, response.DefaultTTL)
		response.Fatal(rsp, err)
	}
	return rsp, nil
}

// RunFunctionEncoded is RunFunction with the composed resources as the
// builders encoded them (compose.Result), which the function's gRPC server
// hands to its codec as they are (fn/main.go): the response RunFunction
// returns is this one decoded.
func (f *Function) RunFunctionEncoded(ctx context.Context, req *fnv1.RunFunctionRequest) *codec.Response {
	rsp, composed := f.run(ctx, req)
	return &codec.Response{Msg: rsp, Resources: composed}
}

func (f *Function) run(_ context.Context, req *fnv1.RunFunctionRequest) (*fnv1.RunFunctionResponse, map[string]codec.Encoded) {
	log := f.log.WithValues("tag", req.GetMeta().GetTag())
	// A fatal result leaves the desired state as the request had it, so a
	// bad update never drops or changes what already exists.
	rsp := response.To(req, response.DefaultTTL)

	oxr, err := request.GetObservedCompositeResource(req)
	if err != nil {
		response.Fatal(rsp, errors.Wrap(err, "cannot get the observed composite resource"))
		return rsp, nil
	}
	log = log.WithValues("xr", oxr.Resource.GetName())

	// The XR's API (fn/scope.go): a namespaced XR is read in the claim
	// API's shape, and composes namespaced managed resources.
	view, scope, err := scopeOf(oxr.Resource, f.specs)
	if err != nil {
		invalid(rsp, oxr.Resource.GetName(), err)
		return rsp, nil
	}

	// Platform defaults (fn/platform.go): the claim over the platform's
	// EnvironmentConfigs over the built-in defaults.
	observed := observe.FromRequest(req)
	xr, effective, ok := resolvePlatform(req, rsp, view, scope, observed)
	if !ok {
		return rsp, nil
	}
	if ns, isNamespaced := scope.Scope.(compose.NamespacedScope); isNamespaced {
		namespacedEffective(effective, oxr.Resource, ns)
	}
	spec, err := f.specs.DecodeSpec(xr)
	if err != nil {
		invalid(rsp, oxr.Resource.GetName(), err)
		return rsp, nil
	}
	names, err := compose.AWSNames(scope.NamePrefix, spec.EnvironmentSuffix)
	if err != nil {
		invalid(rsp, oxr.Resource.GetName(), err)
		return rsp, nil
	}
	conditionTrue(rsp, v1alpha1.TypeSpecValid, v1alpha1.ReasonValidSpec).TargetCompositeAndClaim()

	account, err := pipelineAccount(effective, observed)
	if err != nil {
		accountMismatch(rsp, err)
		return rsp, nil
	}
	if err := CheckTargetAccounts(*spec, account); err != nil {
		invalid(rsp, oxr.Resource.GetName(), err)
		return rsp, nil
	}

	result, err := compose.Compose(compose.Input{
		Spec:      *spec,
		Names:     names,
		Composite: scope.Composite,
		Claim:     claimOf(oxr.Resource),
		Observed:  observed,
		Scope:     scope.Scope,
		AccountID: account,
	})
	if err != nil {
		response.Fatal(rsp, errors.Wrap(err, "cannot compose the pipeline"))
		return rsp, nil
	}

	desired, err := request.GetDesiredComposedResources(req)
	if err != nil {
		response.Fatal(rsp, errors.Wrap(err, "cannot get the desired composed resources"))
		return rsp, nil
	}
	// Earlier functions' resources go back as the SDK sets them; the
	// function's own are encoded already (compose.Result), and replace any
	// of the same name, which the response shares with the request.
	for name := range result.Desired {
		delete(desired, name)
		delete(rsp.GetDesired().GetResources(), string(name))
	}
	if err := response.SetDesiredComposedResources(rsp, desired); err != nil {
		response.Fatal(rsp, errors.Wrap(err, "cannot set the desired composed resources"))
		return rsp, nil
	}
	allReady := true
	composed := make(map[string]codec.Encoded, len(result.Desired))
	for name, s := range result.Desired {
		ready := fnv1.Ready_READY_FALSE
		if observed.Ready(name) {
			ready = fnv1.Ready_READY_TRUE
		} else {
			allReady = false
		}
		composed[string(name)] = codec.Encoded{Struct: s, Ready: ready}
	}

	dxr, err := request.GetDesiredCompositeResource(req)
	if err != nil {
		response.Fatal(rsp, errors.Wrap(err, "cannot get the desired composite resource"))
		return rsp, nil
	}
	fields, err := statusFields(outputs(*spec, observed))
	if err != nil {
		response.Fatal(rsp, err)
		return rsp, nil
	}
	for path, value := range fields {
		if err := setStatus(dxr.Resource, path, value); err != nil {
			response.Fatal(rsp, errors.Wrapf(err, "cannot set status.%s", path))
			return rsp, nil
		}
	}

	if err := setEffective(dxr, effective); err != nil {
		response.Fatal(rsp, err)
		return rsp, nil
	}

	connected := reportConnection(rsp, *spec, names, observed)
	reportSynced(rsp, result, observed)
	reportPending(rsp, result)
	reportDeployStage(rsp, result)

	// The XR is ready only when every composed resource is, nothing waits to
	// be composed, and the Source stage can reach the repository.
	dxr.Ready = resource.ReadyFalse
	if allReady && len(result.Pending) == 0 && len(result.Preserved) == 0 && connected {
		dxr.Ready = resource.ReadyTrue
	}
	if err := response.SetDesiredCompositeResource(rsp, dxr); err != nil {
		response.Fatal(rsp, errors.Wrap(err, "cannot set the desired composite resource"))
		return rsp, nil
	}

	log.Debug("Composed the pipeline", "resources", len(result.Desired), "pending", len(result.Pending), "ready", dxr.Ready)
	return rsp, composed
}

// setStatus sets status.<field> of an XR to value as xr.SetValue does
// (TestSetStatusAsSDK), without what SetValue costs for a field name and a
// JSON value: parsing the path (in a goroutine) and a JSON round trip of the
// value. Anything else goes through SetValue.
func setStatus(xr *composite.Unstructured, field string, value any) error {
	status, ok := xr.Object["status"].(map[string]any)
	_, exists := xr.Object["status"]
	if (!ok && exists) || xr.Object == nil || field == "" || strings.ContainsAny(field, ".[]") || !jsonValue(value) {
		return xr.SetValue("status."+field, value)
	}
	if !exists {
		status = map[string]any{}
		xr.Object["status"] = status
	}
	status[field] = value
	return nil
}

// jsonValue reports whether v is what decoding JSON into an any gives, so
// that a JSON round trip would give it back equal.
func jsonValue(v any) bool {
	switch v := v.(type) {
	case nil, bool:
		return true
	case string:
		return utf8.ValidString(v)
	case float64:
		return !math.IsNaN(v) && !math.IsInf(v, 0)
	case []any:
		for _, e := range v {
			if !jsonValue(e) {
				return false
			}
		}
		return true
	case map[string]any:
		for k, e := range v {
			if !utf8.ValidString(k) || !jsonValue(e) {
				return false
			}
		}
		return true
	}
	return false
}

// invalid reports bad input: a fatal result, so Crossplane changes nothing
// that exists, and a SpecValid condition that carries the reason to the
// claim.
func invalid(rsp *fnv1.RunFunctionResponse, xr string, err error) {
	err = errors.Wrapf(err, "invalid %s %q", v1alpha1.CompositeKind, xr)
	conditionFalse(rsp, v1alpha1.TypeSpecValid, v1alpha1.ReasonInvalidSpec).WithMessage(capitalize(err.Error())).TargetCompositeAndClaim()
	response.Fatal(rsp, err)
}

// crossplaneSpecFields are the fields Crossplane itself adds to a legacy XR's
// spec; they are not part of this API's schema.
var crossplaneSpecFields = []string{
	"claimRef", "compositionRef", "compositionRevisionRef", "compositionRevisionSelector",
	"compositionSelector", "compositionUpdatePolicy", "environmentConfigRefs", "resourceRefs",
	"publishConnectionDetailsTo", "writeConnectionSecretToRef", "crossplane",
}

// DecodeSpec defaults and validates the XR's spec against the XRD this
// function ships (OpenAPI and CEL, the same rules kube-apiserver enforces on
// claims), then decodes it into the API's Go types. The function checks
// again because it also serves crossplane render and XRs written under older
// versions of the XRD. RunFunction goes through a specCache, which remembers
// the outcome for specs it has checked.
func DecodeSpec(xr *composite.Unstructured) (*v1alpha1.XCicdPipelineSpec, error) {
	b, err := validSpecJSON(xr)
	if err != nil {
		return nil, err
	}
	return unmarshalSpec(b)
}

// validSpecJSON returns the XR's spec, defaulted, as JSON, or why it is
// invalid. It depends on nothing but xr.Object["spec"].
func validSpecJSON(xr *composite.Unstructured) ([]byte, error) {
	raw, ok := xr.Object["spec"].(map[string]any)
	if !ok {
		return nil, errors.New("spec: Required value")
	}
	spec := runtime.DeepCopyJSON(raw)
	for _, f := range crossplaneSpecFields {
		delete(spec, f)
	}
	v, err := xrd.Validator()
	if err != nil {
		return nil, errors.Wrap(err, "cannot load the XRD's schema")
	}
	if err := defaultAndValidate(v, spec); err != nil {
		return nil, err
	}
	b, err := json.Marshal(spec)
	if err != nil {
		return nil, errors.Wrap(err, "cannot encode spec")
	}
	return b, nil
}

// unmarshalSpec decodes a defaulted, valid spec into the API's Go types.
func unmarshalSpec(b []byte) (*v1alpha1.XCicdPipelineSpec, error) {
	out := &v1alpha1.XCicdPipelineSpec{}
	if err := json.Unmarshal(b, out); err != nil {
		return nil, errors.Wrap(err, "cannot decode spec")
	}
	return out, nil
}

// CheckTargetAccounts rejects a deploy target in another account than the
// pipeline's without a role to assume there (the deployer's own role cannot
// update a function in another account), and a cross-account role's
// function in another account. The XRD cannot check this, since
// the pipeline's account is known only from the platform's accountId or
// once a composed resource reports an ARN; until then (account "") nothing
// is checked.
func CheckTargetAccounts(spec v1alpha1.XCicdPipelineSpec, account string) error {
	if account == "" {
		return nil
	}
	for i, t := range spec.Deployer.Targets {
		a := observe.AccountFromARN(t.FunctionName)
		if a == "" || a == account || t.RoleARN != "" {
			continue
		}
		return errors.Errorf("spec.deployer.targets[%d].functionName: %s is in account %s, not the pipeline's account %s: set roleArn to a role in %s that the deployer may assume",
			i, t.FunctionName, a, account, a)
	}
	// The cross-account role is in the pipeline's account and can update
	// only that account's functions.
	for i, f := range spec.CrossAccount.FunctionNames {
		if a := observe.AccountFromARN(f); a != "" && a != account {
			return errors.Errorf("spec.crossAccount.functionNames[%d]: %s is in account %s, not the pipeline's account %s, where the cross-account role is", i, f, a, account)
		}
	}
	return nil
}

// pipelineAccount is the AWS account of the pipeline's resources: the one
// observed ARNs carry, else the platform's accountId, else "" (not known
// yet). An observed ARN in another account than the platform's accountId
// is an error: the provider config is not in the account the platform
// says, and policies composed for it would name the wrong account.
func pipelineAccount(p *platform.Result, observed observe.Resources) (string, error) {
	want := p.AccountID
	for _, name := range observed.Names() {
		arn := observed.ARN(name)
		if got := observe.AccountFromARN(arn); want != "" && got != "" && got != want {
			return "", errors.Errorf("EnvironmentConfig %s: data.accountId is %s, but the composed resource %s is in account %s (%s): set data.accountId to the account of the provider config the claim uses",
				p.AccountConfig, want, name, got, arn)
		}
	}
	if id := observed.AccountID(); id != "" {
		return id, nil
	}
	return want, nil
}

// accountMismatch reports resources in another account than the
// platform's accountId: PlatformDefaults=False in place of the condition
// resolvePlatform set, and a fatal result, so nothing is composed for the
// wrong account and what exists stays as it is.
func accountMismatch(rsp *fnv1.RunFunctionResponse, err error) {
	conditionFalse(rsp, v1alpha1.TypePlatformDefaults, v1alpha1.ReasonAccountMismatch).WithMessage(err.Error()).TargetCompositeAndClaim()
	response.Fatal(rsp, err)
}

// claimOf returns namespace/name of the XR's claim, or "".
func claimOf(xr *composite.Unstructured) string {
	namespace, name := claimRef(xr)
	if name == "" {
		return ""
	}
	return namespace + "/" + name
}

// claimRef returns the namespace and name of the XR's claim reference
// (spec.claimRef), as xr.GetClaimReference() reads them (TestClaimRefAsSDK),
// without its path parsing and JSON round trip; name is "" when there is
// none. Anything but a plain reference is left to GetClaimReference.
func claimRef(xr *composite.Unstructured) (namespace, name string) {
	spec, _ := xr.Object["spec"].(map[string]any)
	ref, ok := spec["claimRef"].(map[string]any)
	if !ok {
		if _, exists := spec["claimRef"]; exists {
			return claimRefOf(xr.GetClaimReference())
		}
		return "", "" // No reference, or no spec object: GetClaimReference has none.
	}
	var fields [4]string
	for i, k := range []string{"apiVersion", "kind", "namespace", "name"} {
		switch v := ref[k].(type) {
		case nil:
		case string:
			if !utf8.ValidString(v) {
				return claimRefOf(xr.GetClaimReference())
			}
			fields[i] = v
		default:
			return claimRefOf(xr.GetClaimReference())
		}
	}
	return fields[2], fields[3]
}

func claimRefOf(ref *reference.Claim) (namespace, name string) {
	if ref == nil {
		return "", ""
	}
	return ref.Namespace, ref.Name
}

// outputs are the XR's status fields, each read from an observed resource
// (or, for an existing connection, from the claim itself). A field whose
// resource has not reported it yet is empty, so absent from the status,
// never guessed.
func outputs(spec v1alpha1.XCicdPipelineSpec, o observe.Resources) v1alpha1.XCicdPipelineStatus {
	out := v1alpha1.XCicdPipelineStatus{
		PipelineName:         o.String(compose.Pipeline, "status.atProvider.id"),
		PipelineARN:          o.ARN(compose.Pipeline),
		ECRRepositoryURI:     o.String(compose.ECRRepository, "status.atProvider.repositoryUrl"),
		LambdaFunctionARN:    o.ARN(compose.DeployerFunction),
		DeploymentTableName:  o.String(compose.DeploymentTable, "status.atProvider.id"),
		ArtifactBucketName:   o.String(compose.ArtifactBucket, "status.atProvider.id"),
		NotificationTopicARN: o.ARN(compose.NotificationTopic),
		CrossAccountRoleARN:  o.ARN(compose.CrossAccountRole),
	}
	if name, region := out.PipelineName, regionOf(out.PipelineARN); name != "" && region != "" {
		out.PipelineURL = fmt.Sprintf("https://%s.console.aws.amazon.com/codesuite/codepipeline/pipelines/%s/view?region=%s", region, name, region)
	}
	switch {
	case spec.Source.ComposesConnection():
		out.ConnectionARN = o.ARN(compose.Connection)
		out.ConnectionStatus = o.String(compose.Connection, "status.atProvider.connectionStatus")
	case spec.Source.ConnectionARN != "":
		out.ConnectionARN = spec.Source.ConnectionARN
	}
	return out
}

// statusFields are the set fields of a status by their JSON names: the
// struct's JSON tags are the only spelling of each key.
func statusFields(status v1alpha1.XCicdPipelineStatus) (map[string]any, error) {
	b, err := json.Marshal(status)
	if err != nil {
		return nil, errors.Wrap(err, "cannot encode the status")
	}
	fields := map[string]any{}
	if err := json.Unmarshal(b, &fields); err != nil {
		return nil, errors.Wrap(err, "cannot decode the status")
	}
	return fields, nil
}

// regionOf returns the region field of an ARN, or "".
func regionOf(arn string) string {
	parts := strings.SplitN(arn, ":", 5)
	if len(parts) < 5 || parts[0] != "arn" {
		return ""
	}
	return parts[3]
}

// reportConnection sets SourceConnected and reports whether the Source stage
// can reach the repository. A connection that needs someone's action also
// gets a Warning event saying what to do.
func reportConnection(rsp *fnv1.RunFunctionResponse, spec v1alpha1.XCicdPipelineSpec, names naming.Names, o observe.Resources) bool {
	s := spec.Source
	switch {
	case s.Provider == v1alpha1.SourceCodeCommit:
		conditionTrue(rsp, v1alpha1.TypeSourceConnected, v1alpha1.ReasonCodeCommit).
			WithMessage("CodeCommit sources need no connection").TargetCompositeAndClaim()
		return true
	case !s.ComposesConnection():
		conditionTrue(rsp, v1alpha1.TypeSourceConnected, v1alpha1.ReasonExistingConnection).
			WithMessage(fmt.Sprintf("Using the existing connection %s; it must be AVAILABLE", s.ConnectionARN)).TargetCompositeAndClaim()
		return true
	}
	connection := names[compose.Connection]
	status := o.String(compose.Connection, "status.atProvider.connectionStatus")
	switch status {
	case connectionAvailable:
		conditionTrue(rsp, v1alpha1.TypeSourceConnected, v1alpha1.ReasonConnectionAvailable).TargetCompositeAndClaim()
		return true
	case connectionPending:
		conditionFalse(rsp, v1alpha1.TypeSourceConnected, v1alpha1.ReasonConnectionPending).
			WithMessage(fmt.Sprintf("Complete the handshake of the PENDING CodeStar connection %s in the AWS console (see the claim's events); the Source stage cannot run until it is AVAILABLE", connection)).
			TargetCompositeAndClaim()
		walkthrough := fmt.Sprintf("The CodeStar connection %s (%s) is PENDING: an administrator of the %s account must open "+
			"https://console.aws.amazon.com/codesuite/settings/connections?region=%s, choose %s, choose \"Update pending connection\" "+
			"and authorize AWS to access %s",
			connection, o.ARN(compose.Connection), s.Provider, spec.Region, connection, s.Repository)
		response.Warning(rsp, errors.New(walkthrough)).WithReason(string(v1alpha1.ReasonConnectionPending)).TargetCompositeAndClaim()
		return false
	case "":
		conditionFalse(rsp, v1alpha1.TypeSourceConnected, v1alpha1.ReasonConnectionCreating).
			WithMessage(fmt.Sprintf("Waiting for the CodeStar connection %s to be created", connection)).TargetCompositeAndClaim()
		return false
	default:
		msg := fmt.Sprintf("The CodeStar connection %s is %s; delete it in the AWS console or recreate the claim to get a new one", connection, status)
		conditionFalse(rsp, v1alpha1.TypeSourceConnected, v1alpha1.ReasonConnectionError).WithMessage(msg).TargetCompositeAndClaim()
		response.Warning(rsp, errors.New(msg)).WithReason(string(v1alpha1.ReasonConnectionError)).TargetCompositeAndClaim()
		return false
	}
}

// reportSynced sets ResourcesSynced, naming each composed resource whose
// Synced condition is False with the provider's message.
func reportSynced(rsp *fnv1.RunFunctionResponse, result *compose.Result, o observe.Resources) {
	names := make([]string, 0, len(result.Desired))
	for n := range result.Desired {
		names = append(names, string(n))
	}
	sort.Strings(names)
	var failing []string
	for _, n := range names {
		c := o.Condition(resource.Name(n), xpv1.TypeSynced)
		if c.Status != "False" {
			continue
		}
		name := resource.Name(n)
		what := fmt.Sprintf("%s (%s %s): %s", n, o.String(name, "kind"), o.String(name, "metadata.name"), c.Message)
		failing = append(failing, what)
		response.Warning(rsp, errors.Errorf("Composed resource %s is not synced: %s", what, c.Reason)).
			WithReason(string(v1alpha1.ReasonComposedResourceNotSynced)).TargetCompositeAndClaim()
	}
	if len(failing) == 0 {
		conditionTrue(rsp, v1alpha1.TypeResourcesSynced, v1alpha1.ReasonResourcesSynced).TargetCompositeAndClaim()
		return
	}
	conditionFalse(rsp, v1alpha1.TypeResourcesSynced, v1alpha1.ReasonComposedResourceNotSynced).
		WithMessage(strings.Join(failing, "; ")).TargetCompositeAndClaim()
}

// reportPending sets ResourcesComposed, naming what resources wait for.
func reportPending(rsp *fnv1.RunFunctionResponse, result *compose.Result) {
	waiting := make([]string, 0, len(result.Pending)+len(result.Preserved))
	for _, p := range result.Pending {
		waiting = append(waiting, fmt.Sprintf("%s waits for %s", p.Name, p.Waiting))
	}
	for _, p := range result.Preserved {
		waiting = append(waiting, fmt.Sprintf("%s is kept as observed until %s is known again", p.Name, p.Waiting))
	}
	if len(waiting) == 0 {
		conditionTrue(rsp, v1alpha1.TypeResourcesComposed, v1alpha1.ReasonAllComposed).TargetCompositeAndClaim()
		return
	}
	conditionFalse(rsp, v1alpha1.TypeResourcesComposed, v1alpha1.ReasonWaitingForObservedValues).
		WithMessage(strings.Join(waiting, "; ")).TargetCompositeAndClaim()
}

// reportDeployStage sets DeployStage, saying why the stage is left out.
func reportDeployStage(rsp *fnv1.RunFunctionResponse, result *compose.Result) {
	if result.DeployStageReason != "" {
		conditionFalse(rsp, v1alpha1.TypeDeployStage, v1alpha1.ReasonDeployerImageNotSet).
			WithMessage(result.DeployStageReason).TargetCompositeAndClaim()
		return
	}
	conditionTrue(rsp, v1alpha1.TypeDeployStage, v1alpha1.ReasonDeployStageComposed).TargetCompositeAndClaim()
}

// conditionTrue and conditionFalse set a condition of the response: a
// later finding replaces an earlier one of the same type (the spec valid
// by the schema, then not by the account), so the XR never gets two.
func conditionTrue(rsp *fnv1.RunFunctionResponse, typ xpv1.ConditionType, reason xpv1.ConditionReason) *response.ConditionOption {
	dropCondition(rsp, typ)
	return response.ConditionTrue(rsp, string(typ), string(reason))
}

func conditionFalse(rsp *fnv1.RunFunctionResponse, typ xpv1.ConditionType, reason xpv1.ConditionReason) *response.ConditionOption {
	dropCondition(rsp, typ)
	return response.ConditionFalse(rsp, string(typ), string(reason))
}

func dropCondition(rsp *fnv1.RunFunctionResponse, typ xpv1.ConditionType) {
	rsp.Conditions = slices.DeleteFunc(rsp.Conditions, func(c *fnv1.Condition) bool { return c.GetType() == string(typ) })
}

// capitalize starts a condition message with a capital, as Crossplane's
// messages do; errors start lowercase, as Go's do.
func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
