//! A second cold-start reference for `eks-audit-watch bench`: the bare `lambda_runtime`
//! function plus the AWS SDK set up exactly as eks-audit-watch sets it up (configuration, S3
//! client, SNS configuration) and nothing of the pipeline. Between it and `hello_lambda` lies
//! what the SDK alone costs a cold start; between it and the real function, what is ours.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

fn main() -> Result<(), Error> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let roots = eks_audit_watch::config::TrustRoots::from_env()?;
        let aws = eks_audit_watch::lambda::sdk_config(roots).await;
        // As eks-audit-watch: the S3 client made now, the SNS client's configuration only
        // (its client is made on the first alert).
        let clients = (
            aws_sdk_s3::Client::new(&aws),
            aws_sdk_sns::Config::new(&aws),
        );
        lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
            let _ = &clients;
            async move { Ok::<Value, Error>(event.payload) }
        }))
        .await
    })
}
