// Command deployer is the Lambda function the pipeline's Deploy stage invokes:
// it deploys the image the Build stage pushed to the pipeline's Lambda
// targets, records the deployment and reports the job to CodePipeline. See
// README.md.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	// The image has no OS, so no CA certificates: embed Mozilla's roots for
	// the HTTPS calls to AWS (used only when the system has none).
	_ "golang.org/x/crypto/x509roots/fallback"

	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/internal/awsapi"
	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/internal/handler"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	clients, err := awsapi.NewClients(context.Background())
	if err != nil {
		// Without clients no job can even be failed; Lambda reports the
		// init error.
		log.Error("cannot set up the AWS clients", "error", err.Error())
		os.Exit(1)
	}
	cfg, err := handler.ConfigFromEnv(os.Getenv)
	if err != nil {
		lambda.Start(handler.Misconfigured(err, clients.JobResults(), log))
		return
	}
	h := handler.New(cfg, handler.Deps{
		Table:         clients.Table(),
		JobResults:    clients.JobResults(),
		Pipeline:      clients.Pipeline(),
		Images:        clients.Images(),
		LambdaFor:     clients.LambdaFor,
		ArtifactsWith: clients.ArtifactsWith,
		Metrics:       os.Stdout,
	}, log)
	lambda.Start(h.Handle)
}
