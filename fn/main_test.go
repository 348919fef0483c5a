package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/crossplane/function-sdk-go/errors"
	"github.com/crossplane/function-sdk-go/logging"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/codec"
	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/startgc"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/specschema"
)

// writeCerts writes a self-signed CA and a server certificate it signed, as
// Crossplane's package runtime mounts them.
func writeCerts(t *testing.T, dir string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "test"},
		NotBefore:             time.Unix(0, 0),
		NotAfter:              time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	crt := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	files := map[string][]byte{
		"tls.crt": crt,
		"ca.crt":  crt,
		"tls.key": pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCredentials(t *testing.T) {
	withCerts := t.TempDir()
	writeCerts(t, withCerts)
	cases := map[string]struct {
		cli          CLI
		wantProtocol string
		wantErr      bool
	}{
		"MTLSByDefault":   {cli: CLI{TLSServerCertsDir: withCerts}, wantProtocol: "tls"},
		"InsecureForDev":  {cli: CLI{Insecure: true, TLSServerCertsDir: withCerts}, wantProtocol: "insecure"},
		"NoCertsDir":      {cli: CLI{}, wantErr: true},
		"EmptyCertsDir":   {cli: CLI{TLSServerCertsDir: t.TempDir()}, wantErr: true},
		"MissingCertsDir": {cli: CLI{TLSServerCertsDir: filepath.Join(t.TempDir(), "missing")}, wantErr: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			creds, err := tc.cli.credentials()
			if (err != nil) != tc.wantErr {
				t.Fatalf("credentials() error = %v, want error %t", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if got := creds.Info().SecurityProtocol; got != tc.wantProtocol {
				t.Errorf("security protocol %q, want %q", got, tc.wantProtocol)
			}
		})
	}
}

// blockingFunction holds each call until released, to have a call in flight
// when the server is asked to stop.
type blockingFunction struct {
	fnv1.UnimplementedFunctionRunnerServiceServer

	entered chan struct{}
	release chan struct{}
}

func (f *blockingFunction) RunFunction(_ context.Context, _ *fnv1.RunFunctionRequest) (*fnv1.RunFunctionResponse, error) {
	close(f.entered)
	<-f.release
	return &fnv1.RunFunctionResponse{Meta: &fnv1.ResponseMeta{Tag: "done"}}, nil
}

// TestServeFinishesInFlightCalls asks the server to stop while a call is in
// flight: the call must still complete, and serve must then return.
func TestServeFinishesInFlightCalls(t *testing.T) {
	fn := &blockingFunction{entered: make(chan struct{}), release: make(chan struct{})}
	lis, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(fn, insecure.NewCredentials(), 4<<20, prometheus.NewRegistry())

	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- serve(ctx, srv, lis, logging.NewNopLogger(), time.Hour, builtWith(nil)) }()

	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()

	type result struct {
		rsp *fnv1.RunFunctionResponse
		err error
	}
	called := make(chan result, 1)
	go func() {
		rsp, err := fnv1.NewFunctionRunnerServiceClient(conn).RunFunction(t.Context(), &fnv1.RunFunctionRequest{})
		called <- result{rsp, err}
	}()

	<-fn.entered
	cancel()
	// Release the call only once the server has acted on the stop: the
	// client leaves READY when a graceful stop sends GOAWAY and equally when
	// a hard stop closes the connection. Released any earlier, the call
	// could finish before a hard stop reached it, and the test would pass
	// by luck of timing.
	waitNotReady(t, conn)
	close(fn.release)

	r := <-called
	if r.err != nil {
		t.Fatalf("the in-flight call failed during shutdown: %v", r.err)
	}
	if r.rsp.GetMeta().GetTag() != "done" {
		t.Errorf("response tag %q, want done", r.rsp.GetMeta().GetTag())
	}
	if err := <-served; err != nil {
		t.Errorf("serve() = %v, want nil after a graceful stop", err)
	}
}

// builtWith is a validator build that ended with err.
func builtWith(err error) <-chan error {
	return built(func() (*specschema.Validator, error) { return nil, err })
}

// TestServeWhileTheValidatorIsBuilt answers a call before the validator's
// build has ended, then goes on serving once it has.
func TestServeWhileTheValidatorIsBuilt(t *testing.T) {
	lis, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(&echoFunction{}, insecure.NewCredentials(), 4<<20, prometheus.NewRegistry())
	ctx, cancel := context.WithCancel(t.Context())
	building := make(chan error, 1)
	served := make(chan error, 1)
	go func() { served <- serve(ctx, srv, lis, logging.NewNopLogger(), time.Hour, building) }()

	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	client := fnv1.NewFunctionRunnerServiceClient(conn)
	// A server that waited for the validator would never answer: fail, not hang.
	early, cancelEarly := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancelEarly()
	if _, err := client.RunFunction(early, &fnv1.RunFunctionRequest{}); err != nil {
		t.Fatalf("a call while the validator is built: %v", err)
	}
	building <- nil
	if _, err := client.RunFunction(t.Context(), &fnv1.RunFunctionRequest{}); err != nil {
		t.Fatalf("a call once the validator is built: %v", err)
	}
	cancel()
	if err := <-served; err != nil {
		t.Errorf("serve() = %v, want nil after a graceful stop", err)
	}
}

// TestServeStopsWhenTheValidatorCannotBeBuilt: a schema that cannot be
// loaded stops the function, with the build's error, and closes the port.
func TestServeStopsWhenTheValidatorCannotBeBuilt(t *testing.T) {
	lis, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(&echoFunction{}, insecure.NewCredentials(), 4<<20, prometheus.NewRegistry())
	errSchema := errors.New("bad schema")
	err = serve(t.Context(), srv, lis, logging.NewNopLogger(), time.Hour, builtWith(errSchema))
	if !errors.Is(err, errSchema) {
		t.Fatalf("serve() = %v, want the validator's error", err)
	}
	if c, err := (&net.Dialer{}).DialContext(t.Context(), "tcp", lis.Addr().String()); err == nil {
		_ = c.Close()
		t.Error("the port still accepts connections after serve returned")
	}
}

// echoFunction answers every call.
type echoFunction struct {
	fnv1.UnimplementedFunctionRunnerServiceServer
}

func (echoFunction) RunFunction(context.Context, *fnv1.RunFunctionRequest) (*fnv1.RunFunctionResponse, error) {
	return &fnv1.RunFunctionResponse{}, nil
}

// waitNotReady waits until the client connection leaves READY.
func waitNotReady(t *testing.T, conn *grpc.ClientConn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for s := conn.GetState(); s == connectivity.Ready; s = conn.GetState() {
		if !conn.WaitForStateChange(ctx, s) {
			t.Fatalf("the connection stayed %s after the server was asked to stop", s)
		}
	}
}

// TestMain ends start-up's hold on garbage collection (startgc) before the
// tests: they are not a start-up, and would otherwise run without
// collections until the hold's memory limit.
func TestMain(m *testing.M) {
	startgc.Done()
	os.Exit(m.Run())
}

func TestAfterEachCall(t *testing.T) {
	errCall := errors.New("call failed")
	for name, tc := range map[string]struct {
		rsp     any
		err     error
		wantRsp any
		wantErr error
	}{
		"Answered": {rsp: "response", wantRsp: "response"},
		"Failed":   {err: errCall, wantErr: errCall},
	} {
		t.Run(name, func(t *testing.T) {
			handled, dones := false, 0
			handler := func(context.Context, any) (any, error) {
				if dones != 0 {
					t.Error("done was called before the call was answered")
				}
				handled = true
				return tc.rsp, tc.err
			}
			rsp, err := after(func() { dones++ })(t.Context(), "request", &grpc.UnaryServerInfo{}, handler)
			if !handled || dones != 1 {
				t.Errorf("handled %t, done called %d times; want the call handled, then done called once", handled, dones)
			}
			if diff := cmp.Diff(tc.wantRsp, rsp); diff != "" {
				t.Errorf("response: -want +got:\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantErr, err, cmpopts.EquateErrors()); diff != "" {
				t.Errorf("error: -want +got:\n%s", diff)
			}
		})
	}
}

// fixedFunction answers every call with rsp.
type fixedFunction struct {
	fnv1.UnimplementedFunctionRunnerServiceServer

	rsp *fnv1.RunFunctionResponse
}

func (f fixedFunction) RunFunction(context.Context, *fnv1.RunFunctionRequest) (*fnv1.RunFunctionResponse, error) {
	return f.rsp, nil
}

// recordingCodec is gRPC's protobuf codec, keeping the bytes it last
// decoded.
type recordingCodec struct {
	encoding.CodecV2

	received []byte
}

func (c *recordingCodec) Unmarshal(data mem.BufferSlice, v any) error {
	c.received = data.Materialize()
	return c.CodecV2.Unmarshal(data, v)
}

// servedClient serves fn with newServer on a loopback port until the test
// ends, and returns a client of it; opts are the client's dial options.
func servedClient(t *testing.T, fn fnv1.FunctionRunnerServiceServer, opts ...grpc.DialOption) fnv1.FunctionRunnerServiceClient {
	t.Helper()
	lis, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(fn, insecure.NewCredentials(), 4<<20, prometheus.NewRegistry())
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return fnv1.NewFunctionRunnerServiceClient(conn)
}

// TestServerEncodesResponsesWithTheCodec checks that the server encodes a
// RunFunctionResponse with fn/internal/codec: its bytes decode to the
// function's response, and the desired state comes after the fields
// protobuf-go writes (protobuf-go writes fields in number order, desired
// second).
func TestServerEncodesResponsesWithTheCodec(t *testing.T) {
	want := &fnv1.RunFunctionResponse{
		Meta: &fnv1.ResponseMeta{Tag: "t"},
		Desired: &fnv1.State{Resources: map[string]*fnv1.Resource{
			"bucket": {Resource: &structpb.Struct{Fields: map[string]*structpb.Value{"kind": structpb.NewStringValue("Bucket")}}},
		}},
		Results: []*fnv1.Result{{Severity: fnv1.Severity_SEVERITY_NORMAL, Message: "composed"}},
	}
	rec := &recordingCodec{CodecV2: encoding.GetCodecV2(grpcproto.Name)}
	got, err := servedClient(t, fixedFunction{rsp: want}, grpc.WithDefaultCallOptions(grpc.ForceCodecV2(rec))).RunFunction(t.Context(), &fnv1.RunFunctionRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("RunFunction(): -want, +got:\n%s", diff)
	}
	var order []protowire.Number
	for b := rec.received; len(b) > 0; {
		n, _, size := protowire.ConsumeField(b)
		if size < 0 {
			t.Fatalf("cannot parse the response's bytes: %v", protowire.ParseError(size))
		}
		order = append(order, n)
		b = b[size:]
	}
	if diff := cmp.Diff([]protowire.Number{1, 3, 2}, order); diff != "" {
		t.Errorf("the response's fields, in the order received: -want (the codec's: meta, results, then desired), +got:\n%s", diff)
	}
}

// TestServerAnswersAsRunFunction sends every example's requests of
// TestResponsesUnchanged to the function's server, which answers with
// RunFunctionEncoded and its codec, and checks that each response decodes
// (by protobuf-go, as Crossplane decodes it) to what RunFunction returns,
// and that the codec wrote the desired state itself (after the fields
// protobuf-go writes).
func TestServerAnswersAsRunFunction(t *testing.T) {
	rec := &recordingCodec{CodecV2: encoding.GetCodecV2(grpcproto.Name)}
	client := servedClient(t, NewFunction(logging.NewNopLogger()), grpc.WithDefaultCallOptions(grpc.ForceCodecV2(rec)))

	for _, example := range responseExamples {
		for _, round := range responseRounds {
			if example.observed == "" && round.name != "create" {
				continue
			}
			t.Run(example.name+"/"+round.name, func(t *testing.T) {
				req := round.build(t, example)
				want := runQuiet(t, req)
				if len(want.GetDesired().GetResources()) == 0 {
					t.Fatal("RunFunction composed nothing")
				}
				got, err := client.RunFunction(t.Context(), req)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
					t.Errorf("-RunFunction, +over gRPC:\n%s", diff)
				}
				var last protowire.Number
				for b := rec.received; len(b) > 0; {
					n, _, size := protowire.ConsumeField(b)
					if size < 0 {
						t.Fatalf("cannot parse the response's bytes: %v", protowire.ParseError(size))
					}
					last, b = n, b[size:]
				}
				if last != 2 {
					t.Errorf("the response's last field is %d, want the desired state (2), which the codec writes last", last)
				}
			})
		}
	}
}

// encodingFunction answers RunFunctionEncoded with rsp, and fails
// RunFunction.
type encodingFunction struct {
	fnv1.UnimplementedFunctionRunnerServiceServer

	rsp *codec.Response
}

func (f encodingFunction) RunFunctionEncoded(context.Context, *fnv1.RunFunctionRequest) *codec.Response {
	return f.rsp
}

func (encodingFunction) RunFunction(context.Context, *fnv1.RunFunctionRequest) (*fnv1.RunFunctionResponse, error) {
	return nil, errors.New("RunFunction called: the server should call RunFunctionEncoded")
}

// TestServerAnswersWithRunFunctionEncoded: a function that has
// RunFunctionEncoded is answered through it, and its encoded resources
// reach the client in the desired state.
func TestServerAnswersWithRunFunctionEncoded(t *testing.T) {
	bucket := &structpb.Struct{Fields: map[string]*structpb.Value{"kind": structpb.NewStringValue("Bucket")}}
	encoded, err := proto.Marshal(bucket)
	if err != nil {
		t.Fatal(err)
	}
	fn := encodingFunction{rsp: &codec.Response{
		Msg:       &fnv1.RunFunctionResponse{Meta: &fnv1.ResponseMeta{Tag: "t"}},
		Resources: map[string]codec.Encoded{"bucket": {Struct: encoded, Ready: fnv1.Ready_READY_TRUE}},
	}}
	want := &fnv1.RunFunctionResponse{
		Meta:    &fnv1.ResponseMeta{Tag: "t"},
		Desired: &fnv1.State{Resources: map[string]*fnv1.Resource{"bucket": {Resource: bucket, Ready: fnv1.Ready_READY_TRUE}}},
	}
	got, err := servedClient(t, fn).RunFunction(t.Context(), &fnv1.RunFunctionRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("RunFunction(): -want, +got:\n%s", diff)
	}
}

// TestEncodedResourcesReplaceEarlierOnes: where an earlier function in the
// pipeline composed a resource under one of this function's names, the
// response's message no longer has it, so the codec writes the encoded one
// itself (it leaves a name in both to protobuf-go), and the response
// carries this function's resource.
func TestEncodedResourcesReplaceEarlierOnes(t *testing.T) {
	req := exampleRequest(t, responseExamples[0], false)
	req.Desired = &fnv1.State{Resources: map[string]*fnv1.Resource{
		"artifact-bucket": {Resource: &structpb.Struct{Fields: map[string]*structpb.Value{"kind": structpb.NewStringValue("ConfigMap")}}},
		"earlier":         {Resource: &structpb.Struct{Fields: map[string]*structpb.Value{"kind": structpb.NewStringValue("ConfigMap")}}},
	}}
	r := NewFunction(logging.NewNopLogger()).RunFunctionEncoded(t.Context(), req)
	if _, ok := r.Resources["artifact-bucket"]; !ok {
		t.Fatal("the function did not compose artifact-bucket")
	}
	for name := range r.Msg.GetDesired().GetResources() {
		if _, twice := r.Resources[name]; twice {
			t.Errorf("desired resource %s is both in the message and encoded", name)
		}
	}
	if _, ok := r.Msg.GetDesired().GetResources()["earlier"]; !ok {
		t.Error("the earlier function's own resource was dropped")
	}
	rsp, err := r.Decoded()
	if err != nil {
		t.Fatal(err)
	}
	if kind := rsp.GetDesired().GetResources()["artifact-bucket"].GetResource().GetFields()["kind"].GetStringValue(); kind != "Bucket" {
		t.Errorf("artifact-bucket is a %q, want the function's Bucket", kind)
	}
}
