// Command floor is the performance comparison's floor: a composition
// function that does nothing but what every function must, decode the
// request, answer with a response, encode it, over the same gRPC server the
// SDK gives every function. It answers with responses recorded from this
// repository's function (--create for a request with no observed composed
// resources, --reconcile otherwise), so it emits exactly the function's
// output. What the function costs above it is what its own work costs.
//
// With --through-sdk it is the floor of a function written with the SDK, as
// the SDK's template and function-auto-ready are: it reads the observed
// composite and composed resources and the desired composed resources
// through the SDK's request package (each Struct to an unstructured map) and
// writes the recorded desired state through its response package (each map
// to a Struct). What a function costs above that floor is what it does
// beyond reading its request and emitting its resources the SDK's way.
//
// It is test support (test/perf): never shipped.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/alecthomas/kong"
	function "github.com/crossplane/function-sdk-go"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/request"
	"github.com/crossplane/function-sdk-go/resource"
	"github.com/crossplane/function-sdk-go/response"
	"google.golang.org/protobuf/proto"
)

// CLI takes the SDK template's serving flags, as every function does.
type CLI struct {
	Network   string `default:"tcp"            help:"Network on which to listen for gRPC connections."`
	Address   string `default:"127.0.0.1:9443" help:"Address at which to listen for gRPC connections."`
	Insecure  bool   `help:"Serve without mTLS (the comparison runs on loopback)."`
	Create    string `help:"Recorded response (binary protobuf) to a request with no observed composed resources." required:""`
	Reconcile string `help:"Recorded response (binary protobuf) to a request with observed composed resources."   required:""`

	ThroughSDK bool `help:"Read the request and write the response through the SDK's request and response packages."`
}

// floor answers every request with a recorded response.
type floor struct {
	fnv1.UnimplementedFunctionRunnerServiceServer

	create, reconcile *fnv1.RunFunctionResponse
}

// sdkFloor answers every request with a recorded response's desired state,
// held as the SDK's resources and written into the response through the
// SDK, after reading the request through it.
type sdkFloor struct {
	fnv1.UnimplementedFunctionRunnerServiceServer

	create, reconcile desired
}

// desired is a recorded response as the SDK holds it: the desired composite
// and composed resources as unstructured objects.
type desired struct {
	xr *resource.Composite
	// xrReady is the desired composite's readiness, which the SDK does not
	// read from a desired state.
	xrReady      fnv1.Ready
	resources    map[resource.Name]*resource.DesiredComposed
	conditions   []*fnv1.Condition
	results      []*fnv1.Result
	requirements *fnv1.Requirements
}

// RunFunction reads the request as any function must (its meta, its
// observed resources) and answers with the recorded response's desired
// state, conditions, results and requirements. The recorded messages are
// only read, so concurrent calls may share them.
func (f *floor) RunFunction(_ context.Context, req *fnv1.RunFunctionRequest) (*fnv1.RunFunctionResponse, error) {
	recorded := f.reconcile
	if len(req.GetObserved().GetResources()) == 0 {
		recorded = f.create
	}
	rsp := response.To(req, response.DefaultTTL)
	rsp.Desired = recorded.GetDesired()
	rsp.Conditions = recorded.GetConditions()
	rsp.Results = recorded.GetResults()
	rsp.Requirements = recorded.GetRequirements()
	return rsp, nil
}

// RunFunction reads the request through the SDK, as a function that composes
// anything must (the observed composite and composed resources, the desired
// resources so far), and writes the recorded desired state through it. The
// recorded objects are only read, so concurrent calls may share them.
func (f *sdkFloor) RunFunction(_ context.Context, req *fnv1.RunFunctionRequest) (*fnv1.RunFunctionResponse, error) {
	recorded := f.reconcile
	if len(req.GetObserved().GetResources()) == 0 {
		recorded = f.create
	}
	if _, err := request.GetObservedCompositeResource(req); err != nil {
		return nil, fmt.Errorf("cannot get the observed composite resource: %w", err)
	}
	if _, err := request.GetObservedComposedResources(req); err != nil {
		return nil, fmt.Errorf("cannot get the observed composed resources: %w", err)
	}
	if _, err := request.GetDesiredComposedResources(req); err != nil {
		return nil, fmt.Errorf("cannot get the desired composed resources: %w", err)
	}
	rsp := response.To(req, response.DefaultTTL)
	if err := response.SetDesiredCompositeResource(rsp, recorded.xr); err != nil {
		return nil, fmt.Errorf("cannot set the desired composite resource: %w", err)
	}
	rsp.Desired.Composite.Ready = recorded.xrReady
	if err := response.SetDesiredComposedResources(rsp, recorded.resources); err != nil {
		return nil, fmt.Errorf("cannot set the desired composed resources: %w", err)
	}
	rsp.Conditions = recorded.conditions
	rsp.Results = recorded.results
	rsp.Requirements = recorded.requirements
	return rsp, nil
}

// asSDK holds a recorded response's desired state as the SDK's resources,
// read with the SDK's getters of a request's desired state.
func asSDK(rsp *fnv1.RunFunctionResponse) (desired, error) {
	state := &fnv1.RunFunctionRequest{Desired: rsp.GetDesired()}
	d := desired{
		xrReady:      rsp.GetDesired().GetComposite().GetReady(),
		conditions:   rsp.GetConditions(),
		results:      rsp.GetResults(),
		requirements: rsp.GetRequirements(),
	}
	var err error
	if d.xr, err = request.GetDesiredCompositeResource(state); err != nil {
		return d, fmt.Errorf("cannot read the recorded desired composite resource: %w", err)
	}
	if d.resources, err = request.GetDesiredComposedResources(state); err != nil {
		return d, fmt.Errorf("cannot read the recorded desired composed resources: %w", err)
	}
	return d, nil
}

func load(path string) (*fnv1.RunFunctionResponse, error) {
	b, err := os.ReadFile(path) //nolint:gosec // The harness names the file.
	if err != nil {
		return nil, fmt.Errorf("cannot read the recorded response: %w", err)
	}
	rsp := &fnv1.RunFunctionResponse{}
	if err := proto.Unmarshal(b, rsp); err != nil {
		return nil, fmt.Errorf("cannot decode the recorded response %s: %w", path, err)
	}
	return rsp, nil
}

// Run serves until killed.
func (c *CLI) Run() error {
	create, err := load(c.Create)
	if err != nil {
		return err
	}
	reconcile, err := load(c.Reconcile)
	if err != nil {
		return err
	}
	var f fnv1.FunctionRunnerServiceServer = &floor{create: create, reconcile: reconcile}
	if c.ThroughSDK {
		sf := &sdkFloor{}
		if sf.create, err = asSDK(create); err != nil {
			return err
		}
		if sf.reconcile, err = asSDK(reconcile); err != nil {
			return err
		}
		f = sf
	}
	return function.Serve(f, function.Listen(c.Network, c.Address), function.Insecure(c.Insecure))
}

func main() {
	ctx := kong.Parse(&CLI{}, kong.Description("The performance comparison's floor function."))
	ctx.FatalIfErrorf(ctx.Run())
}
