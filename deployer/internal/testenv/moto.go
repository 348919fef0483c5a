// Package testenv starts the AWS API stand-ins the deployer's tests run
// against, on 127.0.0.1: moto_server (DynamoDB, Lambda, ECR, S3, IAM, STS)
// and a fake CodePipeline job-result API, and creates the fixtures.
package testenv

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// Region and DefaultAccountID are moto's defaults, used by every fixture.
const (
	Region           = "us-east-1"
	DefaultAccountID = "123456789012"
)

// motoServer is this test binary's moto_server, nil when it is not on PATH.
var motoServer *Moto

// Moto is a running moto_server process.
type Moto struct {
	Endpoint string
	cmd      *exec.Cmd
}

// MissingMotoMessage explains a skipped integration test.
const MissingMotoMessage = "moto_server is not on PATH, so the deployer's integration tests are skipped " +
	"(it ships with the project's machine image: Python with moto[server] 5.2.1). " +
	"In CI, make test fails instead of skipping."

// RunWithMoto is a TestMain body: it starts moto_server when it is on PATH,
// points the AWS SDK at it with dummy credentials, runs the tests and stops
// it.
func RunWithMoto(m *testing.M) int {
	if _, err := exec.LookPath("moto_server"); err == nil {
		moto, err := StartMoto()
		if err != nil {
			fmt.Fprintln(os.Stderr, "starting moto_server:", err)
			return 1
		}
		defer moto.Stop()
		motoServer = moto
	}
	if err := useStandIns(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// useStandIns isolates the SDK from the machine's AWS configuration.
func useStandIns() error {
	empty := filepath.Join(os.TempDir(), "deployer-tests-no-aws-config")
	env := map[string]string{
		"AWS_ACCESS_KEY_ID":           "testing",
		"AWS_SECRET_ACCESS_KEY":       "testing",
		"AWS_SESSION_TOKEN":           "",
		"AWS_REGION":                  Region,
		"AWS_DEFAULT_REGION":          Region,
		"AWS_PROFILE":                 "",
		"AWS_CONFIG_FILE":             empty,
		"AWS_SHARED_CREDENTIALS_FILE": empty,
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_MAX_ATTEMPTS":            "2",
	}
	if motoServer != nil {
		env["AWS_ENDPOINT_URL"] = motoServer.Endpoint
	}
	for key, value := range env {
		if err := os.Setenv(key, value); err != nil {
			return fmt.Errorf("setting %s for the tests: %w", key, err)
		}
	}
	return nil
}

// RequireMoto skips the test when moto_server is absent, resets its state
// otherwise, and returns it.
func RequireMoto(t *testing.T) *Moto {
	t.Helper()
	if motoServer == nil {
		t.Skip(MissingMotoMessage)
	}
	if err := motoServer.Reset(); err != nil {
		t.Fatal(err)
	}
	return motoServer
}

// StartMoto starts moto_server on a port of its own and waits until it
// answers.
//
// moto_server binds port 0 and the endpoint is read from its own start-up
// line, so the server the tests talk to is always this process. Choosing a
// free port first and passing it (as this did before) left a window in which
// another test binary's moto_server (go test runs packages in parallel, and
// several worktrees run the same tests on one machine) could take the port:
// this process then failed to bind, the other one answered the readiness
// probe, and the two binaries shared one moto, resetting and creating each
// other's tables ("Table already exists" right after a reset).
func StartMoto() (*Moto, error) {
	// The process outlives this call: Stop ends it, not a context.
	cmd := exec.CommandContext(context.Background(), "moto_server", "-H", "127.0.0.1", "-p", "0")
	// Lambda checks that images exist in moto's ECR, as the real one does.
	// moto's botocore fails every request when AWS_PROFILE names no profile
	// (the tests' stand-in environment empties it).
	cmd.Env = append(slices.DeleteFunc(os.Environ(), func(v string) bool { return strings.HasPrefix(v, "AWS_PROFILE=") }), "MOTO_LAMBDA_STUB_ECR=false")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	endWithTestBinary(cmd.SysProcAttr)
	output, err := cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("starting moto_server: %w", err)
	}
	if os.Getenv("DEPLOYER_TEST_MOTO_LOG") != "" {
		cmd.Stdout = os.Stderr
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting moto_server: %w", err)
	}
	moto := &Moto{cmd: cmd}
	endpoint := make(chan string, 1)
	go readMotoOutput(output, endpoint)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case moto.Endpoint = <-endpoint:
	case err := <-exited:
		return nil, fmt.Errorf("moto_server exited before listening: %w", err)
	case <-time.After(motoStartTimeout):
		moto.Stop()
		return nil, errors.New("moto_server did not report its address within " + motoStartTimeout.String())
	}
	if err := WaitForHTTP(moto.Endpoint+"/moto-api/", exited); err != nil {
		moto.Stop()
		return nil, fmt.Errorf("moto_server did not come up: %w", err)
	}
	return moto, nil
}

// motoStartTimeout is generous: a loaded machine starts Python slowly.
const motoStartTimeout = time.Minute

// motoListening is werkzeug's start-up line, printed once the socket is
// bound, with the port the system chose for port 0.
var motoListening = regexp.MustCompile(`Running on (http://127\.0\.0\.1:[0-9]+)`)

// readMotoOutput sends the endpoint from moto_server's start-up line, then
// keeps draining its output (it logs every request; a full pipe would block
// it), copying it to stderr when DEPLOYER_TEST_MOTO_LOG is set.
func readMotoOutput(output io.Reader, endpoint chan<- string) {
	logs := io.Discard
	if os.Getenv("DEPLOYER_TEST_MOTO_LOG") != "" {
		logs = os.Stderr
	}
	scanner := bufio.NewScanner(output)
	found := false
	for scanner.Scan() {
		line := scanner.Text()
		fmt.Fprintln(logs, line)
		if match := motoListening.FindStringSubmatch(line); match != nil && !found {
			found = true
			endpoint <- match[1]
		}
	}
	_, _ = io.Copy(logs, output)
}

// Stop ends moto_server and its children.
func (m *Moto) Stop() {
	if m.cmd.Process != nil {
		_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
	}
}

// Reset clears moto's state, so every test starts from nothing, and
// confirms that it did: moto answers the reset once every backend is cleared,
// so a table left afterwards means another process uses this moto_server,
// and the test would not be deterministic.
func (m *Moto) Reset() error {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, m.Endpoint+"/moto-api/reset", nil)
	if err != nil {
		return fmt.Errorf("resetting moto: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("resetting moto: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("resetting moto: HTTP %d", resp.StatusCode)
	}
	return m.confirmEmpty()
}

// confirmEmpty checks that moto's default account has no DynamoDB table,
// the state every test creates first.
func (m *Moto) confirmEmpty() error {
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithBaseEndpoint(m.Endpoint))
	if err != nil {
		return fmt.Errorf("checking moto's reset: %w", err)
	}
	out, err := dynamodb.NewFromConfig(cfg).ListTables(context.Background(), &dynamodb.ListTablesInput{})
	if err != nil {
		return fmt.Errorf("checking moto's reset: %w", err)
	}
	if len(out.TableNames) > 0 {
		return fmt.Errorf("moto_server at %s still has tables %v after its reset: another process is using it", m.Endpoint, out.TableNames)
	}
	return nil
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	var config net.ListenConfig
	listener, err := config.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	addr, isTCP := listener.Addr().(*net.TCPAddr)
	if err := listener.Close(); err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	if !isTCP {
		return 0, fmt.Errorf("finding a free port: %v is not a TCP address", listener.Addr())
	}
	return addr.Port, nil
}

// WaitForHTTP polls url until it answers (any status), the process reports
// its exit on exited, or a generous start-up bound passes.
func WaitForHTTP(url string, exited <-chan error) error {
	const attempts = 600 // 60 s at 100 ms: a loaded machine starts Python slowly
	client := &http.Client{Timeout: time.Second}
	for range attempts {
		select {
		case err := <-exited:
			return fmt.Errorf("the process exited: %w", err)
		default:
		}
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
		if err != nil {
			return fmt.Errorf("polling %s: %w", url, err)
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("no answer from " + url)
}
