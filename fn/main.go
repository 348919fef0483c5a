// Command fn is the XCicdPipeline composition function: it composes the
// provider-aws managed resources of a complete CI/CD pipeline.
//
// It serves Crossplane's RunFunction gRPC API with mTLS, using the
// certificates Crossplane's package runtime mounts (TLS_SERVER_CERTS_DIR);
// --insecure is for `crossplane render` on a developer's machine only. On
// SIGTERM or SIGINT it stops accepting calls and finishes the ones in
// flight before exiting.
package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/alecthomas/kong"
	function "github.com/crossplane/function-sdk-go"
	"github.com/crossplane/function-sdk-go/errors"
	"github.com/crossplane/function-sdk-go/logging"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	fnv1beta1 "github.com/crossplane/function-sdk-go/proto/v1beta1"
	grpcprometheus "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthgrpc "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1/xrd"
	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/codec"
	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/startgc"
	_ "github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/warmup" // Starts building the validator during init.
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/specschema"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/version"
)

// shutdownGrace is how long in-flight calls get to finish after a signal;
// below Kubernetes' default 30 s termination grace period, so the function
// exits on its own terms before it is killed.
const shutdownGrace = 25 * time.Second

// CLI of the function. The flags are those of function-sdk-go's template, so
// Crossplane's package runtime and `crossplane render` drive it as any
// function.
type CLI struct {
	Debug bool `help:"Emit debug logs in addition to info logs." short:"d"`

	Network            string `default:"tcp"         help:"Network on which to listen for gRPC connections."`
	Address            string `default:"0.0.0.0:9443" help:"Address at which to listen for gRPC connections."`
	TLSServerCertsDir  string `aliases:"tls-certs-dir" default:"/tls/server" env:"TLS_SERVER_CERTS_DIR" help:"Directory with the server certificate (tls.crt, tls.key) and the CA that signs client certificates (ca.crt), as Crossplane's package runtime mounts them." name:"tls-server-certs-dir"`
	Insecure           bool   `help:"Serve without mTLS. Only for local crossplane render; Crossplane always calls functions with mTLS."`
	MetricsAddress     string `default:":8080" help:"Address at which to serve Prometheus metrics; empty to disable."`
	MaxRecvMessageSize int    `default:"4"     help:"Maximum size of received messages in MB."`
}

// Run the function until a signal asks it to stop.
func (c *CLI) Run() error {
	log, err := function.NewLogger(c.Debug)
	if err != nil {
		return errors.Wrap(err, "cannot create the logger")
	}
	creds, err := c.credentials()
	if err != nil {
		return err
	}
	lis, err := (&net.ListenConfig{}).Listen(context.Background(), c.Network, c.Address)
	if err != nil {
		return errors.Wrapf(err, "cannot listen for %s connections at %q", c.Network, c.Address)
	}
	registry := prometheus.NewRegistry()
	srv := newServer(NewFunction(log), creds, c.MaxRecvMessageSize*1024*1024, registry)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	if c.MetricsAddress != "" {
		metrics := &http.Server{
			Addr:              c.MetricsAddress,
			Handler:           promhttp.HandlerFor(registry, promhttp.HandlerOpts{}),
			ReadHeaderTimeout: 10 * time.Second,
		}
		go func() {
			if err := metrics.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Info("Metrics server stopped", "error", err.Error())
			}
		}()
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = metrics.Shutdown(sctx)
		}()
	}

	log.Info("Serving function", "version", version.Version(), "network", c.Network, "address", lis.Addr().String(), "mtls", !c.Insecure)
	return serve(ctx, srv, lis, log, shutdownGrace, built(xrd.Validator))
}

// built reports, once, how building the validator of the XRD's schema
// ended; fn/internal/warmup started it during package initialization. The
// function serves while it is built, so the first call's connection,
// HTTP/2 set-up and request decoding overlap the build, and the call waits
// for it only where it validates the spec. A schema that cannot be loaded
// still stops the function (serve returns the error).
func built(validator func() (*specschema.Validator, error)) <-chan error {
	ended := make(chan error, 1)
	go func() {
		_, err := validator()
		ended <- err
	}()
	return ended
}

// credentials are mTLS from the certificate directory, unless --insecure.
func (c *CLI) credentials() (credentials.TransportCredentials, error) {
	o := &function.ServeOptions{}
	if c.Insecure {
		if err := function.Insecure(true)(o); err != nil {
			return nil, errors.Wrap(err, "cannot set up insecure credentials")
		}
		return o.Credentials, nil
	}
	if c.TLSServerCertsDir == "" {
		return nil, errors.New("no TLS certificates: set --tls-server-certs-dir (or TLS_SERVER_CERTS_DIR), or --insecure for local crossplane render")
	}
	if err := function.MTLSCertificates(c.TLSServerCertsDir)(o); err != nil {
		return nil, errors.Wrapf(err, "cannot load the mTLS certificates from %s", c.TLSServerCertsDir)
	}
	return o.Credentials, nil
}

// newServer is the gRPC server function-sdk-go's Serve builds (v1 and
// v1beta1 RunFunction, health, reflection, call metrics), built here so that
// the function can stop it gracefully, with the codec that encodes a
// RunFunctionResponse's resources without protobuf-go's reflection.
func newServer(fn fnv1.FunctionRunnerServiceServer, creds credentials.TransportCredentials, maxRecv int, registry *prometheus.Registry) *grpc.Server {
	metrics := grpcprometheus.NewServerMetrics()
	registry.MustRegister(metrics)
	srv := grpc.NewServer(
		grpc.Creds(creds),
		grpc.MaxRecvMsgSize(maxRecv),
		grpc.ForceServerCodecV2(codec.New()),
		grpc.ChainUnaryInterceptor(metrics.UnaryServerInterceptor(), after(startgc.Done)),
	)
	if e, ok := fn.(encodedRunner); ok {
		srv.RegisterService(encodedService(), e)
	} else {
		fnv1.RegisterFunctionRunnerServiceServer(srv, fn)
	}
	fnv1beta1.RegisterFunctionRunnerServiceServer(srv, function.ServeBeta(fn))
	healthgrpc.RegisterHealthServer(srv, health.NewServer())
	reflection.Register(srv)
	metrics.InitializeMetrics(srv)
	return srv
}

// encodedRunner is a function that can answer RunFunction with its
// composed resources already encoded, as Function does.
type encodedRunner interface {
	fnv1.FunctionRunnerServiceServer
	RunFunctionEncoded(ctx context.Context, req *fnv1.RunFunctionRequest) *codec.Response
}

// Function is served through RunFunctionEncoded: a change to its method
// that would quietly serve it through RunFunction fails to compile.
var _ encodedRunner = (*Function)(nil)

// encodedService is the v1 FunctionRunnerService, as the SDK's generated
// code registers it (its name, method and messages, from the proto's
// descriptor), with RunFunction answered by RunFunctionEncoded: gRPC hands
// what a handler returns to the codec, which writes the encoded resources
// as they are (codec.Response). The v1beta1 service, which Crossplane
// calls only where v1 is missing, answers through RunFunction. gRPC's
// binary log (GRPC_BINARY_LOG_FILTER), which logs proto messages only,
// logs RunFunction's responses as empty.
func encodedService() *grpc.ServiceDesc {
	sd := fnv1.File_v1_run_function_proto.Services().ByName("FunctionRunnerService")
	return &grpc.ServiceDesc{
		ServiceName: string(sd.FullName()),
		HandlerType: (*encodedRunner)(nil),
		Methods: []grpc.MethodDesc{{
			MethodName: string(sd.Methods().ByName("RunFunction").Name()),
			Handler:    runFunctionEncoded,
		}},
		Metadata: sd.ParentFile().Path(),
	}
}

// runFunctionEncoded is the generated RunFunction handler's, calling
// RunFunctionEncoded.
func runFunctionEncoded(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
	in := new(fnv1.RunFunctionRequest)
	if err := dec(in); err != nil {
		return nil, err
	}
	fn, _ := srv.(encodedRunner) // RegisterService checked it against HandlerType.
	if interceptor == nil {
		return fn.RunFunctionEncoded(ctx, in), nil
	}
	info := &grpc.UnaryServerInfo{Server: srv, FullMethod: fnv1.FunctionRunnerService_RunFunction_FullMethodName}
	return interceptor(ctx, in, info, func(ctx context.Context, req any) (any, error) {
		r, _ := req.(*fnv1.RunFunctionRequest) // What this handler passed.
		return fn.RunFunctionEncoded(ctx, r), nil
	})
}

// after calls done once each call has been answered: start-up (startgc)
// ends with the first.
func after(done func()) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		defer done()
		return handler(ctx, req)
	}
}

// serve serves until ctx is done, then stops accepting connections and
// waits up to grace for in-flight calls before closing them. An error from
// validator (the validator's build) stops the server at once.
func serve(ctx context.Context, srv *grpc.Server, lis net.Listener, log logging.Logger, grace time.Duration, validator <-chan error) error {
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()

	for waiting := true; waiting; {
		select {
		case err := <-served:
			if err != nil {
				return errors.Wrap(err, "cannot serve gRPC connections")
			}
			return nil
		case err := <-validator:
			if err != nil {
				srv.Stop()
				<-served //nolint:errcheck // Stopped: Serve's own error adds nothing.
				return errors.Wrap(err, "cannot build the validator of the XRD's schema")
			}
			validator = nil // Built; a nil channel is never ready.
		case <-ctx.Done():
			waiting = false
		}
	}

	log.Info("Shutting down: finishing in-flight calls", "grace", grace.String())
	stopped := make(chan struct{})
	go func() {
		srv.GracefulStop()
		close(stopped)
	}()
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-stopped:
		log.Info("Stopped")
	case <-timer.C:
		log.Info("Grace period over: closing the remaining calls")
		srv.Stop()
	}
	return nil
}

func main() {
	ctx := kong.Parse(&CLI{}, kong.Description("The XCicdPipeline composition function."))
	ctx.FatalIfErrorf(ctx.Run())
}
