// Command floor is the performance comparison's floor: a composition
// function that does nothing but what every function must, decode the
// request, answer with a response, encode it, over the same gRPC server the
// SDK gives every function. It answers with responses recorded from this
// repository's function (--create for a request with no observed composed
// resources, --reconcile otherwise), so it emits exactly the function's
// output. What the function costs above it is what its own work costs.
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
}

// floor answers every request with a recorded response.
type floor struct {
	fnv1.UnimplementedFunctionRunnerServiceServer

	create, reconcile *fnv1.RunFunctionResponse
}

// RunFunction reads the request as any function must (its meta, its
// observed resources) and answers with the recorded response's desired
// state, conditions and results. The recorded messages are only read, so
// concurrent calls may share them.
func (f *floor) RunFunction(_ context.Context, req *fnv1.RunFunctionRequest) (*fnv1.RunFunctionResponse, error) {
	recorded := f.reconcile
	if len(req.GetObserved().GetResources()) == 0 {
		recorded = f.create
	}
	rsp := response.To(req, response.DefaultTTL)
	rsp.Desired = recorded.GetDesired()
	rsp.Conditions = recorded.GetConditions()
	rsp.Results = recorded.GetResults()
	return rsp, nil
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
	f := &floor{}
	var err error
	if f.create, err = load(c.Create); err != nil {
		return err
	}
	if f.reconcile, err = load(c.Reconcile); err != nil {
		return err
	}
	return function.Serve(f, function.Listen(c.Network, c.Address), function.Insecure(c.Insecure))
}

func main() {
	ctx := kong.Parse(&CLI{}, kong.Description("The performance comparison's floor function."))
	ctx.FatalIfErrorf(ctx.Run())
}
