//! The cold-start baseline for `eks-audit-watch bench`: a bare `lambda_runtime` function,
//! built the same way as the real one (`make bench` builds both in release).

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

fn main() -> Result<(), Error> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(lambda_runtime::run(service_fn(
        |event: LambdaEvent<Value>| async move { Ok::<Value, Error>(event.payload) },
    )))
}
